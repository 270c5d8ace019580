"""Compare stage: each candidate pair gets one level per field (Splink-style ordered levels).

``prepare`` normalises the cleaned contacts once (on unique values); ``compare_pairs`` turns the
pair arrays (positions into the prepared frame) into integer level arrays, level 0 = null. Fuzzy
similarities are computed once per *unique pair of values* with ``rapidfuzz.process.cpdist`` (name levels
once per unique pair of names; an edit distance under a cutoff only where the values' lengths and character
counts allow it), and pairs are compared in chunks of ``_CHUNK`` so memory stays bounded.

The ladders (first level that applies wins):

======== ==================================================================================
name     null, exact, swapped, nickname, typo, near, initials, first_only, first_edit, surname_only, romanised,
         else    (first_edit: same last name, first names within 2 edits: not a household conflict;
         romanised: a CJK name whose pinyin is the other's Latin name, 周刚 / Gang Zhou; needs pypinyin)
email    null, exact, same_local_part, typo, private_and_work, else
                                                (private_and_work: one address at a free-mail provider, the
                                                other elsewhere, as a person's private and work addresses)
phone    null, exact, last_digits, one_digit, other_kind, else
                                                (phone and mobile pooled, any of 2×2; other_kind: no column in
                                                common, one gives only a landline and the other only a mobile)
company  null, exact, fuzzy, else                       (on company_key)
address  null, same_street, same_postcode, same_city, other_country, else
                                                (cities and streets written in Chinese compared in pinyin)
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

import functools
import re
import unicodedata

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, Indel, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from crmkit.match import generic
from crmkit._fork import Beside, fork_ok
from crmkit.clean._base import arrow_text, factorize
from crmkit.clean._free_mail import is_free_mail
from crmkit.clean._nicknames import NICKNAMES

LADDERS: dict[str, list[str]] = {
    "name": ["null", "exact", "swapped", "nickname", "typo", "near", "initials", "first_only", "first_edit",
             "surname_only", "romanised", "else"],
    "email": ["null", "exact", "same_local_part", "typo", "private_and_work", "else"],
    "phone": ["null", "exact", "last_digits", "one_digit", "other_kind", "else"],
    "company": ["null", "exact", "fuzzy", "else"],
    "address": ["null", "same_street", "same_postcode", "same_city", "other_country", "else"],
}
# not a comparison: per pair, whether the phone level comes from the `phone` columns alone (see scoring)
SHARED_PHONE = "_phone_shared"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_ARROW_MIN_PLAIN = 5_000    # distinct texts from which pyarrow's string kernels do the work (see _by_arrow)
_PHONE = re.compile(r"^\+\d{6,15}$")
_NON_LETTER = re.compile(r"[^a-z ]+")
_DIGIT = re.compile(r"\d")
_NON_DIGIT = re.compile(r"\D")
_ASCII_NON_DIGITS = str.maketrans("", "", "".join(chr(i) for i in range(128) if not chr(i).isdigit()))


# --------------------------------------------------------------------------- preparation
def _on_unique(values: pd.Series, func) -> pd.Series:
    """Apply a Python function to each distinct non-missing value, return an object Series (None = missing)."""
    codes, uniques = factorize(values)
    mapped = np.array([func(v) for v in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _fold(text: str) -> str:
    """Lower case, accents off, letters and single spaces only: 'Müller-Lüdenscheidt' -> 'muller ludenscheidt'."""
    t = unicodedata.normalize("NFKD", str(text).casefold())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = t.replace("ø", "o").replace("ł", "l").replace("đ", "d").replace("æ", "ae").replace("œ", "oe")
    return " ".join(_NON_LETTER.sub(" ", t).split())


def _romanise(text: str) -> str:
    """Chinese characters as tone-less pinyin, one word per run of characters: '人民路 12' -> ' renminlu  12'
    (unchanged without pypinyin), so a place written in Chinese keeps its letters when folded and meets its
    Latin spelling: '北京' / 'Beijing'."""
    if not _CJK.search(text):
        return text
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:         # optional here: the characters themselves are compared then
        return text
    return _CJK_RUN.sub(lambda m: " " + _pinyin_word(m.group(0), lazy_pinyin, Style.NORMAL) + " ", text)


@functools.lru_cache(maxsize=1 << 14)
def _pinyin_word(chars: str, lazy_pinyin, style) -> str:
    """'人民路' -> 'renminlu' (a few street and city names repeat across many addresses: computed once each)."""
    return "".join(lazy_pinyin(chars, style=style)).replace("v", "u")


def _place(text) -> str | None:
    """A city folded for comparison: 'Köln' -> 'koln', '北京' -> 'beijing' (was dropped as no letters)."""
    t = _romanise(str(text))
    return _fold(t) or ("".join(_CJK.findall(t)) or None)


def _street(text) -> str | None:
    """'Hauptstraße 5' / 'hauptstr. 5' -> 'hauptstr 5'; digits kept; Chinese in pinyin: '人民路 5' -> 'renminlu 5'
    (not '5', which any street with that number matched)."""
    t = unicodedata.normalize("NFKD", _romanise(str(text)).casefold())
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


def _values(df: pd.DataFrame, name: str) -> pd.Series:
    """A column as object values, index 0..n-1, missing values as they come (None, NaN, ...): for factorizing,
    which takes any of them as missing (no pass over the column to mark them, as :func:`_col` makes)."""
    if name in df.columns:
        return pd.Series(df[name].to_numpy(dtype=object), dtype=object)
    return pd.Series([None] * len(df), dtype=object)


def _text(s: pd.Series) -> pd.Series:
    return _on_unique(s, lambda v: (" ".join(str(v).split()) or None))


def _full_names(fn: "_Coded", ln: "_Coded") -> tuple[np.ndarray, "_Coded"]:
    """'first last' (or the one there is; None for neither), built once per distinct pair of names, and its codes."""
    fc, lc = fn.codes, ln.codes
    k = len(ln.uniq) + 1
    codes, pairs = pd.factorize((fc + 1) * k + lc + 1)
    fu, lu = np.append(fn.uniq, ""), np.append(ln.uniq, "")
    text = np.array([(a + " " + b).strip() or None for a, b in zip(fu[pairs // k - 1].tolist(),
                                                                    lu[pairs % k - 1].tolist())] + [None], dtype=object)
    out_codes, out_uniq = pd.factorize(text[:-1], use_na_sentinel=True)
    return text[codes], _Coded.from_codes(np.r_[out_codes, -1][codes], out_uniq)


def _email(v) -> str | None:
    """An email address for comparison: trimmed, case-folded, of the shape ``local@domain.tld``; else None."""
    return e if _EMAIL.match(e := str(v).strip().casefold()) else None


def _phone(v) -> str | None:
    """A phone number for comparison (cleaned to E.164 before): ``+`` and 6 to 15 digits; else None."""
    return p if _PHONE.match(p := str(v).strip()) else None


# what _email and _phone return as they are: an address or a number of printable ASCII, nothing to trim or fold
_PLAIN_EMAIL = r"^[\x21-\x3f\x5b-\x7e]+@[\x21-\x3f\x5b-\x7e]+\.[\x21-\x2d\x2f-\x3f\x5b-\x7e]{2,}$"
_PLAIN_PHONE = r"^\+[0-9]{6,15}$"


def _unlike(pattern: str):
    """A ``python_for`` of :func:`_by_arrow`: the texts that do not match ``pattern`` (RE2)."""
    return lambda pc, text: pc.invert(pc.match_substring_regex(text, pattern))


def _non_ascii(pc, text):
    """A ``python_for`` of :func:`_by_arrow`: the texts that are not all ASCII (where RE2's classes and
    Python's differ)."""
    return pc.invert(pc.string_is_ascii(text))


def _coded_on_unique(values: pd.Series, func) -> tuple[np.ndarray, "_Coded"]:
    """Like :func:`_on_unique`, plus the result's codes (those of ``_Coded(result)``), taken from the distinct
    values instead of factorizing the result again."""
    return _coded_mapped(_Coded.from_codes(*factorize(values)), func)


def _coded_mapped(col: "_Coded", func, python_for=None) -> tuple[np.ndarray, "_Coded"]:
    """``func`` of each value of a coded column (None where missing) and the result's codes, from its distinct
    values (the result's distinct values in order of first appearance, as factorizing it would give them).
    ``python_for``: for a ``func`` that returns each other value as it is, which values it must see (see
    :func:`_by_arrow`); None: all of them."""
    if python_for is None:
        mapped = np.array([func(v) for v in col.uniq] + [None], dtype=object)
    else:
        mapped = np.append(_by_arrow(col.uniq, func, python_for=python_for), None)
    out_codes, out_uniq = factorize(mapped[:-1])
    return mapped[col.codes], _Coded.from_codes(np.r_[out_codes, -1][col.codes], out_uniq)


def prepare(df: pd.DataFrame, extra: dict[str, tuple[str, dict]] | None = None) -> pd.DataFrame:
    """Normalised matching columns, positional index 0..n-1 (the input is not changed).

    Columns: record_id, fn, ln, fn_canon, full (folded 'fn ln'), cjk, py_family and py_given (pinyin of
    a CJK name), email, email_local, phone1,
    phone2, company_key, street, postcode, city, country, name_key (for term frequencies), and
    ``x:<column>`` for each column of ``extra`` (column -> (kind, params)), normalised for that kind.
    """
    return _prepare(df, extra)[0]


def _prepare(df: pd.DataFrame, extra: dict[str, tuple[str, dict]] | None = None
             ) -> tuple[pd.DataFrame, dict[str, "_Coded"]]:
    """:func:`prepare`, plus the codes of the columns normalised value by value (for :class:`Prepared`)."""
    return _prepare_run(df, extra)[:2]


def _prepare_run(df: pd.DataFrame, extra: dict[str, tuple[str, dict]] | None = None, phone_digits: int = 7
                 ) -> tuple[pd.DataFrame, dict[str, "_Coded"], dict]:
    """:func:`_prepare`, plus what :class:`Prepared` derives from the columns (``derived``).

    A large frame has its emails, phones and ``extra`` columns normalised in a forked helper while this process
    does the names (and their codes for :class:`Prepared`), company and address; they come back as codes
    and distinct values, with what :class:`Prepared` derives from them alone (phones in one vocabulary with
    their last ``phone_digits`` digits, the emails' digits and kind of domain)."""
    out: dict[str, np.ndarray] = {}     # object arrays; one object frame at the end (no str-dtype round trips)
    out["record_id"] = df["record_id"].astype(str).to_numpy(dtype=object)
    if fork_ok(len(df)):
        there = tuple(p for p in _PLACES if p not in _HERE_PLACES)
        with Beside(lambda: _packed(*_prepare_contacts(df, extra, phone_digits, there)), len(df)) as helper:
            names, coded = _prepare_names(df)
            derived = {"names": _name_codes(names, coded)}
            places, places_coded = _prepare_places(df, _HERE_PLACES)
            contacts, contacts_coded, contacts_derived = _unpacked(*helper.result())
        contacts.update(places)
        contacts_coded.update(places_coded)
    else:
        names, coded = _prepare_names(df)
        derived = {"names": _name_codes(names, coded)}
        contacts, contacts_coded, contacts_derived = _prepare_contacts(df, extra, phone_digits)
    out.update(names)
    order = ["email", "email_local", "phone1", "phone2", *_PLACES]
    out.update({name: contacts[name] for name in order})
    out.update({name: values for name, values in contacts.items() if name not in order})     # x:<column>
    coded.update(contacts_coded)
    derived.update(contacts_derived)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)), dtype=object), coded, derived


