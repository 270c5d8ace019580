"""Golden contacts: rule-chain selection per field, lineage, conflicts, multi-values; unmerge."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit._fork import Beside
from crmkit.merge._records import _AlignedIds, _apply_existing, _cluster_codes, _contact_ids, _Frame
from crmkit.merge._values import (_NO_CONFLICT, _VALID, _arrow, _concat, _from_arrow, _group_join,
                                  _group_starts, _json_coded, _narrow, _Subset, _take_text, _Values)
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
    contact_rows: per record (membership order), the row of its contact in ``contacts``
    with_ids, meanwhile: the values of ``_merge_coded``'s hooks of these names (link stage internals)
    """

    contacts: pd.DataFrame
    membership: pd.DataFrame
    lineage: pd.DataFrame
    values: pd.DataFrame
    conflicts: pd.DataFrame
    merged_ids: pd.DataFrame
    rules: SurvivorshipRules
    contact_rows: np.ndarray | None = field(default=None, repr=False, compare=False)
    with_ids: Any = field(default=None, repr=False, compare=False)  # see _merge_coded
    meanwhile: Any = field(default=None, repr=False, compare=False)


@dataclass
class _Formed:
    """The contacts as formed, before their values are assembled: per record its contact's row, the contact
    ids, record_id → contact_id, and the stored ids absorbed (see :class:`MergeResult`)."""

    contact_rows: np.ndarray
    contact_ids: pd.Series
    membership: pd.DataFrame
    merged_ids: pd.DataFrame


class _Labels:
    def __init__(self):
        self.names: list[str] = []

    def __call__(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)


def _rule_keys(rule: str, fr: _Frame, cand: np.ndarray, vals: _Values | _Subset, norm: np.ndarray,
               c: np.ndarray) -> list[np.ndarray]:
    """Sort keys (smaller = better) of one rule for the candidate rows."""
    if rule == "most_frequent":
        combined = c * (int(norm.max(initial=0)) + 1) + norm
        inv = pd.factorize(combined)[0]
        return [-np.bincount(inv)[inv]]
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


def _lex_order(keys: list[np.ndarray]) -> np.ndarray:
    """``np.lexsort(tuple(reversed(keys)))`` (first key most significant, stable): consecutive keys are
    packed into as few int64 words as their value ranges allow, and a key that is already unique per row
    (a position) ends the sort, since later keys cannot reorder anything."""
    words: list[np.ndarray] = []
    word, bits, unique = None, 0, False
    for k in keys:
        k = np.asarray(k, np.int64)
        lo = int(k.min(initial=0))
        width = max(int(k.max(initial=0)) - lo, 0).bit_length()
        if word is not None and bits + width <= 62:
            word = (word << width) | (k - lo)
            bits += width
        else:
            if word is not None:
                words.append(word)
            word, bits = k - lo, width
        if _is_position_key(k):
            unique = True
            break
    words.append(word)
    if len(words) == 1:  # a word holding a position is unique per row: any sort gives the same order
        return np.argsort(words[0], kind="quicksort" if unique else "stable")
    return np.lexsort(tuple(reversed(words)))


def _is_position_key(k: np.ndarray) -> bool:
    """True for a key that is strictly monotone (the candidate positions, or their negation)."""
    if len(k) < 2:
        return True
    d = np.diff(k)
    return bool((d > 0).all() or (d < 0).all())


@dataclass
class _Chosen:
    win: np.ndarray            # per contact: record position of the golden value, -1 if none
    rule: np.ndarray           # per contact: label code
    conflict_rows: np.ndarray  # record positions of members with a value, in contacts that disagree
    conflict_c: np.ndarray     # their contact codes

    def __getstate__(self) -> dict:
        """Sent back from a forked child (pickled) with the positions and codes as narrow integers."""
        state = dict(self.__dict__)
        for k in ("win", "conflict_rows", "conflict_c"):
            state[k] = _narrow(state[k], int(state[k].max(initial=0)))
        return state

    def __setstate__(self, state: dict) -> None:
        for k in ("win", "conflict_rows", "conflict_c"):
            state[k] = state[k].astype(np.int64)
        self.__dict__.update(state)


