"""Golden contacts: rule-chain selection per field, lineage, conflicts, multi-values; unmerge."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.merge._records import _apply_existing, _cluster_codes, _contact_ids, _Frame
from crmkit.merge._values import (_NO_CONFLICT, _VALID, _arrow, _concat, _from_arrow, _group_join,
                                  _group_starts, _json_texts, _Values)
from crmkit.merge.rules import _COMBINING, FIELDS, SurvivorshipRules
from crmkit.schema import CONTACT_COLUMNS

CONTACT_OUTPUT_COLUMNS = CONTACT_COLUMNS + ["n_records", "n_sources"]
LINEAGE_COLUMNS = ["contact_id", "field", "value", "source_file", "source_sheet", "source_row", "rule"]
VALUE_COLUMNS = ["contact_id", "field", "value", "is_primary", "source_file", "source_sheet", "source_row"]
CONFLICT_COLUMNS = ["contact_id", "field", "values", "chosen", "rule"]
MERGED_ID_COLUMNS = ["id", "into"]


@dataclass
class MergeResult:
    """Golden contacts and everything needed to explain, store and undo them.

    contacts: one row per contact, CONTACT_OUTPUT_COLUMNS (n_records members, n_sources distinct files)
    membership: record_id → contact_id, every input record once
    lineage: which source row (and rule) each golden field value came from
    values: every distinct valid email/phone per contact, primary first
    conflicts: fields where members disagreed, with all values and their sources as JSON
    merged_ids: existing contact ids absorbed into another existing id
    rules: the rules used, so the run can be replayed
    """

    contacts: pd.DataFrame
    membership: pd.DataFrame
    lineage: pd.DataFrame
    values: pd.DataFrame
    conflicts: pd.DataFrame
    merged_ids: pd.DataFrame
    rules: SurvivorshipRules


class _Labels:
    def __init__(self):
        self.names: list[str] = []

    def __call__(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)


def _rule_keys(rule: str, fr: _Frame, cand: np.ndarray, vals: _Values, norm: np.ndarray,
               c: np.ndarray) -> list[np.ndarray]:
    """Sort keys (smaller = better) of one rule for the candidate rows."""
    if rule == "most_frequent":
        combined = c * (int(norm.max(initial=0)) + 1) + norm
        _, inv, counts = np.unique(combined, return_inverse=True, return_counts=True)
        return [-counts[inv]]
    d = fr.date[cand]
    if rule == "most_recent":
        return [np.where(d < 0, 1, -d), -cand]
    if rule == "earliest":
        return [np.where(d < 0, np.iinfo(np.int64).max, d), cand]
    if rule == "most_complete":
        return [-fr.complete[cand]]
    if rule == "longest":
        return [-vals.length()]
    if rule == "well_formed":
        return [vals.form_score()]
    if rule == "source_priority":
        return [fr.src_rank[cand]]
    return [cand]  # first_non_empty


@dataclass
class _Chosen:
    win: np.ndarray            # per contact: record position of the golden value, -1 if none
    rule: np.ndarray           # per contact: label code
    conflict_rows: np.ndarray  # record positions of members with a value, in contacts that disagree
    conflict_c: np.ndarray     # their contact codes


def _select(name: str, chain: list[str], fr: _Frame, cc: np.ndarray, multi_rows: np.ndarray,
            C: int, lab: _Labels) -> _Chosen:
    notna = fr.notna[name]
    win = np.full(C, -1, np.int64)
    rule = np.full(C, lab("single_source"), np.int16)
    empty = np.zeros(0, np.int64)
    cand = multi_rows[notna[multi_rows]]
    if not len(cand):
        return _Chosen(win, rule, empty, empty)
    vals = _Values(fr.cols[name].take(cand), name)
    norm = vals.norm_codes()
    c = cc[cand]
    keys, labels = [], []
    if name in _VALID:
        keys.append((~vals.valid()).astype(np.int8))
        labels.append("valid")
    for r in chain:
        ks = _rule_keys(r, fr, cand, vals, norm, c)
        keys += ks
        labels += [r] * len(ks)
    keys += [fr.src_rank[cand], cand]
    labels += ["source_priority", "source_order"]
    order = np.lexsort(tuple(reversed([c] + keys)))
    cs = c[order]
    starts = _group_starts(cs)
    grp = np.cumsum(np.r_[True, cs[1:] != cs[:-1]]) - 1
    winners = order[starts]
    contact = cs[starts]
    win[contact] = cand[winners]
    sizes = np.diff(np.r_[starts, len(cs)])
    rule[contact] = np.where(sizes == 1, lab("only_value"), lab("agreed"))
    ns = norm[order]
    differs = np.flatnonzero(ns != ns[starts][grp])
    if not len(differs):
        return _Chosen(win, rule, empty, empty)
    rgrp, first = np.unique(grp[differs], return_index=True)
    runners = order[differs[first]]
    wk = np.vstack([k[winners[rgrp]] for k in keys])
    rk = np.vstack([k[runners] for k in keys])
    decided = np.argmax(wk != rk, axis=0)
    codes = np.array([lab(x) for x in labels], dtype=np.int16)
    rule[contact[rgrp]] = codes[decided]
    in_conflict = np.zeros(len(starts), bool)
    in_conflict[rgrp] = True
    rows = in_conflict[grp]
    return _Chosen(win, rule, cand[order][rows], cs[rows])


def _combine(name: str, how: str, fr: _Frame, cc: np.ndarray, multi_rows: np.ndarray):
    """Golden values (contact codes, texts) and contributing (contact, record) rows of a combining rule."""
    cand = multi_rows[fr.notna[name][multi_rows]]
    vals = fr.cols[name].take(cand).reset_index(drop=True)
    if how == "union":
        arr, pc = _arrow(vals)
        if arr is None:  # pragma: no cover
            items = vals.str.split(r"\s*[;,|]\s*", regex=True).explode().str.strip()
            rec = cand[items.index.to_numpy()]
            items = items.reset_index(drop=True)
        else:
            lists = pc.split_pattern_regex(arr, r"[;,|]")
            rec = cand[pc.list_parent_indices(lists).to_numpy()]
            items = _from_arrow(pc.utf8_trim_whitespace(pc.list_flatten(lists)))
    else:
        items, rec = vals, cand
    keep = items.notna().to_numpy() & (items.str.len() > 0).to_numpy()
    items, rec = items[keep].reset_index(drop=True), rec[keep]
    norm = _Values(items, name).norm_codes() if len(items) else np.zeros(0, np.int64)
    frame = pd.DataFrame({"c": cc[rec], "norm": norm, "rec": rec})
    order = np.lexsort((rec, frame["c"].to_numpy()))
    frame = frame.iloc[order]
    firsts = ~frame.duplicated(["c", "norm"]).to_numpy()
    kept = frame[firsts]
    codes, joined = _group_join(kept["c"].to_numpy(), items.take(kept.index.to_numpy()), _COMBINING[how])
    contributors = kept[["c", "rec"]].drop_duplicates()
    return codes, joined, contributors["c"].to_numpy(), contributors["rec"].to_numpy()


# --------------------------------------------------------------------------- merge
def merge(records: pd.DataFrame, clusters: pd.Series | None, rules: SurvivorshipRules | None = None, *,
          existing: Mapping[str, str] | pd.Series | None = None) -> MergeResult:
    """Merge clustered contact records into golden contacts.

    ``clusters`` maps record_id → any hashable label (records not in it stay alone);
    ``existing`` maps record_id → contact_id of a stored contact: those ids are kept, clusters
    sharing one are united, and when a cluster holds several the lowest (shortest, then
    alphabetically first) survives and the others are listed in ``merged_ids``. New contact ids
    are "C" + 12 hex chars of sha1 over the sorted ``source_file|source_sheet|source_row`` keys,
    so the same inputs always give the same ids. The input frames are not changed.

    >>> recs = pd.DataFrame({"record_id": ["a"], "email": ["x@y.z"], "source_file": ["f.csv"],
    ...                      "source_sheet": [""], "source_row": [2]})
    >>> merge(recs, None).contacts.loc[0, "emails"]
    'x@y.z'
    """
    rules = rules or SurvivorshipRules()
    rules.validate()
    fr = _Frame(records, rules)
    cc = _cluster_codes(fr, clusters)
    existing_map = existing.to_dict() if isinstance(existing, pd.Series) else existing
    cc, survivor, merged_ids = _apply_existing(fr, cc, existing_map)
    C = int(cc.max(initial=-1)) + 1
    size = np.bincount(cc, minlength=C)
    multi_rows = np.flatnonzero(size[cc] > 1)
    single_rows = np.flatnonzero(size[cc] == 1)
    ids = _contact_ids(fr, cc, size, survivor)
    lab = _Labels()

    golden: dict[str, pd.Series] = {}
    chosen: dict[str, _Chosen] = {}
    lineage_parts = []  # (field, contact codes, record positions, rule codes)
    for name in FIELDS:
        chain = rules.chain(name)
        if chain[0] in _COMBINING:
            continue
        ch = _select(name, chain, fr, cc, multi_rows, C, lab)
        s = single_rows[fr.notna[name][single_rows]]
        ch.win[cc[s]] = s
        chosen[name] = ch

    def final(name: str, seen: tuple = ()) -> _Chosen:
        leader = rules.linked.get(name)
        ch = chosen[name]
        if leader is None or leader not in chosen or name in seen:
            return ch
        lead = final(leader, seen + (name,))
        ok = (lead.win >= 0) & (size > 1)
        ok[ok] = fr.notna[name][lead.win[ok]]
        return _Chosen(np.where(ok, lead.win, ch.win), np.where(ok, lab(f"linked:{leader}"), ch.rule),
                       ch.conflict_rows, ch.conflict_c)

    chosen = {name: final(name) for name in chosen}
    conflict_parts = []
    for name in FIELDS:
        if name in chosen:
            ch = chosen[name]
            golden[name] = pd.Series(fr.cols[name].array.take(ch.win, allow_fill=True))
            has = np.flatnonzero(ch.win >= 0)
            lineage_parts.append((name, has, ch.win[has], ch.rule[has]))
            if name not in _NO_CONFLICT and len(ch.conflict_rows):
                conflict_parts.append((name, ch.conflict_c, ch.conflict_rows))
            continue
        how = rules.chain(name)[0]
        win = np.full(C, -1, np.int64)
        s = single_rows[fr.notna[name][single_rows]]
        win[cc[s]] = s
        values = fr.cols[name].array.take(win, allow_fill=True).to_numpy(dtype=object)
        codes, joined, lc, lr = _combine(name, how, fr, cc, multi_rows)
        values[codes] = joined
        golden[name] = pd.Series(values, dtype="str")
        lineage_parts.append((name, cc[s], s, np.full(len(s), lab("single_source"), np.int16)))
        lineage_parts.append((name, lc, lr, np.full(len(lc), lab(how), np.int16)))

    values, emails, phones = _multi_values(fr, cc, C, chosen, ids)
    contacts = pd.DataFrame({"contact_id": pd.Series(ids, dtype="str"), **golden,
                             "emails": emails, "phones": phones})
    contacts["n_records"] = size
    fc = fr.file_code >= 0
    pairs = np.unique(cc[fc] * (int(fr.file_code.max(initial=0)) + 1) + fr.file_code[fc])
    contacts["n_sources"] = np.bincount(pairs // (int(fr.file_code.max(initial=0)) + 1), minlength=C)
    contacts = contacts[CONTACT_OUTPUT_COLUMNS]
    membership = pd.DataFrame({"record_id": fr.rid, "contact_id": pd.Series(ids[cc], dtype="str")})
    return MergeResult(
        contacts=contacts,
        membership=membership,
        lineage=_lineage(fr, ids, lineage_parts, lab),
        values=values,
        conflicts=_conflicts(fr, ids, golden, chosen, conflict_parts, lab),
        merged_ids=merged_ids,
        rules=rules,
    )


def _sources(fr: _Frame, rows: np.ndarray) -> dict[str, pd.Series]:
    return {"source_file": fr.file.take(rows).reset_index(drop=True),
            "source_sheet": fr.sheet.take(rows).reset_index(drop=True),
            "source_row": fr.row.take(rows).reset_index(drop=True)}


def _lineage(fr: _Frame, ids: np.ndarray, parts: list, lab: _Labels) -> pd.DataFrame:
    c = np.concatenate([p[1] for p in parts]).astype(np.int64)
    rows = np.concatenate([p[2] for p in parts]).astype(np.int64)
    rule = np.concatenate([p[3] for p in parts]).astype(np.int16)
    fcode = np.concatenate([np.full(len(p[1]), FIELDS.index(p[0]), np.int16) for p in parts])
    order = np.argsort(c, kind="stable")
    value = pd.concat([fr.cols[p[0]].take(p[2]) for p in parts], ignore_index=True).take(order)
    rows = rows[order]
    files = fr.file.array.take(fr.first_of_file)
    sheet_codes, sheets = pd.factorize(fr.sheet)
    return pd.DataFrame({  # long table: repeated texts as categoricals
        "contact_id": pd.Series(ids, dtype="str").take(c[order]).reset_index(drop=True),
        "field": pd.Categorical.from_codes(fcode[order], categories=FIELDS),
        "value": value.reset_index(drop=True),
        "source_file": pd.Categorical.from_codes(fr.file_code[rows], categories=pd.Index(files, dtype="str")),
        "source_sheet": pd.Categorical.from_codes(sheet_codes[rows], categories=pd.Index(sheets, dtype="str")),
        "source_row": fr.row.take(rows).reset_index(drop=True),
        "rule": pd.Categorical.from_codes(rule[order], categories=lab.names),
    })[LINEAGE_COLUMNS]


def _conflicts(fr: _Frame, ids: np.ndarray, golden: dict, chosen: dict, parts: list,
               lab: _Labels) -> pd.DataFrame:
    if not parts:
        empty = pd.Series([], dtype="str")
        return pd.DataFrame({c: empty for c in CONFLICT_COLUMNS})
    fcode = np.concatenate([np.full(len(p[1]), FIELDS.index(p[0]), np.int64) for p in parts])
    c = np.concatenate([p[1] for p in parts])
    rows = np.concatenate([p[2] for p in parts])
    order = np.lexsort((rows, c, fcode))
    fcode, c, rows = fcode[order], c[order], rows[order]
    value = pd.concat([fr.cols[p[0]].take(p[2]) for p in parts], ignore_index=True).take(order)
    entry = _concat([
        '{"value": ', _json_texts(value.reset_index(drop=True)),
        ', "source_file": ', _json_texts(fr.file.take(rows).reset_index(drop=True)),
        ', "source_sheet": ', _json_texts(fr.sheet.take(rows).reset_index(drop=True)),
        ', "source_row": ', fr.row.take(rows).astype("str").fillna("null").reset_index(drop=True), "}"])
    keys, joined = _group_join(fcode * len(ids) + c, entry, ", ")
    fc, cc = keys // len(ids), keys % len(ids)
    chosen_value = np.empty(len(keys), dtype=object)
    rule = np.empty(len(keys), dtype=np.int16)
    for f in np.unique(fc):
        m = fc == f
        name = FIELDS[f]
        chosen_value[m] = golden[name].to_numpy(dtype=object)[cc[m]]
        rule[m] = chosen[name].rule[cc[m]]
    out = pd.DataFrame({
        "contact_id": pd.Series(ids[cc], dtype="str"),
        "field": pd.Categorical.from_codes(fc, categories=FIELDS),
        "values": "[" + pd.Series(joined, dtype="str") + "]",
        "chosen": pd.Series(chosen_value, dtype="str"),
        "rule": pd.Categorical.from_codes(rule, categories=lab.names),
    })
    return out.sort_values(["contact_id", "field"], kind="stable", ignore_index=True)


def _multi_values(fr: _Frame, cc: np.ndarray, C: int, chosen: dict, ids: np.ndarray):
    """The values frame and the '; '-joined emails/phones columns (valid values only, primary first).

    The golden email/phone is primary when valid; a contact without a valid phone gets its golden
    mobile as primary phone.
    """
    frames, joined_columns = [], []
    for field_name, columns in (("email", ["email"]), ("phone", ["phone", "mobile"])):
        rows = np.concatenate([np.flatnonzero(fr.notna[col]) for col in columns])
        k = np.concatenate([np.full(int(fr.notna[col].sum()), i, np.int8) for i, col in enumerate(columns)])
        value = pd.concat([fr.cols[col][fr.notna[col]] for col in columns], ignore_index=True)
        vals = _Values(value, field_name)
        norm = np.where(vals.valid(), vals.norm_codes(), -1)
        primary_row = np.full(C, -1, np.int64)
        primary_k = np.full(C, -1, np.int8)
        primary_norm = np.full(C, -1, np.int64)
        for i, col in reversed(list(enumerate(columns))):  # the first column wins
            by_row = np.full(fr.n, -1, np.int64)
            by_row[rows[k == i]] = norm[k == i]
            win = chosen[col].win
            code = np.where(win >= 0, by_row[np.maximum(win, 0)], -1)
            use = code >= 0
            primary_row[use], primary_k[use], primary_norm[use] = win[use], i, code[use]
        keep = norm >= 0
        rows, k, norm, value = rows[keep], k[keep], norm[keep], value[keep].reset_index(drop=True)
        c = cc[rows]
        rank = np.where(norm == primary_norm[c], np.where((rows == primary_row[c]) & (k == primary_k[c]), 0, 1), 2)
        order = np.lexsort((k, rows, rank, c))
        first = ~pd.Series(c[order] * (int(norm.max(initial=0)) + 1) + norm[order]).duplicated().to_numpy()
        order = order[first]
        codes, joined = _group_join(c[order], value.take(order), "; ")
        column = np.full(C, None, dtype=object)
        column[codes] = joined
        joined_columns.append(pd.Series(column, dtype="str"))
        frames.append(pd.DataFrame({
            "_c": c[order],
            "contact_id": pd.Series(ids, dtype="str").take(c[order]).reset_index(drop=True),
            "field": pd.Series([field_name] * len(order), dtype="str"),
            "value": value.take(order).reset_index(drop=True),
            "is_primary": rank[order] < 2,
            **_sources(fr, rows[order]),
        }))
    values = pd.concat(frames, ignore_index=True)
    values = values.iloc[np.argsort(values["_c"].to_numpy(), kind="stable")]
    return values.reset_index(drop=True)[VALUE_COLUMNS], joined_columns[0], joined_columns[1]


def unmerge_records(records: pd.DataFrame, membership: pd.DataFrame | pd.Series, contact_id: str, *,
                    rules: SurvivorshipRules | None = None) -> MergeResult:
    """Split one golden contact back into one contact per source record.

    ``membership`` is a MergeResult's membership (or a Series record_id → contact_id). The new
    contacts get the deterministic ids a singleton would get, so a store can replace the old
    contact's rows with the returned ones.
    """
    if isinstance(membership, pd.DataFrame):
        membership = membership.set_index("record_id")["contact_id"]
    members = membership.index[membership.astype("str") == str(contact_id)].astype("str")
    if not len(members):
        raise CrmkitError(f"contact {contact_id!r} has no records in the membership",
                          hint="pass the membership the contact came from")
    mine = records[records["record_id"].astype("str").isin(members)]
    return merge(mine, None, rules)
