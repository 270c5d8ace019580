"""The SQL store: schema, round trips, atomic writes, identifiers never built from data."""
from __future__ import annotations

import os

import pandas as pd
import pytest
import sqlalchemy as sa

from crmkit.errors import StoreError
from crmkit.store import TABLE_COLUMNS, Store, open_store, read_store


def _contacts():
    return pd.DataFrame({
        "contact_id": ["C1", "C2", "C3"],
        "full_name": ["张伟", "Robert O'Brien", "=HYPERLINK(\"http://evil\")"],
        "email": ["zhang.wei@example.cn", None, "x@example.com"],
        "phone": ["+8613800138000", "+14155550123", None],
        "n_sources": [1, 3, 1],
    })


def test_write_and_read_back(tmp_path):
    store = Store(tmp_path / "crm.sqlite")
    assert not store.exists()
    store.write(replace={"contacts": _contacts()})
    assert store.exists()
    back = store.read_table("contacts")
    assert list(back.columns) == TABLE_COLUMNS["contacts"]
    assert back["full_name"].tolist() == ["张伟", "Robert O'Brien", "=HYPERLINK(\"http://evil\")"]
    assert back["n_sources"].tolist() == [1, 3, 1]
    assert pd.isna(back.loc[1, "email"])
    assert store.change_counter() == 1
    store.write(append={"contacts": pd.DataFrame({"contact_id": ["C4"]})})
    assert store.change_counter() == 2
    assert len(store.read_table("contacts")) == 4
    assert set(read_store(tmp_path / "crm.sqlite")) >= {"contacts", "source_rows", "issues", "deals", "orders"}


def test_new_store_is_not_left_half_written(tmp_path):
    path = tmp_path / "crm.sqlite"
    bad = pd.DataFrame({"contact_id": ["C1", "C1"]})  # violates the primary key halfway through the write
    with pytest.raises(Exception):
        Store(path).write(replace={"contacts": _contacts(), "contact_records": pd.DataFrame({"record_id": ["r"]}),
                                   "deals": pd.DataFrame({"deal_id": ["D1", "D1"]})})
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
    del bad


def test_failed_write_keeps_previous_store(tmp_path):
    path = tmp_path / "crm.sqlite"
    store = Store(path)
    store.write(replace={"contacts": _contacts()})
    with pytest.raises(Exception):
        store.write(replace={"contacts": pd.DataFrame({"contact_id": ["N1"]}),
                             "deals": pd.DataFrame({"deal_id": ["D1", "D1"]})})
    assert store.read_table("contacts")["contact_id"].tolist() == ["C1", "C2", "C3"]
    assert store.change_counter() == 1


def test_values_that_look_like_sql_are_stored_as_values(tmp_path):
    store = Store(tmp_path / "crm.sqlite")
    evil = "Robert'); DROP TABLE contacts;--"
    store.write(replace={"contacts": pd.DataFrame({"contact_id": ["C1"], "full_name": [evil]}),
                         "extra_fields": pd.DataFrame({"entity": ["contact"], "record_id": ["C1"],
                                                       "field": ['"; DELETE FROM contacts; --'],
                                                       "value": [evil]})})
    assert store.read_table("contacts")["full_name"].tolist() == [evil]
    assert store.read_table("extra_fields")["field"].tolist() == ['"; DELETE FROM contacts; --']


def test_errors_name_the_store_and_the_fix(tmp_path):
    with pytest.raises(StoreError, match="no crmkit store here.*crmkit migrate"):
        open_store(tmp_path / "missing.sqlite")
    store = Store(tmp_path / "crm.sqlite")
    store.write(replace={"contacts": _contacts()})
    with pytest.raises(StoreError, match="unknown table 'people'"):
        store.read_table("people")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store("nosuchdialect://x/y").engine