def _packed(out: dict[str, np.ndarray], coded: dict[str, "_Coded"], derived: dict) -> tuple[dict, dict, dict]:
    """Columns of object values as codes and distinct values (the cheap form to send between processes); the
    distinct texts as one joined string each (:class:`_Texts`: pickling a million str one by one costs ~0.4 s)."""
    texts: dict[int, object] = {}

    def text(uniq: np.ndarray):             # an array shared by several columns is sent once
        if id(uniq) not in texts:
            texts[id(uniq)] = _Texts.of(uniq)
        return texts[id(uniq)]
    phones = derived.get("phone")
    small = {}
    for name, values in out.items():
        if name in coded:
            small[name] = None                  # rebuilt from coded
        elif name in ("phone1", "phone2"):      # text or None: codes of the phones' one vocabulary
            small[name] = (getattr(phones, f"codes{name[-1]}"), text(phones.uniq))
        else:                                   # declared columns (numbers, ...): as they are
            small[name] = values
    for col in [*coded.values(), *([phones, phones.coded] if isinstance(phones, _Phones) else [])]:
        col.uniq = text(col.uniq)
    return small, coded, derived


def _unpacked(small: dict, coded: dict[str, "_Coded"], derived: dict) -> tuple[dict[str, np.ndarray], dict, dict]:
    """The columns of :func:`_packed` as object arrays again (None = missing)."""
    arrays: dict[int, np.ndarray] = {}

    def array(uniq) -> np.ndarray:
        if id(uniq) not in arrays:
            arrays[id(uniq)] = uniq.array() if isinstance(uniq, _Texts) else uniq
        return arrays[id(uniq)]
    phones = derived.get("phone")
    for col in [*coded.values(), *([phones, phones.coded] if isinstance(phones, _Phones) else [])]:
        col.uniq = array(col.uniq)
    out = {}
    for name, packed in small.items():
        if isinstance(packed, np.ndarray):
            out[name] = packed
            continue
        codes, uniq = (coded[name].codes, coded[name].uniq) if packed is None else (packed[0], array(packed[1]))
        values = np.empty(len(uniq) + 1, dtype=object)
        values[:-1] = uniq
        out[name] = values[codes]
    return out, coded, derived


