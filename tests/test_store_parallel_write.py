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
    workers, shared = store_mod._parallel_plan(tables)
    if (store_mod.os.cpu_count() or 1) >= 2:
        assert workers == 1 and set(shared) == set(tables)
    monkeypatch.setattr(store_mod, "_memory_available", lambda: 1 << 30)
    assert store_mod._parallel_plan(tables) == (0, [])


def test_tables_of_python_objects_are_shared_out_too(monkeypatch):
    """contact_records holds its cleaned values as Python objects: a helper may load it (it is the most work
    after lineage at 1M rows); the most work stays first in the queue, for this process to take."""
    records = pd.DataFrame({"record_id": [f"R{i}" for i in range(60)], "first_name": pd.Series(["Ann"] * 60, dtype=object)})
    tables = {"contact_records": records, "lineage": pd.DataFrame({"contact_id": ["C"] * 60})}
    monkeypatch.setattr(store_mod, "_PARALLEL_MIN_ROWS", 50)
    monkeypatch.delenv("CRMKIT_WRITE_WORKERS", raising=False)
    monkeypatch.setattr(store_mod, "_memory_available", lambda: 1 << 40)
    if (store_mod.os.cpu_count() or 1) < 2:
        return
    assert store_mod._parallel_plan(tables) == (1, ["contact_records", "lineage"])


def test_tables_without_a_sorted_key_are_loaded_here(monkeypatch):
    """conflicts, merge_history and review_queue have no index and no text key: copying them from a helper's
    file would cost as much as loading them, so they never go through the queue."""
    monkeypatch.setattr(store_mod, "_PARALLEL_MIN_ROWS", 50)
    monkeypatch.delenv("CRMKIT_WRITE_WORKERS", raising=False)
    monkeypatch.setattr(store_mod, "_memory_available", lambda: 1 << 40)
    if (store_mod.os.cpu_count() or 1) < 2:
        return
    rows = pd.DataFrame({"contact_id": [f"C{i}" for i in range(60)]})
    tables = {name: rows for name in ("conflicts", "merge_history", "review_queue", "contacts", "issues")}
    workers, shared = store_mod._parallel_plan(tables)
    assert workers == 1 and sorted(shared) == ["contacts", "issues"]
    assert store_mod._parallel_plan({n: rows for n in ("conflicts", "merge_history", "contacts")}) == (0, [])


def test_a_new_store_has_16k_pages_and_every_index(tmp_path):
    crmkit.migrate(["sample_data"], tmp_path / "crm.sqlite")
    con = sqlite3.connect(tmp_path / "crm.sqlite")
    try:
        assert con.execute("PRAGMA page_size").fetchone()[0] == 16384
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {ix.name for t in store_mod.METADATA.sorted_tables for ix in t.indexes} <= names
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def test_index_builds_lower_the_page_cache_and_restore_it(tmp_path):
    bulk = store_mod._BulkFile(tmp_path / "x.sqlite")
    try:
        seen = []
        real = bulk.execute
        bulk.execute = lambda sql: (seen.append(sql), real(sql))
        bulk.execute("BEGIN")
        bulk.create_table("lineage")
        bulk.load("lineage", pd.DataFrame({"contact_id": ["C2", "C1"], "field": ["email", "phone"]}))
        bulk.create_indexes("lineage")
        bulk.execute("COMMIT")
        pragmas = [q for q in seen if q.startswith("PRAGMA cache_size")]
        assert pragmas == [f"PRAGMA cache_size=-{store_mod._SORT_CACHE_KIB}", f"PRAGMA cache_size=-{store_mod._CACHE_KIB}"]
        bulk._cur.execute("PRAGMA cache_size")
        assert bulk._cur.fetchall()[0][0] == -store_mod._CACHE_KIB
    finally:
        bulk.close()
