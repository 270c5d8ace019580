"""Cluster stage: accepted pairs → one label per record, with a guard against chains.

Connected components are computed with array "hook and shortcut" union-find over integer codes.
A plain component can chain dissimilar records through weak links (A–B strong, B–C weak, A and C
clearly different people). The guard rule:

* a component is *suspect* when two of its members have a *cannot-link* pair, or when it has more
  than ``settings.max_cluster_size`` members. A scored pair is a cannot-link when its
  ``match_weight`` without the household cut (``weight_conflict``: evidence withheld, not evidence
  against) is ``< settings.cannot_link_weight`` (strong evidence against). It is a *soft*
  cannot-link when it is not a merge on its own and its fields other than the name add up to
  ``<= settings.cannot_link_contradiction`` bits: two Antoine Michels with different phones and
  companies score about +2 directly (a review pair) and must not be chained together by name-only
  records (order customers) that match both, while one person who changed job may still be joined
  through a record that shares an email or a phone with each;
* a suspect component is rebuilt greedily from its edges, strongest ``match_weight`` first; an edge
  is skipped when joining its two groups would put a cannot-link pair together (a soft one: only when
  the edge rests on the name alone, no other field agreeing) or exceed ``max_cluster_size``.
  Skipped edges are the weakest links of the chain.

``find_duplicates`` scores every pair inside small merged components (so the cannot-links are
known) and demotes skipped edges from 'merge' to 'review'; :func:`cluster` applies the same
guard to whatever pairs it is given.

>>> import pandas as pd
>>> pairs = pd.DataFrame({"record_id_l": ["a", "b"], "record_id_r": ["b", "c"],
...                       "match_weight": [20.0, 5.0], "decision": ["merge", "merge"]})
>>> cluster(pairs, ["a", "b", "c", "d"]).tolist()
['a', 'a', 'a', 'd']
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (smallest member position) for each of n nodes, edges (a, b)."""
    parent = np.arange(n, dtype=np.int64)
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    while len(a):
        pa, pb = parent[a], parent[b]
        lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
        diff = lo != hi
        if not diff.any():
            break
        np.minimum.at(parent, hi[diff], lo[diff])
        while True:                                   # shortcut: point every node at its root
            gp = parent[parent]
            if np.array_equal(gp, parent):
                break
            parent = gp
        a, b = a[diff], b[diff]
    return parent


def guard(n: int, a: np.ndarray, b: np.ndarray, weight: np.ndarray, cannot_a: np.ndarray,
          cannot_b: np.ndarray, max_size: int, soft: np.ndarray | None = None,
          weak: np.ndarray | None = None) -> np.ndarray:
    """Mask of edges kept after breaking suspect components (see the module docstring).

    ``soft`` marks the cannot-links that only ``weak`` edges (name-only links) may not cross.
    """
    keep = np.ones(len(a), bool)
    if len(a) == 0:
        return keep
    label = components(n, a, b)
    sizes = np.bincount(label, minlength=n)
    suspect = sizes > max_size
    soft = np.zeros(len(cannot_a), bool) if soft is None else np.asarray(soft, bool)
    weak = np.zeros(len(a), bool) if weak is None else np.asarray(weak, bool)
    if len(cannot_a):
        inside = label[cannot_a] == label[cannot_b]
        suspect[label[cannot_a[inside]]] = True
        cannot_a, cannot_b, soft = cannot_a[inside], cannot_b[inside], soft[inside]
    if not suspect.any():
        return keep
    edge_sus = np.flatnonzero(suspect[label[a]])
    cannot: dict[int, set[int]] = {}          # every cannot-link
    hard: dict[int, set[int]] = {}            # those that strong edges may not cross either
    for x, y, sft in zip(cannot_a.tolist(), cannot_b.tolist(), soft.tolist()):
        for table in ((cannot,) if sft else (cannot, hard)):
            table.setdefault(x, set()).add(y)
            table.setdefault(y, set()).add(x)
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    order = edge_sus[np.argsort(-weight[edge_sus], kind="stable")]
    for e, x, y in zip(order.tolist(), a[order].tolist(), b[order].tolist()):
        rx, ry = find(x), find(y)
        if rx == ry:
            continue
        mx, my = members.get(rx, [rx]), members.get(ry, [ry])
        if len(mx) + len(my) > max_size:
            keep[e] = False
            continue
        if len(mx) > len(my):
            rx, ry, mx, my = ry, rx, my, mx
        table = cannot if weak[e] else hard
        if any(table.get(v) and not table[v].isdisjoint(my) for v in mx):
            keep[e] = False
            continue
        parent[rx] = ry
        members[ry] = my + mx
        members.pop(rx, None)
    return keep


_NOT_OTHER = ("name", "conflict")


