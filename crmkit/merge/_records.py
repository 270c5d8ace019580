"""The records as positional arrays, cluster codes, existing ids and deterministic contact ids."""
from __future__ import annotations

import fnmatch
import hashlib

import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.merge._values import _concat, _Field, _group_join, _text
from crmkit.merge.rules import FIELDS, SurvivorshipRules
from crmkit.schema import CONTACT


class _Frame:
    """The records, positionally, with the per-record keys every rule needs.

    Every field is a :class:`_Field` (codes into its distinct values), so each column is hashed once
    and all text work (validity, comparison form, lengths, JSON) is done per distinct value.
    """

    def __init__(self, records: pd.DataFrame, rules: SurvivorshipRules, *, checked: bool = False,
                 fields: dict[str, _Field] | None = None):
        if "record_id" not in records.columns:
            raise CrmkitError("records need a 'record_id' column",
                              hint="add one, e.g. records['record_id'] = records.index.astype(str)")
        self.rid = _text(records["record_id"])
        if not checked and (self.rid.isna().any() or self.rid.duplicated().any()):
            dup = self.rid[self.rid.duplicated() | self.rid.isna()].iloc[0]
            raise CrmkitError(f"record_id must be unique and filled; {dup!r} is not",
                              column="record_id", hint="number the records before merging")
        n = self.n = len(records)
        self.pos = np.arange(n, dtype=np.int64)
        src = _Field(records["source_file"] if "source_file" in records.columns else None, n, "source_file")
        self.file_code, self.files = src.codes, src.uniq        # -1 where missing; files in order of appearance
        sheet = _Field(records["source_sheet"] if "source_sheet" in records.columns else None, n, "source_sheet")
        # a missing sheet is "" (one more distinct value, numbered where it first appears)
        self.sheet_code, order = pd.factorize(np.where(sheet.notna, sheet.codes, len(sheet.uniq)))
        self.sheet_code = self.sheet_code.astype(np.int64, copy=False)
        self.sheets = pd.concat([sheet.uniq, pd.Series([""], dtype="str")], ignore_index=True).take(order) \
            .reset_index(drop=True)
        self.row = (pd.to_numeric(records["source_row"].reset_index(drop=True), errors="coerce")
                    .astype("Int64") if "source_row" in records.columns else pd.Series([pd.NA] * n, dtype="Int64"))
        given = fields or {}  # fields read already (:func:`_read_fields`)
        self.fields = {f: given[f] if f in given else _read_fields(records, [f])[f] for f in FIELDS}
        self.notna = {f: self.fields[f].notna for f in FIELDS}
        created = self.fields["created_at"]
        self.date = pd.factorize(created.uniq.str.slice(0, 19), sort=True)[0][created.codes] if len(created.uniq) \
            else np.full(n, -1, np.int64)
        self.date[created.codes < 0] = -1  # -1 where missing, else rank
        self.complete = np.sum([self.notna[f] for f in CONTACT.field_names], axis=0)
        ranks = np.array([self._priority(f, rules.source_priority) for f in self.files] +
                         [len(rules.source_priority)], dtype=np.int64)
        self.src_rank = ranks[self.file_code]

    @property
    def file(self) -> pd.Series:
        return pd.Series(self.files.array.take(self.file_code, allow_fill=True), dtype="str")

    @property
    def sheet(self) -> pd.Series:
        return self.sheets.take(self.sheet_code).reset_index(drop=True)

    def sources(self, rows: np.ndarray) -> dict[str, pd.Series]:
        """source_file, source_sheet and source_row of the records at ``rows``."""
        return {"source_file": pd.Series(self.files.array.take(self.file_code[rows], allow_fill=True), dtype="str"),
                "source_sheet": self.sheets.take(self.sheet_code[rows]).reset_index(drop=True),
                "source_row": self.row.take(rows).reset_index(drop=True)}

    @staticmethod
    def _priority(name: str, patterns: list[str]) -> int:
        for i, pattern in enumerate(patterns):
            if fnmatch.fnmatchcase(name.casefold(), pattern.casefold()):
                return i
        return len(patterns)

    def member_keys(self) -> pd.Series:
        """``source_file|source_sheet|source_row`` per record, with ``|record_id`` added where that key
        is not unique or the row is missing."""
        S = len(self.sheets)
        fcode = np.where(self.file_code >= 0, self.file_code, len(self.files))
        file = pd.concat([self.files, pd.Series([""], dtype="str")], ignore_index=True)
        row = self.row.astype("str").fillna("").reset_index(drop=True)
        keys = _concat([file.take(fcode).reset_index(drop=True), "|", self.sheet, "|", row])
        missing = self.row.isna().to_numpy()
        combo = fcode * S + self.sheet_code
        ucombo = pd.unique(combo)
        prefixes = _concat([file.take(ucombo // S).reset_index(drop=True), "|",
                            self.sheets.take(ucombo % S).reset_index(drop=True), "|"])
        if prefixes.duplicated().any():  # two file|sheet prefixes read the same: compare the texts
            dup = keys.duplicated(keep=False).to_numpy() | missing
        else:  # the key is unique exactly when (file, sheet, row) is
            number = self.row.to_numpy(dtype=np.int64, na_value=-1)
            span = int(number.max(initial=0)) - int(number.min(initial=0)) + 1
            if (int(combo.max(initial=0)) + 1) * span < 2 ** 62:  # one integer per (file, sheet, row)
                key = pd.Series(combo * span + (number - int(number.min(initial=0))))
                dup = key.duplicated(keep=False).to_numpy() | missing
            else:  # pragma: no cover - row numbers beyond 2**40
                dup = pd.DataFrame({"c": combo, "r": number}).duplicated(keep=False).to_numpy() | missing
        if dup.any():
            keys = keys.where(~dup, _concat([keys, "|", self.rid]))
        return keys


def _read_fields(records: pd.DataFrame, names: list[str]) -> dict[str, _Field]:
    """The records' columns ``names`` as :class:`_Field` (a missing column: no values)."""
    return {f: _Field(records[f] if f in records.columns else None, len(records), f) for f in names}


# --------------------------------------------------------------------------- clusters and ids
def _cluster_codes(fr: _Frame, clusters: pd.Series | None) -> np.ndarray:
    """One int per record, clusters numbered in order of first appearance."""
    if clusters is None or len(clusters) == 0:
        return fr.pos.copy()
    if not clusters.index.is_unique:
        raise CrmkitError("clusters must have one label per record_id; the index has duplicates",
                          hint="pass a Series indexed by record_id")
    labels = clusters.copy()
    labels.index = labels.index.astype("str")
    labels = labels.reindex(fr.rid).to_numpy(dtype=object)
    codes = pd.factorize(labels, use_na_sentinel=True)[0].astype(np.int64)
    lone = codes < 0
    codes[lone] = codes.max(initial=-1) + 1 + fr.pos[lone]
    return pd.factorize(codes)[0].astype(np.int64)


def _id_sort(ids: pd.Series) -> np.ndarray:
    """Position of each id in 'older/lower first' order: shorter ids first, then text order."""
    return np.lexsort((ids.to_numpy(dtype=object).astype(str), ids.str.len().to_numpy()))


class _AlignedIds:
    """Stored contact ids already in the records' order (a Series on their positions; missing: none)."""

    def __init__(self, ids: pd.Series):
        self.ids = ids

    def __len__(self) -> int:
        return int(self.ids.notna().sum())


def _apply_existing(fr: _Frame, cc: np.ndarray, existing) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Unite clusters that share an existing contact; pick the surviving id of each."""
    C = int(cc.max(initial=-1)) + 1
    survivor = np.full(C, None, dtype=object)
    none = pd.DataFrame({"id": pd.Series([], dtype="str"), "into": pd.Series([], dtype="str")})
    if existing is None or not len(existing):
        return cc, survivor, none
    if isinstance(existing, _AlignedIds):
        ex = _text(existing.ids.astype("str"))
    else:
        ex = pd.Series(existing, dtype="str")
        ex.index = ex.index.astype("str")
        ex = _text(ex.reindex(fr.rid))
    has = ex.notna().to_numpy()
    if not has.any():
        return cc, survivor, none
    ecode = pd.factorize(ex[has])[0]
    pc, pe = cc[has], ecode
    lab = np.arange(C)
    while True:  # connected components over cluster—existing-id edges (min-label propagation)
        le = np.full(pe.max() + 1, C)
        np.minimum.at(le, pe, lab[pc])
        new = lab.copy()
        np.minimum.at(new, pc, le[pe])
        new = new[new]
        if np.array_equal(new, lab):
            break
        lab = new
    cc = pd.factorize(lab[cc])[0].astype(np.int64)
    pairs = pd.DataFrame({"c": cc[has], "id": ex[has].to_numpy()}).drop_duplicates()
    pairs = pairs.iloc[_id_sort(pairs["id"].reset_index(drop=True))]
    pairs = pairs.sort_values("c", kind="stable")
    first = ~pairs["c"].duplicated().to_numpy()
    survivor = np.full(int(cc.max()) + 1, None, dtype=object)
    survivor[pairs["c"].to_numpy()[first]] = pairs["id"].to_numpy()[first]
    absorbed = pairs[~first]
    merged = pd.DataFrame({"id": absorbed["id"].to_numpy(),
                           "into": survivor[absorbed["c"].to_numpy()]}).astype("str")
    return cc, survivor, merged


def _hash_ids(keys, width: int = 12) -> np.ndarray:
    """"C" + the first ``width`` hex digits of the sha1 of each key's UTF-8 bytes (an object array of str)."""
    return np.array(_id_strings(_hex_digits(_digests([k.encode("utf-8") for k in keys]), width)), dtype=object)


def _id_strings(digits: np.ndarray) -> list[str]:
    """"C" + each row of an (n, width) array of hex digits (ASCII bytes, :func:`_hex_digits`), as str."""
    width = digits.shape[1]
    return ["C" + h for h in digits.view(f"S{width}").ravel().astype(f"U{width}").tolist()]


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _digests(keys) -> np.ndarray:
    """The sha1 digests of ``keys`` (bytes) as an (n, 20) uint8 array: one Python call per key, no text."""
    sha1 = hashlib.sha1
    return np.frombuffer(b"".join([sha1(k).digest() for k in keys]), np.uint8).reshape(len(keys), 20)


def _hex_digits(digests: np.ndarray, width: int) -> np.ndarray:
    """The first ``width`` lower-case hex digits of each digest, as an (n, width) array of ASCII bytes."""
    raw = digests[:, :(width + 1) // 2]
    return _HEX[np.stack([raw >> 4, raw & 15], axis=2).reshape(len(raw), -1)[:, :width]]


def _utf8(texts: pd.Series) -> np.ndarray:
    """The UTF-8 bytes of each text of a str Series without missing values (an object array of bytes)."""
    import pyarrow as pa

    arr = pa.array(texts.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_binary()).to_numpy(zero_copy_only=False)


def _by_cluster_then_key(cluster: np.ndarray, keys: pd.Series) -> np.ndarray:
    """Positions ordering the rows by cluster, then key text (keys are unique)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return np.lexsort((pd.factorize(keys, sort=True)[0], cluster))
    text = pa.array(keys.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    table = pa.table({"c": pa.array(cluster), "k": text})
    return pc.sort_indices(table, sort_keys=[("c", "ascending"), ("k", "ascending")]).to_numpy()


def _contact_ids(fr: _Frame, cc: np.ndarray, size: np.ndarray, survivor: np.ndarray) -> np.ndarray | pd.Series:
    """Existing ids where given, else "C" + 12 hex of sha1 over the sorted member keys (an object array; a str
    Series when no id is kept: the ids are then built as fixed-width text, not one str at a time)."""
    ids = survivor.copy()
    need = np.flatnonzero(pd.isna(ids))
    if not len(need):
        return ids
    keys = fr.member_keys()
    want = np.zeros(len(size), bool)
    want[need] = True
    digests = np.zeros((len(ids), 20), np.uint8)
    single = want[cc] & (size[cc] == 1)
    digests[cc[single]] = _digests(_utf8(keys[single]))
    multi = np.flatnonzero(want[cc] & (size[cc] > 1))
    if len(multi):
        rows = multi[_by_cluster_then_key(cc[multi], keys.take(multi).reset_index(drop=True))]
        codes, joined = _group_join(cc[rows], keys.take(rows), "\n", arrow=True)
        digests[codes] = _digests(_utf8(joined))
    digits = _hex_digits(digests[need], 12)
    # the 12 hex digits as one 48-bit number: equal numbers, equal ids
    number = np.zeros((len(need), 8), np.uint8)
    number[:, 2:] = digests[need, :6]
    clash = pd.Series(number.view(">u8").ravel().astype(np.int64)).duplicated(keep=False).to_numpy()
    kept = survivor[pd.notna(survivor)]
    if not len(kept) and not clash.any():  # every id is new (a first migrate): fixed-width text
        from crmkit._link_tables import _fixed_width_text

        text = _fixed_width_text(b"C", digits)
        if text is not None:
            return pd.Series(text, copy=False)
    ids[need] = _id_strings(digits)
    if len(kept):  # a stored id kept by another contact (made once from a record that is now here)
        clash = clash | pd.Series(ids[need]).isin(set(kept)).to_numpy()
    if clash.any():  # 48-bit collision, or a kept id: these contacts get a longer digest
        for c in need[clash]:
            members = np.sort(keys[cc == c].to_numpy(dtype=object).astype(str))
            ids[c] = _hash_ids(["\n".join(members)], width=20)[0]
    return ids
