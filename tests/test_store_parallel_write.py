"""Proposed for tests/test_store.py: a new SQLite store written with forked helpers equals one written here."""
import sqlite3

import pandas as pd

import crmkit
import crmkit.store as store_mod


def _dump(path):
    con = sqlite3.connect(path)
    out = {"schema": con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        cols = [c[1] for c in con.execute(f'PRAGMA table_info("{name}")') if c[1] not in ("batch_id", "updated_at", "at",
                                                                                          "started_at", "finished_at")]
        if name not in ("batches", "audit_log", "meta"):
            out[name] = con.execute(f'SELECT rowid, {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{name}" '
                                    "ORDER BY rowid").fetchall()
    out["integrity"] = con.execute("PRAGMA integrity_check").fetchall()
    con.close()
    return out


def test_parallel_bulk_load_writes_the_same_store(tmp_path, monkeypatch):
    src = "sample_data"
    monkeypatch.setattr(store_mod, "_PARALLEL_MIN_ROWS", 50)  # every sizeable table goes through the queue
    monkeypatch.setattr(store_mod, "_memory_available", lambda: 1 << 40)  # (a busy test machine forks all the same)
    crmkit.migrate([src], tmp_path / "parallel.sqlite")
    monkeypatch.setenv("CRMKIT_WRITE_WORKERS", "0")
    crmkit.migrate([src], tmp_path / "serial.sqlite")
    a, b = _dump(tmp_path / "parallel.sqlite"), _dump(tmp_path / "serial.sqlite")
    assert a["integrity"] == [("ok",)]
    assert a == b
    assert not [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]  # no part files left behind


def test_no_helper_is_forked_when_memory_is_short(monkeypatch):
    tables = {"lineage": pd.DataFrame({"contact_id": ["C"] * 60}), "source_rows": pd.DataFrame({"raw": ["{}"] * 60}),
              "contacts": pd.DataFrame({"contact_id": [f"C{i}" for i in range(60)]})}
    monkeypatch.setattr(store_mod, "_PARALLEL_MIN_ROWS", 50)
    monkeypatch.delenv("CRMKIT_WRITE_WORKERS", raising=False)
    monkeypatch.setattr(store_mod, "_memory_available", lambda: 1 << 40)
    workers, shared, here = store_mod._parallel_plan(tables)
    if (store_mod.os.cpu_count() or 1) >= 2:
        assert workers == 1 and set(shared) | set(here) == set(tables)
    monkeypatch.setattr(store_mod, "_memory_available", lambda: 1 << 30)
    assert store_mod._parallel_plan(tables) == (0, [], [])
