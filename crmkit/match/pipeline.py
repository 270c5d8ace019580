"""One matching run: prepare → block → compare → train (unless replaying) → score → guard chains.

>>> import pandas as pd
>>> df = pd.DataFrame({"record_id": ["1", "2", "3"], "first_name": ["Bob", "Robert", "Anna"],
...                    "last_name": ["Miller", "Miller", "Weber"], "mobile": ["+15125550101"] * 2 + [None]})
>>> pairs = find_duplicates(df)
>>> pairs[["record_id_l", "record_id_r", "level_name", "level_phone"]].values.tolist()
[['1', '2', 'nickname', 'exact']]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.match.blocking import _pairs_in_groups, block_pairs
from crmkit.match.cluster import cannot_links, components, guard, other_evidence
from crmkit.match.compare import Prepared, _prepare, compare_pairs
from crmkit.match.scoring import pair_frame, score, train
from crmkit.match.settings import MatchSettings

_GUARD_MAX_MEMBERS = 60     # components up to this size get all their inner pairs scored


def _check_input(df: pd.DataFrame, settings: MatchSettings) -> None:
    if "record_id" not in df.columns:
        raise CrmkitError("find_duplicates needs a 'record_id' column",
                          hint="add one, e.g. df.assign(record_id=df.index.astype(str))")
    missing = [c for c in settings.extra_columns() if c not in df.columns]
    if missing:
        raise CrmkitError(f"the match settings compare or block on column(s) the records lack: {', '.join(missing)}",
                          column=missing[0], hint="map those columns, or drop their comparisons and blocking rules")
    ids = df["record_id"].astype(str)
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise CrmkitError(f"record_id values must be unique; {dup!r} appears more than once",
                          column="record_id", hint="make record_id unique before matching")


_SCORE_CHUNK = 1 << 21


def _scored(levels: dict, tf: dict, settings: MatchSettings) -> list[np.ndarray]:
    """Per pair: match weight, probability, whether it is a cannot-link and a soft one (see
    :mod:`crmkit.match.cluster`), and whether no field but the name speaks for it (a weak edge). Scored in
    chunks, so the per-field weights of all pairs are never held at once (the pairs shown are scored again)."""
    size = len(next(iter(levels.values())))
    out = []
    for s in range(0, max(size, 1), _SCORE_CHUNK):
        w, total, prob = score({k: v[s:s + _SCORE_CHUNK] for k, v in levels.items()},
                               {k: v[s:s + _SCORE_CHUNK] for k, v in tf.items()}, settings)
        support, against = other_evidence(w)
        # the household cut (weight_conflict) withholds evidence; it is not evidence against
        cannot, soft = cannot_links(total - w["conflict"], against, prob >= settings.merge_threshold, settings)
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
    _check_input(df, settings)
    # the same records in any order give the same pairs (random u pairs are drawn by position)
    df = df.iloc[np.argsort(df["record_id"].astype(str).to_numpy(), kind="stable")]
    frame, coded = _prepare(df, settings.extra_columns())
    prep = Prepared(frame, settings.comparison("phone").params if any(
        c.field == "phone" for c in settings.comparisons) else None, coded)
    del frame, coded
    n = prep.n
    cand, rule_counts = block_pairs(prep, settings.blocking_rules, max_block_size=settings.max_block_size,
                                    window=settings.window, return_rules=True)
    l, r = cand[:, 0], cand[:, 1]
    levels, tf = compare_pairs(prep, l, r, settings)
    trained = settings if settings.trained else train(prep, cand, levels, settings)
    use_tf = n >= trained.min_train_records    # value frequencies of a tiny list say nothing
    tf = tf if use_tf else {}
    total, prob, cannot, soft, weak = _scored(levels, tf, trained)
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
            extra = _scored(xlev, xtf, trained)
            l, r = np.concatenate([l, xa]), np.concatenate([r, xb])
            parts.append((xlev, xtf))
            total, prob, cannot, soft, weak = (np.concatenate([a, b]) for a, b in zip(
                (total, prob, cannot, soft, weak), extra))
            merge = prob >= trained.merge_threshold
    merge_idx = np.flatnonzero(merge)
    keep = guard(n, l[merge_idx], r[merge_idx], total[merge_idx], l[cannot], r[cannot], trained.max_cluster_size,
                 soft[cannot], weak[merge_idx])

    demoted = np.zeros(len(l), bool)
    demoted[merge_idx[~keep]] = True
    label = components(n, l[merge_idx], r[merge_idx])
    show = prob >= trained.review_threshold
    ci = np.flatnonzero(cannot)
    show[ci[label[l[ci]] == label[r[ci]]]] = True      # cannot-links inside a cluster, kept for the record
    if trained.keep_rejected:
        show[:] = True
    sel = np.flatnonzero(show)
    levels = _take([lv for lv, _ in parts], sel)
    weights = score(levels, _take([t for _, t in parts], sel), trained)[0]     # only the pairs shown
    out = pair_frame(prep, l[sel], r[sel], levels, weights, total[sel], prob[sel], trained)
    dec = out["decision"].to_numpy(dtype=object).copy()
    dec[demoted[sel]] = "review"
    out["decision"] = dec
    # by record_id_l, record_id_r: positions follow the sorted record ids (see the top), so sort the integers
    out = out.take(np.lexsort((r[sel], l[sel]))).reset_index(drop=True)
    out.attrs["settings"] = trained
    out.attrs["blocking"] = {"candidate_pairs": int(len(cand)), **{f"rule_{k}": v for k, v in rule_counts.items()}}
    return out
