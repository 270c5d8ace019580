from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmkit.match import cluster, explain, find_duplicates
from crmkit.match.scoring import prior_weight


def _pairwise(pred, truth):
    df = pd.DataFrame({"p": np.asarray(pred), "t": np.asarray(truth)})
    c2 = lambda s: float((s * (s - 1) / 2).sum())  # noqa: E731
    tp, pp, tt = c2(df.groupby(["p", "t"]).size()), c2(df.groupby("p").size()), c2(df.groupby("t").size())
    return tp / pp, tp / tt


@pytest.fixture(scope="module")
def result(corpus):
    records = corpus.drop(columns=["true_id"])
    pairs = find_duplicates(records)
    return records, pairs


def test_accuracy_on_generated_corpus(corpus, result):
    records, pairs = result
    labels = cluster(pairs, records["record_id"], pairs.attrs["settings"])
    precision, recall = _pairwise(labels.to_numpy(), corpus["true_id"].to_numpy())
    assert precision >= 0.97, precision
    assert recall >= 0.93, recall


def test_output_columns(result):
    _, pairs = result
    for c in ["record_id_l", "record_id_r", "match_weight", "match_probability", "decision", "level_name",
              "weight_name", "level_email", "weight_phone", "weight_conflict"]:
        assert c in pairs.columns
    assert set(pairs["decision"]) <= {"merge", "review", "no"}
    assert (pairs["record_id_l"] != pairs["record_id_r"]).all()


def test_explanation_weights_sum_to_match_weight_minus_prior(result):
    records, pairs = result
    sample = pairs.head(200)
    long = explain(sample, records)
    assert list(long.columns) == ["record_id_l", "record_id_r", "field", "level", "level_label", "weight",
                                  "value_l", "value_r"]
    sums = long.groupby(["record_id_l", "record_id_r"], sort=False)["weight"].sum()
    expect = sample.set_index(["record_id_l", "record_id_r"])["match_weight"] - \
        prior_weight(pairs.attrs["settings"])
    pd.testing.assert_series_equal(sums.reindex(expect.index), expect, check_names=False, atol=1e-9)
    assert long["value_l"].notna().any()


def test_replay_with_saved_settings_gives_identical_pairs(result):
    records, pairs = result
    saved = pairs.attrs["settings"].to_json()
    again = find_duplicates(records, saved)
    pd.testing.assert_frame_equal(pairs, again)


def test_input_not_changed(corpus):
    records = corpus.drop(columns=["true_id"]).head(300)
    before = records.copy()
    find_duplicates(records)
    pd.testing.assert_frame_equal(records, before)


@pytest.mark.parametrize("rows,seed", [(1500, 3), (600, 5)])
def test_accuracy_on_small_generated_sets(rows, seed):
    """Small lists (under min_train_records: default m, u and prior from the data) stay accurate."""
    from make_corpus import make_corpus

    df = make_corpus(rows, seed=seed)
    records = df.drop(columns=["true_id"])
    pairs = find_duplicates(records)
    labels = cluster(pairs, records["record_id"], pairs.attrs["settings"])
    precision, recall = _pairwise(labels.to_numpy(), df["true_id"].to_numpy())
    assert precision >= 0.97, precision
    assert recall >= 0.93, recall
