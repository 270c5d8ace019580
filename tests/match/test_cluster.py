from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit.match import MatchSettings, cluster
from crmkit.match.cluster import components


def test_components_chain_and_singletons():
    lab = components(6, np.array([0, 1, 4]), np.array([1, 2, 5]))
    assert lab.tolist() == [0, 0, 0, 3, 4, 4]


def test_chain_through_weak_link_is_cut():
    # a-b strong, b-c weak merge, a-c strong evidence against: the weak edge goes
    pairs = pd.DataFrame({"record_id_l": ["a", "b", "a"], "record_id_r": ["b", "c", "c"],
                          "match_weight": [25.0, 4.0, -20.0], "decision": ["merge", "merge", "no"]})
    labels = cluster(pairs, ["a", "b", "c"])
    assert labels["a"] == labels["b"] != labels["c"]


def test_size_cap_keeps_strongest_edges():
    ids = [f"r{i}" for i in range(6)]
    pairs = pd.DataFrame({"record_id_l": ids[:-1], "record_id_r": ids[1:],
                          "match_weight": [30, 30, 1, 30, 30], "decision": "merge"})
    labels = cluster(pairs, ids, MatchSettings(max_cluster_size=3))
    assert labels.nunique() == 2 and labels["r0"] == labels["r2"] and labels["r3"] == labels["r5"]
