"""backup() and restore(): one SQLite backup format for SQLite and PostgreSQL stores, atomic, no overwrites."""
from __future__ import annotations

import sqlite3
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from crmkit.backup import backup, restore
from crmkit.errors import CrmkitError, StoreError
from crmkit.store import TABLE_COLUMNS, Store

EVIL = "Robert'); DROP TABLE contacts;--"


def _tables(n: int = 50) -> dict[str, pd.DataFrame]:
    ids = [f"C{i}" for i in range(n)]
    return {
        "contacts": pd.DataFrame({"contact_id": ids, "full_name": [f"Name {i} 张伟" for i in range(n - 1)] + [EVIL],
                                  "email": [f"p{i}@example.com" for i in range(n)], "n_sources": range(n)}),
        "source_rows": pd.DataFrame({"source_file": "a.csv", "source_sheet": "", "source_row": range(2, n + 2),
                                     "entity": "contact", "record_id": ids,
                                     "raw": [f'{{"Name": "x{i}"}}' for i in range(n)]}),
        "deals": pd.DataFrame({"deal_id": ["D1", "D2"], "amount": [1234.5, None], "contact_id": ["C1", "C2"]}),
        "decisions": pd.DataFrame({"decision_id": [1, 2], "kind": ["merge", "keep_apart"]}),
        "deal_stage_history": pd.DataFrame({"history_id": [1, 7], "deal_id": ["D1", "D1"]}),
    }


def _snapshot(store: Store) -> dict[str, pd.DataFrame]:
    out = {}
    for name in TABLE_COLUMNS:
        df = store.read_table(name)
        sort = [c for c in df.columns if c not in ("raw",)][:3]
        out[name] = df.sort_values(sort).reset_index(drop=True) if len(df) else df
    return out


def _assert_same(a: Store, b: Store) -> None:
    sa_, sb = _snapshot(a), _snapshot(b)
    for name in TABLE_COLUMNS:
        pd.testing.assert_frame_equal(sa_[name], sb[name], check_dtype=False, obj=name)


@pytest.fixture()
def sqlite_store(tmp_path) -> Store:
    store = Store(tmp_path / "crm.sqlite")
    store.write(replace=_tables())
    return store


def test_sqlite_backup_and_restore_round_trip(sqlite_store, tmp_path):
    dest = backup(sqlite_store, tmp_path / "bk" / "b.sqlite")
    assert dest.exists() and not list(dest.parent.glob(".*tmp*"))
    restored = restore(dest, tmp_path / "restored.sqlite")
    _assert_same(sqlite_store, restored)
    assert restored.change_counter() == sqlite_store.change_counter() == 1


