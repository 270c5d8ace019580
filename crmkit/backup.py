"""Backups of a store as one SQLite file, and restoring them, for SQLite and PostgreSQL alike.

A backup is always a plain SQLite file holding every crmkit table, so one format serves both
kinds of store: a SQLite store is copied with SQLite's online backup API (a consistent snapshot,
safe while the app or a migration has the store open); any other store (PostgreSQL) is copied
table by table inside one repeatable-read transaction (also a consistent snapshot).

``restore`` copies a backup into a path or URL in one transaction and refuses to overwrite a
store that holds data unless ``force=True``.

>>> from crmkit.backup import backup, restore
>>> # backup("crm.sqlite", "backups/")                   # -> backups/crm-20240605T101500.sqlite
>>> # restore("backups/crm-20240605T101500.sqlite", "postgresql://me@db/crm")
"""
from __future__ import annotations

import itertools
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from crmkit.errors import StoreError
from crmkit.store import (_INSERTION_ORDER, _INTEGER, _REAL, METADATA, SCHEMA_VERSION, TABLE_COLUMNS, Store, _order_by,
                          is_url)

__all__ = ["backup", "restore"]

_CHUNK = 20_000
_CURSOR_IDS = itertools.count()
# integer primary keys filled by the database: after a restore into PostgreSQL their sequences
# must continue after the restored ids, or the next insert collides with a restored row
_SERIAL = {"decisions": "decision_id", "deal_stage_history": "history_id"}


def backup(store: Store | str | Path, dest_path: str | Path, *, force: bool = False) -> Path:
    """Copy a store (SQLite path, URL or :class:`Store`) into one SQLite backup file; returns its path.

    ``dest_path`` may be a folder: the file is then named after the store and the time. The file is
    written under a temporary name and renamed when complete, and an existing file is only
    replaced with ``force=True``.

    >>> # backup("crm.sqlite", "crm-backup.sqlite")
    """
    store = store if isinstance(store, Store) else Store(store)
    if not store.exists():
        raise StoreError("no crmkit store here to back up", file=store.target,
                         hint="check the path or URL of the store")
    dest = Path(dest_path).expanduser()
    if dest.is_dir():
        stem = store.path.stem if store.is_sqlite else (sa.make_url(store.url).database or "crm")
        dest = dest / f"{stem}-{datetime.now().strftime('%Y%m%dT%H%M%S')}.sqlite"
    if store.is_sqlite and dest.resolve() == store.path.resolve():
        raise StoreError("the backup would overwrite the store itself", file=str(dest),
                         hint="give another file name or a folder")
    if dest.exists() and not force:
        raise StoreError("a file with this name already exists", file=str(dest),
                         hint="choose another name or a folder, or pass force=True (--force) to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")

    def build(conn: sqlite3.Connection) -> None:
        if store.is_sqlite:
            src = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
            try:
                src.backup(conn)  # one step: a consistent snapshot of the committed content
            finally:
                src.close()
        else:
            _copy_sql_to_sqlite(store, conn)

    _write_sqlite_atomically(tmp, dest, build, source=store.target)
    return dest


def restore(backup_path: str | Path, target: str | Path | Store, *, force: bool = False) -> Store:
    """Copy a backup written by :func:`backup` into a SQLite path or a URL, in one transaction.

    A target that already holds data is only overwritten with ``force=True``; its previous content
    is then replaced as a whole (never mixed with the backup's rows). Returns the restored store.

    >>> # restore("crm-backup.sqlite", "crm.sqlite")
    """
    backup_path = Path(backup_path).expanduser()
    _check_backup(backup_path)
    store = target if isinstance(target, Store) else Store(target)
    if store.is_sqlite:
        _restore_sqlite(backup_path, store, force)
    else:
        _restore_sql(backup_path, store, force)
    store.close()
    return store


# -- helpers -------------------------------------------------------------------------------------

def _refuse(store: Store) -> StoreError:
    return StoreError("the target already holds a store; restoring would replace its content",
                      file=store.target,
                      hint="restore into a new path or database, back the target up first, or pass "
                           "force=True (--force) to replace it")


def _check_backup(path: Path) -> None:
    if not path.is_file():
        raise StoreError("no backup file here", file=str(path), hint="give the file written by crmkit backup")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() \
                if "meta" in names else None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"this is not a readable crmkit backup ({exc})", file=str(path),
                         hint="give a .sqlite file written by crmkit backup") from None
    if ok != "ok":
        raise StoreError(f"the backup file is damaged ({ok})", file=str(path),
                         hint="use an older backup; this one fails SQLite's integrity check")
    if version is None:
        raise StoreError("this SQLite file is not a crmkit store (no meta table)", file=str(path),
                         hint="give a .sqlite file written by crmkit backup or crmkit migrate")
    if int(version[0]) > SCHEMA_VERSION:
        raise StoreError(f"the backup has schema version {version[0]}, newer than this crmkit "
                         f"({SCHEMA_VERSION})", file=str(path), hint="upgrade crmkit: pip install -U crmkit")