class _Texts:
    """An object array of str as one string, the values joined by NUL (which none of them holds), to pickle."""

    def __init__(self, joined: str, n: int):
        self.joined, self.n = joined, n

    @classmethod
    def of(cls, uniq: np.ndarray):
        """The array as :class:`_Texts`; the array itself when it is not all str or a value holds a NUL."""
        items = uniq.tolist()
        if not items or uniq.dtype != object:
            return uniq
        try:
            joined = "\x00".join(items)
        except TypeError:                   # a value that is not str
            return uniq
        return cls(joined, len(items)) if joined.count("\x00") == len(items) - 1 else uniq

    def array(self) -> np.ndarray:
        out = np.empty(self.n, dtype=object)
        out[:] = self.joined.split("\x00")
        return out


def _prepare_names(df: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, "_Coded"]]:
    """The name columns of :func:`prepare` (fn, ln, fn_canon, full, cjk, name_key, py_family, py_given), and the
    codes of fn, ln, fn_canon, full, cjk and name_key. Each input column is factorized once; everything else is
    worked out on its distinct values and mapped through the codes."""
    coded: dict[str, _Coded] = {}
    out: dict[str, np.ndarray] = {}
    first, last, full = (_values(df, c) for c in ("first_name", "last_name", "full_name"))
    (fc, fu), (lc, lu), (uc, uu) = (factorize(col) for col in (first, last, full))

    def per_value(codes, uniq, func, missing=None, dtype=object) -> np.ndarray:
        mapped = np.empty(len(uniq) + 1, dtype=dtype)
        mapped[:-1] = [func(v) for v in uniq]
        mapped[-1] = missing
        return mapped[codes]

    # a CJK full name, else CJK in the first or last name (each judged once per distinct value)
    is_cjk = lambda v: bool(_CJK.search(str(v)))  # noqa: E731
    cjk_full = np.array([is_cjk(v) for v in uu] + [False], dtype=bool)
    has_cjk = np.where(uc >= 0, cjk_full[uc],
                       per_value(fc, fu, is_cjk, False, bool) | per_value(lc, lu, is_cjk, False, bool))
    # the full name's characters where it is the CJK one
    cjk = per_value(uc, uu, lambda v: ("".join(str(v).split()) or None) if is_cjk(v) else None)
    fill = pd.isna(cjk) & has_cjk
    if fill.any():
        cjk[fill] = (first[fill].fillna("") + last[fill].fillna("")).to_numpy(dtype=object)
    latin = ~has_cjk
    fn = np.where(latin, per_value(fc, fu, _name_part), None)
    ln = np.where(latin, per_value(lc, lu, _name_part), None)
    # split full names where the parts are missing: first token = first name, the rest = last name
    need = np.flatnonzero(pd.isna(fn) & pd.isna(ln) & (uc >= 0) & latin)
    if len(need):
        codes, at = np.unique(uc[need], return_inverse=True)
        toks = [tuple(_fold(v).split()) or None for v in uu[codes]]
        fn[need] = np.array([t[0] if t and len(t) > 1 else None for t in toks], dtype=object)[at]
        ln[need] = np.array([("".join(t[1:]) if t and len(t) > 1 else (t[0] if t else None)) for t in toks],
                            dtype=object)[at]
    # a lone name ('Jürgen' as first name, 'Schneider' as last name: the cleaner cannot always tell) is
    # held in ln, and the swapped orientation compares it with either part of the other's name
    lone = ~pd.isna(fn) & pd.isna(ln)
    ln[lone], fn[lone] = fn[lone], None
    out["fn"] = fn
    out["ln"] = ln
    coded["fn"], coded["ln"] = _Coded(fn), _Coded(ln)
    out["fn_canon"], coded["fn_canon"] = _coded_mapped(coded["fn"], lambda v: NICKNAMES.get(v, v))
    out["full"], coded["full"] = _full_names(coded["fn"], coded["ln"])
    out["cjk"] = cjk
    coded["cjk"] = _Coded(cjk)
    out["name_key"] = np.where(pd.isna(out["full"]), out["cjk"], out["full"])
    coded["name_key"] = _Coded(out["name_key"])
    py = [_pinyin_parts(v) for v in coded["cjk"].uniq]
    out["py_family"] = np.array([t[0] if t else None for t in py] + [None], dtype=object)[coded["cjk"].codes]
    out["py_given"] = np.array([t[1] if t else None for t in py] + [None], dtype=object)[coded["cjk"].codes]
    return out, coded


