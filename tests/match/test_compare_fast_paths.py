"""The shortcuts of the compare stage give exactly what the plain computation gives."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein

from crmkit.match.compare import Prepared, _Coded, _maybe_within, _prepare, _sim, compare_pairs, prepare

_TEXT = st.text(alphabet="0123456789+abcdeé@.-_ZZ", max_size=14)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=30), st.sampled_from([1, 2, 3]))
def test_edit_distance_filter_never_drops_a_close_pair(pairs, cutoff):
    values = [v for p in pairs for v in p]
    col = _Coded(np.array(values, dtype=object))
    a, b = col.codes[0::2], col.codes[1::2]
    keep = _maybe_within(col, a, b, cutoff)
    for (x, y), k in zip(pairs, keep):
        if Levenshtein.distance(x, y) <= cutoff or DamerauLevenshtein.distance(x, y) <= cutoff:
            assert k, (x, y, cutoff)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=30), st.sampled_from([1, 2]))
def test_filtered_distances_equal_rapidfuzz(pairs, cutoff):
    values = [v or None for p in pairs for v in p]
    col = _Coded(np.array(values, dtype=object))
    got = _sim(col, col.codes[0::2], col.codes[1::2], Levenshtein.distance, 0.0, score_cutoff=cutoff)
    for (x, y), g in zip(pairs, got):
        if not x or not y:
            assert np.isnan(g)
        else:
            assert g == Levenshtein.distance(x, y, score_cutoff=cutoff)


def test_prepare_codes_equal_factorized_columns(corpus):
    frame, coded = _prepare(corpus)
    pd.testing.assert_frame_equal(frame, prepare(corpus))
    for name, col in coded.items():
        ref = _Coded(frame[name].to_numpy())
        assert np.array_equal(col.codes, ref.codes), name
        assert list(col.uniq) == list(ref.uniq), name


def test_chunked_comparison_equals_one_pass(corpus, monkeypatch):
    import crmkit.match.compare as compare

    prep = Prepared(prepare(corpus))
    rng = np.random.default_rng(0)
    l, r = rng.integers(0, prep.n, 5000), rng.integers(0, prep.n, 5000)
    whole = compare_pairs(prep, l, r)
    monkeypatch.setattr(compare, "_CHUNK", 777)
    chunked = compare_pairs(prep, l, r)
    for got, want in zip(chunked, whole):
        assert got.keys() == want.keys()
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])


def test_chunked_scoring_gives_the_same_pairs(background, monkeypatch):
    import crmkit.match.compare as compare
    import crmkit.match.pipeline as pipeline
    from crmkit.match import find_duplicates

    whole = find_duplicates(background)
    monkeypatch.setattr(pipeline, "_SCORE_CHUNK", 1000)
    monkeypatch.setattr(compare, "_CHUNK", 1500)
    pd.testing.assert_frame_equal(find_duplicates(background), whole)
