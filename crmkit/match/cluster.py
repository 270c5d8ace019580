"""Cluster stage: accepted pairs → one label per record, with a guard against chains.

Connected components are computed with array "hook and shortcut" union-find over integer codes.
A plain component can chain dissimilar records through weak links (A–B strong, B–C weak, A and C
clearly different people). The guard rule:

* a component is *suspect* when two of its members have a scored pair with
  ``match_weight < settings.cannot_link_weight`` (strong evidence against), or when it has more
  than ``settings.max_cluster_size`` members;
* a suspect component is rebuilt greedily from its edges, strongest ``match_weight`` first; an edge
  is skipped when joining its two groups would put a cannot-link pair together or exceed
  ``max_cluster_size``. Skipped edges are the weakest links of the chain.

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
          cannot_b: np.ndarray, max_size: int) -> np.ndarray:
    """Mask of edges kept after breaking suspect components (see the module docstring)."""
    keep = np.ones(len(a), bool)
    if len(a) == 0:
        return keep
    label = components(n, a, b)
    sizes = np.bincount(label, minlength=n)
    suspect = sizes > max_size
    if len(cannot_a):
        inside = label[cannot_a] == label[cannot_b]
        suspect[label[cannot_a[inside]]] = True
        cannot_a, cannot_b = cannot_a[inside], cannot_b[inside]
    if not suspect.any():
        return keep
    edge_sus = np.flatnonzero(suspect[label[a]])
    cannot: dict[int, set[int]] = {}
    for x, y in zip(cannot_a.tolist(), cannot_b.tolist()):
        cannot.setdefault(x, set()).add(y)
        cannot.setdefault(y, set()).add(x)
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
        if any(cannot.get(v) and not cannot[v].isdisjoint(my) for v in mx):
            keep[e] = False
            continue
        parent[rx] = ry
        members[ry] = my + mx
        members.pop(rx, None)
    return keep


def cluster(pairs: pd.DataFrame, record_ids: Iterable[str], settings=None) -> pd.Series:
    """record_id → cluster label (a member's record_id) from accepted pairs.

    Pairs with ``decision == 'merge'`` (all pairs if there is no decision column) are edges; pairs
    with ``match_weight < settings.cannot_link_weight`` are cannot-links for the chain guard.
    Records in no pair get their own label.
    """
    from crmkit.match.settings import MatchSettings

    settings = settings or MatchSettings()
    ids = pd.Index(pd.Series(list(record_ids), dtype=object).astype(str))
    n = len(ids)
    if pairs is None or len(pairs) == 0:
        return pd.Series(ids.to_numpy(), index=ids, name="cluster")
    pl = ids.get_indexer(pairs["record_id_l"].astype(str))
    pr = ids.get_indexer(pairs["record_id_r"].astype(str))
    ok = (pl >= 0) & (pr >= 0)
    w = pd.to_numeric(pairs["match_weight"], errors="coerce").fillna(0).to_numpy(float) \
        if "match_weight" in pairs else np.zeros(len(pairs))
    is_edge = ok & (pairs["decision"].astype(str).eq("merge").to_numpy() if "decision" in pairs else True)
    is_cannot = ok & (w < settings.cannot_link_weight)
    a, b, we = pl[is_edge], pr[is_edge], w[is_edge]
    keep = guard(n, a, b, we, pl[is_cannot], pr[is_cannot], settings.max_cluster_size)
    label = components(n, a[keep], b[keep])
    return pd.Series(ids.to_numpy()[label], index=ids, name="cluster")
