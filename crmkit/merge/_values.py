"""Vectorised text helpers of the merge: validity, comparison form, grouped joins."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

_EMAIL_RE = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_PHONE_RE = r"\+\d[\d \-]*"
_VALID = {"email": _EMAIL_RE, "phone": _PHONE_RE, "mobile": _PHONE_RE}
_INITIAL_RE = r"(?:^|[\s\-,])[A-Za-zÀ-ÖØ-öø-ÿ](?:\.|[\s\-,]|$)"
_NO_CONFLICT = {"created_at", "company_key"}  # expected to differ / derived from company


def _arrow(values: pd.Series):
    """(pyarrow array, pyarrow.compute) of a text Series, or (None, None) without pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return None, None
    arr = pa.array(values.astype("str").array)
    return (arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr), pc


def _from_arrow(arr) -> pd.Series:
    return pd.Series(arr, dtype="str")


def _concat(parts: list) -> pd.Series:
    """Element-wise concatenation of aligned text Series and literal strings (None stays None)."""
    series = [p for p in parts if not isinstance(p, str)]
    arr, pc = _arrow(series[0])
    if arr is None:  # pragma: no cover
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out
    import pyarrow as pa

    args = [pa.scalar(p, type=pa.large_string()) if isinstance(p, str) else _arrow(p)[0].cast(pa.large_string())
            for p in parts]
    return _from_arrow(pc.binary_join_element_wise(*args, pa.scalar("", type=pa.large_string())))


def _str_match(values: pd.Series, pattern: str) -> np.ndarray:
    """Whole-value regex match (RE2 syntax), False where missing."""
    arr, pc = _arrow(values)
    if arr is None:  # pragma: no cover
        return values.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return pc.fill_null(pc.match_substring_regex(arr, f"^(?:{pattern})$"), False).to_numpy(zero_copy_only=False)


def _str_contains(values: pd.Series, pattern: str) -> np.ndarray:
    arr, pc = _arrow(values)
    if arr is None:  # pragma: no cover
        return values.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool)
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)


def _norm_text(values: pd.Series, kind: str) -> pd.Series:
    """Comparison form: phones keep digits and '+', other text is lower-cased with single spaces."""
    arr, pc = _arrow(values)
    if arr is None:  # pragma: no cover
        if kind in ("phone", "mobile"):
            return values.str.replace(r"[^\d+]", "", regex=True)
        return values.str.lower().str.strip().str.replace(r"\s+", " ", regex=True)
    if kind in ("phone", "mobile"):
        return _from_arrow(pc.replace_substring_regex(arr, r"[^\d+]", ""))
    return _from_arrow(pc.replace_substring_regex(pc.utf8_trim_whitespace(pc.utf8_lower(arr)), r"\s+", " "))


class _Values:
    """One column's candidate values, worked on per unique value."""

    def __init__(self, values: pd.Series, name: str):
        self.codes, uniq = pd.factorize(values)
        self.uniq = pd.Series(uniq, dtype="str")
        self.name = name

    def per_unique(self, per: np.ndarray) -> np.ndarray:
        return np.asarray(per)[self.codes]

    def norm_codes(self) -> np.ndarray:
        return pd.factorize(_norm_text(self.uniq, self.name))[0][self.codes]

    def valid(self) -> np.ndarray:
        return self.per_unique(_str_match(self.uniq, _VALID[self.name]))

    def length(self) -> np.ndarray:
        return self.per_unique(self.uniq.str.len().to_numpy())

    def form_score(self) -> np.ndarray:
        cased_badly = (self.uniq.str.isupper() | self.uniq.str.islower()).fillna(False).to_numpy(dtype=int)
        initials = _str_contains(self.uniq, _INITIAL_RE).astype(int)
        return self.per_unique(cased_badly + 2 * initials)


def _group_starts(sorted_codes: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if len(sorted_codes) else \
        np.zeros(0, np.int64)


def _group_join(codes: np.ndarray, values, sep: str) -> tuple[np.ndarray, np.ndarray]:
    """Join ``values`` per run of equal ``codes`` (already grouped); returns (codes, object array)."""
    starts = _group_starts(codes)
    if not len(starts):
        return codes[:0], np.zeros(0, dtype=object)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pandas without pyarrow
        vals = list(pd.Series(values, dtype=object))
        ends = np.r_[starts[1:], len(vals)]
        return codes[starts], np.array([sep.join(vals[a:b]) for a, b in zip(starts, ends)], dtype=object)
    arr = pa.array(pd.Series(values, dtype="str").array if not isinstance(values, pd.Series)
                   else values.astype("str").array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = pa.array(np.r_[starts, len(arr)].astype(np.int64), type=pa.int64())
    lists = pa.LargeListArray.from_arrays(offsets, arr)
    joined = pc.binary_join(lists, pa.scalar(sep, type=arr.type))
    return codes[starts], joined.to_numpy(zero_copy_only=False)


def _text(values: pd.Series) -> pd.Series:
    """As str dtype, blanks and whitespace-only as missing, on a RangeIndex."""
    s = values.astype("str").reset_index(drop=True)
    return s.mask((s.str.len() == 0) | s.str.isspace())


def _json_texts(values: pd.Series) -> pd.Series:
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    dumped = pd.Series([json.dumps(u, ensure_ascii=False) for u in uniq] + ["null"], dtype="str")
    return dumped.take(codes).reset_index(drop=True)  # -1 (missing) takes the trailing "null"
