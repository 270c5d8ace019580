"""The crmkit store: one SQL database (SQLite file by default, any SQLAlchemy URL) with a stable schema.

Every write is one transaction, so a failed or killed migration leaves the previous store intact;
a brand-new SQLite file is written under a temporary name and renamed into place at the end.

>>> from crmkit.store import Store
>>> store = Store("crm.sqlite")            # or Store("postgresql+psycopg://user@host/db")
>>> # contacts = store.read_table("contacts")
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import pandas as pd
import sqlalchemy as sa

from crmkit.errors import StoreError
from crmkit.schema import CONTACT, DEAL_COLUMNS, ORDER_COLUMNS

SCHEMA_VERSION = 1

_CONTACT_FIELDS = CONTACT.field_names + ["company_key", "phone_ext"]
_PROVENANCE = ["source_file", "source_sheet", "source_row"]

# table -> ordered columns; types below (default TEXT). This is the public contract documented in the README.
TABLE_COLUMNS: dict[str, list[str]] = {
    "contacts": ["contact_id"] + _CONTACT_FIELDS + ["emails", "phones", "n_records", "n_sources", "updated_at"],
    "contact_records": ["record_id", "contact_id", "batch_id"] + _CONTACT_FIELDS + _PROVENANCE,
    "source_rows": _PROVENANCE + ["entity", "record_id", "raw", "source_record_id", "source_path",
                                  "batch_id"],
    "issues": _PROVENANCE + ["column", "value", "problem", "entity", "batch_id"],
    "deals": DEAL_COLUMNS + ["customer_record_id", "batch_id"] + _PROVENANCE,
    "orders": ORDER_COLUMNS + ["customer_record_id", "batch_id"] + _PROVENANCE,
    "extra_fields": ["entity", "record_id", "field", "value"] + _PROVENANCE,
    "batches": ["batch_id", "started_at", "finished_at", "actor", "inputs", "mapping", "settings",
                "summary", "status"],
    # matching and merging
    "match_pairs": ["record_id_l", "record_id_r", "contact_id_l", "contact_id_r", "match_weight",
                    "match_probability", "decision", "explanation", "batch_id"],
    "review_queue": ["pair_id", "record_id_l", "record_id_r", "contact_id_l", "contact_id_r",
                     "match_probability", "status", "decided_at", "actor"],
    "decisions": ["decision_id", "kind", "record_id_l", "record_id_r", "contact_id", "field", "value",
                  "decided_at", "actor", "note"],
    "lineage": ["contact_id", "field", "value", "rule"] + _PROVENANCE,
    "contact_values": ["contact_id", "field", "value", "is_primary"] + _PROVENANCE,
    "conflicts": ["contact_id", "field", "values", "chosen", "rule"],
    "merge_history": ["at", "action", "contact_id", "into_contact_id", "record_ids", "actor", "batch_id"],
    # analytics and audit
    "deal_stage_history": ["history_id", "deal_id", "from_stage", "to_stage", "changed_at", "actor"],
    "audit_log": ["at", "actor", "action", "entity", "record_id", "detail"],
    "meta": ["key", "value"],
}

_INTEGER = {"source_row", "n_sources", "n_records", "history_id", "pair_id", "decision_id", "is_primary"}
_REAL = {"amount", "probability", "quantity", "match_weight", "match_probability"}
_PRIMARY = {"contacts": "contact_id", "contact_records": "record_id", "deals": "deal_id", "orders": "order_id",
            "batches": "batch_id", "meta": "key"}
_INDEXES = {
    "source_rows": [("source_file", "source_sheet", "source_row"), ("record_id",), ("source_record_id",)],
    "contact_records": [("contact_id",)],
    "issues": [("source_file", "source_sheet", "source_row")],
    "deals": [("contact_id",)],
    "orders": [("contact_id",)],
    "extra_fields": [("record_id",)],
    "lineage": [("contact_id",)],
    "contact_values": [("contact_id",), ("value",)],
    "match_pairs": [("record_id_l",), ("record_id_r",)],
    "deal_stage_history": [("deal_id",)],
}


def _build_metadata() -> sa.MetaData:
    md = sa.MetaData()
    for name, cols in TABLE_COLUMNS.items():
        columns = []
        for c in cols:
            typ = sa.Integer if c in _INTEGER else sa.Float if c in _REAL else sa.Text
            if name == "deal_stage_history" and c == "history_id":
                columns.append(sa.Column(c, sa.Integer, primary_key=True, autoincrement=True))
            elif name == "decisions" and c == "decision_id":
                columns.append(sa.Column(c, sa.Integer, primary_key=True, autoincrement=True))
            else:
                columns.append(sa.Column(c, typ, primary_key=_PRIMARY.get(name) == c))
        t = sa.Table(name, md, *columns)
        for i, idx in enumerate(_INDEXES.get(name, [])):
            sa.Index(f"ix_{name}_{i}", *[t.c[c] for c in idx])
    return md


METADATA = _build_metadata()


def is_url(target: str | Path) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+]*://", str(target)))


def to_url(target: str | Path) -> str:
    """A SQLAlchemy URL for a path (``.sqlite``/``.db``) or a URL given as is."""
    if is_url(target):
        url = str(target)
        if url.startswith("postgresql://"):  # prefer psycopg 3, the maintained driver
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    return f"sqlite:///{Path(target).expanduser().resolve()}"


def _frame_rows(df: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """DataFrame -> list of tuples of plain Python scalars, None for missing values."""
    if df.empty:
        return []
    sub = df.reindex(columns=columns)
    out_cols = []
    for c in columns:
        s = sub[c]
        if c in _REAL or c in _INTEGER:
            vals = pd.to_numeric(s, errors="coerce").astype("float64").tolist()
            cast = int if c in _INTEGER else float
            col = [None if v != v else cast(v) for v in vals]
        else:
            mask = s.isna().tolist()
            vals = s.astype(object).tolist()
            col = [None if m else (v if type(v) is str else str(v)) for v, m in zip(vals, mask)]
        out_cols.append(col)
    return list(zip(*out_cols))


class Store:
    """A crmkit store at a path or SQLAlchemy URL.

    >>> store = Store("crm.sqlite")
    >>> # store.read_table("contacts").head()
    """

    def __init__(self, target: str | Path):
        self.target = str(target)
        self.url = to_url(target)
        self._engine: sa.Engine | None = None

    # -- connection ---------------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def path(self) -> Path | None:
        return Path(self.url[len("sqlite:///"):]) if self.is_sqlite else None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = _make_engine(self.url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __repr__(self) -> str:
        return f"Store({self.target!r})"

    def exists(self) -> bool:
        """True when the store holds a crmkit schema."""
        if self.is_sqlite and not self.path.exists():
            return False
        try:
            return sa.inspect(self.engine).has_table("meta")
        except sa.exc.SQLAlchemyError:
            return False

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A transaction: everything inside commits together or not at all."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreError(f"the database refused the operation: {exc.orig}", file=self.target,
                             hint="check the path/URL, permissions and free disk space") from None

    def ensure_schema(self, conn: sa.Connection | None = None) -> None:
        """Create missing tables and indexes (never drops or alters existing ones)."""
        if conn is None:
            with self.begin() as c:
                return self.ensure_schema(c)
        METADATA.create_all(conn, checkfirst=True)
        if conn.execute(sa.select(_t("meta").c.value).where(_t("meta").c.key == "schema_version")).first() is None:
            conn.execute(_t("meta").insert(), [{"key": "schema_version", "value": str(SCHEMA_VERSION)},
                                               {"key": "change_counter", "value": "0"}])

    # -- reading ------------------------------------------------------------------------------
    def tables(self) -> list[str]:
        return [t for t in sa.inspect(self.engine).get_table_names() if t in TABLE_COLUMNS]

    def read_table(self, name: str, *, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """One table as a DataFrame (``where`` filters by equality on columns)."""
        if name not in TABLE_COLUMNS:
            raise StoreError(f"unknown table {name!r}", file=self.target,
                             hint=f"tables are: {', '.join(TABLE_COLUMNS)}")
        if not self.exists():
            raise StoreError("no crmkit store here", file=self.target,
                             hint="create one with `crmkit migrate FILES --out " + self.target + "`")
        t = _t(name)
        q = sa.select(t)
        for col, value in (where or {}).items():
            q = q.where(t.c[col] == value)
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(name):
                return pd.DataFrame(columns=TABLE_COLUMNS[name])
            result = conn.execute(q)
            cols = list(result.keys())
            df = pd.DataFrame([tuple(r) for r in result], columns=cols)
        return df

    def change_counter(self) -> int:
        """Increases with every write: the app keys its caches on it."""
        if not self.exists():
            return -1
        with self.engine.connect() as conn:
            v = conn.execute(sa.select(_t("meta").c.value).where(_t("meta").c.key == "change_counter")).scalar()
        return int(v or 0)

    # -- writing ------------------------------------------------------------------------------
    def write(self, replace: Mapping[str, pd.DataFrame] | None = None,
              append: Mapping[str, pd.DataFrame] | None = None,
              *, progress=None) -> None:
        """In one transaction: replace the content of some tables and append rows to others.

        A new SQLite file is built under a temporary name and renamed into place, so a crash never
        leaves a half-written store behind.
        """
        replace, append = dict(replace or {}), dict(append or {})
        for name in [*replace, *append]:
            if name not in TABLE_COLUMNS:
                raise StoreError(f"unknown table {name!r}", file=self.target)
        if self.is_sqlite and not self.path.exists():
            self._write_new_sqlite(replace, append, progress)
            return
        with self.begin() as conn:
            self._write(conn, replace, append, progress)

    def _write_new_sqlite(self, replace, append, progress) -> None:
        final = self.path
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        engine = _make_engine(f"sqlite:///{tmp}")
        try:
            with engine.begin() as conn:
                self._write(conn, replace, append, progress)
            engine.dispose()
            os.replace(tmp, final)
        except BaseException:
            engine.dispose()
            tmp.unlink(missing_ok=True)
            raise
        self.close()

    def _write(self, conn: sa.Connection, replace, append, progress) -> None:
        self.ensure_schema(conn)
        for name, df in replace.items():
            conn.execute(_t(name).delete())
            _insert(conn, name, df)
            if progress:
                progress(name)
        for name, df in append.items():
            _insert(conn, name, df)
            if progress:
                progress(name)
        touch(conn)

    def execute(self, conn: sa.Connection, table: str, rows: list[dict]) -> None:
        """Insert dict rows into a table inside an open transaction."""
        if rows:
            conn.execute(_t(table).insert(), rows)


def touch(conn: sa.Connection) -> None:
    """Bump the store's change counter inside an open transaction (caches key on it)."""
    meta = _t("meta")
    if not sa.inspect(conn).has_table("meta"):
        return
    current = conn.execute(sa.select(meta.c.value).where(meta.c.key == "change_counter")).scalar()
    if current is None:
        conn.execute(meta.insert().values(key="change_counter", value="1"))
    else:
        conn.execute(meta.update().where(meta.c.key == "change_counter").values(value=str(int(current) + 1)))


