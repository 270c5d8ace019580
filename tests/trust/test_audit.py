"""The audit log: every change a person or an import makes leaves an ``audit_log`` row with time and actor.

Each operation is done through the public library on a private copy of the sample store; the test then
looks for the new audit row(s). Operations that write no audit row are listed in the failure message.
"""
from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest

import crmkit
from crmkit.store import Store


def _audit(path) -> pd.DataFrame:
    return Store(path).read_table("audit_log")


def _new_rows(path, before: int) -> pd.DataFrame:
    log = _audit(path)
    return log.iloc[before:] if len(log) > before else log.iloc[0:0]


def _check(rows: pd.DataFrame, action: str, actor: str) -> None:
    assert len(rows) >= 1, f"{action}: no audit_log row written"
    row = rows.iloc[-1]
    assert row["actor"] == actor, f"{action}: actor {row['actor']!r}"
    assert row["action"] == action, f"{action}: action recorded as {row['action']!r}"
    datetime.fromisoformat(str(row["at"]))  # a real timestamp


@pytest.fixture()
def store(store_copy):
    return store_copy


def _pair(path):
    rq = Store(path).read_table("review_queue")
    open_ = rq[rq["status"] == "open"]
    assert len(open_) >= 2, "the sample store should have open review pairs"
    return open_.iloc[0], open_.iloc[1]


def test_import_batch_is_audited(tmp_path, sample_dir):
    out = tmp_path / "crm.sqlite"
    result = crmkit.migrate([sample_dir / "newsletter_signups.csv"], out, actor="importer")
    rows = _audit(out)
    _check(rows, "import", "importer")
    assert rows.iloc[-1]["record_id"] == result.batch_id and json.loads(rows.iloc[-1]["detail"])["batch_id"]


def test_curation_operations_are_audited(store):
    from crmkit.curate import decide, edit_contact, merge_contacts, revert_batch, unmerge

    missing = []

    def run(action, fn):
        before = len(_audit(store))
        fn()
        rows = _new_rows(store, before)
        try:
            _check(rows, action, "auditor")
        except AssertionError as err:
            missing.append(str(err))

    contacts = Store(store).read_table("contacts")
    multi = contacts[contacts["n_records"] > 1]["contact_id"].iloc[0]
    singles = contacts[contacts["n_records"] == 1]["contact_id"].iloc[:2].tolist()
    run("unmerge", lambda: unmerge(store, multi, actor="auditor"))
    run("merge", lambda: merge_contacts(store, singles, actor="auditor"))
    target = Store(store).read_table("contacts")["contact_id"].iloc[0]
    run("edit", lambda: edit_contact(store, target, "job_title", "Chief Auditor", actor="auditor"))
    a, b = _pair(store)
    run("review", lambda: decide(store, a["record_id_l"], a["record_id_r"], accept=True, actor="auditor"))
    batch = Store(store).read_table("batches")["batch_id"].iloc[-1]
    run("revert", lambda: revert_batch(store, batch, actor="auditor"))
    assert not missing, "operations without an audit row: " + "; ".join(missing)


def test_skipping_a_review_pair_is_audited(store):
    """A 'skip' is a decision a person makes in the review queue."""
    from crmkit.curate import skip_pair

    _a, b = _pair(store)
    before = len(_audit(store))
    skip_pair(store, b["record_id_l"], b["record_id_r"], actor="auditor")
    rows = _new_rows(store, before)
    _check(rows, "skip", "auditor")
    queue = Store(store).read_table("review_queue").set_index(["record_id_l", "record_id_r"])
    assert queue.loc[(b["record_id_l"], b["record_id_r"]), "status"] == "skipped"


def test_moving_a_deal_is_audited(store):
    from crmkit.analytics.pipeline import move_deal

    deals = Store(store).read_table("deals")
    deal = deals.iloc[0]
    to = "won" if str(deal["stage"]).lower() != "won" else "lost"
    before = len(_audit(store))
    out = move_deal(Store(store), deal["deal_id"], to, actor="auditor")
    assert out["changed"]
    rows = _new_rows(store, before)
    _check(rows, "move_stage", "auditor")
    assert rows.iloc[-1]["record_id"] == deal["deal_id"] and rows.iloc[-1]["entity"] == "deal"
