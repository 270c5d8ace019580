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


def _pair(l, r, weight, decision, **fields):
    row = {"record_id_l": l, "record_id_r": r, "match_weight": weight, "decision": decision}
    for f in ("email", "phone", "company", "address"):
        row[f"weight_{f}"] = fields.get(f, 0.0)
    return row


def test_contradicting_namesakes_not_chained_through_name_only_records():
    # a, b: same name, different phone and company (a review pair); x, y: name-only order customers
    rows = [_pair("a", "b", 2.6, "review", phone=-2.3, company=-1.7)]
    rows += [_pair(p, q, 4.4, "merge") for p, q in [("a", "x"), ("b", "x"), ("a", "y"), ("b", "y"), ("x", "y")]]
    labels = cluster(pd.DataFrame(rows), ["a", "b", "x", "y"])
    assert labels["a"] != labels["b"]


def test_contradicting_pair_joined_through_records_sharing_other_fields():
    # one person who changed job: c shares a's email and b's phone, so the links are not name-only
    rows = [_pair("a", "b", 2.6, "review", phone=-2.3, company=-1.7),
            _pair("a", "c", 20.0, "merge", email=13.0), _pair("b", "c", 15.0, "merge", phone=10.0)]
    labels = cluster(pd.DataFrame(rows), ["a", "b", "c"])
    assert labels["a"] == labels["b"] == labels["c"]