def _select(name: str, chain: list[str], fr: _Frame, cc: np.ndarray, multi_rows: np.ndarray,
            C: int, lab: _Labels) -> _Chosen:
    """The winning record of each multi-member contact for one field, the rule that decided it, and the
    members of contacts whose values disagree. ``multi_rows`` are sorted by contact."""
    notna = fr.notna[name]
    win = np.full(C, -1, np.int64)
    rule = np.full(C, lab("single_source"), np.int16)
    empty = np.zeros(0, np.int64)
    cand = multi_rows[notna[multi_rows]]
    if not len(cand):
        return _Chosen(win, rule, empty, empty)
    vals = _Subset(fr.fields[name], cand)
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
    word = _packed(keys, cand)
    if word is None:  # keys too wide for one integer: sort the rows by contact, then keys
        order = _lex_order([c] + keys)
        cand, c, norm, keys = cand[order], c[order], norm[order], [k[order] for k in keys]
        word = np.arange(len(cand), dtype=np.int64)  # the rank in that order
    # per contact (a run of equal c), the best row is the one with the smallest key word, and the
    # runner-up the best among the rows whose value differs from the winner's
    starts = _group_starts(c)
    grp = np.cumsum(np.r_[True, c[1:] != c[:-1]]) - 1
    winners = np.flatnonzero(word == np.minimum.reduceat(word, starts)[grp])
    contact = c[starts]
    win[contact] = cand[winners]
    sizes = np.diff(np.r_[starts, len(c)])
    rule[contact] = np.where(sizes == 1, lab("only_value"), lab("agreed"))
    differs = norm != norm[winners][grp]
    if not differs.any():
        return _Chosen(win, rule, empty, empty)
    top = np.iinfo(np.int64).max
    masked = np.where(differs, word, top)
    runner_word = np.minimum.reduceat(masked, starts)
    rgrp = np.flatnonzero(runner_word < top)
    runners = np.flatnonzero(differs & (masked == runner_word[grp]))
    wk = np.vstack([k[winners[rgrp]] for k in keys])
    rk = np.vstack([k[runners] for k in keys])
    decided = np.argmax(wk != rk, axis=0)
    codes = np.array([lab(x) for x in labels], dtype=np.int16)
    rule[contact[rgrp]] = codes[decided]
    in_conflict = np.zeros(len(starts), bool)
    in_conflict[rgrp] = True
    rows = in_conflict[grp]
    return _Chosen(win, rule, cand[rows], c[rows])


def _packed(keys: list[np.ndarray], positions: np.ndarray) -> np.ndarray | None:
    """The keys (first most significant) packed into one int64 per row whose order is their lexicographic
    order, up to the first key that is unique per row (± the positions); None when that takes more than
    62 bits."""
    word, bits = None, 0
    for k in keys:
        k = np.asarray(k, np.int64)
        lo = int(k.min(initial=0))
        width = max(int(k.max(initial=0)) - lo, 0).bit_length()
        if bits + width > 62:
            return None
        word = (k - lo) if word is None else (word << width) | (k - lo)
        bits += width
        if np.array_equal(np.abs(k), positions):
            return word
    return None


def _combine(name: str, how: str, fr: _Frame, cc: np.ndarray, multi_rows: np.ndarray):
    """Golden values (contact codes, texts) and contributing (contact, record) rows of a combining rule."""
    cand = multi_rows[fr.notna[name][multi_rows]]
    vals = fr.fields[name].take(cand)
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
    return _merge_frame(fr, _cluster_codes(fr, clusters), rules, existing)


