"""Index stage: candidate pairs from several blocking keys, unioned.

Each blocking rule is one small function ``prepared frame -> key Series`` (or a list of Series whose
keys are pooled, like phone and mobile) registered in :data:`BLOCKING_KEYS`. Records sharing a key
become pairs. Pairs are generated with array arithmetic over the key codes (no loop over rows);
a block larger than ``max_block_size`` (a common name with 5,000 rows) is not dropped but cut into
sorted-neighbourhood windows: each record meets the next ``window`` records in the block, sorted
by name and email. Keys are integer codes (columns are combined by code arithmetic, not by building
strings).

Besides the named rules, any column can be a key: ``"col:soc_sec_id"`` (same normalised value) and
``"cols:last_name+date_of_birth"`` (all of them equal); the columns are normalised by
:func:`crmkit.match.compare.prepare` as ``x:<column>`` (see ``MatchSettings.extra_columns``).
``street_postcode`` (house number + postcode) is a default rule: its blocks are small and it finds the
duplicates whose names are both mistyped or whose common name lands in a capped block. ``first_postcode``
and the sorted neighbourhood ``name_sorted`` are available but not in the default rules.
Given a :class:`~crmkit.match.compare.Prepared`, the keys reuse its integer codes (the same pairs as
from the prepared frame, without factorizing the columns again).

>>> import pandas as pd
>>> from crmkit.match.compare import prepare
>>> df = pd.DataFrame({"record_id": ["a", "b", "c"], "email": ["x@y.com", "x@y.com", None],
...                    "full_name": ["Ann Lee", "Ann Lee", "Bo Chen"]})
>>> block_pairs(prepare(df), ["email"]).tolist()
[[0, 1]]
"""
from __future__ import annotations

import re
from typing import Callable

import jellyfish
import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.match.compare import Prepared, _Coded, _on_unique

_GENERIC_LOCAL = {"info", "sales", "contact", "office", "admin", "mail", "hello", "support", "service",
                  "kontakt", "team", "enquiries", "inquiries", "post", "billing", "accounts", "noreply"}


def _codes(values) -> np.ndarray:
    """Integer codes of a key (-1 = missing); integer arrays are codes already."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "i":
        return values.astype(np.int64)
    return pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)[0].astype(np.int64)


def _combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Codes of the pair (a, b) of code arrays; -1 where either is missing."""
    k = int(b.max()) + 2 if len(b) else 1
    out = np.where((a >= 0) & (b >= 0), a * k + b, -1)
    return pd.factorize(out, use_na_sentinel=False)[0].astype(np.int64) * (out >= 0) - (out < 0)


def _frame(p) -> pd.DataFrame:
    return p.frame if isinstance(p, Prepared) else p


def _col_codes(p, name: str) -> np.ndarray:
    """Integer codes of a prepared column (-1 = missing): those of a :class:`Prepared` (coded once per run),
    else factorized here."""
    if isinstance(p, Prepared) and isinstance(p.cols.get(name), _Coded):
        return p.cols[name].codes
    return _codes(p[name])


def _on_codes(p, name: str, func) -> np.ndarray:
    """Codes of func(value) for a column's values (None = missing), func applied once per distinct value."""
    if isinstance(p, Prepared):
        col = p.cols[name]
        mapped = np.array([func(v) for v in col.uniq] + [None], dtype=object)
        return np.r_[_codes(mapped[:-1]), -1][col.codes]
    return _codes(_on_unique(p[name], func))


def _join(*parts) -> np.ndarray:
    """Key codes of several columns together (integer arithmetic, no string concatenation)."""
    out = _codes(parts[0])
    for p in parts[1:]:
        out = _combine(out, _codes(p))
    return out


def _key_email(p: pd.DataFrame):
    return _col_codes(p, "email")


def _key_phone(p: pd.DataFrame):
    if isinstance(p, Prepared):         # phone and mobile in one vocabulary already
        return [p["phone"].codes1, p["phone"].codes2]
    return [p["phone1"], p["phone2"]]


