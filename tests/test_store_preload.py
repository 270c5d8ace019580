"""A new SQLite store's source_rows made by a forked helper while migrate cleans and links (Store.preload).

The store must be the same as the one written in one process (CRMKIT_WRITE_WORKERS=0): every table,
column, value and storage type, rows in the same order; a helper that fails must surface as a
StoreError and leave neither a temp file, a store, nor a child process behind.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pandas as pd
import pytest

import crmkit
import crmkit.store as store_mod
from crmkit.errors import StoreError
from crmkit.store import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2,
                                reason="helper processes need os.fork and two CPUs")

SRC = Path(__file__).resolve().parents[1] / "sample_data"
VOLATILE = {"batch_id", "updated_at", "at", "started_at", "finished_at"}


def _dump(path: Path) -> dict:
    """Every table's rows in rowid order, each value with its storage type (run-specific columns by type only)."""
    con = sqlite3.connect(path)
    try:
        out = {"schema": sorted(con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())}
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            if name in ("batches", "audit_log", "meta"):
                continue
            exprs = []
            for col in [c[1] for c in con.execute(f'PRAGMA table_info("{name}")')]:
                exprs.append(f'typeof("{col}")')
                if col not in VOLATILE:
                    exprs.append(f'"{col}"')
            out[name] = con.execute(f'SELECT rowid, {", ".join(exprs)} FROM "{name}" ORDER BY rowid').fetchall()
        out["integrity"] = con.execute("PRAGMA integrity_check").fetchall()
        return out
    finally:
        con.close()


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


def _no_children() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.fixture
def forking(monkeypatch):
    """Helpers forked for the small sample files too, whatever the test machine's free memory."""
    monkeypatch.setattr(store_mod, "_PARALLEL_MIN_ROWS", 20)
    monkeypatch.setattr(store_mod, "_memory_available", lambda: 1 << 40)
    monkeypatch.delenv("CRMKIT_WRITE_WORKERS", raising=False)
    started = []
    real = Store.preload

    def spy(self, *args, **kwargs):
        pre = real(self, *args, **kwargs)
        started.append(pre)
        return pre

    monkeypatch.setattr(Store, "preload", spy)
    return started


@pytest.mark.parametrize("adbc", ["1", "0"])
def test_preloaded_source_rows_give_the_same_store(tmp_path, monkeypatch, forking, adbc):
    monkeypatch.setenv("CRMKIT_ADBC", adbc)
    parallel = crmkit.migrate([SRC], tmp_path / "parallel.sqlite")
    assert forking and forking[-1] is not None  # the helper did prepare source_rows
    monkeypatch.setenv("CRMKIT_WRITE_WORKERS", "0")
    serial = crmkit.migrate([SRC], tmp_path / "serial.sqlite")
    assert forking[-1] is None  # ... and here it did not
    a, b = _dump(tmp_path / "parallel.sqlite"), _dump(tmp_path / "serial.sqlite")
    assert a["integrity"] == [("ok",)]
    assert a == b
    # what migrate returns holds the same source rows, raw cells included
    pd.testing.assert_frame_equal(parallel.tables["source_rows"].drop(columns="batch_id"),
                                  serial.tables["source_rows"].drop(columns="batch_id"))
    assert parallel.summary["rows_read"] == serial.summary["rows_read"]
    assert not _leftovers(tmp_path)
    assert _no_children()


def test_preload_only_for_a_new_sqlite_file(tmp_path, monkeypatch, forking):
    rows = lambda: pd.DataFrame({"raw": ["{}"] * 30})  # noqa: E731
    existing = tmp_path / "old.sqlite"
    existing.write_bytes(b"")
    assert Store(existing).preload("source_rows", rows, later=["record_id"], rows=30) is None
    assert Store(tmp_path / "new.sqlite").preload("source_rows", rows, later=["record_id"], rows=5) is None  # short
    assert Store(tmp_path / "new.sqlite").preload("contacts", rows, later=["contact_id"], rows=30) is None  # a key
    monkeypatch.setenv("CRMKIT_WRITE_WORKERS", "0")
    assert Store(tmp_path / "new.sqlite").preload("source_rows", rows, later=["record_id"], rows=30) is None
    monkeypatch.delenv("CRMKIT_WRITE_WORKERS")
    ready = threading.Event()
    thread = threading.Thread(target=ready.wait)
    thread.start()
    try:  # a threaded process (the app) never forks
        assert Store(tmp_path / "new.sqlite").preload("source_rows", rows, later=["record_id"], rows=30) is None
    finally:
        ready.set()
        thread.join()
    pre = Store(tmp_path / "new.sqlite").preload("source_rows", rows, later=["record_id"], rows=30)
    assert pre is not None
    pre.stop()  # never used: the child ends, its files go
    assert not _leftovers(tmp_path)
    assert _no_children()


def test_a_helper_failing_before_the_hand_over_is_an_error(tmp_path, monkeypatch, forking):
    def broken(frame, path):
        raise OSError("no space left on device")

    monkeypatch.setattr(store_mod, "_write_arrow_file", broken)  # (the helper, forked afterwards, has it too)
    with pytest.raises(StoreError, match="no space left on device"):
        crmkit.migrate([SRC], tmp_path / "crm.sqlite")
    assert forking and forking[-1] is not None
    assert not (tmp_path / "crm.sqlite").exists()
    assert not _leftovers(tmp_path)
    assert _no_children()