def _merge_coded(records: pd.DataFrame, codes: np.ndarray, rules: SurvivorshipRules | None = None, *,
                 existing: Mapping[str, str] | pd.Series | None = None, existing_aligned: bool = False,
                 with_ids: Callable[[np.ndarray, pd.Series], Any] | None = None,
                 meanwhile: Callable[[_Formed], Any] | None = None, frame: _Frame | None = None) -> MergeResult:
    """:func:`merge` for callers that hold unique, filled record ids and one cluster number per record
    (positionally, numbered in order of first appearance), as the link stage does. With
    ``existing_aligned``, ``existing`` is a Series of stored contact ids in the records' order (None: none).

    Large runs make the contact ids (and the winners of some fields) in a second process while this one chooses
    the other golden values, then the conflicts there while this one assembles the rest (see :func:`_merge_frame`).
    ``with_ids(contact_rows, contact_ids)``, when given, is computed with the conflicts; its value is ``result.with_ids``. ``meanwhile(formed)``, when
    given, is run here with the contacts formed (:class:`_Formed`) while the conflicts are made; its value is
    ``result.meanwhile``. ``frame`` is the records as :func:`_read_records` read them, when the caller did
    that already.
    """
    if frame is None:
        rules, frame = _read_records(records, rules)
    codes = np.asarray(codes, np.int64)
    if existing_aligned and existing is not None:
        existing = _AlignedIds(existing)
    return _merge_frame(frame, codes, rules, existing, with_ids=with_ids, meanwhile=meanwhile)


def _read_records(records: pd.DataFrame, rules: SurvivorshipRules | None,
                  fields: dict | None = None) -> tuple[SurvivorshipRules, _Frame]:
    """The rules (validated; the default ones for None) and the records read for :func:`_merge_coded`
    (unique, filled record ids); ``fields``: some fields read already (``_records._read_fields``)."""
    rules = rules or SurvivorshipRules()
    rules.validate()
    return rules, _Frame(records, rules, checked=True, fields=fields)


def _id_texts(fr: _Frame, cc: np.ndarray, survivor: np.ndarray) -> pd.Series:
    """The contact id of each contact code (see :func:`_contact_ids`), as str."""
    size = np.bincount(cc, minlength=int(cc.max(initial=-1)) + 1)
    return pd.Series(_contact_ids(fr, cc, size, survivor), dtype="str")


