"""Compare stage: each candidate pair gets one level per field (Splink-style ordered levels).

``prepare`` normalises the cleaned contacts once (on unique values); ``compare_pairs`` turns the
pair arrays (positions into the prepared frame) into integer level arrays, level 0 = null. Fuzzy
similarities are computed once per *unique pair of values* with ``rapidfuzz.process.cpdist``.

The ladders (first level that applies wins):

======== ==================================================================================
name     null, exact, swapped, nickname, typo, near, initials, first_only, first_edit, surname_only, romanised,
         else    (first_edit: same last name, first names within 2 edits: not a household conflict;
         romanised: a CJK name whose pinyin is the other's Latin name, 周刚 / Gang Zhou; needs pypinyin)
email    null, exact, same_local_part, typo, else
phone    null, exact, last_digits, one_digit, else      (phone and mobile pooled, any of 2×2)
company  null, exact, fuzzy, else                       (on company_key)
address  null, same_street, same_postcode, same_city, other_country, else
======== ==================================================================================

Any other column is compared through a declarative kind (``Comparison("date_of_birth", kind="date")``):
see :mod:`crmkit.match.generic`. Its normalised values are the prepared column ``x:<column>``.

>>> import pandas as pd, numpy as np
>>> df = pd.DataFrame({"record_id": ["a", "b"], "first_name": ["Bob", "Robert"],
...                    "last_name": ["Miller", "Miller"]})
>>> p = prepare(df)
>>> levels, _ = compare_pairs(p, np.array([0]), np.array([1]))
>>> LADDERS["name"][levels["name"][0]]
'nickname'
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, Indel, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from crmkit.match import generic
from crmkit.match._nicknames import NICKNAMES

LADDERS: dict[str, list[str]] = {
    "name": ["null", "exact", "swapped", "nickname", "typo", "near", "initials", "first_only", "first_edit",
             "surname_only", "romanised", "else"],
    "email": ["null", "exact", "same_local_part", "typo", "else"],
    "phone": ["null", "exact", "last_digits", "one_digit", "else"],
    "company": ["null", "exact", "fuzzy", "else"],
    "address": ["null", "same_street", "same_postcode", "same_city", "other_country", "else"],
}
# not a comparison: per pair, whether the phone level comes from the `phone` columns alone (see scoring)
SHARED_PHONE = "_phone_shared"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_PHONE = re.compile(r"^\+\d{6,15}$")
_NON_LETTER = re.compile(r"[^a-z ]+")


# --------------------------------------------------------------------------- preparation
def _on_unique(values: pd.Series, func) -> pd.Series:
    """Apply a Python function to each distinct non-missing value, return an object Series (None = missing)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([func(v) for v in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _fold(text: str) -> str:
    """Lower case, accents off, letters and single spaces only: 'Müller-Lüdenscheidt' -> 'muller ludenscheidt'."""
    t = unicodedata.normalize("NFKD", str(text).casefold())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = t.replace("ø", "o").replace("ł", "l").replace("đ", "d").replace("æ", "ae").replace("œ", "oe")
    return " ".join(_NON_LETTER.sub(" ", t).split())


def _street(text) -> str | None:
    """'Hauptstraße 5' / 'hauptstr. 5' -> 'hauptstr 5'; digits kept."""
    t = unicodedata.normalize("NFKD", str(text).casefold())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = re.sub(r"[^a-z0-9 ]+", " ", t.replace("ß", "ss"))
    t = re.sub(r"\b(strasse|str|street|st)\b", "str", t.replace("strasse", " strasse"))
    return " ".join(t.split()) or None


_TRANSLIT = (("ae", "a"), ("oe", "o"), ("ue", "u"))


def _name_made(local: str, fn: str, ln: str) -> bool:
    """Is an email local part made of the name: anna.weber, aweber, mueller.t for Müller (folded 'muller')?"""
    if not local:
        return False
    loc = re.sub(r"[^a-z]", "", local)
    alt = loc
    for a, b in _TRANSLIT:
        alt = alt.replace(a, b)
    return any(len(part) >= k and (part in loc or part in alt) for part, k in ((ln, 2), (fn, 3)))


# Family names of two characters, and family-name characters read otherwise than in ordinary words
_COMPOUND_FAMILY = {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "慕容", "尉迟", "令狐", "公孙", "夏侯", "长孙",
                    "宇文", "司徒", "端木", "独孤", "南宫", "西门", "澹台", "轩辕", "呼延", "万俟", "单于", "申屠"}
_FAMILY_READING = {"单": "shan", "曾": "zeng", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao", "查": "zha",
                   "盖": "ge", "缪": "miao", "覃": "qin", "乐": "yue", "翟": "zhai", "尉迟": "yuchi", "长孙": "zhangsun",
                   "万俟": "moqi", "单于": "chanyu", "便": "pian", "秘": "bi", "沈": "shen", "种": "chong"}


def _pinyin_parts(name: str) -> tuple[str, str] | None:
    """Tone-less pinyin (family, given) of a CJK full name written family name first: 周刚 -> ('zhou', 'gang').

    ü is written u, as in passports' usual 'Lu'/'Nu' and in folded Latin names. None without pypinyin
    (the pinyin key and level are then skipped) or for names not made of 2-4 CJK characters only.
    """
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:         # optional at this point: matching works without the pinyin level
        return None
    if not (2 <= len(name) <= 4) or len(_CJK.findall(name)) != len(name):
        return None
    k = 2 if name[:2] in _COMPOUND_FAMILY and len(name) > 2 else 1
    syll = [x.replace("v", "u") for x in lazy_pinyin(name, style=Style.NORMAL)]
    family = _FAMILY_READING.get(name[:k]) or "".join(syll[:k])
    return family, "".join(syll[k:])


def _name_part(text) -> str | None:
    if text is None or text != text:
        return None
    f = _fold(text).replace(" ", "")
    return f or None


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name].astype(object).where(df[name].notna(), None)
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _text(s: pd.Series) -> pd.Series:
    return _on_unique(s, lambda v: (" ".join(str(v).split()) or None))


def prepare(df: pd.DataFrame, extra: dict[str, tuple[str, dict]] | None = None) -> pd.DataFrame:
    """Normalised matching columns, positional index 0..n-1 (the input is not changed).

    Columns: record_id, fn, ln, fn_canon, full (folded 'fn ln'), cjk, py_family and py_given (pinyin of
    a CJK name), email, email_local, phone1,
    phone2, company_key, street, postcode, city, country, name_key (for term frequencies), and
    ``x:<column>`` for each column of ``extra`` (column -> (kind, params)), normalised for that kind.
    """
    out: dict[str, np.ndarray] = {}     # object arrays; one object frame at the end (no str-dtype round trips)
    out["record_id"] = df["record_id"].astype(str).to_numpy(dtype=object)
    first, last, full = (_col(df, c).reset_index(drop=True) for c in ("first_name", "last_name", "full_name"))
    has_cjk = _on_unique(full.fillna(first.fillna("") + last.fillna("")).replace("", None),
                         lambda v: bool(_CJK.search(v))).eq(True)
    cjk = _on_unique(full.where(has_cjk, None), lambda v: "".join(str(v).split()) or None)
    cjk = cjk.where(cjk.notna() | ~has_cjk, (first.fillna("") + last.fillna("")).where(has_cjk, None))
    fn = _on_unique(first.where(~has_cjk, None), _name_part)
    ln = _on_unique(last.where(~has_cjk, None), _name_part)
    # split full names where the parts are missing: first token = first name, the rest = last name
    need = (fn.isna() & ln.isna() & full.notna() & ~has_cjk)
    if need.any():
        toks = _on_unique(full[need], lambda v: tuple(_fold(v).split()) or None)
        fn[need] = toks.map(lambda t: t[0] if t and len(t) > 1 else None)
        ln[need] = toks.map(lambda t: "".join(t[1:]) if t and len(t) > 1 else (t[0] if t else None))
    # a lone name ('Jürgen' as first name, 'Schneider' as last name: the cleaner cannot always tell) is
    # held in ln, and the swapped orientation compares it with either part of the other's name
    lone = fn.notna() & ln.isna()
    ln[lone], fn[lone] = fn[lone], None
    out["fn"] = fn.to_numpy()
    out["ln"] = ln.to_numpy()
    out["fn_canon"] = _on_unique(fn, lambda v: NICKNAMES.get(v, v)).to_numpy()
    out["full"] = (fn.fillna("") + " " + ln.fillna("")).str.strip().replace("", None).to_numpy()
    out["cjk"] = cjk.to_numpy()
    out["name_key"] = pd.Series(out["full"]).fillna(pd.Series(out["cjk"])).to_numpy()
    py = _on_unique(cjk, _pinyin_parts)
    out["py_family"] = py.map(lambda t: t[0] if t else None).to_numpy()
    out["py_given"] = py.map(lambda t: t[1] if t else None).to_numpy()

    email = _on_unique(_col(df, "email").reset_index(drop=True),
                       lambda v: (e if _EMAIL.match(e := str(v).strip().casefold()) else None))
    out["email"] = email.to_numpy()
    out["email_local"] = _on_unique(email, lambda v: v.split("@", 1)[0]).to_numpy()
    for i, c in enumerate(("phone", "mobile"), 1):
        out[f"phone{i}"] = _on_unique(_col(df, c).reset_index(drop=True),
                                      lambda v: (p if _PHONE.match(p := str(v).strip()) else None)).to_numpy()
    same = pd.notna(out["phone1"]) & (out["phone1"] == out["phone2"])
    out["phone2"] = np.where(same, None, out["phone2"])
    out["company_key"] = _on_unique(_col(df, "company_key").reset_index(drop=True),
                                    lambda v: " ".join(str(v).casefold().split()) or None).to_numpy()
    out["street"] = _on_unique(_col(df, "street").reset_index(drop=True), _street).to_numpy()
    out["postcode"] = _on_unique(_col(df, "postcode").reset_index(drop=True),
                                 lambda v: re.sub(r"[\s\-]", "", str(v)).upper() or None).to_numpy()
    out["city"] = _on_unique(_col(df, "city").reset_index(drop=True), lambda v: _fold(v) or None).to_numpy()
    out["country"] = _on_unique(_col(df, "country").reset_index(drop=True),
                                lambda v: str(v).strip().upper() or None).to_numpy()
    if extra:
        from crmkit.match.generic import normalise

        for column, (kind, params) in extra.items():
            out[f"x:{column}"] = normalise(_col(df, column).reset_index(drop=True), kind, params).to_numpy()
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)), dtype=object)


