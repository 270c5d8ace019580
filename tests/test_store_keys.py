"""A new SQLite store's tables with a text primary key are loaded without the key's b-tree, which is built after the
load (from sorted keys) and made the key's own: the file must be as if the table had been loaded with its key."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

import crmkit.store as store_mod
from crmkit.errors import StoreError
from crmkit.store import Store


@pytest.fixture(params=["1", "0"], ids=["adbc", "sqlite3"])
def loader(request, monkeypatch):
    if request.param == "1":
        pytest.importorskip("adbc_driver_sqlite")
    monkeypatch.setenv("CRMKIT_ADBC", request.param)
    return request.param


def _schema(con) -> list[tuple]:
    return sorted(con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(), key=repr)


@contextmanager
def _loading(path, rows: pd.DataFrame):
    """A new bulk file in a transaction, its contacts table created and loaded with ``rows``; closed after."""
    bulk = store_mod._BulkFile(path)
    try:
        bulk.execute("BEGIN")
        bulk.create_table("contacts")
        bulk.load("contacts", rows)
        yield bulk
    finally:
        bulk.close()


def _contacts(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    ids = [f"C{v:012x}" for v in rng.permutation(n) * 7919]  # random order, as crmkit's hashed ids come
    return pd.DataFrame({"contact_id": pd.array(ids, dtype="str"), "full_name": [f"name {i}" for i in range(n)],
                         "n_records": np.arange(n) % 3})


def test_a_table_loaded_without_its_key_ends_up_as_loaded_with_it(tmp_path, loader):
    frame = _contacts(5000)
    deferred = tmp_path / "deferred.sqlite"
    bulk = store_mod._BulkFile(deferred)
    try:
        bulk.execute("BEGIN")
        bulk.create_table("contacts")
        bulk.load("contacts", frame)
        # during the load: no key b-tree, the table's SQL without its PRIMARY KEY clause
        bulk._cur.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'contacts'")
        during = [r[0] for r in bulk._cur.fetchall()]
        assert len(during) == 1 and "PRIMARY KEY" not in during[0]
        bulk.create_indexes("contacts")
        bulk.execute("COMMIT")
    finally:
        bulk.close()
    # the same table created with its key and filled row by row (sqlite3, key checked for every row)
    plain = sqlite3.connect(tmp_path / "plain.sqlite")
    plain.execute(store_mod._ddl("contacts")[0])
    plain.executemany("INSERT INTO contacts (contact_id, full_name, n_records) VALUES (?, ?, ?)",
                      [(a, b, int(c)) for a, b, c in frame.itertuples(index=False)])
    plain.commit()
    con = sqlite3.connect(deferred)
    try:
        assert _schema(con) == _schema(plain)
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA index_list(contacts)").fetchall() == [(0, "sqlite_autoindex_contacts_1", 1, "pk", 0)]
        rows = "SELECT rowid, typeof(contact_id), contact_id, full_name, typeof(n_records), n_records FROM contacts"
        assert con.execute(rows + " ORDER BY rowid").fetchall() == plain.execute(rows + " ORDER BY rowid").fetchall()
        key = frame["contact_id"].iloc[1234]
        plan = con.execute("EXPLAIN QUERY PLAN SELECT * FROM contacts WHERE contact_id = ?", (key,)).fetchall()
        assert "sqlite_autoindex_contacts_1" in plan[0][-1]
        assert con.execute("SELECT full_name FROM contacts WHERE contact_id = ?", (key,)).fetchall() == [("name 1234",)]
        # the key is the table's: a duplicate is refused, as by a table created with it
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed: contacts.contact_id"):
            con.execute("INSERT INTO contacts (contact_id) VALUES (?)", (key,))
        con.execute("INSERT INTO contacts (contact_id) VALUES ('new')")
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()
        plain.close()


def test_every_text_key_of_a_new_store_is_deferred_and_restored(tmp_path, loader, monkeypatch):
    seen = []
    real = store_mod._BulkFile._restore_key
    monkeypatch.setattr(store_mod._BulkFile, "_restore_key", lambda self, name: (seen.append(name), real(self, name)))
    monkeypatch.setenv("CRMKIT_WRITE_WORKERS", "0")
    tables = {"contacts": _contacts(300), "contact_records": pd.DataFrame({"record_id": ["R2", "R1"], "contact_id": ["C", "C"]}),
              "deals": pd.DataFrame({"deal_id": ["D1"]}), "orders": pd.DataFrame({"order_id": []}),
              "lineage": pd.DataFrame({"contact_id": ["C1"], "field": ["email"]})}
    Store(tmp_path / "crm.sqlite").write(replace=tables, append={"audit_log": pd.DataFrame({"action": ["x"]})})
    assert sorted(seen) == ["contact_records", "contacts", "deals"]  # (orders is empty: created as it is)
    con = sqlite3.connect(tmp_path / "crm.sqlite")
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for name in ("contacts", "contact_records", "deals", "orders", "batches"):
            sql = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()[0]
            assert sql == store_mod._ddl(name)[0].strip()
            assert con.execute(f"PRAGMA index_list({name})").fetchall()[-1][1:] == (f"sqlite_autoindex_{name}_1", 1, "pk", 0)
        assert not con.execute("SELECT name FROM sqlite_master WHERE name LIKE '_crmkit%'").fetchall()
    finally:
        con.close()


def test_a_duplicate_key_is_refused_when_the_key_is_built(tmp_path, loader):
    with _loading(tmp_path / "x.sqlite", pd.DataFrame({"contact_id": ["C2", "C1", "C2"]})) as bulk:
        with pytest.raises(Exception, match="UNIQUE constraint failed: contacts.contact_id") as err:
            bulk.create_indexes("contacts")
        assert store_mod._error_kind(err.value) == "integrity" or "constraint failed" in str(err.value)


def test_a_load_without_its_indexes_is_never_committed(tmp_path, loader):
    with _loading(tmp_path / "x.sqlite", pd.DataFrame({"contact_id": ["C1"]})) as bulk:
        with pytest.raises(StoreError, match="loaded without its primary key"):
            bulk.execute("COMMIT")


def test_a_table_with_rows_already_keeps_its_key_while_loaded(tmp_path, loader):
    bulk = store_mod._BulkFile(tmp_path / "x.sqlite")
    try:
        bulk.execute("BEGIN")
        bulk.create_table("contacts")
        bulk.load("contacts", pd.DataFrame({"contact_id": ["C1"]}))
        bulk.create_indexes("contacts")
        bulk.load("contacts", pd.DataFrame({"contact_id": ["C0", "C2"]}))  # appended: checked row by row
        bulk.create_indexes("contacts")
        bulk.execute("COMMIT")
        with pytest.raises(Exception, match="UNIQUE constraint failed"):
            bulk.load("contacts", pd.DataFrame({"contact_id": ["C2"]}))
    finally:
        bulk.close()
    con = sqlite3.connect(tmp_path / "x.sqlite")
    assert con.execute("SELECT contact_id FROM contacts ORDER BY rowid").fetchall() == [("C1",), ("C0",), ("C2",)]
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()


@pytest.mark.parametrize("values", [
    [None] * 300 + ["late"],                       # the first values all missing: looked at whole
    ["early"] + [None] * 300,
    [None] * 301,
    [np.nan] * 299 + [pd.NA, None],
    ["a"] * 10,
])
def test_columns_without_a_value_are_told_as_before(values):
    s = pd.Series(values, dtype=object)
    assert store_mod._no_value(s) == bool(s.isna().all())
    t = pd.Series(values, dtype="str") if not any(v is pd.NA for v in values) else s
    assert store_mod._no_value(t) == bool(t.isna().all())


def test_a_key_is_kept_during_the_load_where_the_schema_cannot_be_written(tmp_path, loader, monkeypatch):
    """SQLite's defensive mode ignores writable_schema: the table is then loaded with its key, as it was."""
    monkeypatch.setattr(store_mod._BulkFile, "_may_write_schema", lambda self: False)
    bulk = store_mod._BulkFile(tmp_path / "x.sqlite")
    try:
        bulk.execute("BEGIN")
        bulk.create_table("contacts")
        bulk.load("contacts", _contacts(50))
        assert not bulk._keyless
        bulk.create_indexes("contacts")
        bulk.execute("COMMIT")
    finally:
        bulk.close()
    con = sqlite3.connect(tmp_path / "x.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("PRAGMA index_list(contacts)").fetchall() == [(0, "sqlite_autoindex_contacts_1", 1, "pk", 0)]
    con.close()


def test_the_schema_is_writable_here(tmp_path, loader):
    bulk = store_mod._BulkFile(tmp_path / "x.sqlite")
    try:
        assert bulk._may_write_schema()
        bulk._cur.execute("PRAGMA writable_schema")
        assert bulk._cur.fetchall()[0][0] == 0  # (left off)
    finally:
        bulk.close()


def test_a_key_sqlite_does_not_take_as_its_own_is_an_error(tmp_path, loader, monkeypatch):
    """If the schema write did not make the index the key's (here: its rename is skipped), the load stops
    with a StoreError instead of leaving a table whose key SQLite does not know."""
    real = store_mod._BulkFile.execute

    def skip_the_rename(self, sql):
        if not sql.startswith("UPDATE main.sqlite_master SET name"):
            real(self, sql)

    monkeypatch.setattr(store_mod._BulkFile, "execute", skip_the_rename)
    with _loading(tmp_path / "bad.sqlite", _contacts(100)) as bulk:
        with pytest.raises(StoreError, match="primary key was not rebuilt"):
            bulk.create_indexes("contacts")