def _merge_frame(fr: _Frame, cc: np.ndarray, rules: SurvivorshipRules, existing,
                 with_ids: Callable[[np.ndarray, pd.Series], Any] | None = None,
                 meanwhile: Callable[[_Formed], Any] | None = None) -> MergeResult:
    """The merge of a read frame (see :func:`_merge_coded`): a large run makes the contact ids and the winners of
    some fields in a second process while the winners of the others are chosen here, then the conflicts there
    while the rest is made here."""
    existing_map = existing.to_dict() if isinstance(existing, pd.Series) else existing
    cc, survivor, merged_ids = _apply_existing(fr, cc, existing_map)
    C = int(cc.max(initial=-1)) + 1
    size = np.bincount(cc, minlength=C)
    multi_rows = np.flatnonzero(size[cc] > 1)
    multi_rows = multi_rows[np.argsort(cc[multi_rows], kind="stable")]  # by contact (then position)
    single_rows = np.flatnonzero(size[cc] == 1)

    # the contact ids (a hash of each contact's member keys) and the winners of some fields in a second process
    # while the winners of the others are chosen here
    here, there = _share_fields(fr, rules, multi_rows, C)

    def ids_and_winners() -> tuple:
        return _id_texts(fr, cc, survivor), _winners(there, fr, cc, size, multi_rows, single_rows, C, rules)

    with Beside(ids_and_winners, fr.n) as job:
        winners = _winners(here, fr, cc, size, multi_rows, single_rows, C, rules)
        id_text, theirs = job.result()
    golden, chosen, lineage_parts, conflict_parts, lab = _choose(fr, cc, size, multi_rows, single_rows, C, rules,
                                                                 {**winners, **theirs})

    # the conflicts, the with_ids hook and the email rows of the values in a second process while the rest is made
    # here (the values frame is put together here once both fields' rows are made)
    beside = _MULTI_FIELDS[:1]

    def side() -> tuple:
        return (_conflicts(fr, id_text, golden, chosen, conflict_parts, lab),
                with_ids(cc, id_text) if with_ids is not None else None,
                {name: _multi_field(fr, cc, C, chosen, name, columns) for name, columns in beside})

    with Beside(side, fr.n) as side_job:
        membership = pd.DataFrame({"record_id": fr.rid, "contact_id": _take_text(id_text, cc)})
        done = meanwhile(_Formed(cc, id_text, membership, merged_ids)) if meanwhile is not None else None
        lineage = _lineage(fr, id_text, lineage_parts, lab)
        multi = {name: _multi_field(fr, cc, C, chosen, name, columns) for name, columns in _MULTI_FIELDS
                 if (name, columns) not in beside}
        conflicts, extra, multi_beside = side_job.result()
    values, emails, phones = _multi_values(fr, cc, C, chosen, id_text, {**multi, **multi_beside})
    contacts = pd.DataFrame({"contact_id": id_text, **golden, "emails": emails, "phones": phones})
    contacts["n_records"] = size
    fc = fr.file_code >= 0
    F = int(fr.file_code.max(initial=0)) + 1
    pairs = pd.unique(cc[fc] * F + fr.file_code[fc])  # distinct (contact, file)
    contacts["n_sources"] = np.bincount(pairs // F, minlength=C)
    contacts = contacts[CONTACT_OUTPUT_COLUMNS]
    return MergeResult(
        contacts=contacts,
        membership=membership,
        lineage=lineage,
        values=values,
        conflicts=conflicts,
        merged_ids=merged_ids,
        rules=rules,
        contact_rows=cc,
        with_ids=extra,
        meanwhile=done,
    )


# fields whose comparison forms the values table needs again (cached on the frame's fields): chosen here
_NORMS_REUSED = ("email", "phone", "mobile")


@dataclass
class _Won:
    """One selecting field's outcome in the process that chose it: the winners (after ``linked``), the rule
    codes before ``linked`` and the names of those codes in the order they were first used, where the leader's
    winner was taken (``linked``), and the golden values."""

    chosen: _Chosen
    names: list[str]
    linked: np.ndarray | None
    golden: pd.Series


def _link_groups(rules: SurvivorshipRules) -> list[list[str]]:
    """The selecting fields in groups that ``linked`` ties together (a leader with its followers), in field order."""
    names = [n for n in FIELDS if rules.chain(n)[0] not in _COMBINING]
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    for follower, leader in rules.linked.items():
        if follower in parent and leader in parent and root(follower) != root(leader):
            parent[root(follower)] = root(leader)
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(root(n), []).append(n)
    return list(groups.values())


def _share_fields(fr: _Frame, rules: SurvivorshipRules, multi_rows: np.ndarray, C: int
                  ) -> tuple[list[str], list[str]]:
    """The selecting fields chosen here and those chosen beside the contact ids: whole ``linked`` groups, about
    a quarter of the work (candidate rows, distinct values, golden values) beside, biggest groups first: the
    contact ids take about as long as the rest."""
    names = [n for n in FIELDS if rules.chain(n)[0] not in _COMBINING]
    in_multi = np.zeros(fr.n, bool)
    in_multi[multi_rows] = True
    work = {n: int(np.count_nonzero(fr.notna[n] & in_multi)) + len(fr.fields[n].uniq) + C // 2 for n in names}
    groups = [g for g in _link_groups(rules) if not any(n in _NORMS_REUSED for n in g)]
    cost = [sum(work[n] for n in g) for g in groups]
    budget = sum(work.values()) / 4
    there: list[str] = []
    for i in sorted(range(len(groups)), key=lambda i: -cost[i]):
        if cost[i] <= budget:
            there += groups[i]
            budget -= cost[i]
    return [n for n in names if n not in there], [n for n in names if n in there]


def _winners(names: list[str], fr: _Frame, cc: np.ndarray, size: np.ndarray, multi_rows: np.ndarray,
             single_rows: np.ndarray, C: int, rules: SurvivorshipRules) -> dict[str, _Won]:
    """Per selecting field of ``names`` (whole ``linked`` groups): its winners (:func:`_select`, singletons
    filled in, then ``linked``), with rule codes of its own (:func:`_choose` numbers them as one run over all
    fields would) and its golden values."""
    own = {}
    for name in names:
        lab = _Labels()
        ch = _select(name, rules.chain(name), fr, cc, multi_rows, C, lab)
        s = single_rows[fr.notna[name][single_rows]]
        ch.win[cc[s]] = s
        own[name] = (ch, lab.names)

    def final(name: str, seen: tuple = ()) -> tuple[np.ndarray, np.ndarray | None]:
        """The winners of a field after ``linked``, and where the leader's were taken (None: no leader)."""
        leader = rules.linked.get(name)
        win = own[name][0].win
        if leader is None or leader not in own or name in seen:
            return win, None
        lead, _ = final(leader, seen + (name,))
        ok = (lead >= 0) & (size > 1)
        ok[ok] = fr.notna[name][lead[ok]]
        return np.where(ok, lead, win), ok

    out = {}
    for name in names:
        win, ok = final(name)
        ch, used = own[name]
        out[name] = _Won(_Chosen(win, ch.rule, ch.conflict_rows, ch.conflict_c), used, ok, fr.fields[name].take(win))
    return out


def _choose(fr: _Frame, cc: np.ndarray, size: np.ndarray, multi_rows: np.ndarray, single_rows: np.ndarray, C: int,
            rules: SurvivorshipRules, won: dict[str, _Won]):
    """Per field, the golden values, the chosen winners (``won``: the selecting fields, see :func:`_winners`),
    and the lineage and conflict parts (on contact codes)."""
    lab = _Labels()
    golden: dict[str, pd.Series] = {}
    chosen: dict[str, _Chosen] = {}
    lineage_parts = []  # (field, contact codes, record positions, rule codes)
    for name in FIELDS:  # the rule labels numbered as one run over the fields in order would number them
        if name in won:
            w = won[name]
            chosen[name] = _Chosen(w.chosen.win, np.array([lab(x) for x in w.names], dtype=np.int16)[w.chosen.rule],
                                   w.chosen.conflict_rows, w.chosen.conflict_c)

    def linked_label(name: str, seen: tuple = ()) -> int | None:
        leader = rules.linked.get(name)
        if leader is None or leader not in chosen or name in seen:
            return None
        linked_label(leader, seen + (name,))
        return lab(f"linked:{leader}")

    for name in chosen:
        code = linked_label(name)
        if code is not None:
            ch = chosen[name]
            ch.rule = np.where(won[name].linked, code, ch.rule)
    conflict_parts = []
    for name in FIELDS:
        if name in chosen:
            ch = chosen[name]
            golden[name] = won[name].golden
            has = np.flatnonzero(ch.win >= 0)
            lineage_parts.append((name, has, ch.win[has], ch.rule[has]))
            if name not in _NO_CONFLICT and len(ch.conflict_rows):
                conflict_parts.append((name, ch.conflict_c, ch.conflict_rows))
            continue
        how = rules.chain(name)[0]
        win = np.full(C, -1, np.int64)
        s = single_rows[fr.notna[name][single_rows]]
        win[cc[s]] = s
        codes, joined, lc, lr = _combine(name, how, fr, cc, multi_rows)
        if len(codes):
            values = fr.fields[name].take(win).to_numpy(dtype=object)
            values[codes] = joined
            golden[name] = pd.Series(values, dtype="str")
        else:  # no contact combines values: the singletons' values as they are
            golden[name] = fr.fields[name].take(win)
        lineage_parts.append((name, cc[s], s, np.full(len(s), lab("single_source"), np.int16)))
        lineage_parts.append((name, lc, lr, np.full(len(lc), lab(how), np.int16)))
    return golden, chosen, lineage_parts, conflict_parts, lab


def _part_values(fr: _Frame, parts: list, order: np.ndarray) -> pd.Series:
    """The field values of concatenated (field, ..., record positions, ...) parts, reordered by ``order``:
    one take from the parts' distinct values, no per-part text copies."""
    if not parts:
        return pd.Series([], dtype="str")
    codes = _part_codes(fr, parts)[order]
    uniq = [fr.fields[p[0]].uniq for p in parts]
    offsets = sum(len(u) for u in uniq)
    uniq = pd.concat(uniq, ignore_index=True) if offsets else pd.Series([], dtype="str")
    return pd.Series(uniq.array.take(codes, allow_fill=True), dtype="str")


def _lineage(fr: _Frame, ids: pd.Series, parts: list, lab: _Labels) -> pd.DataFrame:
    c = np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False)
    rows = np.concatenate([p[2] for p in parts]).astype(np.int64, copy=False)
    rule = np.concatenate([p[3] for p in parts]).astype(np.int16, copy=False)
    fcode = np.concatenate([np.full(len(p[1]), FIELDS.index(p[0]), np.int16) for p in parts])
    order = np.argsort(c, kind="stable")  # by contact: each part is sorted, so timsort only merges their runs
    value = _part_values(fr, parts, order)
    rows = rows[order]
    return pd.DataFrame({  # long table: repeated texts as categoricals
        "contact_id": _take_text(ids, c[order]),
        "field": pd.Categorical.from_codes(fcode[order], categories=FIELDS),
        "value": value,
        "source_file": pd.Categorical.from_codes(fr.file_code[rows], categories=pd.Index(fr.files, dtype="str")),
        "source_sheet": pd.Categorical.from_codes(fr.sheet_code[rows], categories=pd.Index(fr.sheets, dtype="str")),
        "source_row": fr.row.take(rows).reset_index(drop=True),
        "rule": pd.Categorical.from_codes(rule[order], categories=lab.names),
    })[LINEAGE_COLUMNS]


def _conflicts(fr: _Frame, ids: pd.Series, golden: dict, chosen: dict, parts: list,
               lab: _Labels) -> pd.DataFrame:
    """One row per (contact, field) whose members disagree: all their values with sources as JSON, the
    chosen one and the rule; ordered by contact id, then field. Texts are dumped once per distinct value
    (of the values in conflict, the files, the sheets) and joined per (contact, field) with their brackets."""
    if not parts:
        empty = pd.Series([], dtype="str")
        return pd.DataFrame({c: empty for c in CONFLICT_COLUMNS})
    F = len(FIELDS)
    fcode = np.concatenate([np.full(len(p[1]), FIELDS.index(p[0]), np.int64) for p in parts])
    c = np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False)
    rows = np.concatenate([p[2] for p in parts]).astype(np.int64, copy=False)
    seen = np.zeros(len(ids), bool)
    seen[c] = True
    having = np.flatnonzero(seen)  # the contacts with a conflict, ranked by their id text
    rank = np.zeros(len(ids), np.int64)
    rank[having[_text_order(ids.take(having).reset_index(drop=True))]] = np.arange(len(having))
    group = rank[c] * F + fcode
    if (int(group.max()) + 1) * max(fr.n, 1) < 2 ** 62:  # (contact, field, row) is unique: one sort key
        order = np.argsort(group * fr.n + rows)
    else:  # pragma: no cover - beyond 2**62
        order = np.lexsort((rows, group))
    value_codes, value_uniq = _compact(_part_codes(fr, parts)[order], [fr.fields[p[0]].uniq for p in parts])
    group, fcode, c, rows = group[order], fcode[order], c[order], rows[order]
    starts = _group_starts(group)
    edge = pd.Series(["", "[", "]"], dtype="str")  # a group's first entry opens it, its last closes it
    at = np.zeros(len(group), np.int64)
    at[starts] = 1
    at[np.r_[starts[1:], len(group)] - 1] += 2
    opening = edge.take(at & 1).reset_index(drop=True)
    closing = edge.take(at & 2).reset_index(drop=True)
    entry = _concat([
        opening, '{"value": ', _json_coded(value_codes, value_uniq),
        ', "source_file": ', _json_coded(fr.file_code[rows], fr.files),
        ', "source_sheet": ', _json_coded(fr.sheet_code[rows], fr.sheets),
        ', "source_row": ', fr.row.take(rows).reset_index(drop=True).astype("str").fillna("null"), "}", closing])
    keys, joined = _group_join(group, entry, ", ", arrow=True)
    fc = keys % F
    cc = c[starts]
    # the chosen value of each (contact, field): the winner's value, taken from the fields' distinct values
    names = [FIELDS[f] for f in np.unique(fc)]
    offset = dict(zip(names, np.cumsum([0] + [len(fr.fields[n].uniq) for n in names])))
    code = np.full(len(keys), -1, np.int64)
    rule = np.empty(len(keys), dtype=np.int16)
    for name in names:
        m = fc == FIELDS.index(name)
        win = chosen[name].win[cc[m]]
        own = np.where(win >= 0, fr.fields[name].codes[np.maximum(win, 0)], -1)
        code[m] = np.where(own >= 0, own + offset[name], -1)
        rule[m] = chosen[name].rule[cc[m]]
    code, uniq = _compact(code, [fr.fields[n].uniq for n in names])
    return pd.DataFrame({
        "contact_id": _take_text(ids, cc),
        "field": pd.Categorical.from_codes(fc, categories=FIELDS),
        "values": joined,
        "chosen": pd.Series(uniq.array.take(code, allow_fill=True), dtype="str"),
        "rule": pd.Categorical.from_codes(rule, categories=lab.names),
    })