def _t(name: str) -> sa.Table:
    return METADATA.tables[name]


def _insert(conn: sa.Connection, name: str, df: pd.DataFrame) -> None:
    if df is None or df.empty:
        return
    cols = [c for c in TABLE_COLUMNS[name] if c in df.columns]
    rows = _frame_rows(df, cols)
    table = _t(name)
    if conn.dialect.name == "sqlite":
        # the DBAPI's executemany is several times faster than Core for bulk loads; identifiers
        # still come from the fixed schema and are quoted by the dialect, values are bound
        prep = conn.dialect.identifier_preparer
        sql = (f"INSERT INTO {prep.quote(name)} ({', '.join(prep.quote(c) for c in cols)}) "
               f"VALUES ({', '.join('?' for _ in cols)})")
        conn.exec_driver_sql(sql, rows) if len(rows) < 2 else conn.connection.cursor().executemany(sql, rows)
    else:
        chunk = 5000
        for i in range(0, len(rows), chunk):
            conn.execute(table.insert(), [dict(zip(cols, r)) for r in rows[i:i + chunk]])


def _make_engine(url: str) -> sa.Engine:
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        hint = "pip install 'crmkit[postgres]'" if "postgres" in url else \
            "give a path ending in .sqlite or .db, or a SQLAlchemy URL such as postgresql://user@host/db"
        raise StoreError(f"cannot open the store {url!r}: {exc}", hint=hint) from None
    if url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-200000")
            cur.close()
    return engine


def read_store(target: str | Path) -> dict[str, pd.DataFrame]:
    """All tables of a store (SQLite path, URL) or a canonical workbook (.xlsx), as DataFrames.

    >>> # tables = crmkit.read_store("crm.sqlite"); tables["contacts"].head()
    """
    if str(target).lower().endswith((".xlsx", ".xlsm")):
        from crmkit.workbook import read_workbook

        return read_workbook(target)
    store = Store(target)
    if not store.exists():
        raise StoreError("no crmkit store here", file=str(target),
                         hint="create one with `crmkit migrate FILES --out PATH`")
    try:
        return {name: store.read_table(name) for name in store.tables()}
    finally:
        store.close()


def open_store(target: str | Path) -> Store:
    """An existing store, or a StoreError that says how to create one."""
    store = Store(target)
    if not store.exists():
        raise StoreError("no crmkit store here", file=str(target),
                         hint=f"create one with `crmkit migrate FILES --out {target}`")
    return store