def test_url_and_schema_are_sqlalchemy(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.ensure_schema()
    insp = sa.inspect(store.engine)
    assert set(TABLE_COLUMNS) <= set(insp.get_table_names())
    assert [c["name"] for c in insp.get_columns("source_rows")][:6] == [
        "source_file", "source_sheet", "source_row", "entity", "record_id", "raw"]


def test_a_write_based_on_a_stale_read_is_refused(tmp_path):
    """Lost update: A reads, B writes, A writes what it computed from its old read -> StoreError, B kept."""
    path = tmp_path / "crm.sqlite"
    Store(path).write(replace={"contacts": _contacts()})
    a, b = Store(path), Store(path)
    seen = a.read_table("contacts")
    assert a.seen_counter == 1
    b.read_table("contacts")
    b.write(append={"contacts": pd.DataFrame({"contact_id": ["B1"]})})
    with pytest.raises(StoreError, match="the store changed while this migration ran .*run it again"):
        a.write(replace={"contacts": seen})
    assert "B1" in set(Store(path).read_table("contacts")["contact_id"])
    # after reading again, A may write; an explicit expect_counter=None skips the check
    a.write(replace={"contacts": a.read_table("contacts")})
    with pytest.raises(StoreError, match="changed"):
        a.write(append={"audit_log": pd.DataFrame({"action": ["x"]})}, expect_counter=0)
    a.write(append={"audit_log": pd.DataFrame({"action": ["x"]})}, expect_counter=None)


def test_unchanged_tables_are_not_rewritten(tmp_path, monkeypatch):
    import crmkit.store as store_mod

    path = tmp_path / "crm.sqlite"
    Store(path).write(replace={"contacts": _contacts(), "deals": pd.DataFrame({"deal_id": ["D1"]})})
    store = Store(path)
    tables = store.read_tables(["contacts", "deals"])
    written = []
    real_insert = store_mod._insert
    monkeypatch.setattr(store_mod, "_insert", lambda conn, name, df: (written.append(name), real_insert(conn, name, df)))
    # same content in another row order and dtype: nothing to rewrite; the counter still moves
    store.write(replace={"contacts": tables["contacts"].iloc[::-1].astype(object), "deals": tables["deals"]})
    assert written == [] and store.change_counter() == 2
    changed = tables["contacts"].assign(full_name=["A", "B", "C"])
    store.write(replace={"contacts": changed, "deals": tables["deals"]})
    assert written == ["contacts"]
    assert Store(path).read_table("contacts")["full_name"].tolist() == ["A", "B", "C"]


def test_pairs_are_stored_one_way_round_and_tables_read_in_key_order(tmp_path):
    store = Store(tmp_path / "crm.sqlite")
    store.write(replace={
        "review_queue": pd.DataFrame({"pair_id": [2, 1], "record_id_l": ["R9", "R1"], "record_id_r": ["R2", "R3"],
                                      "contact_id_l": ["C9", "C1"], "contact_id_r": ["C2", "C3"]}),
        "match_pairs": pd.DataFrame({"record_id_l": ["R9", "R5"], "record_id_r": ["R2", "X1"],
                                     "decision": ["review", "link"]}),
        "decisions": pd.DataFrame({"kind": ["never", "edit"], "record_id_l": ["R8", "R7"], "record_id_r": ["R4", None]}),
        "issues": pd.DataFrame({"source_file": ["b.csv", "a.csv", "a.csv"], "source_row": [2, 9, 3]}),
    })
    rq = store.read_table("review_queue")
    assert rq[["pair_id", "record_id_l", "record_id_r", "contact_id_l", "contact_id_r"]].values.tolist() == [
        [1, "R1", "R3", "C1", "C3"], [2, "R2", "R9", "C2", "C9"]]
    mp = store.read_table("match_pairs")
    assert mp[["record_id_l", "record_id_r"]].values.tolist() == [["R2", "R9"], ["R5", "X1"]]  # a link keeps its way
    d = store.read_table("decisions")
    assert d["record_id_l"].tolist() == ["R4", "R7"] and d["record_id_r"].iloc[0] == "R8"
    assert d["record_id_r"].isna().iloc[1]
    assert store.read_table("issues")[["source_file", "source_row"]].values.tolist() == [
        ["a.csv", 3], ["a.csv", 9], ["b.csv", 2]]


def test_database_errors_become_store_errors_with_a_fix(tmp_path):
    store = Store(tmp_path / "crm.sqlite")
    store.write(replace={"contacts": _contacts()})
    with pytest.raises(StoreError, match="breaks a key or constraint.*hint: nothing was written"):
        store.write(replace={"deals": pd.DataFrame({"deal_id": ["D1", "D1"]})})
    with pytest.raises(StoreError, match="cannot connect to the database.*hint: check the URL") as info:
        Store("postgresql://me:secret@127.0.0.1:1/nodb").write(replace={"contacts": _contacts()})
    assert "secret" not in str(info.value)


def test_stale_temp_files_of_killed_writers_are_removed(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    path = tmp_path / "crm.sqlite"
    stale = tmp_path / f".crm.sqlite.tmp-{dead_pid}"
    live = tmp_path / f".crm.sqlite.tmp-{os.getppid()}"  # a running process: may still be writing
    other = tmp_path / f".other.sqlite.tmp-{dead_pid}"
    for p in (stale, live, other):
        p.write_bytes(b"half written")
    Store(path).write(replace={"contacts": _contacts()})
    assert not stale.exists() and live.exists() and other.exists()
    assert Store(path).read_table("contacts")["contact_id"].tolist() == ["C1", "C2", "C3"]


def test_new_store_is_not_replaced_by_a_concurrent_creator(tmp_path, monkeypatch):
    """Two writers create the same new file: the second does not silently replace the first."""
    import crmkit.store as store_mod

    path = tmp_path / "crm.sqlite"
    real = store_mod._publish

    def publish(tmp, final, target):
        if not final.exists():  # the other writer wins the race
            monkeypatch.setattr(store_mod, "_publish", real)
            Store(path).write(replace={"contacts": pd.DataFrame({"contact_id": ["FIRST"]})})
        return real(tmp, final, target)

    monkeypatch.setattr(store_mod, "_publish", publish)
    with pytest.raises(StoreError, match="changed"):
        Store(path).write(replace={"contacts": _contacts()})
    assert Store(path).read_table("contacts")["contact_id"].tolist() == ["FIRST"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.sqlite"]


def test_reads_hash_nothing_and_a_changed_read_frame_is_still_written(tmp_path, monkeypatch):
    """Reads do not hash tables (only a later write that may skip an unchanged table does), and changing
    the frame a read returned, in place, never makes that write think the table is unchanged."""
    import crmkit.store as store_mod

    path = tmp_path / "crm.sqlite"
    Store(path).write(replace={"contacts": _contacts()})
    calls = []
    real = store_mod._fingerprint
    monkeypatch.setattr(store_mod, "_fingerprint", lambda df, name, sqlite: (calls.append(name), real(df, name, sqlite))[1])
    store = Store(path)
    contacts = store.read_table("contacts")
    store.read_tables(["contacts", "deals", "source_rows"])
    assert calls == []
    contacts = store.read_table("contacts")
    contacts.loc[0, "full_name"] = "Changed in place"  # the store still holds the old value
    contacts["email"] = contacts["email"].fillna("new@example.com")
    store.write(replace={"contacts": contacts})
    assert calls  # the write compared content
    back = Store(path).read_table("contacts")
    assert back["full_name"].iloc[0] == "Changed in place" and back["email"].tolist()[1] == "new@example.com"


def test_read_table_types_and_nulls(tmp_path):
    """Text as pandas' string dtype (NaN for NULL), INTEGER as int64 (float64 with NULLs), REAL as float64,
    columns without any value as object None: the same as building the frame from fetched rows."""
    store = Store(tmp_path / "crm.sqlite")
    store.write(replace={"contacts": _contacts().assign(n_records=[1, None, 2]),
                         "deals": pd.DataFrame({"deal_id": ["D1", "D2"], "amount": [1.5, None], "name": ["", None]})})
    contacts = store.read_table("contacts")
    assert contacts["n_sources"].dtype == "int64" and contacts["n_records"].dtype == "float64"
    assert contacts["salutation"].dtype == object and contacts["salutation"].isna().all()
    assert pd.api.types.is_string_dtype(contacts["email"]) and pd.isna(contacts["email"].iloc[1])
    deals = store.read_table("deals")
    assert deals["amount"].dtype == "float64" and deals["name"].iloc[0] == "" and pd.isna(deals["name"].iloc[1])
    assert store.read_table("orders").empty and list(store.read_table("orders").columns) == TABLE_COLUMNS["orders"]