def _part_codes(fr: _Frame, parts: list) -> np.ndarray:
    """The codes of the field values of concatenated (field, ..., record positions, ...) parts into the
    concatenation of the parts' distinct values (-1: missing)."""
    offset, codes = 0, []
    for p in parts:
        f = fr.fields[p[0]]
        k = f.codes[p[2]]
        codes.append(np.where(k >= 0, k + offset, -1))
        offset += len(f.uniq)
    return np.concatenate(codes) if codes else np.zeros(0, np.int64)


def _compact(codes: np.ndarray, uniq: list[pd.Series]) -> tuple[np.ndarray, pd.Series]:
    """Codes into the concatenation of ``uniq`` (-1: missing) renumbered into the values they use, and those
    values (in the same order): no copy of the values nobody takes."""
    bounds = np.cumsum([0] + [len(u) for u in uniq])
    used = np.zeros(int(bounds[-1]), bool)
    used[codes[codes >= 0]] = True
    renumber = np.cumsum(used) - 1
    out = np.where(codes >= 0, renumber[np.maximum(codes, 0)] if len(used) else -1, -1)
    pieces = [u.take(np.flatnonzero(used[a:b])) for u, a, b in zip(uniq, bounds[:-1], bounds[1:])]
    values = pd.concat(pieces, ignore_index=True) if pieces else pd.Series([], dtype="str")
    return out, values.astype("str")


