"""Helpers of the link stage that work on whole id columns and build its output tables.

Row ids are content hashes (:func:`_hash_ids`: the same input row gives the same id run after run);
record ids are looked up once, by a hash table over Arrow text (:class:`_Positions`); pair tables are
filtered against decision sets only where an id can match; explanations, merge history and kept store
tags are built as columns (Arrow string kernels), not row by row.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from crmkit.store import TABLE_COLUMNS


def _hash_ids(prefix: str, frame: pd.DataFrame) -> pd.Series:
    """Stable ids from row content (same input row → same id, run after run): ``prefix`` and 16 hex digits
    of ``pd.util.hash_pandas_object(frame.astype(str), index=False)`` (:func:`_row_hashes`)."""
    h = _row_hashes(frame)
    # 16 lower-case hex digits per value, vectorised: big-endian bytes -> nibbles -> digits
    nibbles = np.frombuffer(h.astype(">u8").tobytes(), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[np.stack([nibbles >> 4, nibbles & 15], axis=1)]
    ids = _fixed_width_text(prefix.encode("utf-8"), digits.reshape(len(h), 16))
    if ids is not None:
        return pd.Series(ids, index=frame.index, copy=False)
    hexed = digits.reshape(len(h), 16).view("S16").ravel().astype(str)  # pragma: no cover - without pyarrow
    return pd.Series(np.char.add(prefix, hexed).tolist(), index=frame.index)


def _fixed_width_text(prefix: bytes, rows: np.ndarray):
    """``prefix`` + each row of ``rows`` (ASCII bytes, one row per value) as the text array pandas makes of a
    list of those str (its ``str`` dtype), built from one buffer; None when that dtype is not pyarrow's."""
    dtype = pd.Series(["a"]).dtype
    if getattr(dtype, "storage", None) != "pyarrow":  # pragma: no cover - pandas without pyarrow strings
        return None
    from crmkit.clean._base import fixed_width_text

    data = np.empty((len(rows), len(prefix) + rows.shape[1]), dtype=np.uint8)
    data[:, :len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    data[:, len(prefix):] = rows
    return pd.array(fixed_width_text(data), dtype=dtype)


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """``pd.util.hash_pandas_object(frame.astype(str), index=False)`` as a uint64 array, the same numbers.

    pandas hashes a text column by its distinct values (a hash table first) and makes a Python str of each;
    here a column of integers or of text without a missing value is hashed as the UTF-8 bytes of its
    values instead (pandas hashes bytes and the str they encode alike: tests/test_raw_json.py), and the
    columns' hashes are combined as pandas does. Any other column is hashed as pandas does it.
    """
    try:
        from pandas.core.util.hashing import combine_hash_arrays
    except ImportError:  # pragma: no cover - a pandas without it: pandas does it all
        return pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    if not len(frame.columns) or not len(frame):
        return pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    out = np.empty(len(frame), dtype=np.uint64)
    for lo in range(0, len(frame), _HASH_BLOCK_ROWS):  # (a block's bytes objects are freed for the next)
        part = frame.iloc[lo:lo + _HASH_BLOCK_ROWS]
        hashes = (_column_hashes(part.iloc[:, j]) for j in range(len(part.columns)))
        out[lo:lo + len(part)] = combine_hash_arrays(hashes, len(part.columns))
    return out


_HASH_BLOCK_ROWS = 1 << 17


def _column_hashes(column: pd.Series) -> np.ndarray:
    """The hashes pandas gives ``column.astype(str)`` as a column of a frame (see :func:`_row_hashes`)."""
    utf8 = _utf8_values(column)
    if utf8 is not None:
        return pd.util.hash_array(utf8, categorize=False)
    return pd.util.hash_array(column.astype(str).array)


def _utf8_values(column: pd.Series) -> np.ndarray | None:
    """The UTF-8 bytes of ``str(value)`` of every value (an object array of bytes) for a column of int64 or
    of text without a missing value; None for any other column."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover
        return None
    if column.dtype == np.int64:
        text = pa.array(column.to_numpy()).cast(pa.large_string())  # (Arrow writes integers as str() does)
    elif isinstance(column.dtype, pd.StringDtype) or (
            column.dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string"):
        text = _arrow_text(column) if len(column) else None  # (str only: not bytes, which str() writes b'…')
        if text is None or text.null_count:
            return None
    else:
        return None
    return text.cast(pa.large_binary()).to_numpy(zero_copy_only=False)


def _arrow_text(values: pd.Series):
    """A text Series as a pyarrow string array (None for missing), or None without pyarrow or when it holds
    non-text values."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return None
    arr = getattr(values.array, "_pa_array", None)
    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks()
    try:
        return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _isin(values: pd.Series, others: pd.Series) -> np.ndarray:
    """``values.isin(others)`` for id columns, by one hash table (pandas' isin on Arrow text loops in Python)."""
    a, b = _arrow_text(values), _arrow_text(others)
    if a is None or b is None:  # pragma: no cover
        return values.astype(object).isin(others.astype(object)).to_numpy()
    import pyarrow.compute as pc

    return pc.is_in(a, value_set=b, skip_nulls=True).to_numpy(zero_copy_only=False).astype(bool)


class _Positions:
    """record_id → position in the records, by one hash table built once."""

    def __init__(self, ids: pd.Series):
        self._ids = ids
        self._arrow = _arrow_text(ids)
        self._index = None

    def of(self, *columns: pd.Series) -> list[np.ndarray]:
        """The positions (-1: not a record) of the ids in each column, all looked up in one pass."""
        lens = [len(c) for c in columns]
        if not sum(lens):
            return [np.zeros(0, np.int64) for _ in columns]
        parts = [_arrow_text(c) for c in columns]
        if self._arrow is not None and all(p is not None for p in parts):
            import pyarrow as pa
            import pyarrow.compute as pc

            probe = pa.concat_arrays([p.cast(pa.string()) for p in parts])
            found = pc.index_in(probe, value_set=self._arrow.cast(pa.string()))
            pos = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        else:  # pragma: no cover
            if self._index is None:
                self._index = pd.Index(self._ids.astype(object))
            pos = np.concatenate([self._index.get_indexer(c.astype(object)) for c in columns])
        return np.split(pos, np.cumsum(lens)[:-1])


def _not_in_pairs(left: pd.Series, right: pd.Series, pairs: set) -> np.ndarray:
    """Mask of the (left, right) id pairs that are not in ``pairs`` (a set of id tuples, both orders in
    it). Only rows whose left id occurs in the set at all are looked up one by one."""
    out = np.ones(len(left), bool)
    if not pairs or not len(left):
        return out
    firsts = pd.Series([a for a, _ in pairs], dtype=object)
    texts = firsts[firsts.map(lambda v: isinstance(v, str))]
    if left.dtype == object and pd.api.types.infer_dtype(left, skipna=True) not in ("string", "empty"):
        cand = np.arange(len(left))  # ids that are not all text: every row, as a set lookup would
    else:
        hit = _isin(left, texts) if len(texts) else np.zeros(len(left), bool)
        if len(texts) < len(firsts):  # a missing first id can only be met by a missing left id
            hit |= left.isna().to_numpy()
        cand = np.flatnonzero(hit)
    lv, rv = left.to_numpy(dtype=object)[cand], right.to_numpy(dtype=object)[cand]
    out[cand] = [(a, b) not in pairs for a, b in zip(lv, rv)]
    return out


def _columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df.reindex(columns=columns)`` without copying the columns (copy-on-write keeps ``df`` unchanged)."""
    if not df.columns.is_unique:
        return df.reindex(columns=columns)
    data = {c: df[c] if c in df.columns else pd.Series(np.nan, index=df.index, dtype="float64") for c in columns}
    return pd.DataFrame(data, index=df.index, columns=columns, copy=False)


def _has_duplicates(ids: pd.Series) -> bool:
    arr = _arrow_text(ids)
    if arr is None:  # pragma: no cover
        return bool(ids.duplicated().any())
    import pyarrow.compute as pc

    return len(pc.unique(arr)) < len(arr)


def _keep_store_tags(contacts: pd.DataFrame, records: pd.DataFrame, old: pd.DataFrame | None) -> pd.DataFrame:
    """Tags added in the store (e.g. RFM segments) survive a rebuild: re-attach those no record carries.

    A contact's stored tags that none of its records carries are appended to its tags (each tag once,
    in order); worked on exploded (contact, tag) rows, not contact by contact."""
    from crmkit.merge._values import _group_join

    if old is None or old.empty or "tags" not in old or old["tags"].isna().all():
        return contacts
    stored = _tag_rows(old["contact_id"], old["tags"])
    stored = stored[_isin(stored["contact_id"], contacts["contact_id"])]
    carried = _tag_rows(records["contact_id"], records["tags"])[["contact_id", "tag"]].drop_duplicates()
    extra = stored.merge(carried.assign(_carried=True), on=["contact_id", "tag"], how="left")
    extra = extra[extra["_carried"].isna()].drop(columns="_carried")
    if extra.empty:
        return contacts
    # the stored rows of one contact are applied in turn, each onto the result of the one before
    extra["_row"] = extra.groupby("contact_id", sort=False)["_row"].rank(method="dense").astype(np.int64) - 1
    contacts = contacts.copy()
    pos = pd.Series(np.arange(len(contacts)), index=contacts["contact_id"].to_numpy(dtype=object))
    col = contacts.columns.get_loc("tags")
    for _, step in extra.groupby("_row", sort=True):
        at = pos.reindex(step["contact_id"].drop_duplicates().to_numpy(dtype=object)).to_numpy()
        current = _tag_rows(pd.Series(contacts["contact_id"].iloc[at].to_numpy(dtype=object)),
                            pd.Series(contacts["tags"].iloc[at].to_numpy(dtype=object)))
        merged = pd.concat([current[["contact_id", "tag"]], step[["contact_id", "tag"]]],
                           ignore_index=True).drop_duplicates()
        code, ids = pd.factorize(merged["contact_id"])
        order = np.argsort(code, kind="stable")  # per contact, its tags in order
        code, texts = _group_join(code[order], merged["tag"].take(order).reset_index(drop=True), "; ")
        contacts.iloc[pos.reindex(np.asarray(ids, dtype=object)[code]).to_numpy(), col] = texts
    return contacts


def _tag_rows(contact_ids: pd.Series, texts: pd.Series) -> pd.DataFrame:
    """(contact_id, tag, _row) per tag of each text, split at ';' and '|', stripped, empty ones left out, in order;
    ``_row`` is the position of the text."""
    obj = pd.Series(texts.to_numpy(dtype=object))
    if isinstance(texts.dtype, pd.StringDtype):  # text or missing
        is_text = obj.notna().to_numpy()
    else:
        is_text = obj.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    frame = pd.DataFrame({"contact_id": contact_ids.to_numpy(dtype=object)[is_text],
                          "tag": obj[is_text].str.replace("|", ";", regex=False).str.split(";").to_numpy(),
                          "_row": np.flatnonzero(is_text)})
    frame = frame.explode("tag", ignore_index=True)
    frame["tag"] = frame["tag"].astype(object).str.strip()
    return frame[frame["tag"].notna() & (frame["tag"] != "")].reset_index(drop=True)


def _merge_history(contact_rows: np.ndarray, contact_ids: pd.Series, record_ids: pd.Series, is_new: np.ndarray,
                   now: str, actor: str, batch_id: str) -> pd.DataFrame:
    """One 'merge' row per contact that this batch formed or grew from several records (a new record
    among them), ordered by contact id; ``record_ids`` is the JSON list of its sorted record ids."""
    C = len(contact_ids)
    size = np.bincount(contact_rows, minlength=C)
    if not (size > 1).any():
        return pd.DataFrame(columns=TABLE_COLUMNS["merge_history"])
    touched = np.zeros(C, bool)
    touched[contact_rows[is_new]] = True
    rows = np.flatnonzero(((size > 1) & touched)[contact_rows])
    if not len(rows):  # the frame an empty group-by gives
        none = pd.Series(record_ids.iloc[:0].astype("str").values, index=contact_ids.iloc[:0].values)
        groups = none.groupby(level=0).agg(lambda x: json.dumps(sorted(x)))
        return pd.DataFrame({"at": now, "action": "merge", "contact_id": groups.index, "into_contact_id": groups.index,
                             "record_ids": groups.values, "actor": actor, "batch_id": batch_id})
    ids = _arrow_text(record_ids.take(rows))
    contact = contact_rows[rows]
    if ids is None:  # pragma: no cover - pandas without pyarrow
        groups = pd.Series(record_ids.take(rows).values, index=contact_ids.take(contact).values)
        groups = groups.groupby(level=0).agg(lambda x: json.dumps(sorted(x)))
        cids, texts = groups.index, groups.values
    else:
        import pyarrow as pa
        import pyarrow.compute as pc

        from crmkit.merge._values import _concat, _group_join

        # by contact id, then record id (both in text order); the contacts having rows, by a seen-mask (no sort)
        seen = np.zeros(C, bool)
        seen[contact] = True
        having = np.flatnonzero(seen)
        cid_text = _arrow_text(contact_ids.take(having))
        cid_rank = np.zeros(C, np.int64)
        cid_rank[having[pc.array_sort_indices(cid_text).to_numpy()]] = np.arange(len(having))
        table = pa.table({"c": cid_rank[contact], "r": ids})
        order = pc.sort_indices(table, sort_keys=[("c", "ascending"), ("r", "ascending")]).to_numpy()
        ids = ids.take(pa.array(order))
        contact = contact[order]
        plain = pc.all(pc.match_substring_regex(ids, r'^[\x20-\x21\x23-\x5b\x5d-\x7e]*$')).as_py()
        codes, joined = _group_join(cid_rank[contact], pd.Series(ids, dtype="str"), '", "', arrow=True)
        texts = _concat(['["', joined, '"]'])
        if not plain:  # ids json.dumps would escape: those groups the slow way
            starts = np.r_[np.flatnonzero(np.r_[True, contact[1:] != contact[:-1]]), len(contact)]
            values = ids.to_pylist()
            texts = np.array([json.dumps(values[a:b]) for a, b in zip(starts[:-1], starts[1:])], dtype=object)
        cids = contact_ids.take(contact[np.flatnonzero(np.r_[True, contact[1:] != contact[:-1]])]).values
    return pd.DataFrame({"at": now, "action": "merge", "contact_id": pd.Index(cids, dtype="str"),
                         "into_contact_id": pd.Index(cids, dtype="str"),
                         "record_ids": pd.Series(texts, dtype="str").values, "actor": actor, "batch_id": batch_id})


def _explanations(pairs: pd.DataFrame):
    """Per pair, its ``weight_<field>`` columns (rounded to 2 decimals, missing ones left out) as JSON:
    the text of each distinct number is made once, the rows are joined as columns."""
    wcols = [c for c in pairs.columns if c.startswith("weight_")]
    if not wcols:
        return [None] * len(pairs)
    if not all(pairs[c].dtype == np.float64 for c in wcols):
        return _explanations_rows(pairs, wcols)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return _explanations_rows(pairs, wcols)
    pieces = []
    for c in wcols:
        v = pairs[c].to_numpy().round(2)
        # distinct numbers by their bits (0.0 and -0.0 print differently); each piece carries its ", "
        inv, bits = pd.factorize(v.view(np.int64))
        key = ", " + json.dumps(c[len("weight_"):]) + ": "
        text = pa.array([key + json.dumps(float(x)) for x in bits.view(np.float64)], type=pa.string())
        pieces.append(pc.take(text, pa.array(inv.astype(np.int64), mask=np.isnan(v))).fill_null(""))
    body = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*pieces, ""), 2)  # without the first ", "
    return pd.Series(pc.binary_join_element_wise("{", body, "}", ""), dtype="str").array


def _explanations_rows(pairs: pd.DataFrame, wcols: list[str]) -> list[str]:
    sub = pairs[wcols].round(2)
    sub.columns = [c[len("weight_"):] for c in wcols]
    return [json.dumps({k: v for k, v in row.items() if v == v}) for row in sub.to_dict("records")]
