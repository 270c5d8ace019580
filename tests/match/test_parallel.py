"""The matcher's forked helper (crmkit._fork): the same output as the serial path, bit for bit."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import crmkit._fork as _fork
from crmkit.match import cluster, explain, find_duplicates
from crmkit.match import compare as compare_mod
from crmkit.match import pipeline as pipeline_mod

needs_fork = pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs os.fork, 2 CPUs")


@pytest.fixture
def forks(forks, monkeypatch):
    """Every run forks (small inputs and few pairs included); the pids forked (see tests/conftest.py)."""
    monkeypatch.setattr(compare_mod, "_PARALLEL_MIN_PAIRS", 0)
    monkeypatch.setattr(pipeline_mod, "_PARALLEL_MIN_PAIRS", 0)
    return forks


def _run(records: pd.DataFrame, settings=None) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    pairs = find_duplicates(records, settings)
    return pairs, cluster(pairs, records["record_id"], pairs.attrs["settings"]), explain(pairs, records)


def _assert_identical(a: tuple, b: tuple) -> None:
    pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    for col in a[0].columns:                           # floats bit for bit
        if a[0][col].dtype.kind == "f":
            assert np.array_equal(a[0][col].to_numpy().view(np.int64), b[0][col].to_numpy().view(np.int64)), col
    assert a[0].attrs["settings"].to_json() == b[0].attrs["settings"].to_json()
    assert a[0].attrs["blocking"] == b[0].attrs["blocking"]
    pd.testing.assert_series_equal(a[1], b[1])
    pd.testing.assert_frame_equal(a[2], b[2], check_exact=True)


@needs_fork
def test_forked_run_equals_serial_run(background, forks, monkeypatch):
    records = background.sample(frac=1.0, random_state=3)
    forked = _run(records)
    assert len(forks) >= 6          # prepare, blocking + u, compare and score of the candidate and inner pairs
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    n_forks = len(forks)
    serial = _run(records)
    assert len(forks) == n_forks    # the serial path forks nothing
    assert len(serial[0]) > 100
    _assert_identical(forked, serial)


@needs_fork
def test_forked_replay_equals_serial_replay(background, forks, monkeypatch):
    trained = find_duplicates(background).attrs["settings"]
    forked = _run(background, trained)
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    _assert_identical(forked, _run(background, trained))


@needs_fork
def test_a_failing_helper_raises_here_not_a_hang(forks):
    calls = []

    def work():
        calls.append(os.getpid())
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        with _fork.Beside(work, n=1) as helper:
            helper.result()
    assert len(forks) == 1 and calls == [os.getpid()]   # the child failed, the work ran (and failed) here
    with pytest.raises(ChildProcessError):
        os.waitpid(forks[0], os.WNOHANG)                # and the child was waited for


@needs_fork
def test_an_abandoned_helper_is_waited_for(forks):
    with pytest.raises(RuntimeError):
        with _fork.Beside(lambda: np.arange(10_000_000), n=1):
            raise RuntimeError("error in this process before the result")
    with pytest.raises(ChildProcessError):
        os.waitpid(forks[0], os.WNOHANG)


def test_no_fork_when_switched_off_or_small(monkeypatch):
    import crmkit.store

    monkeypatch.setattr(crmkit.store, "_memory_available", lambda: 1 << 40)
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    assert not _fork.fork_ok(10_000_000)
    monkeypatch.delenv("CRMKIT_WORKERS")
    assert not _fork.fork_ok(_fork.PARALLEL_MIN_ROWS - 1)
    if hasattr(os, "fork"):
        assert _fork.fork_ok(_fork.PARALLEL_MIN_ROWS)
    monkeypatch.setattr(crmkit.store, "_memory_available", lambda: 1 << 20)
    assert not _fork.fork_ok(10_000_000)                # too little memory free for a child


@needs_fork
def test_forked_run_with_declared_columns_equals_serial(corpus, forks, monkeypatch):
    from crmkit.match import Comparison, MatchSettings

    records = corpus.drop(columns=["true_id"])      # a customer number that the true duplicates share
    records["customer_no"] = np.where(np.arange(len(records)) % 3 == 0, None, "C-" + corpus["true_id"].astype(str))
    records["age"] = np.where(np.arange(len(records)) % 4 == 0, np.nan, np.arange(len(records)) % 70 + 18.0)
    settings = MatchSettings()
    settings.comparisons += [Comparison("customer_no", kind="id"), Comparison("age", kind="number")]
    settings.blocking_rules = [*settings.blocking_rules, "col:customer_no"]
    forked = _run(records, settings)
    assert forks
    assert forked[0]["level_customer_no"].eq("exact").any()
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    _assert_identical(forked, _run(records, settings))


@needs_fork
@pytest.mark.parametrize("fields", [None, ("email", "phone", "address"), ("name",), ("company", "email")])
def test_forked_compare_equals_serial_compare(background, forks, monkeypatch, fields):
    """The name and company levels in the child, the other fields here (or half the pairs each, when the
    settings leave either side nothing), in chunks smaller than the pairs: the serial levels, bit for bit."""
    from crmkit.match import MatchSettings
    from crmkit.match.compare import Prepared, prepare

    settings = MatchSettings()
    if fields:
        settings.comparisons = [c for c in settings.comparisons if c.field in fields]
    prep = Prepared(prepare(background))
    rng = np.random.default_rng(5)
    l = rng.integers(0, prep.n, 20_000)
    r = (l + 1 + rng.integers(0, 40, len(l))) % prep.n             # pairs of neighbours: names repeat
    monkeypatch.setattr(compare_mod, "_CHUNK", 3_000)               # many chunks, one set of name levels
    forked = compare_mod.compare_pairs(prep, l, r, settings)
    assert forks
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    n_forks = len(forks)
    serial = compare_mod.compare_pairs(prep, l, r, settings)
    assert len(forks) == n_forks
    monkeypatch.setattr(compare_mod, "_CHUNK", 1 << 21)
    whole = compare_mod.compare_pairs(prep, l, r, settings)         # one chunk
    for got in (forked, serial):
        for part, want in zip(got, whole):
            assert list(part) == list(want)
            for k in want:
                assert part[k].dtype == want[k].dtype, k
                assert np.array_equal(part[k], want[k], equal_nan=True), k
