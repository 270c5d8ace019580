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
_KIND = {"mobile": "phone"}  # mobiles are compared and validated as phones


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


def _take_text(values: pd.Series, at: np.ndarray) -> pd.Series:
    """``values.take(at).reset_index(drop=True)`` of a str Series (``at`` within bounds, no -1). Texts of one
    byte width without missing ones (contact ids) are copied as fixed-width bytes by numpy, not one by one."""
    at = np.asarray(at, np.int64)
    arr = getattr(values.array, "_pa_array", None)
    if arr is not None and len(values) and len(at):
        import pyarrow as pa

        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
        if arr.null_count == 0 and (pa.types.is_large_string(arr.type) or pa.types.is_string(arr.type)):
            _, offsets, data = arr.buffers()
            offsets = np.frombuffer(offsets, np.int64 if pa.types.is_large_string(arr.type) else np.int32,
                                    len(arr) + 1, arr.offset * (8 if pa.types.is_large_string(arr.type) else 4))
            width = int(offsets[1] - offsets[0])
            if width > 0 and int(offsets[-1] - offsets[0]) == width * len(arr) and \
                    bool((np.diff(offsets) == width).all()):
                from crmkit.clean._base import fixed_width_text

                fixed = np.frombuffer(data, f"S{width}", len(arr), int(offsets[0]))[at]  # (one copy per id)
                return pd.Series(fixed_width_text(fixed.view(np.uint8).reshape(len(at), width)),
                                 dtype=values.dtype, name=values.name)
    return values.take(at).reset_index(drop=True)


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
        return self.per_unique(_form_score(self.uniq))


def _form_score(uniq: pd.Series) -> np.ndarray:
    cased_badly = (uniq.str.isupper() | uniq.str.islower()).fillna(False).to_numpy(dtype=int)
    initials = _str_contains(uniq, _INITIAL_RE).astype(int)
    return cased_badly + 2 * initials


def _dictionary(values: pd.Series):
    """(int64 codes, -1 where missing; distinct values as str in order of first appearance) of a text
    column, by Arrow's dictionary encoding; None when the column holds non-text objects."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values.dtype, pd.StringDtype) and isinstance(getattr(values.array, "_pa_array", None),
                                                              pa.ChunkedArray):
        arr = values.array._pa_array.combine_chunks()
    elif values.dtype == object:
        try:
            arr = pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
    else:
        return None
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.string())
    encoded = pc.dictionary_encode(arr)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, pd.Series(encoded.dictionary, dtype="str")


def _factorize_text(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``pd.factorize(_text(values))`` (codes in order of first appearance, -1 where missing or blank),
    worked out on the distinct values: the column is hashed once and never converted as a whole."""
    try:
        coded = _dictionary(values)
    except ImportError:  # pragma: no cover - pandas without pyarrow
        coded = None
    if coded is None:
        codes, uniq = pd.factorize(values.astype("str").array, use_na_sentinel=True)
        coded = codes.astype(np.int64, copy=False), pd.Series(uniq, dtype="str")
    codes, text = coded
    drop = ((text.str.len() == 0) | text.str.isspace()).to_numpy(dtype=bool)
    if drop.any():  # blank values are missing: renumber the others, keeping their order
        new = np.cumsum(~drop) - 1
        new[drop] = -1
        codes = np.where(codes >= 0, new[np.maximum(codes, 0)], -1)
        text = text[~drop].reset_index(drop=True)
    return codes, text


def _narrow(values: np.ndarray, top: int) -> np.ndarray:
    """Integers in [-1, ``top``] as the narrowest signed type that holds them (a forked child's result pickles
    and travels smaller; the receiver widens them back)."""
    for dtype in (np.int8, np.int16, np.int32):
        if top <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values


class _Field:
    """One text column of the records as codes into its distinct values; per-value work is cached.

    ``codes`` has one entry per record (-1 where missing or blank), ``uniq`` the distinct values in
    order of first appearance: the same as ``pd.factorize(_text(column))``.
    """

    def __init__(self, values: pd.Series | None, n: int, name: str):
        self.name = name
        if values is None:
            self.codes, self.uniq = np.full(n, -1, np.int64), pd.Series([], dtype="str")
        else:
            self.codes, self.uniq = _factorize_text(values)
        self.notna = self.codes >= 0
        self._cache: dict = {}

    def __getstate__(self) -> dict:
        """The state a forked child sends back (pickled): the codes in the narrowest integer type that holds them
        (none for a column without values), no ``notna`` (it is ``codes >= 0``) and no cache."""
        codes = _narrow(self.codes, len(self.uniq)) if len(self.uniq) else None
        return {"name": self.name, "n": len(self.codes), "codes": codes, "uniq": self.uniq}

    def __setstate__(self, state: dict) -> None:
        self.name, self.uniq = state["name"], state["uniq"]
        codes = state["codes"]
        self.codes = np.full(state["n"], -1, np.int64) if codes is None else codes.astype(np.int64)
        self.notna = self.codes >= 0
        self._cache = {}

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def take(self, rows: np.ndarray) -> pd.Series:
        """The values at record positions ``rows`` (-1: missing), as str on a RangeIndex."""
        rows = np.asarray(rows, np.int64)
        codes = np.where(rows >= 0, self.codes[np.maximum(rows, 0)], -1) if len(self.codes) else \
            np.full(len(rows), -1, np.int64)
        return pd.Series(self.uniq.array.take(codes, allow_fill=True), dtype="str")

    def norm_text(self, kind: str | None = None) -> pd.Series:
        kind = _KIND.get(kind or self.name, kind or self.name)
        return self._get(("norm_text", kind), lambda: _norm_text(self.uniq, kind))

    def norm_per_unique(self, kind: str | None = None) -> np.ndarray:
        return self.norm_factorized(kind)[0]

    def norm_factorized(self, kind: str | None = None) -> tuple[np.ndarray, pd.Series]:
        """(code of each distinct value's comparison form, the distinct comparison forms)."""
        kind = _KIND.get(kind or self.name, kind or self.name)

        def make():
            forms = self.norm_text(kind)
            if _same_texts(forms, self.uniq):  # already in comparison form: the values are the classes
                return np.arange(len(forms), dtype=np.int64), forms
            codes, uniq = pd.factorize(forms)
            return codes.astype(np.int64), pd.Series(uniq, dtype="str")
        return self._get(("norm", kind), make)

    def valid_per_unique(self, kind: str | None = None) -> np.ndarray:
        kind = _KIND.get(kind or self.name, kind or self.name)
        return self._get(("valid", kind), lambda: _str_match(self.uniq, _VALID[kind]))

    def length_per_unique(self) -> np.ndarray:
        return self._get("length", lambda: self.uniq.str.len().to_numpy(dtype=np.int64))

    def form_per_unique(self) -> np.ndarray:
        return self._get("form", lambda: _form_score(self.uniq))