def other_evidence(pairs: pd.DataFrame | dict) -> tuple[np.ndarray, np.ndarray]:
    """Bits for and against a pair from its fields other than the name (email, phone, company, address and
    any declared comparison): sums of the positive and of the negative ``weight_<field>`` columns of a
    pair frame (or arrays of a ``{field: weights}`` dict)."""
    prefix = "" if isinstance(pairs, dict) else "weight_"
    names = [k[len(prefix):] for k in (pairs.keys() if isinstance(pairs, dict) else pairs.columns)
             if str(k).startswith(prefix)]
    fields = [f for f in names if f not in _NOT_OTHER]
    n = len(next(iter(pairs.values()))) if isinstance(pairs, dict) and pairs else len(pairs)
    support, against = np.zeros(n), np.zeros(n)
    for f in fields:                    # summed field by field: no (fields × pairs) matrix
        col = np.nan_to_num(np.asarray(pairs[prefix + f], dtype=float))
        support += np.maximum(col, 0)
        against += np.minimum(col, 0)
    return support, against


def cannot_links(weight: np.ndarray, against: np.ndarray, merged: np.ndarray, settings
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the cannot-link pairs and of those among them that are *soft* (see the module docstring)."""
    hard = weight < settings.cannot_link_weight
    soft = ~hard & ~merged & (against <= settings.cannot_link_contradiction)
    return hard | soft, soft


def cluster(pairs: pd.DataFrame, record_ids: Iterable[str], settings=None) -> pd.Series:
    """record_id → cluster label (a member's record_id) from accepted pairs.

    Pairs with ``decision == 'merge'`` (all pairs if there is no decision column) are edges; pairs
    with ``match_weight < settings.cannot_link_weight``, and non-merge pairs whose ``weight_<field>``
    columns contradict (see the module docstring), are cannot-links for the chain guard.
    Records in no pair get their own label.
    """
    values = record_ids.to_numpy(dtype=object) if isinstance(record_ids, (pd.Series, pd.Index)) else list(record_ids)
    ids = pd.Index(pd.Series(values, dtype=object).astype(str))    # (no Python loop over a column's values)
    n = len(ids)
    if pairs is None or len(pairs) == 0:
        return pd.Series(ids.to_numpy(), index=ids, name="cluster")
    left, right = pairs["record_id_l"].astype(str), pairs["record_id_r"].astype(str)
    if ids.is_unique:           # one hash table (Arrow's) for both columns
        from crmkit._link_tables import _Positions

        pl, pr = _Positions(pd.Series(ids, dtype=ids.dtype)).of(left, right)
    else:                       # get_indexer says what is wrong
        pl, pr = ids.get_indexer(left), ids.get_indexer(right)
    w = pd.to_numeric(pairs["match_weight"], errors="coerce").fillna(0).to_numpy(float) \
        if "match_weight" in pairs else np.zeros(len(pairs))
    merged = pairs["decision"].astype(str).eq("merge").to_numpy() if "decision" in pairs else np.ones(len(pairs), bool)
    support, against = other_evidence(pairs)
    # the household cut (weight_conflict) withholds evidence; it is not evidence against the pair
    cut = pd.to_numeric(pairs["weight_conflict"], errors="coerce").fillna(0).to_numpy(float) \
        if "weight_conflict" in pairs else 0.0
    label = cluster_labels(n, pl, pr, w, merged, support, against, cut, settings)
    return pd.Series(ids.to_numpy()[label], index=ids, name="cluster")


def cluster_labels(n: int, pl: np.ndarray, pr: np.ndarray, weight: np.ndarray, merged: np.ndarray,
                   support: np.ndarray, against: np.ndarray, cut: np.ndarray | float = 0.0,
                   settings=None) -> np.ndarray:
    """:func:`cluster` on integer positions: for each of ``n`` records the position of its cluster's
    first member. Pairs are (``pl``, ``pr``) positions (-1: not a record), with their ``match_weight``,
    whether they are 'merge' pairs, the bits for and against from other fields (:func:`other_evidence`)
    and the household cut (``weight_conflict``)."""
    from crmkit.match.settings import MatchSettings

    settings = settings or MatchSettings()
    pl, pr = np.asarray(pl, np.int64), np.asarray(pr, np.int64)
    ok = (pl >= 0) & (pr >= 0)
    w = np.asarray(weight, float)
    merged = np.asarray(merged, bool)
    is_edge = ok & merged
    is_cannot, soft = cannot_links(w - cut, np.asarray(against, float), merged, settings)
    is_cannot &= ok
    a, b, we = pl[is_edge], pr[is_edge], w[is_edge]
    keep = guard(n, a, b, we, pl[is_cannot], pr[is_cannot], settings.max_cluster_size, soft[is_cannot],
                 np.asarray(support, float)[is_edge] <= 0)
    return components(n, a[keep], b[keep])