def test_a_helper_failing_while_loading_is_an_error(tmp_path, monkeypatch, forking):
    real = store_mod._BulkFile.create_indexes

    def broken(self, name, *, without=(), only=None):
        if without:  # what only the preloading helper asks for
            raise RuntimeError("disk I/O error")
        return real(self, name, without=without, only=only)

    monkeypatch.setattr(store_mod._BulkFile, "create_indexes", broken)
    import importlib
    import time

    migrate_mod = importlib.import_module("crmkit.migrate")
    real_clean = migrate_mod.clean_frame

    def slow_clean(*args, **kwargs):  # (the helper loads only once this process has taken its frame: it
        time.sleep(0.5)  # fails while this one goes on linking, and the write reports it)
        return real_clean(*args, **kwargs)

    monkeypatch.setattr(migrate_mod, "clean_frame", slow_clean)
    with pytest.raises(StoreError, match="disk I/O error"):
        crmkit.migrate([SRC], tmp_path / "crm.sqlite")
    assert not (tmp_path / "crm.sqlite").exists()
    assert not _leftovers(tmp_path)
    assert _no_children()


def test_the_helper_loads_only_once_its_frame_is_taken(tmp_path, forking):
    """While this process cleans beside its own helper, the preload helper does not load SQLite as a third
    process: it starts once frame() has taken what it built."""
    import time

    rows = pd.DataFrame({"source_file": ["a.csv"] * 30, "source_sheet": [""] * 30, "source_row": range(2, 32),
                         "entity": ["contact"] * 30, "raw": ["{}"] * 30, "source_record_id": [f"R{i}" for i in range(30)],
                         "source_path": ["a.csv"] * 30})
    store = Store(tmp_path / "new.sqlite")
    pre = store.preload("source_rows", lambda: rows, later=["record_id", "batch_id"], rows=30)
    assert pre is not None
    try:
        time.sleep(1.0)  # ample time to build 30 rows and, were it not waiting, to create its SQLite file
        assert pre.arrow.exists() and not pre.path.exists()
        got = pre.frame()
        assert got["source_record_id"].tolist() == rows["source_record_id"].tolist()
        path = pre.finish()
        con = sqlite3.connect(path)
        try:
            assert con.execute("SELECT count(*) FROM source_rows").fetchone()[0] == 30
        finally:
            con.close()
        path.unlink()
    finally:
        pre.stop()
    assert not _leftovers(tmp_path)
    assert _no_children()


def test_an_error_in_migrate_ends_the_helper(tmp_path, monkeypatch, forking):
    import crmkit.link

    def broken(*args, **kwargs):
        raise RuntimeError("matching failed")

    monkeypatch.setattr(crmkit.link, "build_contacts", broken)
    with pytest.raises(RuntimeError, match="matching failed"):
        crmkit.migrate([SRC], tmp_path / "crm.sqlite")
    assert forking and forking[-1] is not None
    assert not _leftovers(tmp_path)
    assert _no_children()


def test_fill_checks_the_rows_line_up(tmp_path):
    bulk = store_mod._BulkFile(tmp_path / "x.sqlite")
    try:
        bulk.execute("BEGIN")
        bulk.create_table("source_rows")
        bulk.load("source_rows", pd.DataFrame({"source_file": ["a.csv", "a.csv"], "source_row": [2, 3]}))
        with pytest.raises(StoreError, match="3 rows to fill in, 2 loaded"):
            bulk.fill("source_rows", pd.DataFrame({"record_id": ["R1", "R2", "R3"]}), ["record_id"])
        bulk.fill("source_rows", pd.DataFrame({"record_id": ["R1", None], "batch_id": ["B", "B"]}),
                  ["record_id", "batch_id"])
        bulk.execute("COMMIT")
    finally:
        bulk.close()
    con = sqlite3.connect(tmp_path / "x.sqlite")
    assert con.execute("SELECT source_row, record_id, batch_id FROM source_rows ORDER BY rowid").fetchall() == [
        (2, "R1", "B"), (3, None, "B")]
    con.close()


def test_a_write_helper_failing_mid_way_leaves_its_tables_to_this_process(tmp_path, monkeypatch, forking):
    """Helpers write one file per table, copied as each is done; a table whose helper died is loaded here."""
    parent = os.getpid()
    real = store_mod._insert

    def flaky(conn, name, df):
        if os.getpid() != parent and name == "lineage":
            raise RuntimeError("helper killed")
        return real(conn, name, df)

    monkeypatch.setattr(store_mod, "_insert", flaky)
    crmkit.migrate([SRC], tmp_path / "parallel.sqlite")
    monkeypatch.setenv("CRMKIT_WRITE_WORKERS", "0")
    crmkit.migrate([SRC], tmp_path / "serial.sqlite")
    assert _dump(tmp_path / "parallel.sqlite") == _dump(tmp_path / "serial.sqlite")
    assert not _leftovers(tmp_path)
    assert _no_children()