def _same_texts(a: pd.Series, b: pd.Series) -> bool:
    """True when two str Series without missing values hold the same texts, position by position."""
    if len(a) != len(b):
        return False
    if not len(a):
        return True
    arr, pc = _arrow(a)
    if arr is None:  # pragma: no cover
        return bool((a.to_numpy(dtype=object) == b.to_numpy(dtype=object)).all())
    return bool(pc.all(pc.equal(arr, _arrow(b)[0])).as_py())


class _Subset:
    """A ``_Field`` restricted to some records (the ``_Values`` interface for the rule keys)."""

    def __init__(self, field: _Field, rows: np.ndarray):
        self.field, self.codes = field, field.codes[rows]

    def norm_codes(self) -> np.ndarray:
        return self.field.norm_per_unique()[self.codes]

    def valid(self) -> np.ndarray:
        return self.field.valid_per_unique()[self.codes]

    def length(self) -> np.ndarray:
        return self.field.length_per_unique()[self.codes]

    def form_score(self) -> np.ndarray:
        return self.field.form_per_unique()[self.codes]


def _group_starts(sorted_codes: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if len(sorted_codes) else \
        np.zeros(0, np.int64)


def _group_join(codes: np.ndarray, values, sep: str, *, arrow: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Join ``values`` per run of equal ``codes`` (already grouped); returns (codes, object array), or
    (codes, str Series) with ``arrow=True`` (no Python string per group)."""
    starts = _group_starts(codes)
    if not len(starts):
        return codes[:0], (pd.Series([], dtype="str") if arrow else np.zeros(0, dtype=object))
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pandas without pyarrow
        vals = list(pd.Series(values, dtype=object))
        ends = np.r_[starts[1:], len(vals)]
        joined = np.array([sep.join(vals[a:b]) for a, b in zip(starts, ends)], dtype=object)
        return codes[starts], (pd.Series(joined, dtype="str") if arrow else joined)
    arr = pa.array(pd.Series(values, dtype="str").array if not isinstance(values, pd.Series)
                   else values.astype("str").array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = pa.array(np.r_[starts, len(arr)].astype(np.int64), type=pa.int64())
    lists = pa.LargeListArray.from_arrays(offsets, arr)
    joined = pc.binary_join(lists, pa.scalar(sep, type=arr.type))
    return codes[starts], (pd.Series(joined, dtype="str") if arrow else joined.to_numpy(zero_copy_only=False))


def _text(values: pd.Series) -> pd.Series:
    """As str dtype, blanks and whitespace-only as missing, on a RangeIndex."""
    s = values.astype("str").reset_index(drop=True)
    return s.mask((s.str.len() == 0) | s.str.isspace())


_JSON_ESCAPED = r'["\\\x00-\x1f]'  # what json.dumps(ensure_ascii=False) escapes


def _json_texts(values: pd.Series) -> pd.Series:
    """``json.dumps(v, ensure_ascii=False)`` of every value ("null" where missing), per distinct value:
    plain quoting, and json.dumps only for the values with a quote, backslash or control character."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return _json_coded(codes, pd.Series(uniq, dtype="str"))


def _json_coded(codes: np.ndarray, uniq: pd.Series) -> pd.Series:
    """:func:`_json_texts` of ``uniq.take(codes)`` (-1: missing), dumping each distinct value once."""
    dumped = _concat(['"', uniq, '"']) if len(uniq) else pd.Series([], dtype="str")
    special = np.flatnonzero(_str_contains(uniq, _JSON_ESCAPED)) if len(uniq) else np.zeros(0, np.int64)
    if len(special):
        dumped = dumped.copy()
        dumped.iloc[special] = [json.dumps(u, ensure_ascii=False) for u in uniq.iloc[special]]
    dumped = pd.concat([dumped, pd.Series(["null"], dtype="str")], ignore_index=True)
    return dumped.take(codes).reset_index(drop=True)  # -1 (missing) takes the trailing "null"
