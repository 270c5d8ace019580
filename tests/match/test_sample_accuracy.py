"""Matching accuracy on the bundled sample data against its hidden truth (tests/data/sample_truth).

The figures are computed by benchmarks/eval_sample.py (``python benchmarks/eval_sample.py --analyse``
shows the missed and wrong pairs by cause). The thresholds sit just under what the matcher reaches
today, so a regression fails here.
"""
from __future__ import annotations

import pytest

from crmkit.store import Store

# reached: contacts precision 1.000, recall 0.948; all rows (with deals and orders) P 0.990, R 0.976;
# 27 of 350 persons have rows in more than one contact (before the name-only rules, the kinds of email and
# phone and the small-list defaults: contacts P 0.942 R 0.844, all rows P 0.973 R 0.952, 35 persons split)
MIN_CONTACT_PRECISION = 0.99
MIN_CONTACT_RECALL = 0.94
MIN_ROWS_PRECISION = 0.985
MIN_ROWS_RECALL = 0.97
MAX_PERSONS_SPLIT = 28


@pytest.fixture(scope="module")
def figures(sample_store):
    from eval_sample import figures as compute, load_truth

    store = Store(sample_store)
    tables = {n: store.read_table(n) for n in ("source_rows", "contact_records", "deals", "orders", "match_pairs")}
    return compute(tables, load_truth())


def test_contact_rows_pairwise(figures):
    c = figures["contacts"]
    assert c["precision"] >= MIN_CONTACT_PRECISION, c
    assert c["recall"] >= MIN_CONTACT_RECALL, c


def test_all_rows_pairwise(figures):
    a = figures["all_rows"]
    assert a["precision"] >= MIN_ROWS_PRECISION, a
    assert a["recall"] >= MIN_ROWS_RECALL, a


def test_persons_not_split_over_contacts(figures):
    assert figures["persons_split"] <= MAX_PERSONS_SPLIT, figures["persons_split"]