_PLACES = {"company_key": lambda v: " ".join(str(v).casefold().split()) or None,
           "street": _street,
           "postcode": lambda v: re.sub(r"[\s\-]", "", str(v)).upper() or None,
           "city": _place,
           "country": lambda v: str(v).strip().upper() or None}
_HERE_PLACES = tuple(_PLACES)     # prepared here while a helper does the emails and phones
# the input columns :func:`prepare` reads (besides the ``extra`` ones)
INPUT_COLUMNS = ("record_id", "first_name", "last_name", "full_name", "email", "phone", "mobile", *_PLACES)


def _prepare_places(df: pd.DataFrame, places) -> tuple[dict[str, np.ndarray], dict[str, "_Coded"]]:
    """Company and address columns of :func:`prepare` (``places``: names among ``_PLACES``) and their codes."""
    out, coded = {}, {}
    for name in places:
        out[name], coded[name] = _coded_on_unique(_values(df, name), _PLACES[name])
    return out, coded


def _prepare_contacts(df: pd.DataFrame, extra: dict[str, tuple[str, dict]] | None, phone_digits: int = 7,
                      places=tuple(_PLACES)) -> tuple[dict[str, np.ndarray], dict[str, "_Coded"], dict]:
    """The other columns of :func:`prepare`: email, email_local, phone1, phone2, the ``places`` among
    company_key, street, postcode, city, country, and ``x:<column>`` of ``extra``; their codes; what
    :class:`Prepared` derives from them alone."""
    coded: dict[str, _Coded] = {}
    out: dict[str, np.ndarray] = {}
    out["email"], coded["email"] = _coded_mapped(_Coded.from_codes(*factorize(_values(df, "email"))), _email,
                                                 _unlike(_PLAIN_EMAIL))
    em = coded["email"]                 # local parts from the distinct emails
    local = np.append(_by_arrow(em.uniq, lambda e: e.split("@", 1)[0],
                                lambda pc, text: pc.replace_substring_regex(text, "(?s)@.*", "", max_replacements=1)),
                      None)
    out["email_local"] = local[em.codes]
    codes, uniq = factorize(local[:-1])
    coded["email_local"] = _Coded.from_codes(np.r_[codes, -1][em.codes], uniq)
    for i, c in enumerate(("phone", "mobile"), 1):
        codes, uniq = factorize(_values(df, c))
        out[f"phone{i}"] = np.append(_by_arrow(uniq, _phone, python_for=_unlike(_PLAIN_PHONE)), None)[codes]
    same = pd.notna(out["phone1"]) & (out["phone1"] == out["phone2"])
    out["phone2"] = np.where(same, None, out["phone2"])
    places_out, places_coded = _prepare_places(df, places)
    out.update(places_out)
    coded.update(places_coded)
    if extra:
        from crmkit.match.generic import normalise

        for column, (kind, params) in extra.items():
            out[f"x:{column}"] = normalise(_col(df, column).reset_index(drop=True), kind, params).to_numpy()
    derived = _email_traits(coded["email"], coded["email_local"])
    derived["phone"] = _Phones(out["phone1"], out["phone2"], phone_digits)
    return out, coded, derived


def _email_traits(em: "_Coded", loc: "_Coded") -> dict[str, np.ndarray]:
    """Per record: the code of the email's digits ('' for none, -1 without an email), whether the address is
    at a free-mail provider, the local part's length and whether it holds a digit (each judged once per
    distinct value; by pyarrow's string kernels where they give the same, see :func:`_by_arrow`)."""
    digits = _by_arrow(em.uniq,
                       lambda v: d if (d := v.translate(_ASCII_NON_DIGITS)).isascii() else _NON_DIGIT.sub("", v),
                       lambda pc, text: pc.replace_substring_regex(text, "[^0-9]+", ""), python_for=_non_ascii)
    digits = pd.factorize(digits)[0]
    # private (free-mail) or work address, judged once per distinct domain
    domains = _by_arrow(em.uniq, lambda v: v[v.rfind("@") + 1:],
                        lambda pc, text: pc.replace_substring_regex(text, "(?s)^.*@", "", max_replacements=1))
    dom_codes, dom_uniq = pd.factorize(domains)
    dom_free = np.array([is_free_mail(d) for d in dom_uniq], dtype=bool)
    local_u = pd.Series(loc.uniq, dtype=object)
    local_digit = _by_arrow(loc.uniq, lambda v: bool(_DIGIT.search(v)),
                            lambda pc, text: pc.match_substring_regex(text, "[0-9]"), python_for=_non_ascii, dtype=bool)
    return {"email_digits": np.r_[digits, -1][em.codes], "email_free": np.r_[dom_free[dom_codes], False][em.codes],
            "local_len": np.r_[local_u.str.len().to_numpy(dtype=float), 0.0][loc.codes],
            "local_digit": np.r_[local_digit, False][loc.codes]}