# --------------------------------------------------------------------------- pair similarity helpers
class _Coded:
    """A column as integer codes (-1 = missing) plus its unique values, for pair lookups."""

    def __init__(self, values: np.ndarray):
        codes, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        self.codes = codes.astype(np.int64)
        self.uniq = np.asarray(uniq, dtype=object)

    def pair(self, l: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.codes[l], self.codes[r]


def _sim(col: _Coded, cl: np.ndarray, cr: np.ndarray, scorer, equal_value: float, **kw) -> np.ndarray:
    """scorer(value_l, value_r) per pair, computed once per distinct pair; NaN where either is missing."""
    out = np.full(len(cl), np.nan)
    both = (cl >= 0) & (cr >= 0)
    out[both & (cl == cr)] = equal_value
    todo = both & (cl != cr)
    if todo.any():
        k = len(col.uniq) + 1
        key = cl[todo] * k + cr[todo]
        inv, ukey = pd.factorize(key)           # hash-based: faster than sorting millions of keys
        a = col.uniq[ukey // k].tolist()
        b = col.uniq[ukey % k].tolist()
        vals = cpdist(a, b, scorer=scorer, workers=-1, **kw).astype(float)
        out[todo] = vals[inv]
    return out


def _eq(cl: np.ndarray, cr: np.ndarray) -> np.ndarray:
    return (cl >= 0) & (cl == cr)


def _select(conditions: list[np.ndarray], n: int, default: int) -> np.ndarray:
    """Level index = 1 + position of the first true condition; `default` if none (conditions in ladder order)."""
    level = np.full(n, default, dtype=np.int8)
    for i in range(len(conditions) - 1, -1, -1):
        level[conditions[i]] = i + 1
    return level


# --------------------------------------------------------------------------- per-field ladders
def _name_ladder(p, fl, ll, cl_, fr, lr, cr_, l, r, params) -> np.ndarray:
    """Name level for one orientation; codes index the shared name vocabulary ``p['names']``."""
    nm = p["names"]
    n = len(fl)
    latin = (ll >= 0) & (lr >= 0)
    fn_both = (fl >= 0) & (fr >= 0)
    jw_fn = _sim(nm, cl_, cr_, JaroWinkler.normalized_similarity, 1.0)
    jw_fn = np.fmax(jw_fn, _sim(nm, fl, fr, JaroWinkler.normalized_similarity, 1.0))
    jw_ln = _sim(nm, ll, lr, JaroWinkler.normalized_similarity, 1.0)
    hi, lo = params.get("jw_high", 0.92), params.get("jw_low", 0.80)
    exact = latin & _eq(fl, fr) & _eq(ll, lr)
    nick = latin & _eq(cl_, cr_) & _eq(ll, lr)
    typo = latin & fn_both & (jw_fn >= hi) & (jw_ln >= hi)
    near = latin & fn_both & (jw_fn >= lo) & (jw_ln >= lo)
    need_ts = latin & fn_both & ~near & ((jw_ln >= hi) | (jw_fn >= hi))
    if need_ts.any():
        fu = p["full"]
        a, b = fu.pair(l[need_ts], r[need_ts])
        ts = _sim(fu, a, b, fuzz.token_set_ratio, 100.0) / 100.0
        near[need_ts] = ts >= params.get("token_set", 0.90)
    init, length = p["name_initial"], p["name_len"]          # per vocabulary entry
    short_l = (fl >= 0) & (length[np.maximum(fl, 0)] == 1)
    short_r = (fr >= 0) & (length[np.maximum(fr, 0)] == 1)
    same_initial = init[np.maximum(fl, 0)] == init[np.maximum(fr, 0)]
    missing = (fl < 0) | (fr < 0)
    initials = latin & (jw_ln >= hi) & (missing | ((short_l | short_r) & same_initial))
    first_only = latin & fn_both & (jw_fn >= hi)
    surname_only = latin & fn_both & (jw_ln >= hi)
    # a first-name typo Jaro-Winkler reads badly (at the start of a short name) is not a household
    first_edit = surname_only & (jw_fn >= lo)
    need_ed = surname_only & ~first_edit & ~initials & ~first_only
    if need_ed.any():
        ed = _sim(nm, fl[need_ed], fr[need_ed], DamerauLevenshtein.distance, 0.0, score_cutoff=3)
        shortest = np.minimum(length[fl[need_ed]], length[fr[need_ed]])
        first_edit[need_ed] = ed <= np.minimum(2, (shortest - 2) // 2)
    return _select([exact, np.zeros(n, bool), nick, typo, near, initials, first_only, first_edit, surname_only], n,
                   default=len(LADDERS["name"]) - 1)


def _name_levels(p, l: np.ndarray, r: np.ndarray, params: dict) -> np.ndarray:
    """Best of the straight and the swapped orientation; a swapped exact match is 'swapped'."""
    fnc, lnc, fcc, lcc = p["fn_c"], p["ln_c"], p["fcan_c"], p["lcan_c"]
    fl, ll, cl_ = fnc[l], lnc[l], fcc[l]
    level = _name_ladder(p, fl, ll, cl_, fnc[r], lnc[r], fcc[r], l, r, params)
    # swapped columns; also a lone name (held in ln by prepare) against the other's first name
    sw_ok = (fnc[r] >= 0) & (lnc[r] >= 0) & ((fl >= 0) | (ll >= 0))
    if sw_ok.any():
        idx = np.flatnonzero(sw_ok)
        sw = _name_ladder(p, fl[idx], ll[idx], cl_[idx], lnc[r][idx], fnc[r][idx], lcc[r][idx], l[idx], r[idx],
                          params)
        sw = np.where(sw == 1, 2, sw)                      # exact when swapped -> 'swapped'
        better = (sw < level[idx]) & (sw <= 6)              # only the agreeing levels count
        level[idx[better]] = sw[better]
    cjl, cjr = p["cjk"].pair(l, r)
    cjk_both = (cjl >= 0) & (cjr >= 0) & ~((lnc[l] >= 0) & (lnc[r] >= 0))
    level[cjk_both] = np.where(_eq(cjl, cjr)[cjk_both], 1, len(LADDERS["name"]) - 1)
    level[~(((lnc[l] >= 0) & (lnc[r] >= 0)) | cjk_both)] = 0
    # a CJK name against a Latin one: its pinyin in either order ('Gang Zhou', 'Zhou Gang'); no evidence otherwise
    fam, giv, fn, ln = (p.frame[c].to_numpy(dtype=object) for c in ("py_family", "py_given", "fn", "ln"))
    for a, b in ((l, r), (r, l)):
        mixed = np.flatnonzero((cjl if a is l else cjr) >= 0)
        mixed = mixed[(lnc[b][mixed] >= 0) & (fnc[b][mixed] >= 0) & (lnc[a][mixed] < 0)]
        if len(mixed):
            fa, ga, fb, lb = fam[a[mixed]], giv[a[mixed]], fn[b[mixed]], ln[b[mixed]]
            same = (fa != None) & (((fa == lb) & (ga == fb)) | ((fa == fb) & (ga == lb)))  # noqa: E711
            level[mixed[same]] = LADDERS["name"].index("romanised")
    return level


def _email_levels(p: dict, l, r, params) -> np.ndarray:
    em, loc = p["email"], p["email_local"]
    el, er = em.pair(l, r)
    ll, lr = loc.pair(l, r)
    long_local = (p["local_len"][l] >= params.get("min_local_len", 3)) & p["local_personal"][l] \
        & p["local_personal"][r]
    dist = _sim(em, el, er, DamerauLevenshtein.distance, 0.0, score_cutoff=params.get("max_edits", 1) + 1)
    digits = p["email_digits"]
    # jsmith12/jsmith13 or john.smith/johnsmith are namesakes' patterns, not typos
    typo = (dist <= params.get("max_edits", 1)) & (digits[l] == digits[r]) & p["local_personal"][l] \
        & p["local_personal"][r]
    level = _select([_eq(el, er), _eq(ll, lr) & long_local, typo], len(l),
                    default=len(LADDERS["email"]) - 1)
    # anna.weber@gmail.com / anna.weber@acme.com: the same person's private and work address as often
    # as two namesakes' addresses; it says nothing the name does not say already
    level[_eq(ll, lr) & ~long_local & (level == len(LADDERS["email"]) - 1)] = 0
    level[(el < 0) | (er < 0)] = 0
    return level


def _phone_levels(p: dict, l, r, params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels, for the exact level the code of the agreeing number (for its frequency), and whether the
    level is reached through the ``phone`` columns alone (a landline or switchboard a household or an
    office shares, unlike a mobile)."""
    ph = p["phone"]
    k = params.get("last_digits", 7)
    sides_l = [ph.codes1[l], ph.codes2[l]]
    sides_r = [ph.codes1[r], ph.codes2[r]]
    n = len(l)
    exact = np.zeros(n, bool)
    exact_code = np.full(n, -1, np.int64)
    tail = np.zeros(n, bool)
    for a in sides_l:
        for b in sides_r:
            hit = _eq(a, b)
            exact_code = np.where(hit & (exact_code < 0), a, exact_code)
            exact |= hit
            ta, tb = ph.tail[np.maximum(a, 0)], ph.tail[np.maximum(b, 0)]
            tail |= (a >= 0) & (b >= 0) & (ta == tb) & (ta >= 0)
            if a is sides_l[0] and b is sides_r[0]:
                land_exact, land_tail = exact.copy(), tail.copy()
    # one differing digit: only where no number agrees already (edit distances on the distinct pairs)
    one, land_one = np.zeros(n, bool), np.zeros(n, bool)
    need = np.flatnonzero(~exact & ~tail)
    for a in sides_l:
        for b in sides_r:
            d = _sim(ph.coded, a[need], b[need], Levenshtein.distance, 0.0, score_cutoff=2) == 1
            one[need] |= d
            if a is sides_l[0] and b is sides_r[0]:
                land_one[need] = d
    landline = _select([land_exact, land_tail, land_one], n, default=len(LADDERS["phone"]) - 1)
    any_l = (sides_l[0] >= 0) | (sides_l[1] >= 0)
    any_r = (sides_r[0] >= 0) | (sides_r[1] >= 0)
    level = _select([exact, tail, one], n, default=len(LADDERS["phone"]) - 1)
    level[~(any_l & any_r)] = 0
    _ = k
    return level, exact_code, landline == level


def _company_levels(p: dict, l, r, params) -> np.ndarray:
    co = p["company_key"]
    cl, cr = co.pair(l, r)
    sim = _sim(co, cl, cr, Indel.normalized_similarity, 1.0)
    level = _select([_eq(cl, cr), sim >= params.get("min_similarity", 0.9)], len(l),
                    default=len(LADDERS["company"]) - 1)
    level[(cl < 0) | (cr < 0)] = 0
    return level


def _address_levels(p: dict, l, r, params) -> np.ndarray:
    st, pc, ci, co = p["street"], p["postcode"], p["city"], p["country"]
    sl, sr = st.pair(l, r)
    pl, pr = pc.pair(l, r)
    cl, cr = ci.pair(l, r)
    ol, orr = co.pair(l, r)
    same_country = ~((ol >= 0) & (orr >= 0) & (ol != orr))
    city_sim = _sim(ci, cl, cr, JaroWinkler.normalized_similarity, 1.0)
    same_city = city_sim >= params.get("city_jw", 0.92)
    same_pc = _eq(pl, pr) & same_country
    same_street = _eq(sl, sr) & (same_pc | same_city)
    other_country = (ol >= 0) & (orr >= 0) & (ol != orr)
    level = _select([same_street, same_pc, same_city & same_country, other_country], len(l),
                    default=len(LADDERS["address"]) - 1)
    has_l = (pl >= 0) | (cl >= 0)
    has_r = (pr >= 0) | (cr >= 0)
    level[~(has_l & has_r)] = 0
    return level


class _Phones:
    def __init__(self, p1: np.ndarray, p2: np.ndarray, k: int):
        both = pd.Series(np.concatenate([p1, p2]), dtype=object)
        codes, uniq = pd.factorize(both, use_na_sentinel=True)
        n = len(p1)
        self.codes1 = codes[:n].astype(np.int64)
        self.codes2 = codes[n:].astype(np.int64)
        self.coded = _Coded(np.asarray(uniq, dtype=object))
        self.coded.uniq = np.asarray(uniq, dtype=object)
        tails = pd.Series([u[-k:] if len(u) - 1 >= k else None for u in uniq], dtype=object)
        self.tail = pd.factorize(tails, use_na_sentinel=True)[0].astype(np.int64)
        if len(self.tail) == 0:
            self.tail = np.full(1, -1, np.int64)
        self.uniq = np.asarray(uniq, dtype=object)


class Prepared:
    """Coded columns of a prepared frame, built once per run and shared by every comparison."""

    def __init__(self, prep: pd.DataFrame, params_phone: dict | None = None):
        self.frame = prep
        self.n = len(prep)
        c = {name: _Coded(prep[name].to_numpy()) for name in
             ("fn", "ln", "fn_canon", "cjk", "full", "email", "email_local", "company_key", "street", "postcode",
              "city", "country", "name_key")}
        # first, last and canonical names in one vocabulary, so any two can be compared (swaps)
        ln_canon = pd.Series(prep["ln"].to_numpy(), dtype=object).map(lambda v: NICKNAMES.get(v, v) if v == v and v
                                                                     else None)
        stacked = pd.concat([pd.Series(prep[k].to_numpy(), dtype=object) for k in ("fn", "ln", "fn_canon")]
                            + [ln_canon], ignore_index=True)
        names = _Coded(stacked.to_numpy())
        n = len(prep)
        c["names"] = names
        vocab = pd.Series(names.uniq, dtype=object)
        c["name_initial"] = np.r_[pd.factorize(vocab.str[:1])[0], -1].astype(np.int64)
        c["name_len"] = np.r_[vocab.str.len().astype(float).fillna(0).to_numpy(dtype=np.int64), 0]
        c["fn_c"], c["ln_c"], c["fcan_c"], c["lcan_c"] = (names.codes[i * n:(i + 1) * n] for i in range(4))
        c["initial"] = pd.Series(prep["fn"].to_numpy(), dtype=object).str[:1].fillna("").to_numpy()
        c["fn_len"] = pd.Series(prep["fn"].to_numpy(), dtype=object).str.len().astype(float).fillna(0).to_numpy()
        local = pd.Series(prep["email_local"].to_numpy(), dtype=object)
        c["local_len"] = local.str.len().astype(float).fillna(0).to_numpy()
        # a local part made of the person's name alone (anna.weber, mueller.t) is shared by namesakes;
        # one with digits or without the name is personal
        trio = pd.DataFrame({"loc": local.fillna(""), "fn": pd.Series(prep["fn"].to_numpy(), dtype=object).fillna(""),
                             "ln": pd.Series(prep["ln"].to_numpy(), dtype=object).fillna("")})
        codes, uniq = pd.factorize(pd.MultiIndex.from_frame(trio))
        made = np.array([_name_made(*t) for t in uniq.tolist()] + [False], dtype=bool)
        has_ln = made[codes] if len(codes) else np.zeros(0, bool)
        c["email_digits"] = pd.Series(prep["email"].to_numpy(), dtype=object).str.replace(
            r"\D", "", regex=True).fillna("").to_numpy()
        c["local_personal"] = (local.str.contains(r"\d", regex=True).eq(True).to_numpy(dtype=bool)
                               | ~has_ln)
        c["phone"] = _Phones(prep["phone1"].to_numpy(), prep["phone2"].to_numpy(),
                             (params_phone or {}).get("last_digits", 7))
        for name in prep.columns:
            if name.startswith("x:"):
                c[name] = _Coded(prep[name].to_numpy())
        self.cols = c

    def __getitem__(self, key):
        return self.cols[key]

    def value_frequency(self, name: str, min_count: int = 0) -> np.ndarray:
        """Share of records holding each row's value of `name` (NaN where missing, and where at most
        `min_count` records hold it: so few may all be one person's duplicates, not a common value)."""
        col = self.cols[name]
        counts = np.bincount(col.codes[col.codes >= 0], minlength=len(col.uniq)).astype(float)
        total = max(counts.sum(), 1.0)
        counts[counts <= min_count] = np.nan
        return np.where(col.codes >= 0, counts[np.maximum(col.codes, 0)] / total, np.nan) if len(counts) else \
            np.full(self.n, np.nan)

    def phone_frequency(self) -> np.ndarray:
        """Share of records holding each distinct phone (index = phone code)."""
        ph = self.cols["phone"]
        codes = np.concatenate([ph.codes1, ph.codes2])
        counts = np.bincount(codes[codes >= 0], minlength=len(ph.uniq)).astype(float)
        return counts / max(self.n, 1)


def compare_pairs(prep: pd.DataFrame | Prepared, l: np.ndarray, r: np.ndarray, settings=None
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Level arrays per comparison for pairs (l, r) of positions, and term-frequency values for
    levels flagged ``tf_adjust`` (the share of records holding the agreeing value)."""
    from crmkit.match.settings import MatchSettings

    settings = settings or MatchSettings()
    p = prep if isinstance(prep, Prepared) else Prepared(prep)
    l = np.asarray(l, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    levels: dict[str, np.ndarray] = {}
    tf: dict[str, np.ndarray] = {}
    for comp in settings.comparisons:
        params = comp.params
        if comp.field == "name":
            levels["name"] = _name_levels(p, l, r, params)
            tf["name"] = p.value_frequency("name_key")[l]      # exact/swapped/nickname: l's name
        elif comp.field == "email":
            levels["email"] = _email_levels(p, l, r, params)
        elif comp.field == "phone":
            lv, code, shared = _phone_levels(p, l, r, params)
            levels["phone"] = lv
            levels[SHARED_PHONE] = shared
            freq = p.phone_frequency()
            tf["phone"] = np.where(code >= 0, freq[np.maximum(code, 0)] if len(freq) else np.nan, np.nan)
        elif comp.field == "company":
            levels["company"] = _company_levels(p, l, r, params)
            tf["company"] = p.value_frequency("company_key")[l]
        elif comp.field == "address":
            levels["address"] = _address_levels(p, l, r, params)
        elif comp.kind is not None:
            col = f"x:{comp.field}"
            levels[comp.field] = generic.levels(comp.kind, p[col], l, r, params)
            if any(lv.tf_adjust for lv in comp.levels):
                tf[comp.field] = p.value_frequency(col, params.get("tf_min_count", 5))[l]
    return levels, tf


def display_values(df: pd.DataFrame, field: str) -> pd.Series:
    """The human-readable value of a comparison's field for one record (for explanations)."""
    def col(c):
        return _col(df, c).astype(object)

    if field == "name":
        return col("full_name").fillna((col("first_name").fillna("") + " " + col("last_name").fillna("")).str.strip())
    if field == "phone":
        return pd.Series([" / ".join(str(v) for v in vals if v is not None and v == v) or None
                          for vals in zip(col("phone"), col("mobile"))], index=df.index, dtype=object)
    if field == "company":
        return col("company").fillna(col("company_key"))
    if field == "address":
        parts = zip(col("street"), col("postcode"), col("city"), col("country"))
        return pd.Series([", ".join(str(v) for v in vals if v is not None and v == v) or None for vals in parts],
                         index=df.index, dtype=object)
    return col(field)
