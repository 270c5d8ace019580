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


def test_plain_emails_are_those_the_python_path_returns_as_they_are(monkeypatch):
    """pyarrow picks out the emails _email would return unchanged; the rest go through Python: the same values
    and codes either way, on awkward text (capitals, spaces, \\x1c, NBSP, ß, dots and @ anywhere)."""
    from crmkit.match import compare as compare_mod

    rng = np.random.default_rng(8)
    alphabet = list("ab.@@..x-_+9Z") + [" ", "\t", "\x1c", "\u00a0", "ß", "É", "\n", "\x7f", "~", "[", "?", "é"]
    values = ["".join(rng.choice(alphabet, rng.integers(1, 12))) for _ in range(6000)]
    values += [f"user{i}@mail{i % 7}.com" for i in range(3000)] + ["Ann@X.com", " a@b.cd", "a@b.c", "a@b..cd"]
    values = np.array(values + [None], dtype=object)
    monkeypatch.setattr(compare_mod, "_ARROW_MIN_PLAIN", 0)
    col = compare_mod._Coded(values)
    plain = _plain(compare_mod, compare_mod._PLAIN_EMAIL, col.uniq)
    assert 0 < plain.sum() < len(plain)
    assert all(compare_mod._email(v) == v for v in col.uniq[plain])
    fast = compare_mod._coded_mapped(col, compare_mod._email, compare_mod._unlike(compare_mod._PLAIN_EMAIL))
    slow = compare_mod._coded_mapped(col, compare_mod._email)
    assert fast[0].tolist() == slow[0].tolist()
    assert np.array_equal(fast[1].codes, slow[1].codes) and fast[1].uniq.tolist() == slow[1].uniq.tolist()
    mixed = np.array(["a@b.cd", 5, " X@Y.org"], dtype=object)                              # not all text: Python
    assert compare_mod._by_arrow(mixed, compare_mod._email, python_for=compare_mod._unlike(compare_mod._PLAIN_EMAIL)
                                 ).tolist() == ["a@b.cd", None, "x@y.org"]


def _plain(compare_mod, pattern: str, uniq: np.ndarray) -> np.ndarray:
    """The mask of the texts _by_arrow keeps as they are (those its ``python_for=_unlike(pattern)`` leaves)."""
    import pyarrow.compute as pc

    from crmkit.clean._base import arrow_text

    return ~compare_mod._unlike(pattern)(pc, arrow_text(uniq)).to_numpy(zero_copy_only=False)


def test_plain_phones_are_those_the_python_path_returns_as_they_are(monkeypatch):
    from crmkit.match import compare as compare_mod

    rng = np.random.default_rng(9)
    alphabet = list("+0123456789+ -") + ["\u0663", "\t", "\n", "x"]      # an Arabic-Indic digit, which \\d takes
    values = ["".join(rng.choice(alphabet, rng.integers(1, 18))) for _ in range(6000)]
    values += [f"+49{i:09d}" for i in range(3000)] + ["+12345", "+1234567890123456", " +4930123456"]
    uniq = np.array(list(dict.fromkeys(values)), dtype=object)
    monkeypatch.setattr(compare_mod, "_ARROW_MIN_PLAIN", 0)
    plain = _plain(compare_mod, compare_mod._PLAIN_PHONE, uniq)
    assert 0 < plain.sum() < len(plain)
    assert all(compare_mod._phone(v) == v for v in uniq[plain])
    fast = compare_mod._by_arrow(uniq, compare_mod._phone, python_for=compare_mod._unlike(compare_mod._PLAIN_PHONE))
    assert fast.tolist() == [compare_mod._phone(v) for v in uniq]


def test_email_traits_by_arrow_equal_the_python_ones(monkeypatch):
    """Local parts, digits, domains and digits in the local part by pyarrow's kernels: the Python results, on
    ASCII and other text (Arabic-Indic and full-width digits, which Python's \\d takes, several @, newlines)."""
    import pandas as pd

    from crmkit.match import compare as compare_mod

    rng = np.random.default_rng(10)
    alphabet = list("ab.@9_-") + ["\u0663", "\uff11", "é", "\n", "周", "ß"]
    values = ["".join(rng.choice(alphabet, rng.integers(1, 12))) + "@" + "".join(rng.choice(alphabet, 6)) + ".com"
              for _ in range(7000)] + ["x@y.org", "plain@host.de"]
    df = pd.DataFrame({"email": np.array(values + [None], dtype=object)}, dtype=object)

    def run(limit):
        monkeypatch.setattr(compare_mod, "_ARROW_MIN_PLAIN", limit)
        return compare_mod._prepare_contacts(df, None, 7, ())
    fast, slow = run(0), run(1 << 40)
    for name in ("email", "email_local"):
        assert fast[0][name].tolist() == slow[0][name].tolist(), name
        assert np.array_equal(fast[1][name].codes, slow[1][name].codes), name
    assert slow[1]["email"].uniq.size > 1000
    for name in ("email_digits", "email_free", "local_len", "local_digit"):
        assert fast[2][name].dtype == slow[2][name].dtype, name
        assert np.array_equal(fast[2][name], slow[2][name]), name
    assert 0 < slow[2]["local_digit"].sum() < len(df) - 1


def test_phone_tails_by_arrow_equal_the_python_ones(monkeypatch):
    from crmkit.match import compare as compare_mod

    rng = np.random.default_rng(11)
    alphabet = list("+0123456789") + ["\u0663", "é"]
    p1 = np.array(["".join(rng.choice(alphabet, rng.integers(1, 14))) for _ in range(6000)] + [None], dtype=object)
    p2 = np.array([f"+4930{i:07d}" for i in range(6000)] + ["+1234567"], dtype=object)

    def tails(limit):
        monkeypatch.setattr(compare_mod, "_ARROW_MIN_PLAIN", limit)
        ph = compare_mod._Phones(p1, p2, 7)
        return ph.tail, ph.record_tails()
    fast, slow = tails(0), tails(1 << 40)
    assert np.array_equal(fast[0], slow[0]) and fast[0].dtype == slow[0].dtype
    assert all(np.array_equal(a, b) for a, b in zip(fast[1], slow[1]))
    assert (slow[0] == -1).any() and len(np.unique(slow[0])) > 1000