def test_backup_into_a_folder_names_the_file(sqlite_store, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    dest = backup(sqlite_store.target, folder)
    assert dest.parent == folder and dest.name.startswith("crm-") and dest.suffix == ".sqlite"


def test_backup_is_consistent_while_the_store_is_open(sqlite_store, tmp_path):
    # an open connection in the middle of a write transaction: the backup sees the committed content only
    conn = sqlite3.connect(sqlite_store.path, timeout=10)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM contacts")
    done = {}
    t = threading.Thread(target=lambda: done.setdefault("path", backup(sqlite_store, tmp_path / "b.sqlite")))
    t.start()
    t.join(timeout=1)
    conn.rollback()  # let the backup run if it waited for the write lock
    t.join(timeout=30)
    conn.close()
    assert "path" in done
    assert len(Store(done["path"]).read_table("contacts")) == 50


def test_backup_refuses_to_overwrite_and_missing_store(sqlite_store, tmp_path):
    dest = backup(sqlite_store, tmp_path / "b.sqlite")
    with pytest.raises(StoreError, match="already exists.*force"):
        backup(sqlite_store, dest)
    assert backup(sqlite_store, dest, force=True) == dest
    with pytest.raises(StoreError, match="overwrite the store itself"):
        backup(sqlite_store, sqlite_store.path, force=True)
    with pytest.raises(StoreError, match="no crmkit store here"):
        backup(tmp_path / "missing.sqlite", tmp_path / "x.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()


def test_restore_refuses_a_non_empty_target_unless_forced(sqlite_store, tmp_path):
    dest = backup(sqlite_store, tmp_path / "b.sqlite")
    other = Store(tmp_path / "other.sqlite")
    other.write(replace={"contacts": pd.DataFrame({"contact_id": ["X1"]})})
    with pytest.raises(CrmkitError, match=r"other\.sqlite.*already holds a store.*hint: .*force=True"):
        restore(dest, other.target)
    assert other.read_table("contacts")["contact_id"].tolist() == ["X1"]
    restore(dest, other.target, force=True)
    _assert_same(sqlite_store, other)


def test_restore_into_an_open_store_is_seen_by_its_readers(sqlite_store, tmp_path):
    dest = backup(sqlite_store, tmp_path / "b.sqlite")
    other = Store(tmp_path / "other.sqlite")
    other.write(replace={"contacts": pd.DataFrame({"contact_id": ["X1"]})})
    assert len(other.read_table("contacts")) == 1  # engine (connection pool) stays open
    restore(dest, tmp_path / "other.sqlite", force=True)
    assert len(other.read_table("contacts")) == 50


def test_restore_rejects_bad_backups(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="junk.sqlite.*not a readable crmkit backup"):
        restore(junk, tmp_path / "t.sqlite")
    plain = tmp_path / "plain.sqlite"
    sqlite3.connect(plain).execute("CREATE TABLE x(a)").connection.commit()
    with pytest.raises(StoreError, match="not a crmkit store"):
        restore(plain, tmp_path / "t.sqlite")
    with pytest.raises(StoreError, match="no backup file here"):
        restore(tmp_path / "nope.sqlite", tmp_path / "t.sqlite")
    assert not (tmp_path / "t.sqlite").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.sqlite", "plain.sqlite"]


def test_truncated_backup_is_refused_and_target_untouched(sqlite_store, tmp_path):
    dest = backup(sqlite_store, tmp_path / "b.sqlite")
    data = dest.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError):
        restore(dest, sqlite_store.target, force=True)
    assert len(sqlite_store.read_table("contacts")) == 50


# -- PostgreSQL -----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_postgres_backup_and_restore(sqlite_store, pg_db, tmp_path):
    pg = Store(pg_db)
    pg.write(replace=_tables())
    try:
        dest = backup(pg, tmp_path / "pg.sqlite")
        # the backup is a SQLite crmkit store with the same content
        _assert_same(pg, Store(dest))
        # PostgreSQL backup -> SQLite store and SQLite backup -> PostgreSQL database
        _assert_same(pg, restore(dest, tmp_path / "from_pg.sqlite"))
        with pytest.raises(StoreError, match="already holds a store"):
            restore(backup(sqlite_store, tmp_path / "s.sqlite"), pg_db)
        restore(tmp_path / "s.sqlite", pg_db, force=True)
        _assert_same(sqlite_store, pg)
        # sequences continue after the restored ids
        with pg.begin() as conn:
            new_id = conn.execute(sa.text("INSERT INTO decisions (kind) VALUES ('x') RETURNING decision_id")).scalar()
            hist = conn.execute(sa.text("INSERT INTO deal_stage_history (deal_id) VALUES ('D2') "
                                        "RETURNING history_id")).scalar()
        assert new_id == 3 and hist == 8
    finally:
        pg.close()


@pytest.mark.postgres
def test_postgres_restore_is_one_transaction(pg_db, tmp_path):
    """A restore that fails halfway (here: a duplicate primary key in a doctored backup) changes nothing."""
    pg = Store(pg_db)
    pg.write(replace={"contacts": pd.DataFrame({"contact_id": ["KEEP"]})})
    src = Store(tmp_path / "s.sqlite")
    src.write(replace=_tables())
    src.close()
    dest = backup(src, tmp_path / "b.sqlite")
    conn = sqlite3.connect(dest)  # drop the primary key so the backup can hold a duplicate
    conn.executescript("CREATE TABLE o AS SELECT * FROM orders; DROP TABLE orders; ALTER TABLE o RENAME TO orders;"
                       "INSERT INTO orders (order_id) VALUES ('O1'), ('O1');")
    conn.close()
    with pytest.raises(Exception):
        restore(dest, pg_db, force=True)
    assert pg.read_table("contacts")["contact_id"].tolist() == ["KEEP"]
    assert pg.read_table("source_rows").empty
    pg.close()


TRICKY = ["", "\\N", "NULL", "a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "tab\tx", "\\.", " padded ", "张伟 🙂",
          "x" * 200_000, None]


def _tricky_tables() -> dict[str, pd.DataFrame]:
    n = len(TRICKY)
    return {
        "contacts": pd.DataFrame({"contact_id": [f"C{i:02d}" for i in range(n)], "full_name": TRICKY,
                                  "n_sources": [1, None] * (n // 2) + [3], "n_records": range(n)}),
        "deals": pd.DataFrame({"deal_id": ["D1", "D2", "D3"], "amount": [0.1 + 0.2, None, 1e300],
                               "probability": [None, None, None]}),
        # written in this order; read back in it (the matcher depends on it), not sorted by id
        "contact_records": pd.DataFrame({"record_id": [f"R{i}" for i in (5, 1, 9, 3, 7) * 20],
                                         "contact_id": range(100)}).drop_duplicates("record_id").assign(
            record_id=lambda d: [f"R{k}-{j}" for j, k in enumerate(d["record_id"])]),
    }


@pytest.mark.postgres
def test_postgres_reads_are_the_same_as_row_fetches(pg_db):
    """read_table on PostgreSQL (COPY ... TO STDOUT parsed by pyarrow) returns what fetching rows returns:
    NULL apart from '', quotes, newlines, 200 kB values, integers with NULLs, all-NULL columns, dtypes, order."""
    import crmkit.store as store_mod

    pg = Store(pg_db)
    try:
        pg.write(replace=_tricky_tables())
        for name in ("contacts", "deals", "contact_records", "orders"):
            fast = pg.read_table(name)
            with pg._reading() as conn:
                t = store_mod._t(name)
                result = conn.execute(sa.select(t).order_by(*store_mod._order_by(t, "postgresql")))
                rows = pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()))
            pd.testing.assert_frame_equal(fast, rows, obj=name)
        contacts = pg.read_table("contacts")
        assert contacts["full_name"].iloc[0] == "" and pd.isna(contacts["full_name"].iloc[-1])
        assert contacts["full_name"].tolist()[:-1] == TRICKY[:-1]
        assert pg.read_table("deals")["amount"].iloc[0] == 0.1 + 0.2
    finally:
        pg.close()


@pytest.mark.postgres
def test_postgres_backup_keeps_values_and_insertion_order(pg_db, tmp_path):
    pg = Store(pg_db)
    try:
        pg.write(replace=_tricky_tables())
        dest = backup(pg, tmp_path / "b.sqlite")
        copy = Store(dest)
        for name in ("contacts", "deals", "contact_records"):
            pd.testing.assert_frame_equal(copy.read_table(name), pg.read_table(name), check_dtype=False, obj=name)
        copy.close()
        with sqlite3.connect(dest) as conn:  # indexes are there (built after the load)
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "ix_source_rows_0" in names and "ix_contact_records_0" in names
    finally:
        pg.close()


@pytest.mark.postgres
def test_restore_into_postgres_replaces_nul_and_keeps_order(pg_db, tmp_path):
    """A SQLite backup may hold NUL (0x00), which PostgreSQL cannot store: it arrives as U+FFFD, as in a
    migration; rows of insertion-ordered tables keep their order; the old content is replaced as a whole."""
    lite = Store(tmp_path / "s.sqlite")
    tables = _tricky_tables()
    tables["contacts"].loc[1, "full_name"] = "Ann\x00Lee"
    lite.write(replace=tables)
    lite.close()
    dest = backup(lite, tmp_path / "b.sqlite")
    pg = Store(pg_db)
    try:
        pg.write(replace={"contacts": pd.DataFrame({"contact_id": ["OLD"]})})
        restore(dest, pg_db, force=True)
        contacts = pg.read_table("contacts")
        assert "OLD" not in set(contacts["contact_id"]) and len(contacts) == len(TRICKY)
        assert contacts["full_name"].iloc[1] == "Ann\ufffdLee"
        assert pg.read_table("contact_records")["record_id"].tolist() == \
            Store(dest).read_table("contact_records")["record_id"].tolist()
    finally:
        pg.close()