def _write_sqlite_atomically(tmp: Path, final: Path, build, *, source: str) -> None:
    """Build a SQLite file at ``tmp`` with ``build(conn)``, check it, fsync it and rename it to ``final``."""
    tmp.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(tmp)
        try:
            build(conn)
            conn.commit()
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
        if ok != "ok":  # pragma: no cover - would mean a SQLite or disk fault
            raise StoreError(f"the copy failed SQLite's integrity check ({ok})", file=source)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    except sqlite3.DatabaseError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"could not copy the store: {exc}", file=source,
                         hint="check free disk space and permissions") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _create_schema(conn: sqlite3.Connection, *, indexes: bool = True) -> None:
    """The crmkit schema, in an open sqlite3 connection (DDL compiled by SQLAlchemy's SQLite dialect).

    ``indexes=False`` creates the tables only; :func:`_create_indexes` adds the indexes after a bulk load,
    which is many times faster than updating them row by row.
    """
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateTable

    dialect = sqlite_dialect.dialect()
    for table in METADATA.sorted_tables:
        conn.execute(str(CreateTable(table).compile(dialect=dialect)))
    if indexes:
        _create_indexes(conn)


def _create_indexes(conn: sqlite3.Connection) -> None:
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateIndex

    dialect = sqlite_dialect.dialect()
    for table in METADATA.sorted_tables:
        for index in sorted(table.indexes, key=lambda ix: ix.name):
            conn.execute(str(CreateIndex(index).compile(dialect=dialect)))


def _copy_sql_to_sqlite(store: Store, dst: sqlite3.Connection) -> None:
    """Every crmkit table of a SQL store into an empty SQLite database, from one consistent snapshot.

    The destination is a temporary file nobody else sees (deleted if anything fails, fsynced and checked
    before it is renamed into place), so it is written without a rollback journal, and its indexes are
    built after the rows are in. Rows come in chunks from a server-side cursor straight into sqlite3's
    executemany; the tables whose order matters (see ``store._INSERTION_ORDER``) keep it.
    """
    dst.execute("PRAGMA journal_mode=OFF")
    dst.execute("PRAGMA synchronous=OFF")
    dst.execute("PRAGMA cache_size=-200000")
    _create_schema(dst, indexes=False)
    with store.engine.connect() as src:
        if src.dialect.name == "postgresql":
            src = src.execution_options(isolation_level="REPEATABLE READ")
        with src.begin():
            insp = sa.inspect(src)
            present = set(insp.get_table_names())
            for name, table in METADATA.tables.items():
                if name not in present:
                    continue
                have = {c["name"] for c in insp.get_columns(name)}
                cols = [c for c in TABLE_COLUMNS[name] if c in have]
                sql = f'INSERT INTO "{name}" ({", ".join(_q(c) for c in cols)}) VALUES ({", ".join("?" * len(cols))})'
                query = sa.select(*[table.c[c] for c in cols])
                if name in _INSERTION_ORDER:
                    query = query.order_by(*_order_by(table, src.dialect.name))
                for rows in _fetch_chunks(src, query):
                    dst.executemany(sql, rows)
    _create_indexes(dst)


def _fetch_chunks(conn: sa.Connection, query) -> Iterator[list[tuple]]:
    """The query's rows as lists of tuples, ``_CHUNK`` at a time, without holding the whole table.

    On psycopg 3 a named (server-side) cursor of the DBAPI connection, inside the caller's transaction:
    its fetchmany returns tuples built in C, where SQLAlchemy's streaming would build Row objects first.
    """
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        driver = conn.connection.driver_connection
        with driver.cursor(name=f"crmkit_backup_{next(_CURSOR_IDS)}") as cur:
            cur.itersize = _CHUNK
            cur.execute(sql)
            while rows := cur.fetchmany(_CHUNK):
                yield rows
        return
    result = conn.execution_options(stream_results=True, yield_per=_CHUNK).execute(query)
    for part in result.partitions(_CHUNK):
        yield [tuple(r) for r in part]


def _without_nul(row: tuple) -> tuple:
    """NUL (0x00), which PostgreSQL cannot store in text, as U+FFFD (what a migration into PostgreSQL stores)."""
    return tuple(v.replace("\x00", "\ufffd") if type(v) is str else v for v in row)