def _text_order(values: pd.Series) -> np.ndarray:
    """Positions that sort text values as pandas sorts a str column (by code point; missing last)."""
    arr, pc = _arrow(values)
    if arr is None:  # pragma: no cover
        return np.argsort(values.to_numpy(dtype=object), kind="stable")
    return pc.array_sort_indices(arr, null_placement="at_end").to_numpy()


def _joint_numbers(normed: list[tuple[np.ndarray, pd.Series]]) -> list[np.ndarray]:
    """One numbering of several columns' distinct comparison forms (``(codes per distinct value, forms)`` each,
    the forms distinct within a column): ``pd.factorize`` of the forms one column after the other, by a hash
    lookup of each later column's forms in the ones before."""
    seen = normed[0][1]
    out = [normed[0][0]]
    for codes, forms in normed[1:]:
        arr, pc = _arrow(forms)
        if arr is None:  # pragma: no cover - pandas without pyarrow
            joint = pd.factorize(pd.concat([seen, forms], ignore_index=True))[0][len(seen):].astype(np.int64)
            new = joint >= len(seen)
        else:
            found = pc.index_in(arr, value_set=_arrow(seen)[0])
            new = found.is_null().to_numpy(zero_copy_only=False)
            joint = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            joint[new] = len(seen) + np.arange(int(new.sum()))
        seen = pd.concat([seen, forms[new]], ignore_index=True)
        out.append(joint[codes])
    return out


