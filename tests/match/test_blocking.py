from __future__ import annotations

import numpy as np

from crmkit.match import block_pairs, prepare
from crmkit.match.blocking import _pairs_in_groups



def _ids(df, pairs):
    ids = df["record_id"].to_numpy()
    return {tuple(sorted((ids[a], ids[b]))) for a, b in pairs}


def test_blocking_finds_known_pairs(make_frame):
    df = make_frame([
        {"record_id": "a1", "first_name": "Robert", "last_name": "Miller", "email": "bob@x.com"},
        {"record_id": "a2", "first_name": "Bob", "last_name": "Miller", "mobile": "+15125550101"},
        {"record_id": "a3", "first_name": "Miller", "last_name": "Robert", "mobile": "+15125550101"},
        {"record_id": "b1", "first_name": "Jürgen", "last_name": "Schmidt", "email": "js@firma.de"},
        {"record_id": "b2", "first_name": "Jurgen", "last_name": "Schmitt", "phone": "+4930123456"},
        {"record_id": "b3", "first_name": "J.", "last_name": "Schmitt", "phone": "+4930123456"},
        {"record_id": "c1", "full_name": "张伟", "email": "zw@qq.com"},
        {"record_id": "c2", "full_name": "张伟", "phone": "+8610555"},
        {"record_id": "d1", "first_name": "Anna", "last_name": "Weber", "email": "anna.weber77@gmail.com"},
        {"record_id": "d2", "first_name": "Anna", "last_name": "Weber-Roth", "email": "anna.weber77@web.de"},
    ])
    from crmkit.match.settings import DEFAULT_BLOCKING_RULES

    found = _ids(df, block_pairs(prepare(df), DEFAULT_BLOCKING_RULES))
    for pair in [("a1", "a2"), ("a2", "a3"), ("a1", "a3"), ("b1", "b2"), ("b2", "b3"), ("c1", "c2"), ("d1", "d2")]:
        assert pair in found, pair
    assert ("a1", "d1") not in found


def test_giant_block_is_windowed_not_dropped():
    pos = np.arange(5000)
    a, b = _pairs_in_groups(pos, np.zeros(5000, np.int64), pos, max_block=50, window=3)
    assert len(a) == 3 * 5000 - 6            # each row meets the next 3
    a, b = _pairs_in_groups(pos[:10], np.zeros(10, np.int64), pos[:10], max_block=50, window=3)
    assert len(a) == 45                      # small block: all pairs


def test_blocking_recall_on_corpus(corpus):
    from crmkit.match.settings import DEFAULT_BLOCKING_RULES

    pairs = block_pairs(prepare(corpus), DEFAULT_BLOCKING_RULES)
    t = corpus["true_id"].to_numpy()
    found = (t[pairs[:, 0]] == t[pairs[:, 1]]).sum()
    sizes = corpus.groupby("true_id").size()
    assert found / (sizes * (sizes - 1) / 2).sum() >= 0.97


def test_blocking_on_prepared_codes_gives_the_same_pairs(corpus):
    """block_pairs on a Prepared (codes reused) and on the prepared frame (factorized again) agree, rule by rule."""
    from crmkit.match.blocking import BLOCKING_KEYS
    from crmkit.match.compare import Prepared, _prepare

    df = corpus.drop(columns=["true_id"]).assign(member=corpus["postcode"])
    frame, coded = _prepare(df, {"member": ("id", {})})
    prep = Prepared(frame, None, coded)
    for rule in [*BLOCKING_KEYS, "col:member", "cols:member+member"]:
        expected = block_pairs(frame, [rule], max_block_size=30, window=8)
        assert np.array_equal(block_pairs(prep, [rule], max_block_size=30, window=8), expected), rule


def test_street_postcode_finds_pairs_with_both_names_mistyped(make_frame):
    from crmkit.match.settings import DEFAULT_BLOCKING_RULES

    df = make_frame([
        {"record_id": "a", "first_name": "Kevin", "last_name": "mSith", "postcode": "60634",
         "street": "Sunset Blvd 136"},
        {"record_id": "b", "first_name": "Kveni", "last_name": "Smith", "postcode": "60634",
         "street": "Sunset Blvd 136", "email": "kevin.smith@sterlingdesign.com"},
    ])
    assert _ids(df, block_pairs(prepare(df), DEFAULT_BLOCKING_RULES)) == {("a", "b")}
