"""One matching run: prepare → block → compare → train (unless replaying) → score → guard chains.

Two rules on top of the pairwise Fellegi–Sunter decision (see :mod:`crmkit.match.cluster` for the guard):

* a *cannot-link* (a pair so unlikely that a chain through other records must not join it) needs a field
  that speaks against the pair, by more than ``settings.cannot_link_disagreement`` bits: a low match weight
  that comes from the prior alone (a name-only order customer and a record without a name share no field)
  or from a level that says next to nothing (a private and a work address) is no evidence of two people;
* *name-only joins* (a merge pair whose fields other than the name do not speak for it) must hold for the
  groups they join: inside each cluster the records tied by other evidence form groups, and a name-only
  pair may join two groups only if the groups compared as wholes still merge (per field the best agreement
  between them, else the strongest disagreement: a second private address, another company or city). When
  name-only pairs tie groups together that contradict each other (Pat Brown at Bluebird Media joined by
  name both to a Pat Brown with a yahoo.com and to one with an icloud.com address), none of those pairs is
  trusted: they go to review, the person decides.

A large run (``crmkit._fork.PARALLEL_MIN_ROWS`` records) uses a second process for the parts that
split without changing a bit of the output: the emails and phones are prepared in a forked helper while this
process does the names and places, ``u`` and some blocking rules are computed there while this process keys the
other rules, the candidate pairs' name and company levels are compared there while this process compares the
other fields, and half of the pairs are scored there. ``CRMKIT_WORKERS=0`` keeps it all here.

>>> import pandas as pd
>>> df = pd.DataFrame({"record_id": ["1", "2", "3"], "first_name": ["Bob", "Robert", "Anna"],
...                    "last_name": ["Miller", "Miller", "Weber"], "mobile": ["+15125550101"] * 2 + [None]})
>>> pairs = find_duplicates(df)
>>> pairs[["record_id_l", "record_id_r", "level_name", "level_phone"]].values.tolist()
[['1', '2', 'nickname', 'exact']]
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit._fork import Beside, fork_ok
from crmkit.match.blocking import _pairs_in_groups, decode_pairs, encoded_pairs, sort_order, union_encoded
from crmkit.match.cluster import cannot_links, components, guard, other_evidence
from crmkit.clean._base import arrow_text
from crmkit.match.compare import INPUT_COLUMNS, Prepared, _prepare_run, _warm, compare_pairs
from crmkit.match.scoring import estimate_u, pair_frame, prior_weight, score, train
from crmkit.match.settings import MatchSettings

_GUARD_MAX_MEMBERS = 60     # components up to this size get all their inner pairs scored


def _check_input(df: pd.DataFrame, settings: MatchSettings) -> np.ndarray:
    """Raise on input that cannot be matched; else the positions of the records sorted by record_id."""
    if "record_id" not in df.columns:
        raise CrmkitError("find_duplicates needs a 'record_id' column",
                          hint="add one, e.g. df.assign(record_id=df.index.astype(str))")
    missing = [c for c in settings.extra_columns() if c not in df.columns]
    if missing:
        raise CrmkitError(f"the match settings compare or block on column(s) the records lack: {', '.join(missing)}",
                          column=missing[0], hint="map those columns, or drop their comparisons and blocking rules")
    ids = df["record_id"].astype(str)
    text = ids.to_numpy()
    arr = arrow_text(text) if len(text) >= _ARROW_SORT_MIN else None
    if arr is None:
        order = np.argsort(text, kind="stable")
        ranked = text[order]
        equal = len(ranked) > 1 and (ranked[1:] == ranked[:-1]).any()
    else:                   # in C++: UTF-8 bytes sort like code points, so the same (stable) order as numpy's
        import pyarrow.compute as pc

        order = pc.sort_indices(arr).to_numpy().astype(np.intp)
        ranked = arr.take(order)
        equal = pc.any(pc.equal(ranked[1:], ranked[:-1])).as_py()
    if equal:                                                           # equal ids sort next to each other
        dup = ids[ids.duplicated()].iloc[0]
        raise CrmkitError(f"record_id values must be unique; {dup!r} appears more than once",
                          column="record_id", hint="make record_id unique before matching")
    return order


_ARROW_SORT_MIN = 10_000    # record ids from which pyarrow sorts them (numpy's sort of Python str is ~3x slower)


def _input_columns(df: pd.DataFrame, settings: MatchSettings) -> list[str]:
    """The columns of ``df`` that matching reads (the others are not copied when the records are reordered)."""
    return [c for c in dict.fromkeys([*INPUT_COLUMNS, *settings.extra_columns()]) if c in df.columns]


_SCORE_CHUNK = 1 << 21
_PARALLEL_MIN_PAIRS = 400_000       # pairs from which a large run scores half of them in a forked helper


def _scored(levels: dict, tf: dict, settings: MatchSettings, n: int = 0) -> list[np.ndarray]:
    """Per pair: match weight, probability, whether it is a cannot-link and a soft one (see
    :mod:`crmkit.match.cluster`), and whether no field but the name speaks for it (a weak edge). Scored in
    chunks, so the per-field weights of all pairs are never held at once (the pairs shown are scored again).
    A run of ``n`` records that may fork (:func:`~crmkit._fork.fork_ok`) scores the second half
    of many pairs in a helper (each pair's figures depend on that pair alone)."""
    size = len(next(iter(levels.values())))
    if size >= _PARALLEL_MIN_PAIRS and fork_ok(n):
        half = size // 2

        def part(lo: int, hi: int) -> list[np.ndarray]:
            return _scored_here({k: v[lo:hi] for k, v in levels.items()}, {k: v[lo:hi] for k, v in tf.items()},
                                settings)
        with Beside(lambda: part(half, size), n) as helper:
            first = part(0, half)
            return [np.concatenate(x) for x in zip(first, helper.result())]
    return _scored_here(levels, tf, settings)


def _scored_here(levels: dict, tf: dict, settings: MatchSettings) -> list[np.ndarray]:
    """:func:`_scored` in this process."""
    size = len(next(iter(levels.values())))
    out = []
    for s in range(0, max(size, 1), _SCORE_CHUNK):
        w, total, prob = score({k: v[s:s + _SCORE_CHUNK] for k, v in levels.items()},
                               {k: v[s:s + _SCORE_CHUNK] for k, v in tf.items()}, settings)
        support, against = other_evidence(w)
        # the household cut (weight_conflict) withholds evidence; it is not evidence against. A pair whose
        # fields do not disagree (the prior makes its weight low) is never a hard cannot-link
        disagree = against + np.minimum(w["name"], 0.0) < -settings.cannot_link_disagreement
        cannot, soft = cannot_links(np.where(disagree, total - w["conflict"], np.inf), against,
                                    prob >= settings.merge_threshold, settings)
        out.append((total, prob, cannot, soft, support <= 0))
    return [np.concatenate(x) for x in zip(*out)]


def _take(parts: list[dict], sel: np.ndarray) -> dict:
    """Rows ``sel`` (sorted positions into the parts laid end to end) of each array of the dicts ``parts``."""
    if not parts[0]:
        return {}
    bounds = np.cumsum([0] + [len(next(iter(p.values()))) for p in parts])
    cuts = np.searchsorted(sel, bounds)
    return {k: np.concatenate([p[k][sel[cuts[i]:cuts[i + 1]] - bounds[i]] for i, p in enumerate(parts)])
            for k in parts[0]}


def _group_score(fw: np.ndarray, known: np.ndarray, rows: np.ndarray, name: float) -> float:
    """Weight of two groups of records compared as wholes, given the name weight and the scored pairs between
    them (``rows`` into the field weights ``fw`` and the non-null masks ``known``): per field the best
    agreement of any pair, else the strongest disagreement (a field no pair has on both sides adds 0)."""
    out = name
    for j in range(fw.shape[1]):
        vals = fw[rows[known[rows, j]], j]
        if len(vals):
            best = vals.max()
            out += best if best > 0 else vals.min()
    return out


def _root(x: int, parent: dict) -> int:
    while parent.get(x, x) != x:
        x = parent[x]
    return x


def _check_name_only_joins(n: int, l: np.ndarray, r: np.ndarray, merge_idx: np.ndarray, keep: np.ndarray,
                           weak: np.ndarray, parts: list, settings: MatchSettings) -> np.ndarray:
    """``keep`` (over the merge pairs ``merge_idx``) without the name-only joins that do not hold for the groups
    they join (see the module docstring). Only clusters of 3+ records with a kept name-only pair are looked at,
    each through the pairs scored inside it (all of them, up to ``_GUARD_MAX_MEMBERS`` records)."""
    ml, mr = l[merge_idx], r[merge_idx]
    label = components(n, ml[keep], mr[keep])
    sizes = np.bincount(label, minlength=n)
    wk = np.flatnonzero(keep & weak)
    wk = wk[sizes[label[ml[wk]]] >= 3]
    if not len(wk):
        return keep
    comps = np.unique(label[ml[wk]])
    hot = np.zeros(n, bool)
    hot[comps] = True
    sel = np.flatnonzero(hot[label[l]] & (label[l] == label[r]))       # the scored pairs inside those clusters
    lev = _take([lv for lv, _ in parts], sel)
    fw = score(lev, _take([t for _, t in parts], sel), settings)[0]
    fields = [c.field for c in settings.comparisons if c.field != "name"]
    W, known = np.zeros((len(sel), len(fields))), np.zeros((len(sel), len(fields)), bool)
    for j, f in enumerate(fields):
        W[:, j], known[:, j] = fw[f], lev[f] > 0
    name_w = fw["name"]
    row_of = dict(zip(sel.tolist(), range(len(sel))))
    need = math.log2(settings.merge_threshold / (1 - settings.merge_threshold)) - prior_weight(settings)
    keep = keep.copy()
    # the kept merge pairs and the scored pairs of each of those clusters, as spans of sorted arrays
    edges_in = np.flatnonzero(keep & hot[label[ml]])
    edges_in = edges_in[np.argsort(label[ml[edges_in]], kind="stable")]
    e_cl = label[ml[edges_in]]
    pair_rows = np.argsort(label[l[sel]], kind="stable")
    p_cl = label[l[sel]][pair_rows]
    spans = zip(np.searchsorted(e_cl, comps).tolist(), np.searchsorted(e_cl, comps, side="right").tolist(),
                np.searchsorted(p_cl, comps).tolist(), np.searchsorted(p_cl, comps, side="right").tolist())
    for e_lo, e_hi, p_lo, p_hi in spans:
        edges, rows = edges_in[e_lo:e_hi], pair_rows[p_lo:p_hi]
        group: dict[int, int] = {}                # groups: the records tied by other evidence than the name
        for e in edges[~weak[edges]].tolist():
            a, b = _root(int(ml[e]), group), _root(int(mr[e]), group)
            if a != b:
                group[max(a, b)] = min(a, b)
        ga = np.array([_root(x, group) for x in l[sel[rows]].tolist()])
        gb = np.array([_root(y, group) for y in r[sel[rows]].tolist()])

        def between(a: int, b: int) -> np.ndarray:
            return rows[((ga == a) & (gb == b)) | ((ga == b) & (gb == a))]
        joined: list[tuple[int, int, int]] = []
        for e in edges[weak[edges]].tolist():
            a, b = _root(int(ml[e]), group), _root(int(mr[e]), group)
            if a == b:
                continue
            if _group_score(W, known, between(a, b), name_w[row_of[int(merge_idx[e])]]) < need:
                keep[e] = False
            else:
                joined.append((e, a, b))
        # the groups that the remaining name-only pairs tie together must not contradict one another
        bundle: dict[int, int] = {}
        for _, a, b in joined:
            x, y = _root(a, bundle), _root(b, bundle)
            if x != y:
                bundle[max(x, y)] = min(x, y)
        groups = sorted(set(ga.tolist()) | set(gb.tolist()))
        torn = set()
        for i, a in enumerate(groups):
            for b in groups[i + 1:]:
                tie = _root(a, bundle)
                if tie in torn or tie != _root(b, bundle):
                    continue
                cross = between(a, b)
                if len(cross) and _group_score(W, known, cross, name_w[cross].max()) < need:
                    torn.add(tie)
        for e, a, _ in joined:
            if _root(a, bundle) in torn:
                keep[e] = False
    return keep


# CPU cost of a blocking rule's keys and pairs, sorting them included (1: ~0.1 s per million records), of u (per
# record of the run and random pair of u), of what this process does besides its rules when it shares them out
# (the records' order in blocks; the comparisons' caches, built once before forking when u is estimated) and of a
# child itself (forking, copied pages, sending the pairs back): measured at a million records
_RULE_COST = {"name_tokens": 6, "name_prefixes": 7, "phonetic_initial": 7, "cjk_pinyin": 5, "name_sorted": 10,
              "surname_postcode": 2, "email_local": 1, "street_postcode": 2, "phone": 2, "cjk_name": 1}
_U_COST = 13
_HERE_COST, _WARM_COST, _CHILD_COST = 4, 14, 3


def _share_rules(rules: list[str], need_u: bool, u_pairs: int, n: int) -> tuple[list[str], list[str]]:
    """The blocking rules this process keys and those a helper keys beside ``u`` (when ``need_u``), so that both
    have about as much work: the costliest rule first, each to the side with less work so far."""
    load = [_HERE_COST + (_WARM_COST if need_u else 0), _CHILD_COST + (_U_COST * u_pairs / n if need_u else 0)]
    mine, theirs = [], []
    for rule in sorted(dict.fromkeys(rules), key=lambda x: -_RULE_COST.get(x, 1)):
        side = int(load[1] < load[0])
        (theirs if side else mine).append(rule)
        load[side] += _RULE_COST.get(rule, 1)
    return mine, theirs


def _block_and_u(prep: Prepared, settings: MatchSettings) -> tuple[np.ndarray, dict[str, int], dict | None]:
    """Candidate pairs, the pairs per blocking rule and (unless the settings are trained) ``u`` by
    :func:`~crmkit.match.scoring.estimate_u`. A large run computes ``u`` and some of the rules in a forked
    helper while this process keys the other rules (:func:`_share_rules`); the pairs are the union either way."""
    rules = settings.blocking_rules
    need_u = not settings.trained and prep.n >= settings.min_prior_records
    fork = fork_ok(prep.n)
    mine, theirs = _share_rules(rules, need_u, settings.u_sample_size, prep.n) if fork else (list(rules), [])
    kw = {"max_block_size": settings.max_block_size, "window": settings.window}
    if fork:                    # what both processes read, built once before forking
        kw["sort_codes"] = sort_order(prep)
        if need_u:
            _warm(prep, settings)
    with Beside(lambda: (encoded_pairs(prep, theirs, **kw), estimate_u(prep, settings) if need_u else None),
                prep.n) as helper:
        enc, counts = encoded_pairs(prep, mine, **kw)
        (enc_theirs, counts_theirs), u = helper.result()
    counts.update(counts_theirs)
    enc = union_encoded([enc, enc_theirs], presorted=True)
    return decode_pairs(enc, prep.n), {rule: counts[rule] for rule in rules}, u


def find_duplicates(df: pd.DataFrame, settings: MatchSettings | str | None = None) -> pd.DataFrame:
    """Scored, explained duplicate pairs of a cleaned contacts frame.

    Returns one row per pair with ``decision`` 'merge' or 'review' (plus the 'no' pairs that cut a
    chain, and all others with ``settings.keep_rejected``): record_id_l, record_id_r, match_weight,
    match_probability, decision, ``level_<field>`` (level label) and ``weight_<field>`` (bits) for
    name, email, phone, company, address and every comparison declared on another column
    (``Comparison("date_of_birth", kind="date")``), and ``weight_conflict``. ``pairs.attrs["settings"]``
    holds the trained settings; pass them back to replay the run without re-estimating.
    """
    if isinstance(settings, str):
        settings = MatchSettings.from_json(settings)
    settings = settings if settings is not None else MatchSettings()
    settings.validate()
    # the same records in any order give the same pairs (random u pairs are drawn by position)
    df = df[_input_columns(df, settings)].iloc[_check_input(df, settings)]
    phone_params = settings.comparison("phone").params if any(c.field == "phone" for c in settings.comparisons) \
        else None
    frame, coded, derived = _prepare_run(df, settings.extra_columns(), (phone_params or {}).get("last_digits", 7))
    prep = Prepared(frame, phone_params, coded, derived)
    del frame, coded, derived
    n = prep.n
    cand, rule_counts, u = _block_and_u(prep, settings)
    l, r = cand[:, 0], cand[:, 1]
    levels, tf = compare_pairs(prep, l, r, settings)
    trained = settings if settings.trained else train(prep, cand, levels, settings, u)
    del u
    use_tf = n >= trained.min_train_records    # value frequencies of a tiny list say nothing
    tf = tf if use_tf else {}
    total, prob, cannot, soft, weak = _scored(levels, tf, trained, n)
    parts = [(levels, tf)]                      # level/tf arrays stay per part: no copy of all pairs

    # score every pair inside small merged components, so chains through weak links become visible
    merge = prob >= trained.merge_threshold
    label = components(n, l[merge], r[merge])
    sizes = np.bincount(label, minlength=n)
    inner = np.flatnonzero((sizes[label] >= 3) & (sizes[label] <= _GUARD_MAX_MEMBERS))
    if len(inner):
        xa, xb = _pairs_in_groups(inner, label[inner], np.zeros(len(inner), np.int64), _GUARD_MAX_MEMBERS, 1)
        xa, xb = np.minimum(xa, xb), np.maximum(xa, xb)
        known = l * n + r                       # sorted: candidates come out of np.unique
        at = np.minimum(np.searchsorted(known, xa * n + xb), max(len(known) - 1, 0))
        new = (known[at] != xa * n + xb) if len(known) else np.ones(len(xa), bool)
        del known, at
        xa, xb = xa[new], xb[new]
        if len(xa):
            xlev, xtf = compare_pairs(prep, xa, xb, trained)
            xtf = xtf if use_tf else {}
            extra = _scored(xlev, xtf, trained, n)
            l, r = np.concatenate([l, xa]), np.concatenate([r, xb])
            parts.append((xlev, xtf))
            total, prob, cannot, soft, weak = (np.concatenate([a, b]) for a, b in zip(
                (total, prob, cannot, soft, weak), extra))
            merge = prob >= trained.merge_threshold
    merge_idx = np.flatnonzero(merge)
    keep = guard(n, l[merge_idx], r[merge_idx], total[merge_idx], l[cannot], r[cannot], trained.max_cluster_size,
                 soft[cannot], weak[merge_idx])
    keep = _check_name_only_joins(n, l, r, merge_idx, keep, weak[merge_idx], parts, trained)

    demoted = np.zeros(len(l), bool)
    demoted[merge_idx[~keep]] = True
    label = components(n, l[merge_idx], r[merge_idx])
    show = prob >= trained.review_threshold
    ci = np.flatnonzero(cannot)
    show[ci[label[l[ci]] == label[r[ci]]]] = True      # cannot-links inside a cluster, kept for the record
    if trained.keep_rejected:
        show[:] = True
    sel = np.flatnonzero(show)
    # by record_id_l, record_id_r: positions follow the sorted record ids (see the top), so sort the integers
    order = np.lexsort((r[sel], l[sel]))
    levels = {k: v[order] for k, v in _take([lv for lv, _ in parts], sel).items()}
    weights = score(levels, {k: v[order] for k, v in _take([t for _, t in parts], sel).items()}, trained)[0]
    sel = sel[order]                                                            # only the pairs shown, in order
    out = pair_frame(prep, l[sel], r[sel], levels, weights, total[sel], prob[sel], trained, demoted[sel])
    out.attrs["settings"] = trained
    out.attrs["blocking"] = {"candidate_pairs": int(len(cand)), **{f"rule_{k}": v for k, v in rule_counts.items()}}
    return out