_MULTI_FIELDS = (("email", ["email"]), ("phone", ["phone", "mobile"]))  # the multi-valued fields and their columns


def _multi_values(fr: _Frame, cc: np.ndarray, C: int, chosen: dict, ids: pd.Series, done: dict | None = None):
    """The values frame and the '; '-joined emails/phones columns (valid values only, primary first).

    The golden email/phone is primary when valid; a contact without a valid phone gets its golden
    mobile as primary phone. ``done``: the fields' parts made already (:func:`_multi_field`, by field name).
    """
    done = done or {}
    parts, joined_columns = [], []
    for field_name, columns in _MULTI_FIELDS:
        part, joined = done[field_name] if field_name in done else \
            _multi_field(fr, cc, C, chosen, field_name, columns)
        parts.append(part)
        joined_columns.append(joined)
    # both fields' rows, ordered by contact (email rows first)
    c = np.concatenate([p[0] for p in parts]).astype(np.int64, copy=False)
    at = np.argsort(c, kind="stable")
    rows = np.concatenate([p[3] for p in parts]).astype(np.int64, copy=False)[at]
    field_names = pd.Series(["email", "phone"], dtype="str")
    is_phone = np.repeat(np.arange(len(parts), dtype=np.int64), [len(p[0]) for p in parts])[at]
    values = pd.DataFrame({
        "contact_id": _take_text(ids, c[at]),
        "field": _take_text(field_names, is_phone),
        "value": pd.concat([p[1] for p in parts], ignore_index=True).take(at).reset_index(drop=True),
        "is_primary": np.concatenate([p[2] for p in parts])[at],
        **fr.sources(rows),
    })
    return values[VALUE_COLUMNS], joined_columns[0], joined_columns[1]


