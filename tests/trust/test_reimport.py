"""Re-importing files the store already holds: only the batch and its audit row are written, on SQLite and
PostgreSQL, and the full migration still runs whenever its result could differ from what is stored."""
from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import crmkit
import crmkit.link as link_mod
from crmkit.curate import edit_contact, revert_batch
from crmkit.errors import StoreError
from crmkit.store import TABLE_COLUMNS, Store

migrate_mod = importlib.import_module("crmkit.migrate")  # (crmkit.migrate is also the function)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
# what a no-op re-import adds: its batch, its audit row (and the change counter moves on)
GROWS = {"batches", "audit_log", "meta"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "crm.sqlite")
    return request.getfixturevalue("pg_db")


@pytest.fixture()
def calls(monkeypatch) -> list[str]:
    """Records whether a migration cleaned or linked anything."""
    seen: list[str] = []
    real_build, real_clean = link_mod.build_contacts, migrate_mod.clean_frame
    monkeypatch.setattr(link_mod, "build_contacts", lambda *a, **k: (seen.append("link"), real_build(*a, **k))[1])
    monkeypatch.setattr(migrate_mod, "clean_frame", lambda *a, **k: (seen.append("clean"), real_clean(*a, **k))[1])
    return seen


def _content(target: str) -> dict[str, pd.DataFrame]:
    store = Store(target)
    try:
        return {name: store.read_table(name) for name in TABLE_COLUMNS}
    finally:
        store.close()


def _summary_core(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("batch_id", "seconds", "seconds_total", "notes")}


def _add_contacts(folder: Path, name: str = "new_leads.csv") -> Path:
    path = folder / name
    path.write_text("First Name,Last Name,Email,Phone\n"
                    "Ada,Lovelace,ada@example.org,+44 20 7946 0000\n"
                    "Alan,Turing,alan@example.org,+44 20 7946 0001\n", encoding="utf-8")
    return path


def test_a_reimport_of_stored_files_writes_only_its_batch(target, calls, monkeypatch):
    first = crmkit.migrate([SAMPLE], target)
    before = _content(target)
    counter = Store(target).change_counter()
    calls.clear()

    again = crmkit.migrate([SAMPLE], target)

    assert calls == []  # nothing cleaned, matched or merged
    after = _content(target)
    for name in TABLE_COLUMNS:
        if name not in GROWS:  # every value as it was, updated_at and batch ids included
            pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    assert len(after["batches"]) == len(before["batches"]) + 1
    assert after["batches"]["batch_id"].iloc[-1] == again.batch_id
    assert after["batches"]["settings"].iloc[-1] == before["batches"]["settings"].iloc[-1]
    assert after["audit_log"]["record_id"].tolist() == [*before["audit_log"]["record_id"], again.batch_id]
    assert Store(target).change_counter() == counter + 1
    total = sum(first.summary["rows_read"].values())
    assert again.summary["rows_skipped_existing"] == total and again.summary["rows_read"] == {}
    assert "Rows read: none new" in again.summary_text()
    assert json.loads(after["batches"]["summary"].iloc[-1])["contacts"] == len(before["contacts"])

    # the summary is the one the full migration (which re-reads and re-links everything) gives
    monkeypatch.setattr(migrate_mod, "_FAST_REIMPORT", False)
    full = crmkit.migrate([SAMPLE], target)
    assert "link" in calls
    assert _summary_core(full.summary) == _summary_core(again.summary)