def _sorted_pair(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Codes of the unordered pair {a, b} (one vocabulary for both columns)."""
    n = len(a)
    codes = pd.factorize(np.concatenate([np.asarray(a, dtype=object), np.asarray(b, dtype=object)]),
                         use_na_sentinel=True)[0].astype(np.int64)
    ca, cb = codes[:n], codes[n:]
    return _combine(np.minimum(ca, cb) * ((ca >= 0) & (cb >= 0)) - ((ca < 0) | (cb < 0)), np.maximum(ca, cb))


def _sorted_code_pair(ca: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """Codes of the unordered pair {a, b} of codes in one vocabulary (-1 = missing)."""
    return _combine(np.minimum(ca, cb) * ((ca >= 0) & (cb >= 0)) - ((ca < 0) | (cb < 0)), np.maximum(ca, cb))


def _key_name_tokens(p: pd.DataFrame):
    """Sorted (canonical first name, last name): catches swaps and nicknames."""
    if isinstance(p, Prepared):         # names share one vocabulary there
        return _sorted_code_pair(p["fcan_c"], p["ln_c"])
    return _sorted_pair(p["fn_canon"], p["ln"])


def _key_name_prefixes(p: pd.DataFrame):
    """Sorted 3-letter prefixes of first and last name: typos after the third letter, swaps."""
    if isinstance(p, Prepared):
        prefix = np.r_[_codes(np.array([v[:3] for v in p["names"].uniq], dtype=object)), -1]
        return _sorted_code_pair(prefix[p["fn_c"]], prefix[p["ln_c"]])
    return _sorted_pair(p["fn"].str[:3], p["ln"].str[:3])


def _key_phonetic_initial(p: pd.DataFrame):
    """Metaphone of the last name + initial of the canonical first name."""
    code = _on_codes(p, "ln", lambda v: jellyfish.metaphone(v) or v)
    if isinstance(p, Prepared):
        return _join(code, p["name_initial"][p["fcan_c"]])
    return _join(code, p["fn_canon"].str[:1])


def _key_surname_company(p: pd.DataFrame):
    return _join(_col_codes(p, "ln"), _col_codes(p, "company_key"))


def _key_surname_postcode(p: pd.DataFrame):
    return _join(_col_codes(p, "ln"), _col_codes(p, "postcode"))


def _key_surname_city(p: pd.DataFrame):
    return _join(_col_codes(p, "ln"), _col_codes(p, "city"))


def _key_cjk_name(p: pd.DataFrame):
    return _col_codes(p, "cjk")


def _key_cjk_pinyin(p: pd.DataFrame):
    """Pinyin of a CJK name (sorted family|given) and the same key of Latin names that equal one: 周刚 meets
    'Gang Zhou' and 'Zhou Gang'. Latin names without a CJK counterpart get no key (name_tokens has them)."""
    p = _frame(p)
    n = len(p)
    fam, giv, fn, ln = (np.asarray(p[c], dtype=object) for c in ("py_family", "py_given", "fn", "ln"))
    codes = _sorted_pair(np.concatenate([fam, fn]), np.concatenate([giv, ln]))      # object arrays: no text dtype
    cjk, latin = codes[:n], codes[n:]
    latin = np.where(np.isin(latin, cjk[cjk >= 0]), latin, -1)
    return np.where(cjk >= 0, cjk, latin)


def _key_first_postcode(p: pd.DataFrame):
    """Canonical first name + postcode: a surname typo (or a married name) at the same address."""
    return _join(_col_codes(p, "fn_canon"), _col_codes(p, "postcode"))


_STREET_NUMBER = re.compile(r"\b(\d+[a-z]?)\b")


def _key_street_postcode(p: pd.DataFrame):
    """Street number + postcode: both names mistyped, same address."""
    number = _on_codes(p, "street", lambda v: (m.group(1) if (m := _STREET_NUMBER.search(v)) else None))
    return _join(number, _col_codes(p, "postcode"))


def _key_name_sorted(p: pd.DataFrame):
    """Sorted neighbourhood: every named record in one block, ordered by full name then by last name +
    first name (one key each), so each record meets its ``window`` neighbours in both orders; catches
    typos that change every other key (a first-name typo at the start, a surname typo)."""
    named = _frame(p)["ln"].notna().to_numpy()
    return [np.where(named, 0, -1), np.where(named, 1, -1)]


_NAME_SORTED_ORDER = {"f": ("fn", "ln"), "l": ("ln", "fn")}


def _key_email_local(p: pd.DataFrame):
    if isinstance(p, Prepared):         # the local part's own codes, where it is long and not generic
        col = p.cols["email_local"]
        ok = np.fromiter((len(v) >= 5 and v not in _GENERIC_LOCAL for v in col.uniq.tolist()), bool, len(col.uniq))
        return np.where(np.r_[ok, False][col.codes], col.codes, -1)
    loc = p["email_local"]
    ok = loc.str.len().astype(float).ge(5) & ~loc.isin(_GENERIC_LOCAL)
    return loc.where(ok, None).to_numpy(dtype=object)


BLOCKING_KEYS: dict[str, Callable[[pd.DataFrame], pd.Series | list[pd.Series]]] = {
    "email": _key_email, "phone": _key_phone, "name_tokens": _key_name_tokens,
    "name_prefixes": _key_name_prefixes, "phonetic_initial": _key_phonetic_initial,
    "surname_company": _key_surname_company, "surname_postcode": _key_surname_postcode,
    "surname_city": _key_surname_city, "cjk_name": _key_cjk_name,
    "cjk_pinyin": _key_cjk_pinyin, "email_local": _key_email_local,
    "first_postcode": _key_first_postcode, "street_postcode": _key_street_postcode,
    "name_sorted": _key_name_sorted,
}


def rule_columns(rule: str) -> list[str] | None:
    """Columns of a generic rule ('col:soc_sec_id' -> ['soc_sec_id'], 'cols:last_name+date_of_birth' -> both);
    None for anything else."""
    for prefix in ("col:", "cols:"):
        if rule.startswith(prefix):
            cols = [c.strip() for c in rule[len(prefix):].split("+")]
            return cols if all(cols) and (prefix == "cols:" or len(cols) == 1) else None
    return None


def _rule_keys(prep: pd.DataFrame, rule: str):
    if rule in BLOCKING_KEYS:
        return BLOCKING_KEYS[rule](prep)
    cols = rule_columns(rule)
    missing = [c for c in cols or [] if f"x:{c}" not in _frame(prep).columns]
    if cols is None or missing:
        raise CrmkitError(f"blocking rule {rule!r} needs the column(s) {', '.join(missing or [rule])}",
                          hint="pass the frame with those columns; prepare(df, extra=...) normalises them")
    return _join(*[_col_codes(prep, f"x:{c}") for c in cols])


def _sorted_codes(values: pd.Series | _Coded) -> np.ndarray:
    """Rank of each row's value among the distinct values in sorted order, missing (or '') first as 0: like
    pd.factorize(values.fillna(''), sort=True), with the distinct strings sorted by pyarrow when it is installed
    (in C++; the same order: UTF-8 bytes sort like code points)."""
    if isinstance(values, _Coded):
        codes, uniq = values.codes, values.uniq
    else:
        codes, uniq = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
        uniq = np.asarray(uniq, dtype=object)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:             # optional: Python's sort gives the same order, more slowly
        order = np.argsort(uniq, kind="stable")
    else:
        order = pc.sort_indices(pa.array(uniq, type=pa.string())).to_numpy()
    rank = np.zeros(len(uniq) + 1, np.int64)
    rank[order] = np.arange(1, len(uniq) + 1)
    rank[:-1][uniq == ""] = 0
    return rank[codes]


def _rank(first: pd.Series, then: pd.Series) -> np.ndarray:
    """Dense sort rank of each row by (first, then), missing values first: integer codes, no string building."""
    a, b = _sorted_codes(first), _sorted_codes(then)
    return np.unique(a * (int(b.max()) + 1 if len(b) else 1) + b, return_inverse=True)[1].reshape(-1)


def _pairs_in_groups(pos: np.ndarray, group: np.ndarray, order_key: np.ndarray, max_block: int, window: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """All pairs inside each group; groups above max_block get sorted-neighbourhood windows."""
    if len(pos) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    span = int(order_key.max()) + 1
    if order_key.min() >= 0 and group.min() >= 0 and int(group.max()) < (1 << 62) // span:
        idx = np.argsort(group * span + order_key, kind="stable")      # one key: faster than lexsort
    else:
        idx = np.lexsort((order_key, group))
    pos, group = pos[idx], group[idx]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, len(group)])
    end = np.repeat(starts + sizes, sizes)              # one past each row's group end
    here = np.arange(len(group))
    partners = end - here - 1
    big = np.repeat(sizes > max_block, sizes)
    partners = np.where(big, np.minimum(partners, window), partners)
    total = int(partners.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    left = np.repeat(here, partners)
    offset = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
    right = left + 1 + offset
    return pos[left], pos[right]


def block_pairs(prep: pd.DataFrame | Prepared, rules: list[str], *, max_block_size: int = 200, window: int = 12,
                return_rules: bool = False):
    """Candidate pairs (n × 2 int64 array of positions, left < right, unique) from the union of rules.

    ``prep`` is the prepared frame, or its :class:`~crmkit.match.compare.Prepared` (whose integer codes the
    keys then reuse: the same pairs, without factorizing the columns again).

    With ``return_rules`` also a dict rule -> number of pairs it produced (before the union).
    """
    enc, counts = encoded_pairs(prep, rules, max_block_size=max_block_size, window=window)
    pairs = decode_pairs(enc, len(_frame(prep)))
    return (pairs, counts) if return_rules else pairs


def encoded_pairs(prep: pd.DataFrame | Prepared, rules: list[str], *, max_block_size: int = 200, window: int = 12,
                  sort_codes: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """The pairs of :func:`block_pairs` as sorted unique codes ``left * n + right``, and the pairs per rule. The
    codes of several calls (rules shared out between processes) unite with :func:`union_encoded`.
    ``sort_codes``: :func:`sort_order` of ``prep``, when known already."""
    frame = _frame(prep)
    n = len(frame)
    if sort_codes is None and any(rule != "name_sorted" for rule in rules):
        sort_codes = sort_order(prep)
    chunks, counts = [], {}
    for rule in rules:
        keys = _rule_keys(prep, rule)
        keys = keys if isinstance(keys, list) else [keys]
        pos = np.concatenate([np.arange(n)] * len(keys))
        if rule == "name_sorted":
            order = np.concatenate([_rank(frame[a], frame[b]) for a, b in _NAME_SORTED_ORDER.values()])
        else:
            order = np.tile(sort_codes, len(keys))
        if all(isinstance(k, np.ndarray) and k.dtype.kind == "i" for k in keys):
            codes = np.concatenate(keys)
        else:
            codes = _codes(np.concatenate([np.asarray(k, dtype=object) for k in keys]))
        ok = codes >= 0
        pos, codes, order = pos[ok], codes[ok], order[ok]
        if len(keys) > 1:   # the same row with the same key twice (pooled columns)
            uniq, first = np.unique(codes.astype(np.int64) * n + pos, return_index=True)
            codes, pos, order = uniq // n, uniq % n, order[first]
        a, b = _pairs_in_groups(pos, codes, order, max_block_size, window)
        counts[rule] = len(a)
        chunks.append(np.minimum(a, b) * n + np.maximum(a, b))
        chunks[-1] = chunks[-1][a != b]
    return union_encoded(chunks), counts


def sort_order(prep: pd.DataFrame | Prepared) -> np.ndarray:
    """The order of records inside a block (and its windows): dense rank by name, then email."""
    return _rank(*(prep.cols[c] if isinstance(prep, Prepared) else _frame(prep)[c] for c in ("name_key", "email")))


def union_encoded(chunks: list[np.ndarray], presorted: bool = False) -> np.ndarray:
    """Sorted unique values of several int64 arrays (encoded pairs); ``presorted``: each array is sorted
    already (then they are merged: a stable sort finds the sorted runs)."""
    enc = np.concatenate(chunks) if chunks else np.empty(0, np.int64)
    del chunks[:]
    enc.sort(kind="stable" if presorted else None)     # in place: the pairs of all rules are the largest array
    return enc[np.r_[True, enc[1:] != enc[:-1]]] if len(enc) else enc


def decode_pairs(enc: np.ndarray, n: int) -> np.ndarray:
    """Encoded pairs ``left * n + right`` as an (m × 2) int64 array of positions."""
    pairs = np.empty((len(enc), 2), np.int64)
    np.divmod(enc, n, out=(pairs[:, 0], pairs[:, 1]))
    return pairs