def _multi_field(fr: _Frame, cc: np.ndarray, C: int, chosen: dict, field_name: str, columns: list[str]) -> tuple:
    """One multi-valued field's rows of the values frame, as (contact codes, values, is_primary, record positions)
    ordered by contact, primary first, and its '; '-joined column (one text per contact). The codes and positions
    are narrow integers (when made in a forked child, they travel smaller)."""
    fields = [fr.fields[col] for col in columns]
    # comparison codes shared by the columns of a field (phone and mobile compare as one), -1: invalid
    normed = [f.norm_factorized(field_name) for f in fields]
    if len(fields) == 1:
        norm_u = [normed[0][0]]
    else:  # one numbering over the columns' distinct comparison forms
        norm_u = _joint_numbers(normed)
    starts = np.cumsum([0] + [len(f.uniq) for f in fields])
    norm_u = [np.where(f.valid_per_unique(field_name), nu, -1) for f, nu in zip(fields, norm_u)]
    rows = np.concatenate([np.flatnonzero(f.notna) for f in fields])
    k = np.concatenate([np.full(int(f.notna.sum()), i, np.int8) for i, f in enumerate(fields)])
    ucode = np.concatenate([f.codes[f.notna] + a for f, a in zip(fields, starts)])  # into the joined uniques
    norm = np.concatenate([nu[f.codes[f.notna]] for f, nu in zip(fields, norm_u)])
    primary_row = np.full(C, -1, np.int64)
    primary_k = np.full(C, -1, np.int8)
    primary_norm = np.full(C, -1, np.int64)
    for i, col in reversed(list(enumerate(columns))):  # the first column wins
        win = chosen[col].win
        wcode = np.where(win >= 0, fields[i].codes[np.maximum(win, 0)], -1) if fr.n else win
        code = np.append(norm_u[i], -1)[wcode]  # -1 (no winner) takes the trailing -1
        use = code >= 0
        primary_row[use], primary_k[use], primary_norm[use] = win[use], i, code[use]
    keep = norm >= 0
    rows, k, norm, ucode = rows[keep], k[keep], norm[keep], ucode[keep]
    c = cc[rows]
    rank = np.where(norm == primary_norm[c], np.where((rows == primary_row[c]) & (k == primary_k[c]), 0, 1), 2)
    K = len(fields)
    if (C * 3 * max(fr.n, 1)) * K < 2 ** 62:  # by contact, rank, row, column: unique keys, one sort
        order = np.argsort(((c * 3 + rank) * fr.n + rows) * K + k)
    else:  # pragma: no cover - beyond 2**62
        order = np.lexsort((k, rows, rank, c))
    first = ~pd.Series(c[order] * (int(norm.max(initial=0)) + 1) + norm[order]).duplicated().to_numpy()
    order = order[first]
    uniq = pd.concat([f.uniq for f in fields], ignore_index=True)
    value = pd.Series(uniq.array.take(ucode[order]), dtype="str")
    codes, joined = _group_join(c[order], value, "; ", arrow=True)
    at = np.full(C, -1, np.int64)
    at[codes] = np.arange(len(codes))
    joined_column = pd.Series(joined.array.take(at, allow_fill=True), dtype="str")
    return (_narrow(c[order], C), value, rank[order] < 2, _narrow(rows[order], fr.n)), joined_column


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
