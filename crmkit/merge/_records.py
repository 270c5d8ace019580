"""The records as positional arrays, cluster codes, existing ids and deterministic contact ids."""
from __future__ import annotations

import fnmatch
import hashlib

import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.merge._values import _group_join, _text
from crmkit.merge.rules import FIELDS, SurvivorshipRules
from crmkit.schema import CONTACT

class _Frame:
    """The records, positionally, with the per-record keys every rule needs."""

    def __init__(self, records: pd.DataFrame, rules: SurvivorshipRules):
        if "record_id" not in records.columns:
            raise CrmkitError("records need a 'record_id' column",
                              hint="add one, e.g. records['record_id'] = records.index.astype(str)")
        self.rid = _text(records["record_id"])
        if self.rid.isna().any() or self.rid.duplicated().any():
            dup = self.rid[self.rid.duplicated() | self.rid.isna()].iloc[0]
            raise CrmkitError(f"record_id must be unique and filled; {dup!r} is not",
                              column="record_id", hint="number the records before merging")
        n = self.n = len(records)
        self.pos = np.arange(n, dtype=np.int64)
        missing = pd.Series([None] * n, dtype="str")
        self.cols = {f: _text(records[f]) if f in records.columns else missing for f in FIELDS}
        self.notna = {f: self.cols[f].notna().to_numpy() for f in FIELDS}
        self.file = _text(records["source_file"]) if "source_file" in records.columns else missing
        self.sheet = (_text(records["source_sheet"]).fillna("") if "source_sheet" in records.columns
                      else pd.Series([""] * n, dtype="str"))
        self.row = (pd.to_numeric(records["source_row"].reset_index(drop=True), errors="coerce")
                    .astype("Int64") if "source_row" in records.columns else pd.Series([pd.NA] * n, dtype="Int64"))
        dates = self.cols["created_at"].str.slice(0, 19)
        self.date = pd.factorize(dates, sort=True)[0]  # -1 where missing, else rank
        self.complete = np.sum([self.notna[f] for f in CONTACT.field_names], axis=0)
        fcodes, files = pd.factorize(self.file)
        self.file_code = fcodes
        self.first_of_file = pd.Series(np.arange(n))[fcodes >= 0].groupby(fcodes[fcodes >= 0]).first().to_numpy()
        ranks = np.array([self._priority(f, rules.source_priority) for f in files] +
                         [len(rules.source_priority)], dtype=np.int64)
        self.src_rank = ranks[fcodes]

    @staticmethod
    def _priority(name: str, patterns: list[str]) -> int:
        for i, pattern in enumerate(patterns):
            if fnmatch.fnmatchcase(name.casefold(), pattern.casefold()):
                return i
        return len(patterns)

    def member_keys(self) -> pd.Series:
        row = self.row.astype("str").fillna("")
        keys = self.file.fillna("") + "|" + self.sheet + "|" + row
        dup = keys.duplicated(keep=False).to_numpy() | self.row.isna().to_numpy()
        if dup.any():
            keys = keys.where(~dup, keys + "|" + self.rid)
        return keys


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


def _apply_existing(fr: _Frame, cc: np.ndarray, existing) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Unite clusters that share an existing contact; pick the surviving id of each."""
    C = int(cc.max(initial=-1)) + 1
    survivor = np.full(C, None, dtype=object)
    none = pd.DataFrame({"id": pd.Series([], dtype="str"), "into": pd.Series([], dtype="str")})
    if not existing:
        return cc, survivor, none
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


def _hash_ids(keys: list[str], width: int = 12) -> np.ndarray:
    return np.array(["C" + hashlib.sha1(k.encode("utf-8")).hexdigest()[:width] for k in keys], dtype=object)


def _contact_ids(fr: _Frame, cc: np.ndarray, size: np.ndarray, survivor: np.ndarray) -> np.ndarray:
    """Existing ids where given, else "C" + 12 hex of sha1 over the sorted member keys."""
    ids = survivor.copy()
    need = np.flatnonzero(pd.isna(ids))
    if not len(need):
        return ids
    keys = fr.member_keys()
    want = np.zeros(len(size), bool)
    want[need] = True
    single = want[cc] & (size[cc] == 1)
    ids[cc[single]] = _hash_ids(keys[single].tolist())
    multi = np.flatnonzero(want[cc] & (size[cc] > 1))
    if len(multi):
        kcodes = pd.factorize(keys.take(multi), sort=True)[0]
        order = np.lexsort((kcodes, cc[multi]))
        rows = multi[order]
        codes, joined = _group_join(cc[rows], keys.take(rows), "\n")
        ids[codes] = _hash_ids(joined)
    hashed = pd.Series(ids[need])
    clash = hashed.duplicated(keep=False).to_numpy()
    if clash.any():  # 48-bit collision: both contacts get a longer digest
        for c in need[clash]:
            members = np.sort(keys[cc == c].to_numpy(dtype=object).astype(str))
            ids[c] = _hash_ids(["\n".join(members)], width=20)[0]
    return ids