def test_the_full_migration_runs_when_anything_would_change(tmp_path, calls):
    src = tmp_path / "in"
    shutil.copytree(SAMPLE, src, ignore=shutil.ignore_patterns("*.py"))
    out = str(tmp_path / "crm.sqlite")
    crmkit.migrate([src], out)

    def reimport(**kwargs) -> dict:
        calls.clear()
        summary = crmkit.migrate([src], out, **kwargs).summary
        return {"linked": "link" in calls, "new": sum(summary["rows_read"].values())}

    assert reimport() == {"linked": False, "new": 0}
    # another request than the last import's: it would build other contacts
    assert reimport(dedupe=False)["linked"]
    assert reimport(dedupe=False) == {"linked": False, "new": 0}
    assert reimport()["linked"]  # back to matching
    from crmkit.match import MatchSettings

    assert reimport(match_settings=MatchSettings(merge_threshold=0.95))["linked"]
    assert not reimport(match_settings=MatchSettings(merge_threshold=0.95).to_json())["linked"]  # same settings
    assert reimport()["linked"]
    from crmkit.merge.rules import SurvivorshipRules

    assert reimport(rules=SurvivorshipRules())["linked"] is False  # the default rules, given explicitly
    _add_contacts(src)  # new rows
    assert reimport() == {"linked": True, "new": 2}
    assert reimport() == {"linked": False, "new": 0}
    # an issue the store does not hold yet (a file that cannot be read), then the same again
    (src / "broken.xlsx").write_bytes(b"not a workbook")
    assert reimport()["linked"]
    assert reimport() == {"linked": False, "new": 0}
    issues = Store(out).read_table("issues")
    assert (issues["source_file"] == "broken.xlsx").sum() == 1
    # the last batch reverted: the store was rebuilt from what is left
    last = Store(out).read_table("batches")["batch_id"].iloc[-1]
    revert_batch(out, last)
    assert reimport()["linked"]


def test_a_store_written_before_the_fast_path_is_migrated_in_full_once(tmp_path, calls):
    out = str(tmp_path / "crm.sqlite")
    crmkit.migrate([SAMPLE], out)
    store = Store(out)
    batches = store.read_table("batches")
    summary = json.loads(batches["summary"].iloc[-1])
    del summary["request"]  # as an earlier crmkit wrote it
    store.write(replace={"batches": batches.assign(summary=[json.dumps(summary)])})
    calls.clear()
    crmkit.migrate([SAMPLE], out)
    assert "link" in calls
    calls.clear()
    crmkit.migrate([SAMPLE], out)
    assert calls == []


def test_edits_survive_reimports(tmp_path):
    src = tmp_path / "in"
    shutil.copytree(SAMPLE, src, ignore=shutil.ignore_patterns("*.py"))
    out = str(tmp_path / "crm.sqlite")
    crmkit.migrate([src], out)
    contact = Store(out).read_table("contacts")["contact_id"].iloc[5]
    edit_contact(out, contact, "city", "Edited by hand")

    def city() -> str:
        contacts = Store(out).read_table("contacts")
        return contacts.set_index("contact_id")["city"][contact]

    crmkit.migrate([src], out)  # nothing new
    assert city() == "Edited by hand"
    _add_contacts(src)  # new rows: contacts are rebuilt, and the edit is applied again
    assert sum(crmkit.migrate([src], out).summary["rows_read"].values()) == 2
    assert city() == "Edited by hand"


def test_a_reimport_based_on_a_stale_read_is_refused(tmp_path, monkeypatch):
    out = str(tmp_path / "crm.sqlite")
    crmkit.migrate([SAMPLE], out)
    real = Store.import_state

    def racing(self, *args, **kwargs):
        state = real(self, *args, **kwargs)
        other = Store(out)  # another writer commits between our read and our write
        other.write(append={"audit_log": pd.DataFrame({"action": ["other"]})}, expect_counter=None)
        return state

    monkeypatch.setattr(Store, "import_state", racing)
    batches = len(Store(out).read_table("batches"))
    with pytest.raises(StoreError, match="the store changed"):
        crmkit.migrate([SAMPLE], out)
    assert len(Store(out).read_table("batches")) == batches


def test_issues_are_not_repeated_by_later_imports(tmp_path):
    """Skipped rows (a title, a footer) and an unreadable file are recorded once, however often their
    files are imported again, with or without new rows beside them (the stored issues then hold a NULL
    row number, which reads back as floats: 12.0 must still equal 12)."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLE / "old_crm_export.xlsx", src)
    (src / "broken.xlsx").write_bytes(b"not a workbook")
    out = str(tmp_path / "crm.sqlite")
    first = crmkit.migrate([src], out)
    stored = len(Store(out).read_table("issues"))
    assert first.summary["issues"] == stored > 1
    crmkit.migrate([src], out)
    for i in range(2):
        _add_contacts(src, f"more_{i}.csv")
        again = crmkit.migrate([src], out)
        assert sum(again.summary["rows_read"].values()) == 2 and again.summary["issues"] == 0
    assert len(Store(out).read_table("issues")) == stored