def _by_arrow(uniq: np.ndarray, func, kernel=None, python_for=None, dtype=object) -> np.ndarray:
    """``func`` of each text of ``uniq``, as an array. A long array of str goes to pyarrow: ``kernel(pc, text)``
    gives the results (None: the texts as they are), except for the texts ``python_for(pc, text)`` picks out
    (None: none), whose results ``func`` gives (where pyarrow's would differ from Python's). A short array, or
    one not all str, goes to ``func`` alone."""
    text = arrow_text(uniq) if len(uniq) >= _ARROW_MIN_PLAIN else None
    if text is None:
        return np.array([func(v) for v in uniq], dtype=dtype).reshape(len(uniq))
    import pyarrow.compute as pc

    out = uniq.astype(dtype) if kernel is None else \
        kernel(pc, text).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    if python_for is not None:
        other = np.flatnonzero(python_for(pc, text).to_numpy(zero_copy_only=False))
        if len(other):
            out[other] = np.array([func(v) for v in uniq[other].tolist()] + [None], dtype=object)[:-1]
    return out


# --------------------------------------------------------------------------- pair similarity helpers
class _Coded:
    """A column as integer codes (-1 = missing) plus its unique values, for pair lookups."""

    @classmethod
    def from_codes(cls, codes: np.ndarray, uniq) -> "_Coded":
        self = cls.__new__(cls)
        self.codes = np.asarray(codes, dtype=np.int64)
        self.uniq = np.asarray(uniq, dtype=object)
        self._signature = None
        return self

    def __init__(self, values: np.ndarray):
        codes, uniq = factorize(np.asarray(values, dtype=object))
        self.codes = codes.astype(np.int64)
        self.uniq = np.asarray(uniq, dtype=object)
        self._signature = None

    def pair(self, l: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.codes[l], self.codes[r]

    def signature(self) -> tuple[np.ndarray, np.ndarray]:
        """Length and a 16-bin character histogram of each distinct value (built once, vectorised)."""
        if self._signature is None:
            text = [str(v) for v in self.uniq]
            length = np.fromiter(map(len, text), np.int64, len(text))
            chars = np.frombuffer("".join(text).encode("utf-32-le"), np.uint32) % _BINS
            row = np.repeat(np.arange(len(text)), length)
            hist = np.bincount(row * _BINS + chars, minlength=len(text) * _BINS).reshape(len(text), _BINS)
            # the histogram packed in one integer, 4 bits a bin (counts clipped at 15: differences only shrink)
            packed = (np.minimum(hist, 15).astype(np.uint64) << (4 * np.arange(_BINS, dtype=np.uint64))).sum(
                axis=1, dtype=np.uint64)
            self._signature = (length, np.minimum(hist, 255).astype(np.int16), packed)
        return self._signature


_BINS = 16
_DENSE_PAIRS = 1 << 22


def _one_edit_deltas() -> np.ndarray:
    """Differences of two packed histograms (see ``_Coded.signature``) whose bins differ by at most 2 in total."""
    unit = [np.uint64(1) << np.uint64(4 * i) for i in range(_BINS)]
    out = {np.uint64(0)}
    with np.errstate(over="ignore"):
        for i in range(_BINS):
            for j in range(_BINS):
                for d in ([unit[i]] if i == j else []) + [unit[i] + unit[j], unit[i] - unit[j]]:
                    out |= {d, np.uint64(0) - d}
    return np.array(sorted(out), dtype=np.uint64)


_ONE_EDIT_DELTAS = _one_edit_deltas()
_EDIT_DISTANCES = (Levenshtein.distance, DamerauLevenshtein.distance)


def _maybe_within(col: _Coded, a: np.ndarray, b: np.ndarray, max_edits: int, chunk: int = 1 << 20) -> np.ndarray:
    """False where values a and b (codes) are surely more than ``max_edits`` edits apart: their lengths or
    character histograms differ by more than one edit can explain (an edit changes the length by at most 1
    and the histogram by at most 2). A cheap filter in front of the exact edit distance."""
    length, hist, packed = col.signature()
    keep = np.abs(length[a] - length[b]) <= max_edits
    if max_edits == 1:      # one edit: the packed histograms differ by one of few values (wrapping arithmetic)
        delta = packed[a] - packed[b]
        at = np.minimum(np.searchsorted(_ONE_EDIT_DELTAS, delta), len(_ONE_EDIT_DELTAS) - 1)
        return keep & (_ONE_EDIT_DELTAS[at] == delta)
    idx = np.flatnonzero(keep)
    for s in range(0, len(idx), chunk):
        part = idx[s:s + chunk]
        keep[part] = np.abs(hist[a[part]] - hist[b[part]]).sum(axis=1) <= 2 * max_edits
    return keep


def _sim(col: _Coded, cl: np.ndarray, cr: np.ndarray, scorer, equal_value: float, **kw) -> np.ndarray:
    """scorer(value_l, value_r) per pair, computed once per distinct pair; NaN where either is missing.

    An edit distance with a ``score_cutoff`` is only computed where lengths and character counts allow it
    to be within the cutoff; elsewhere it is ``score_cutoff + 1``, as rapidfuzz reports it."""
    out = np.full(len(cl), np.nan)
    both = (cl >= 0) & (cr >= 0)
    out[both & (cl == cr)] = equal_value
    todo = np.flatnonzero(both & (cl != cr))
    if scorer in _EDIT_DISTANCES and kw.get("score_cutoff") is not None:
        out[todo] = kw["score_cutoff"] + 1.0
        todo = todo[_maybe_within(col, cl[todo], cr[todo], kw["score_cutoff"])]
    if len(todo):
        k = len(col.uniq) + 1
        key = cl[todo] * k + cr[todo]
        if k * k <= _DENSE_PAIRS:          # few values (cities, countries): a lookup table over all their pairs
            seen = np.zeros(k * k, bool)
            seen[key] = True
            ukey = np.flatnonzero(seen)
            table = np.empty(k * k)
            table[ukey] = cpdist(col.uniq[ukey // k].tolist(), col.uniq[ukey % k].tolist(), scorer=scorer,
                                 workers=-1, **kw)
            out[todo] = table[key]
        else:
            inv, ukey = pd.factorize(key)       # hash-based: faster than sorting millions of keys
            vals = cpdist(col.uniq[ukey // k].tolist(), col.uniq[ukey % k].tolist(), scorer=scorer, workers=-1,
                          **kw).astype(float)
            out[todo] = vals[inv]
    return out


def _combined(*codes: np.ndarray) -> np.ndarray:
    """One code (>= 0) per distinct combination of several code arrays (-1 = missing counts as a value)."""
    out = codes[0] + 1
    for c in codes[1:]:
        out = pd.factorize(out * (int(c.max(initial=-1)) + 2) + c + 1)[0].astype(np.int64)
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
    """Name levels, computed once per distinct pair of names (a name: first, last and CJK name; blocks of
    John Smiths repeat the same pair many times) on a representative pair of records."""
    nid, rep = p["name_id"], p["name_rep"]
    k = len(rep)
    inv, ukey = pd.factorize(nid[l] * k + nid[r])
    a, b = rep[ukey // k], rep[ukey % k]
    if len(a) <= _CHUNK:
        return _name_levels_rows(p, a, b, params)[inv]
    return np.concatenate([_name_levels_rows(p, a[s:s + _CHUNK], b[s:s + _CHUNK], params)
                           for s in range(0, len(a), _CHUNK)])[inv]


def _name_levels_rows(p, l: np.ndarray, r: np.ndarray, params: dict) -> np.ndarray:
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
    digits = p["email_digits"]
    # jsmith12/jsmith13 or john.smith/johnsmith are namesakes' patterns, not typos
    maybe = np.flatnonzero((digits[l] == digits[r]) & p["local_personal"][l] & p["local_personal"][r])
    typo = np.zeros(len(l), bool)
    typo[maybe] = _sim(em, el[maybe], er[maybe], DamerauLevenshtein.distance, 0.0,
                       score_cutoff=params.get("max_edits", 1)) <= params.get("max_edits", 1)
    # different addresses: one private (free-mail) and one work address are what one person has as often as
    # two people (anna.weber@gmail.com / anna.weber@acme.com: a name-made local part adds nothing to the
    # name); two private or two work addresses are mostly two people's
    free = p["email_free"]
    level = _select([_eq(el, er), _eq(ll, lr) & long_local, typo, free[l] != free[r]], len(l),
                    default=len(LADDERS["email"]) - 1)
    level[(el < 0) | (er < 0)] = 0
    return level


def _phone_levels(p: dict, l, r, params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels, for the exact level the code of the agreeing number (for its frequency), and whether the
    level is reached through the ``phone`` columns alone (a landline or switchboard a household or an
    office shares, unlike a mobile)."""
    ph = p["phone"]
    k = params.get("last_digits", 7)
    tails = ph.record_tails()
    sides_l = [ph.codes1[l], ph.codes2[l]]
    sides_r = [ph.codes1[r], ph.codes2[r]]
    tails_l = [t[l] for t in tails]
    tails_r = [t[r] for t in tails]
    n = len(l)
    exact = np.zeros(n, bool)
    exact_code = np.full(n, -1, np.int64)
    tail = np.zeros(n, bool)
    for a, ta in zip(sides_l, tails_l):
        for b, tb in zip(sides_r, tails_r):
            hit = _eq(a, b)
            first = hit & (exact_code < 0)
            exact_code[first] = a[first]
            exact |= hit
            tail |= (ta == tb) & (ta >= 0)              # a tail code is -1 where there is no number
            if a is sides_l[0] and b is sides_r[0]:
                land_exact, land_tail = exact.copy(), tail.copy()
    # one differing digit: only where no number agrees already (edit distances on the distinct pairs)
    one, land_one = np.zeros(n, bool), np.zeros(n, bool)
    need = ~exact & ~tail
    for a in sides_l:
        for b in sides_r:
            idx = np.flatnonzero(need & (a >= 0) & (b >= 0) & (a != b))
            d = _sim(ph.coded, a[idx], b[idx], Levenshtein.distance, 0.0, score_cutoff=1) == 1
            one[idx] |= d
            if a is sides_l[0] and b is sides_r[0]:
                land_one[idx] = d
    landline = _select([land_exact, land_tail, land_one, np.zeros(n, bool)], n, default=len(LADDERS["phone"]) - 1)
    any_l = (sides_l[0] >= 0) | (sides_l[1] >= 0)
    any_r = (sides_r[0] >= 0) | (sides_r[1] >= 0)
    # different numbers and no column in common: one gives only a landline, the other only a mobile (a
    # person has both); numbers of the same kind that differ are mostly two people's
    other_kind = ~(((sides_l[0] >= 0) & (sides_r[0] >= 0)) | ((sides_l[1] >= 0) & (sides_r[1] >= 0)))
    level = _select([exact, tail, one, other_kind], n, default=len(LADDERS["phone"]) - 1)
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
        codes, uniq = factorize(np.concatenate([p1, p2]).astype(object, copy=False))
        n = len(p1)
        self.codes1 = codes[:n].astype(np.int64)
        self.codes2 = codes[n:].astype(np.int64)
        self.coded = _Coded.from_codes(np.arange(len(uniq)), uniq)      # the distinct phones, coded as themselves
        tails = _by_arrow(np.asarray(uniq, dtype=object), lambda u: u[-k:] if len(u) - 1 >= k else None,
                          lambda pc, text: pc.if_else(pc.greater_equal(pc.utf8_length(text), k + 1),
                                                      pc.utf8_slice_codeunits(text, -k), None), python_for=_non_ascii)
        self.tail = factorize(tails)[0].astype(np.int64)
        if len(self.tail) == 0:
            self.tail = np.full(1, -1, np.int64)
        self.uniq = np.asarray(uniq, dtype=object)
        self.k = k
        self._record_tails = None

    def record_tails(self) -> tuple[np.ndarray, np.ndarray]:
        """Per record, the code of the last ``k`` digits of its phone and of its mobile (-1: none)."""
        if getattr(self, "_record_tails", None) is None:
            tail = np.r_[self.tail, -1]
            self._record_tails = (tail[self.codes1], tail[self.codes2])
        return self._record_tails


def _name_codes(prep, coded: dict) -> dict:
    """The coded name columns of :class:`Prepared` (``prep``: the prepared frame or its name columns)."""
    c = {name: coded[name] if name in coded else _Coded(np.asarray(prep[name], dtype=object)) for name in
         ("fn", "ln", "fn_canon", "cjk", "full", "name_key")}
    # first, last and canonical names in one vocabulary, so any two can be compared (swaps); built
    # from the distinct values of each column, then mapped through the codes
    n = len(c["fn"].codes)
    fn, ln, fcan = c["fn"], c["ln"], c["fn_canon"]
    lcan_uniq = np.array([NICKNAMES.get(v, v) for v in ln.uniq], dtype=object)
    names = _Coded(np.concatenate([fn.uniq, ln.uniq, fcan.uniq, lcan_uniq]))
    bounds = np.cumsum([0, len(fn.uniq), len(ln.uniq), len(fcan.uniq), len(lcan_uniq)])
    c["names"] = names
    vocab = pd.Series(names.uniq, dtype=object)
    c["name_initial"] = np.r_[pd.factorize(vocab.str[:1])[0], -1].astype(np.int64)
    c["name_len"] = np.r_[vocab.str.len().astype(float).fillna(0).to_numpy(dtype=np.int64), 0]
    for i, (key, col) in enumerate((("fn_c", fn), ("ln_c", ln), ("fcan_c", fcan), ("lcan_c", ln))):
        to_vocab = np.r_[names.codes[bounds[i]:bounds[i + 1]], -1]
        c[key] = to_vocab[col.codes]                  # code -1 indexes the trailing -1
    # one id per distinct name (first, last, CJK: everything the name ladder reads) and a record holding it
    c["name_id"], name_uniq = pd.factorize(_combined(fn.codes, ln.codes, c["cjk"].codes))
    c["name_rep"] = np.zeros(len(name_uniq), np.int64)
    c["name_rep"][c["name_id"][::-1]] = np.arange(n - 1, -1, -1)      # the first record of each name
    return c


class Prepared:
    """Coded columns of a prepared frame, built once per run and shared by every comparison."""

    def __init__(self, prep: pd.DataFrame, params_phone: dict | None = None, coded: dict | None = None,
                 derived: dict | None = None):
        self.frame = prep
        self.n = len(prep)
        coded = coded or {}         # codes prepare already knows (from the distinct values)
        derived = derived or {}     # ... and what it derived from them (see _prepare_run)
        c = dict(derived["names"]) if "names" in derived else _name_codes(prep, coded)
        c.update({name: coded[name] if name in coded else _Coded(prep[name].to_numpy()) for name in
                  ("email", "email_local", "company_key", "street", "postcode", "city", "country")})
        n = len(prep)
        fn, ln = c["fn"], c["ln"]
        loc = c["email_local"]
        traits = derived if "local_digit" in derived else _email_traits(c["email"], loc)    # from prepare, or here
        c["local_len"], c["email_digits"], c["email_free"] = (traits[k] for k in ("local_len", "email_digits",
                                                                                   "email_free"))
        # a local part made of the person's name alone (anna.weber, mueller.t) is shared by namesakes;
        # one with digits or without the name is personal (judged once per distinct local part + name)
        local_digit = traits["local_digit"]
        judge = np.flatnonzero(~local_digit & (loc.codes >= 0))   # the others are personal anyway
        has_ln = np.zeros(n, bool)
        if len(judge):
            _, first, codes = np.unique(_combined(loc.codes[judge], fn.codes[judge], ln.codes[judge]),
                                        return_index=True, return_inverse=True)
            rows = judge[first]
            text = lambda col: np.append(col.uniq, "")[col.codes[rows]].tolist()  # noqa: E731   (code -1: '')
            made = np.array([_name_made(*t) for t in zip(text(loc), text(fn), text(ln))], dtype=bool)
            has_ln[judge] = made[codes.reshape(-1)]
        c["local_personal"] = local_digit | ~has_ln
        phones = derived.get("phone")
        k = (params_phone or {}).get("last_digits", 7)
        c["phone"] = phones if isinstance(phones, _Phones) and phones.k == k else _Phones(
            prep["phone1"].to_numpy(), prep["phone2"].to_numpy(), k)
        for name in prep.columns:
            if name.startswith("x:"):
                c[name] = _Coded(prep[name].to_numpy())
        self.cols = c
        self._freq: dict = {}           # value frequencies, computed once per run

    def __getitem__(self, key):
        return self.cols[key]

    def value_frequency(self, name: str, min_count: int = 0) -> np.ndarray:
        """Share of records holding each row's value of `name` (NaN where missing, and where at most
        `min_count` records hold it: so few may all be one person's duplicates, not a common value)."""
        if (name, min_count) not in self._freq:
            self._freq[name, min_count] = self._value_frequency(name, min_count)
        return self._freq[name, min_count]

    def _value_frequency(self, name: str, min_count: int) -> np.ndarray:
        col = self.cols[name]
        counts = np.bincount(col.codes[col.codes >= 0], minlength=len(col.uniq)).astype(float)
        total = max(counts.sum(), 1.0)
        counts[counts <= min_count] = np.nan
        return np.where(col.codes >= 0, counts[np.maximum(col.codes, 0)] / total, np.nan) if len(counts) else \
            np.full(self.n, np.nan)

    def phone_frequency(self) -> np.ndarray:
        """Share of records holding each distinct phone (index = phone code)."""
        if "phone" not in self._freq:
            self._freq["phone"] = self._phone_frequency()
        return self._freq["phone"]

    def _phone_frequency(self) -> np.ndarray:
        ph = self.cols["phone"]
        codes = np.concatenate([ph.codes1, ph.codes2])
        counts = np.bincount(codes[codes >= 0], minlength=len(ph.uniq)).astype(float)
        return counts / max(self.n, 1)


_CHUNK = 1 << 21        # pairs compared at a time: bounds the temporaries of the ladders (~2M pairs)


def compare_pairs(prep: pd.DataFrame | Prepared, l: np.ndarray, r: np.ndarray, settings=None
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Level arrays per comparison for pairs (l, r) of positions, and term-frequency values for
    levels flagged ``tf_adjust`` (the share of records holding the agreeing value).

    Pairs are compared in chunks of ``_CHUNK``, so memory stays bounded whatever the number of pairs."""
    from crmkit.match.settings import MatchSettings

    settings = settings or MatchSettings()
    p = prep if isinstance(prep, Prepared) else Prepared(prep)
    l = np.asarray(l, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    if len(l) >= _PARALLEL_MIN_PAIRS and fork_ok(p.n):
        _warm(p, settings)
        there = [c for c in settings.comparisons if c.field in _CHILD_FIELDS]
        if there and len(there) < len(settings.comparisons):
            # the name (and company) levels of all the pairs in a forked child (each distinct pair of names once,
            # about half the work; a small result to send back) while this process compares the other fields
            with Beside(lambda: _field_levels(p, l, r, there), p.n) as child:
                stand_in = np.zeros(len(l), np.int8)
                levels, tf = _compare_chunks(p, l, r, settings, {c.field: stand_in for c in there})
                levels.update(child.result())
            return levels, tf
        # else the second half of the pairs in a forked child (each pair's levels depend on that pair alone)
        half = len(l) // 2
        with Beside(lambda: _compare_chunks(p, l[half:], r[half:], settings), p.n) as child:
            first = _compare_chunks(p, l[:half], r[:half], settings)
            return _joined([first, child.result()])
    return _compare_chunks(p, l, r, settings)


_PARALLEL_MIN_PAIRS = 200_000     # pairs from which a large run compares some fields (or half the pairs) in a child
_CHILD_FIELDS = ("name", "company")     # compared in the child of a large run (about half the work)


def _field_levels(p: Prepared, l: np.ndarray, r: np.ndarray, comparisons: list) -> dict[str, np.ndarray]:
    """The levels of the name and company ``comparisons`` of pairs (l, r) (the company in chunks)."""
    out = {}
    for comp in comparisons:
        if comp.field == "name":
            out["name"] = _name_levels(p, l, r, comp.params)
        elif comp.field == "company":
            out["company"] = np.concatenate([_company_levels(p, l[s:s + _CHUNK], r[s:s + _CHUNK], comp.params)
                                             for s in range(0, max(len(l), 1), _CHUNK)])
    return out


def _warm(p: Prepared, settings) -> None:
    """Build the per-run caches the comparisons read before forking, so the helper inherits them."""
    fields = {c.field for c in settings.comparisons}
    if "name" in fields:
        p.value_frequency("name_key")
        p["names"].signature()
    if "email" in fields:
        p["email"].signature()
    if "phone" in fields:
        p.phone_frequency()
        p["phone"].coded.signature()
        p["phone"].record_tails()
    if "company" in fields:
        p.value_frequency("company_key")


def _compare_chunks(p: Prepared, l: np.ndarray, r: np.ndarray, settings, given: dict | None = None
                    ) -> tuple[dict, dict]:
    """:func:`compare_pairs` in this process (``given``: levels of some fields of the pairs, known already)."""
    given = dict(given or {})
    if len(l) <= _CHUNK:
        return _compare_chunk(p, l, r, settings, given)
    # the name levels of all the pairs at once: each distinct pair of names is compared once, not once a chunk
    name = next((c for c in settings.comparisons if c.field == "name"), None)
    if "name" not in given and name is not None:
        given["name"] = _name_levels(p, l, r, name.params)
    return _joined([_compare_chunk(p, l[s:s + _CHUNK], r[s:s + _CHUNK], settings,
                                   {f: v[s:s + _CHUNK] for f, v in given.items()}) for s in range(0, len(l), _CHUNK)])


def _joined(parts: list[tuple[dict, dict]]) -> tuple[dict, dict]:
    """Levels and term frequencies of consecutive runs of pairs, laid end to end."""
    return ({k: np.concatenate([lv[k] for lv, _ in parts]) for k in parts[0][0]},
            {k: np.concatenate([tf[k] for _, tf in parts]) for k in parts[0][1]})


def _compare_chunk(p: Prepared, l: np.ndarray, r: np.ndarray, settings, given: dict | None = None
                   ) -> tuple[dict, dict]:
    """Levels and term frequencies of pairs (l, r); ``given``: the levels of some fields, known already."""
    levels: dict[str, np.ndarray] = {}
    tf: dict[str, np.ndarray] = {}
    given = given or {}
    for comp in settings.comparisons:
        params = comp.params
        if comp.field in given and comp.field in _CHILD_FIELDS:
            levels[comp.field] = given[comp.field]
            col = "name_key" if comp.field == "name" else "company_key"
            tf[comp.field] = p.value_frequency(col)[l]
        elif comp.field == "name":
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