def _q(identifier: str) -> str:
    # identifiers come from the fixed schema (TABLE_COLUMNS), never from data
    return '"' + identifier.replace('"', '""') + '"'


def _sqlite_has_data(path: Path) -> bool:
    if not path.exists():
        return False
    if path.stat().st_size == 0:
        return False
    return True


def _restore_sqlite(backup_path: Path, store: Store, force: bool) -> None:
    final = store.path
    if backup_path.resolve() == final.resolve():
        raise StoreError("the backup and the target are the same file", file=str(final))
    if not _sqlite_has_data(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        final.unlink(missing_ok=True)  # an empty file: nothing to lose
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")

        def build(conn: sqlite3.Connection) -> None:
            src = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
            try:
                src.backup(conn)
            finally:
                src.close()

        _write_sqlite_atomically(tmp, final, build, source=str(backup_path))
        return
    if not force:
        raise _refuse(store)
    # Overwrite an existing file through SQLite itself rather than by renaming over it: the online
    # backup API writes the target inside one transaction protected by the target's own journal
    # (a crash rolls it back), waits for other connections' locks, and processes that have the store
    # open see the restored content instead of writing on into an unlinked file. Renaming a new file
    # over it could also pair the new file with a stale -journal/-wal of the old one.
    store.close()
    try:
        src = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
        dst = sqlite3.connect(final, timeout=30)
        try:
            src.backup(dst)
            ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
            src.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"could not restore into the store: {exc}", file=store.target,
                         hint="is the target a SQLite file, and is another program writing to it?") from None
    if ok != "ok":  # pragma: no cover
        raise StoreError(f"the restored store fails SQLite's integrity check ({ok})", file=store.target)


def _restore_sql(backup_path: Path, store: Store, force: bool) -> None:
    """Restore into a server database (PostgreSQL, ...): one transaction, all crmkit tables replaced.

    On PostgreSQL (psycopg 3) the rows go in with COPY, the tables are emptied with TRUNCATE (both
    inside the transaction, so a failure leaves the previous content), and text with NUL (0x00),
    which PostgreSQL cannot store, gets U+FFFD instead, as a migration into PostgreSQL does.
    """
    src = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    try:
        present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        with store.begin() as conn:
            existing = set(sa.inspect(conn).get_table_names())
            holds_data = any(conn.execute(sa.select(sa.literal(1)).select_from(METADATA.tables[n]).limit(1)).first()
                             for n in TABLE_COLUMNS if n in existing)
            if holds_data and not force:
                raise _refuse(store)
            METADATA.create_all(conn, checkfirst=True)
            copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
            if copy:
                conn.exec_driver_sql(f"TRUNCATE {', '.join(_q(n) for n in TABLE_COLUMNS)}")
            else:
                for name in TABLE_COLUMNS:
                    conn.execute(METADATA.tables[name].delete())
            for name, table in METADATA.tables.items():
                if name not in present:
                    continue
                have = {r[1] for r in src.execute(f"PRAGMA table_info({_q(name)})")}
                cols = [c for c in TABLE_COLUMNS[name] if c in have]
                order = " ORDER BY rowid" if name in _INSERTION_ORDER else ""
                cur = src.execute(f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(name)}{order}")
                if copy:
                    text = [c for c in cols if c not in _INTEGER and c not in _REAL]
                    nul = bool(text) and src.execute(  # one scan in SQLite; Python only looks if there is one
                        f"SELECT 1 FROM {_q(name)} WHERE {' OR '.join(f'instr({_q(c)}, char(0))' for c in text)} "
                        f"LIMIT 1").fetchone() is not None
                    sql = f"COPY {_q(name)} ({', '.join(_q(c) for c in cols)}) FROM STDIN"
                    with conn.connection.driver_connection.cursor() as pg, pg.copy(sql) as out:
                        while rows := cur.fetchmany(_CHUNK):
                            for row in (map(_without_nul, rows) if nul else rows):
                                out.write_row(row)
                    continue
                while rows := cur.fetchmany(_CHUNK):
                    conn.execute(table.insert(), [dict(zip(cols, r)) for r in rows])
            if conn.dialect.name == "postgresql":
                for name, col in _SERIAL.items():
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence(:t, :c), "
                        f"COALESCE((SELECT MAX({_q(col)}) FROM {_q(name)}), 0) + 1, false)"),
                        {"t": name, "c": col})
            if "meta" not in present:  # pragma: no cover - _check_backup requires meta
                store.ensure_schema(conn)
    finally:
        src.close()
