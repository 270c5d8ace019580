"""The link stage's second process (crmkit._fork) gives exactly the serial results, and fails cleanly."""
from __future__ import annotations

import importlib
import os

import numpy as np
import pandas as pd
import pytest

from crmkit.link import RECORD_COLUMNS, build_contacts
from crmkit.store import TABLE_COLUMNS

fork = importlib.import_module("crmkit._fork")
golden = importlib.import_module("crmkit.merge.golden")
_TABLES = ["contact_records", "contacts", "deals", "orders", "lineage", "contact_values", "conflicts", "match_pairs",
           "review_queue", "merge_history"]


def _inputs(n: int, seed: int):
    """Contact records, deals naming some of them, and scored pairs (merge/review) between them."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, n // 3, n)
    pick = lambda options: np.array(options, dtype=object)[rng.integers(0, len(options), n)]  # noqa: E731
    contacts = pd.DataFrame({c: None for c in RECORD_COLUMNS}, index=range(n)).astype(object)
    contacts["record_id"] = [f"R{i:05d}" for i in rng.permutation(n)]
    contacts["full_name"] = pick(["Bob Smith", "BOB SMITH", "R. Smith", "Anna Li", None])
    contacts["email"] = [f"p{p}@x.io" if rng.random() < 0.7 else None for p in person]
    contacts["phone"] = pick(["+49 30 1234", "+49301234", "030 1234", None])
    contacts["city"] = pick(["Berlin", "berlin", "Paris", None])
    contacts["tags"] = pick(["vip", "vip; lead", None])
    contacts["created_at"] = pick(["2020-01-01", "2021-12-31", None])
    contacts["source_file"] = pick(["old_crm.xlsx", "fair.csv"])
    contacts["source_sheet"] = ""
    contacts["source_row"] = np.arange(n) + 2
    deals = pd.DataFrame({"record_id": [f"D{i}" for i in range(20)], "deal_name": "deal",
                          "contact_email": [f"p{p}@x.io" for p in person[:20]], "contact_name": None,
                          "source_file": "deals.csv", "source_sheet": "", "source_row": np.arange(20) + 2})
    left, right = rng.integers(0, n, 3 * n), rng.integers(0, n, 3 * n)
    keep = (left != right) & (person[left] == person[right])
    ids = contacts["record_id"].to_numpy()
    k = int(keep.sum())
    pairs = pd.DataFrame({"record_id_l": ids[left[keep]], "record_id_r": ids[right[keep]],
                          "match_weight": rng.normal(5, 3, k), "match_probability": rng.random(k),
                          "decision": np.where(rng.random(k) < 0.7, "merge", "review"),
                          "weight_email": rng.normal(3, 1, k), "weight_name": np.where(rng.random(k) < 0.2, np.nan,
                                                                                     rng.normal(1, 1, k))})
    pairs = pairs.drop_duplicates(["record_id_l", "record_id_r"]).reset_index(drop=True)
    return contacts, deals, pairs


def _build(contacts, deals, pairs, existing=None):
    return build_contacts(contacts, deals, pd.DataFrame(), existing=existing, dedupe=True, batch_id="b1",
                          actor="test", pairs=pairs)


def _existing(res) -> dict:
    """A store holding ``res`` (as migrate loads it), for a second build."""
    return {"contact_records": res.contact_records.assign(batch_id="b0"), "match_pairs": res.match_pairs,
            "decisions": pd.DataFrame(columns=TABLE_COLUMNS["decisions"]), "review_queue": res.review_queue,
            "deals": res.deals, "orders": res.orders, "contacts": res.contacts}


def _same(a, b) -> None:
    for name in _TABLES:
        x, y = getattr(a, name), getattr(b, name)
        if name in ("contacts", "merge_history"):  # time stamps of the run
            x, y = x.drop(columns=["updated_at", "at"], errors="ignore"), y.drop(columns=["updated_at", "at"],
                                                                                errors="ignore")
        pd.testing.assert_frame_equal(x, y, obj=name)
    pd.testing.assert_series_equal(a.record_targets, b.record_targets)
    assert a.stats == b.stats


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork and two CPUs")
@pytest.mark.parametrize("seed", range(3))
def test_forked_link_equals_serial(seed, forks, monkeypatch):
    contacts, deals, pairs = _inputs(400, seed)
    forked = _build(contacts, deals, pairs)
    assert len(forks) == 3  # clustering; contact ids and history; conflicts and multi-values
    forked_again = _build(contacts.iloc[:300], deals, pairs, existing=_existing(forked))
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    forks.clear()
    serial = _build(contacts, deals, pairs)
    serial_again = _build(contacts.iloc[:300], deals, pairs, existing=_existing(serial))
    assert not forks
    _same(forked, serial)
    _same(forked_again, serial_again)
    assert forked.stats["clusters_merged"] > 10 and len(forked.conflicts) and len(forked.merge_history)


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork and two CPUs")
def test_an_error_in_a_child_is_raised_here_and_the_child_is_reaped(forks, monkeypatch):
    contacts, deals, pairs = _inputs(200, 1)

    def broken(*args, **kwargs):
        raise ValueError("broken contact ids")
    monkeypatch.setattr(golden, "_contact_ids", broken)
    with pytest.raises(ValueError, match="broken contact ids"):
        _build(contacts, deals, pairs)
    assert forks
    with pytest.raises(ChildProcessError):  # every child was waited for
        os.waitpid(-1, os.WNOHANG)


def test_beside_runs_here_when_not_forking(monkeypatch):
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    with fork.Beside(lambda: os.getpid(), n=10 ** 9) as job:
        assert not job.forked
        assert job.result() == os.getpid()
    monkeypatch.delenv("CRMKIT_WORKERS")
    assert not fork.Beside(lambda: 1, n=fork.PARALLEL_MIN_ROWS - 1).forked


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork and two CPUs")
def test_beside_left_unasked_lets_its_child_go(monkeypatch):
    monkeypatch.setattr(fork, "PARALLEL_MIN_ROWS", 0)
    with pytest.raises(RuntimeError):
        with fork.Beside(lambda: np.zeros(10 ** 6), n=1) as job:  # a result bigger than the pipe's buffer
            assert job.forked
            raise RuntimeError("meanwhile")
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    with fork.Beside(lambda: os.getpid(), n=1) as job:
        assert job.result() != os.getpid()  # computed in the child


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork and two CPUs")
def test_forked_link_equals_serial_with_other_rules(forks, monkeypatch):
    """Winners chosen in both processes (whole linked groups in each) merge as the serial path does, also when
    the links chain, cross field kinds or point at a combining field."""
    from crmkit.merge import SurvivorshipRules

    rules = SurvivorshipRules(linked={"email": "phone", "first_name": "full_name", "last_name": "first_name",
                                      "city": "tags", "mobile": "email", "street": "city"})
    rules.fields["full_name"] = ["longest", "earliest", "first_non_empty"]
    rules.default = ["most_complete", "most_frequent"]
    contacts, deals, pairs = _inputs(400, 4)
    contacts["first_name"] = contacts["full_name"].str.split().str[0]
    contacts["street"] = np.where(np.arange(len(contacts)) % 3 == 0, None, "Main St 1")
    build = lambda: build_contacts(contacts, deals, pd.DataFrame(), existing=None, dedupe=True,  # noqa: E731
                                   batch_id="b1", actor="test", pairs=pairs, rules=rules)
    forked = build()
    assert len(forks) == 3
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    _same(forked, build())
