"""The crmkit store: one SQL database (SQLite file by default, any SQLAlchemy URL) with a stable schema.

Every write is one transaction, so a failed or killed migration leaves the previous store intact;
a brand-new SQLite file is written under a temporary name and renamed into place at the end.

>>> from crmkit.store import Store
>>> store = Store("crm.sqlite")            # or Store("postgresql+psycopg://user@host/db")
>>> # contacts = store.read_table("contacts")
"""
from __future__ import annotations

import gc
import hashlib
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import pandas as pd
import sqlalchemy as sa

from crmkit.clean._base import COPY_ON_WRITE
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

# the order read_table returns rows in, the same on SQLite and PostgreSQL: the primary key or a natural
# key first, then every other column as a tie-breaker (text compared byte-wise, NULLs first)
_ORDER_KEYS: dict[str, list[str]] = {
    "source_rows": ["source_file", "source_sheet", "source_row", "source_record_id"],
    "issues": ["source_file", "source_sheet", "source_row", "column", "problem"],
    "extra_fields": ["record_id", "field"],
    "match_pairs": ["record_id_l", "record_id_r"],
    "review_queue": ["pair_id"],
    "lineage": ["contact_id", "field"],
    "contact_values": ["contact_id", "field"],
    "conflicts": ["contact_id", "field"],
}
# read in the order written (SQLite rowid, PostgreSQL physical order = insertion order for a table crmkit
# rewrote), because the matcher's result depends on the order of the records it gets; the append-only logs
# too, so that events in the same second keep the order they happened in
_INSERTION_ORDER = {"contact_records", "audit_log", "merge_history"}
# tables holding unordered pairs of records: stored with record_id_l < record_id_r on every dialect
_PAIR_TABLES = {"match_pairs": ("contact_id_l", "contact_id_r"), "review_queue": ("contact_id_l", "contact_id_r")}
_SYMMETRIC_DECISIONS = {"merge", "never"}
_FROM_LAST_READ = object()  # write()'s default for expect_counter
CONFLICT_MESSAGE = "the store changed while this migration ran (another import or edit); run it again"
_TEMP_MARK = ".tmp-"


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


def _column_values(s: pd.Series, numeric: type | None) -> list:
    """One column as a list of plain Python scalars (None for missing), vectorised per dtype.

    ``numeric`` is int or float for INTEGER/REAL columns (non-numbers become None), None for TEXT
    (non-strings become ``str(value)``).
    """
    if numeric is not None:
        arr = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
        missing = np.isnan(arr) if numeric is float else ~np.isfinite(arr)
        out = (np.where(missing, 0, arr).astype(np.int64) if numeric is int else arr).astype(object)
        out[missing] = None
        return out.tolist()
    if isinstance(s.dtype, pd.CategoricalDtype):  # long tables: convert each category once
        cats = np.asarray(_column_values(pd.Series(s.cat.categories), None) + [None], dtype=object)
        return cats[s.cat.codes.to_numpy()].tolist()
    if isinstance(s.dtype, pd.StringDtype):
        return s.to_numpy(dtype=object, na_value=None).tolist()
    vals = s.to_numpy(dtype=object)
    mask = pd.isna(vals)
    if mask.any():
        vals = vals.copy()
        vals[mask] = None
    if pd.api.types.infer_dtype(vals, skipna=True) in ("string", "empty"):  # all str already: no loop
        return vals.tolist()
    return [v if v is None or type(v) is str else str(v) for v in vals.tolist()]


def _frame_rows(df: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """DataFrame -> list of tuples of plain Python scalars, None for missing values."""
    if df.empty:
        return []
    sub = df.reindex(columns=columns)
    out_cols = [_column_values(sub[c], int if c in _INTEGER else float if c in _REAL else None) for c in columns]
    return list(zip(*out_cols))


def _frame_row_chunks(df: pd.DataFrame, columns: list[str], chunk: int = 200_000) -> Iterator[tuple]:
    """Like :func:`_frame_rows`, but yields the rows lazily, converting ``chunk`` rows at a time.

    Bulk loads of multi-million-row tables then never hold all rows as Python objects at once.
    """
    for start in range(0, len(df), chunk):
        yield from _frame_rows(df.iloc[start:start + chunk], columns)


class Store:
    """A crmkit store at a path or SQLAlchemy URL.

    >>> store = Store("crm.sqlite")
    >>> # store.read_table("contacts").head()
    """

    def __init__(self, target: str | Path):
        self.target = str(target)
        self.url = to_url(target)
        self._engine: sa.Engine | None = None
        # per thread (the app shares one Store between sessions): the change counter seen by the last
        # read, and fingerprints of whole tables read, for the optimistic check and no-op skips in write()
        self._local = threading.local()

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
            self._sweep()
            self._engine = _make_engine(self.url)
        return self._engine

    def _sweep(self) -> None:
        """Once per Store: remove temp files a killed migration or backup left next to a SQLite store."""
        if self.is_sqlite and not getattr(self, "_swept", False):
            self._swept = True
            remove_stale_temp_files(self.path)

    @property
    def seen_counter(self) -> int | None:
        """The change counter as of this thread's last read (None before any read): what write() expects."""
        return getattr(self._local, "counter", None)

    def _seen(self, counter: int | None, name: str | None = None, frame: pd.DataFrame | None = None) -> None:
        """Remember the counter this thread read at and, for a whole table, what it held (hashed lazily)."""
        self._local.counter = counter
        prints = self._prints()
        if name is not None:
            if frame is None:
                prints.pop(name, None)
            else:
                prints[name] = (counter, _Snapshot(frame, name, self.is_sqlite))

    def _prints(self) -> dict:
        if not hasattr(self._local, "prints"):
            self._local.prints = {}
        return self._local.prints

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __repr__(self) -> str:
        return f"Store({self.target!r})"

    def exists(self) -> bool:
        """True when the store holds a crmkit schema."""
        self._sweep()
        if self.is_sqlite and not self.path.exists():
            return False
        try:
            return sa.inspect(self.engine).has_table("meta")
        except sa.exc.SQLAlchemyError:
            return False

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A transaction: everything inside commits together or not at all.

        Database errors (a server that is down, a locked file, a value the database refuses) become a
        :class:`StoreError` that says what happened and how to fix it.
        """
        try:
            with self.engine.begin() as conn:
                yield conn
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            raise _store_error(exc, self.target) from None

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """One read transaction (a consistent snapshot of several tables), errors as StoreError."""
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            raise _store_error(exc, self.target) from None

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

    def _check_readable(self, names: list[str]) -> None:
        for name in names:
            if name not in TABLE_COLUMNS:
                raise StoreError(f"unknown table {name!r}", file=self.target,
                                 hint=f"tables are: {', '.join(TABLE_COLUMNS)}")
        if not self.exists():
            raise StoreError("no crmkit store here", file=self.target,
                             hint="create one with `crmkit migrate FILES --out " + self.target + "`")

    def read_table(self, name: str, *, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """One table as a DataFrame (``where`` filters by equality on columns)."""
        self._check_readable([name])
        with self._reading() as conn:
            counter = _counter(conn)
            df = self._read(conn, name, where)
        # remember what this thread saw: write() refuses to overwrite a store that changed since, and
        # skips rewriting a table whose content is unchanged (the content is hashed only if a write asks)
        self._seen(counter, name if not where else None, df if not where else None)
        return df

    def read_tables(self, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
        """Several tables (default: all) from one consistent snapshot, as DataFrames.

        >>> # existing = store.read_tables(["contacts", "contact_records"])
        """
        names = list(TABLE_COLUMNS) if names is None else list(names)
        self._check_readable(names)
        with self._reading() as conn:
            counter = _counter(conn)
            out = {name: self._read(conn, name, None) for name in names}
        for name, df in out.items():
            self._seen(counter, name, df)
        return out

    def _read(self, conn: sa.Connection, name: str, where: Mapping[str, object] | None) -> pd.DataFrame:
        if not sa.inspect(conn).has_table(name):
            return pd.DataFrame(columns=TABLE_COLUMNS[name])
        t = _t(name)
        q = sa.select(t)
        for col, value in (where or {}).items():
            q = q.where(t.c[col] == value)
        q = q.order_by(*_order_by(t, conn.dialect.name))
        if not where and conn.dialect.name == "postgresql":
            df = _read_postgres_copy(conn, q, TABLE_COLUMNS[name])
            if df is not None:
                return df
        # rows straight from the DBAPI cursor: building SQLAlchemy Row objects cost more than the query,
        # and no result processor applies to the schema's TEXT, INTEGER and REAL columns
        result = conn.execute(q)
        cols = list(result.keys())
        try:
            rows = result.cursor.fetchall()
        finally:
            result.close()
        return pd.DataFrame(rows, columns=cols)

    def import_state(self, issue_keys: pd.DataFrame | None = None) -> "ImportState":
        """What a migration needs to tell that its files bring nothing new, from one snapshot.

        The source record id of every stored row, a few counts (:class:`ImportState`), the last
        import batch, and the stored issues at ``issue_keys`` (rows of source_file, source_sheet,
        source_row): one column and some aggregates instead of whole tables. The change counter is
        remembered as by any read, so a write based on this state is refused if the store changed.

        >>> # state = store.import_state(); len(state.source_record_ids)
        """
        self._check_readable(["source_rows", "issues", "batches"])
        with self._reading() as conn:
            counter = _counter(conn)
            sr, cr, mp, rq, batches = (_t(n) for n in ("source_rows", "contact_records", "match_pairs",
                                                          "review_queue", "batches"))
            q = sa.select(sr.c.source_record_id)
            ids = _read_postgres_copy(conn, q, ["source_record_id"]) if conn.dialect.name == "postgresql" else None
            if ids is None:
                result = conn.execute(q)
                try:
                    ids = pd.DataFrame(result.cursor.fetchall(), columns=["source_record_id"])
                finally:
                    result.close()

            def count(table: sa.Table, *where) -> int:
                return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar() or 0)

            groups = sa.select(cr.c.contact_id).where(cr.c.contact_id.is_not(None)).group_by(cr.c.contact_id) \
                .having(sa.func.count() > 1).subquery()
            counts = {name: count(_t(name)) for name in ("contacts", "contact_records", "deals", "orders")}
            counts.update(
                pairs=count(mp, sa.or_(mp.c.decision.is_(None), mp.c.decision != "link")),
                pairs_merged=count(mp, mp.c.decision == "merge"),
                links=count(mp, mp.c.decision == "link"),
                review_open=count(rq, rq.c.status == "open"),
                clusters_merged=count(groups))
            last = conn.execute(sa.select(batches).order_by(batches.c.batch_id.desc()).limit(1)).mappings().first()
            issues = self._issues_at(conn, issue_keys)
        self._seen(counter)
        return ImportState(counter=counter, source_record_ids=ids["source_record_id"], counts=counts,
                           last_batch=dict(last) if last is not None else None, issues=issues)

    @staticmethod
    def _issues_at(conn: sa.Connection, keys: pd.DataFrame | None) -> pd.DataFrame:
        """Stored issues at the given (source_file, source_sheet, source_row) keys (NULL matching NULL)."""
        t = _t("issues")
        cols = ["source_file", "source_sheet", "source_row", "column", "value", "problem"]
        if keys is None or not len(keys):
            return pd.DataFrame(columns=cols)
        keys = keys[["source_file", "source_sheet", "source_row"]].drop_duplicates()
        conditions = []
        for f, s, r in keys.itertuples(index=False):
            parts = []
            for col, v in ((t.c.source_file, f), (t.c.source_sheet, s), (t.c.source_row, r)):
                if pd.isna(v):
                    parts.append(col.is_(None))
                else:
                    parts.append(col == (int(v) if col.name == "source_row" else str(v)))
            conditions.append(sa.and_(*parts))
        rows = []
        for i in range(0, len(conditions), 200):
            rows += conn.execute(sa.select(*[t.c[c] for c in cols]).where(sa.or_(*conditions[i:i + 200]))).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=cols)

    def change_counter(self) -> int:
        """Increases with every write: the app keys its caches on it."""
        if not self.exists():
            return -1
        try:
            with self.engine.connect() as conn:
                return _counter(conn)
        except sa.exc.DBAPIError as exc:
            raise _store_error(exc, self.target) from None

    # -- writing ------------------------------------------------------------------------------
    def preload(self, name: str, build, *, later: list[str], rows: int) -> "_Preload | None":
        """Build a table of a brand-new SQLite store in a forked process, and load it, while this one goes on.

        ``build()`` gives the table as a frame of ``rows`` rows, all but its ``later`` columns final (not
        in the primary key). The returned :class:`_Preload` hands the frame over (``.frame()``); pass it
        to :meth:`write` as ``preloaded`` with the frame, its ``later`` columns set, in ``replace``: the
        write then only fills those in. None (the caller builds the frame itself) when the store is not
        a new SQLite file, the table is short, or no helper may be forked (:func:`_may_fork`, e.g.
        ``CRMKIT_WRITE_WORKERS=0``). Call ``.stop()`` on it when the write will not happen.

        >>> # pre = store.preload("source_rows", build, later=["record_id", "batch_id"], rows=n)
        >>> # rows = pre.frame() if pre else build()
        >>> # store.write(replace={"source_rows": rows.assign(record_id=ids, batch_id=b)}, preloaded=pre)
        """
        if (not self.is_sqlite or self.path.exists() or rows < _PARALLEL_MIN_ROWS or not _may_fork()
                or set(later) & {c.name for c in _t(name).primary_key.columns}):
            return None
        try:
            import pyarrow  # noqa: F401 - the frame is handed over as an Arrow file
        except ImportError:  # pragma: no cover
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._sweep()
        try:
            return _Preload(self.path, name, build, later)
        except OSError:  # no process or pipe to be had (a limit reached): the caller works alone
            return None

    def write(self, replace: Mapping[str, pd.DataFrame] | None = None,
              append: Mapping[str, pd.DataFrame] | None = None,
              *, progress=None, expect_counter: int | None | object = _FROM_LAST_READ,
              preloaded: "_Preload | None" = None) -> None:
        """In one transaction: replace the content of some tables and append rows to others.

        A new SQLite file is built under a temporary name and renamed into place, so a crash never
        leaves a half-written store behind.

        Lost updates are refused: ``expect_counter`` is the change counter the caller's data was read
        at (default: the one this Store saw at its last read in this thread; ``None`` skips the check).
        When another import or edit has written the store since, nothing is written and a
        :class:`StoreError` says to run again. A replaced table whose content equals what was read is
        not rewritten, so re-importing the same file is cheap. ``preloaded`` (see :meth:`preload`): a table
        a helper has loaded into the new file already; it is ended here in any case.

        >>> # store.write(replace={"contacts": contacts}, append={"audit_log": audit})
        """
        replace, append = dict(replace or {}), dict(append or {})
        try:
            for name in [*replace, *append]:
                if name not in TABLE_COLUMNS:
                    raise StoreError(f"unknown table {name!r}", file=self.target)
            expect = self.seen_counter if expect_counter is _FROM_LAST_READ else expect_counter
            new_file = self.is_sqlite and not self.path.exists()
            if preloaded is not None and (not new_file or preloaded.name not in replace or preloaded.name in append):
                preloaded.stop()  # (the store appeared meanwhile: written as any existing store is)
                preloaded = None
            if new_file:
                if expect is not None and expect > 0:  # the store that was read has gone since
                    self._seen(None)
                    raise _conflict(self.target)
                self._prints().clear()
                try:
                    self._write_new_sqlite(replace, append, progress, preloaded)
                except Exception as exc:
                    if not _is_database_error(exc):
                        raise
                    raise _store_error(exc, self.target) from None
                self._seen(1)
                return
        finally:
            if preloaded is not None:
                preloaded.stop()  # (nothing to do when the write used it)
        try:
            with self.begin() as conn:
                before, digests = self._write(conn, replace, append, progress, expect)
        except StoreError as err:
            if err.message == CONFLICT_MESSAGE:
                self._seen(None)  # the next read starts afresh
            raise
        # what this thread now knows: tables it wrote, and fingerprints that were current before it wrote
        prints = self._prints()
        for name in list(prints):
            if name in append or prints[name][0] != before:
                del prints[name]
            elif name not in replace:
                prints[name] = (before + 1, prints[name][1])
        for name, digest in digests.items():
            if name not in append and digest is not None:
                prints[name] = (before + 1, digest)
        self._local.counter = before + 1

    def _write_new_sqlite(self, replace, append, progress, preloaded: "_Preload | None" = None) -> None:
        final = self.path
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(final)
        tmp = final.with_name(f".{final.name}{_TEMP_MARK}{os.getpid()}")
        tmp.unlink(missing_ok=True)
        # every table is bulk loaded into the new file (see _BulkFile), the big ones shared out, through a
        # queue, between this process (loading straight into the file) and forked helpers (_HelperLoad);
        # the rest (meta, a table both replaced and appended to) then goes through the ordinary write.
        # A preloaded table (see preload) is in its file already, but for the columns filled in here.
        both = set(replace) & set(append)
        bulk = {name: df for name, df in [*replace.items(), *append.items()] if name not in both and name != "meta"}
        rest_replace = {name: df for name, df in replace.items() if name not in bulk}
        if preloaded is not None:
            os.replace(preloaded.finish(), tmp)  # the file with every table created: the new store's
            del bulk[preloaded.name]
        rest_append = {name: df for name, df in append.items() if name not in bulk}
        workers, shared = _parallel_plan(bulk)
        helpers: list[_HelperLoad] = []
        queue = finished = None
        loaded_here: list[str] = []
        copied: list[str] = []
        engine = None

        def part_of(name: str) -> Path:  # a helper's file for one table (this process's pid: swept once it is gone)
            return tmp.with_name(f"{tmp.name}-part-{name}")

        def copy_finished(block: bool) -> None:
            """Copy the tables helpers have finished into the file (outside a transaction); with ``block``,
            until every helper is done."""
            nonlocal finished
            while finished is not None:
                os.set_blocking(finished, block)
                try:
                    items = os.read(finished, 256)
                except BlockingIOError:
                    return
                if not items:  # every helper has ended
                    os.close(finished)
                    finished = None
                    return
                for k in items:
                    con.copy_from(part_of(shared[k]))
                    part_of(shared[k]).unlink(missing_ok=True)
                    copied.append(shared[k])
                    if progress:
                        progress(shared[k])

        try:
            if workers:
                queue, feed = os.pipe()
                os.write(feed, bytes(range(len(shared))))
                os.close(feed)
                # the biggest table stays here: a share of the work that needs no copying
                loaded_here.append(shared[os.read(queue, 1)[0]])
                finished, told = os.pipe()
                try:
                    for _ in range(workers):
                        helpers.append(_HelperLoad(None, lambda: _load_part(part_of, bulk, shared, queue, told)))
                finally:
                    os.close(told)  # (end of file on `finished` once every helper has ended)
            con = _BulkFile(tmp)
            try:
                con.execute("BEGIN")
                if preloaded is None:
                    for table in METADATA.sorted_tables:
                        con.create_table(table.name)
                else:
                    name = preloaded.name
                    con.fill(name, replace[name], preloaded.later)
                    con.create_indexes(name, only=preloaded.later)
                    if progress:
                        progress(name)
                done = {preloaded.name} if preloaded is not None else set()
                for name in (t.name for t in METADATA.sorted_tables):
                    if name not in shared and name not in done:  # the small tables, then the queue's
                        _insert(con, name, bulk.get(name))
                        con.create_indexes(name)  # after the load: built from sorted keys
                        if progress and name in bulk:
                            progress(name)
                con.execute("COMMIT")  # (no journal: only a batch of work) before ATTACH, which needs none open
                copy_finished(block=False)
                name = loaded_here[0] if loaded_here else None
                while name:  # one table at a time, the next from the queue when this one is done
                    con.execute("BEGIN")
                    _insert(con, name, bulk[name])
                    con.create_indexes(name)
                    con.execute("COMMIT")
                    if progress:
                        progress(name)
                    copy_finished(block=False)  # what helpers finished meanwhile, before taking more work
                    item = os.read(queue, 1)
                    name = shared[item[0]] if item else None
                    if name:
                        loaded_here.append(name)
                if queue is not None:
                    os.close(queue)
                    queue = None
                copy_finished(block=True)
                for helper in helpers:
                    helper.wait()  # (one that failed printed why: its tables are loaded here below)
                helpers.clear()
                left = [name for name in shared if name not in copied and name not in loaded_here]
                if left:
                    con.execute("BEGIN")
                    for name in left:
                        part_of(name).unlink(missing_ok=True)
                        _insert(con, name, bulk[name])
                        con.create_indexes(name)
                        if progress:
                            progress(name)
                    con.execute("COMMIT")
            finally:
                con.close()
            # the schema version, the change counter and anything left, as every write does it
            engine = _make_engine(f"sqlite:///{tmp}")

            @sa.event.listens_for(engine, "connect")
            def _private(dbapi_conn, _record):  # pragma: no cover - trivial
                dbapi_conn.execute("PRAGMA journal_mode=OFF")  # still a file nobody else sees
                dbapi_conn.execute("PRAGMA synchronous=OFF")  # durable by the fsync below

            with engine.begin() as conn:
                self._write(conn, rest_replace, rest_append, progress, None)
            engine.dispose()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            _publish(tmp, final, self.target)
        except BaseException:
            for fd in (queue, finished):
                if fd is not None:
                    os.close(fd)
            for helper in helpers:
                helper.stop()
            for name in shared:
                part_of(name).unlink(missing_ok=True)
            if engine is not None:
                engine.dispose()
            tmp.unlink(missing_ok=True)
            raise
        self.close()

    def _write(self, conn: sa.Connection, replace, append, progress, expect: int | None
               ) -> tuple[int, dict[str, str | None]]:
        """Check the counter under a write lock, write, bump it; returns (counter before, new fingerprints)."""
        self.ensure_schema(conn)
        before = _lock_counter(conn)
        if expect is not None and before != expect:
            raise _conflict(self.target)
        known = self._prints()
        digests: dict[str, str | None] = {}
        clean = _without_nul if conn.dialect.name != "sqlite" else (lambda df: df)
        for name, df in replace.items():
            df = clean(_orient_pairs(name, df))
            digest = None
            if name in known and known[name][0] == before:
                digest = _fingerprint(df, name, self.is_sqlite)
                if digest == _digest_of(known[name][1]):  # same content as stored: nothing to rewrite
                    digests[name] = digest
                    if progress:
                        progress(name)
                    continue
            conn.execute(_t(name).delete())
            _insert(conn, name, df)
            digests[name] = digest
            if progress:
                progress(name)
        for name, df in append.items():
            _insert(conn, name, clean(_orient_pairs(name, df)))
            if progress:
                progress(name)
        touch(conn)
        return before, digests

    def execute(self, conn: sa.Connection, table: str, rows: list[dict]) -> None:
        """Insert dict rows into a table inside an open transaction."""
        if rows:
            conn.execute(_t(table).insert(), rows)


@dataclass
class ImportState:
    """A store's state as far as a re-import needs it (see :meth:`Store.import_state`).

    ``counts``: rows of contacts, contact_records, deals and orders; match pairs scored (``pairs``),
    auto-merged (``pairs_merged``) and deal/order links (``links``); open review pairs
    (``review_open``); contacts built from more than one record (``clusters_merged``).
    """

    counter: int
    source_record_ids: pd.Series
    counts: dict[str, int]
    last_batch: dict | None
    issues: pd.DataFrame


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


def _counter(conn: sa.Connection) -> int:
    meta = _t("meta")
    v = conn.execute(sa.select(meta.c.value).where(meta.c.key == "change_counter")).scalar()
    return int(v or 0)


def _lock_counter(conn: sa.Connection) -> int:
    """The change counter read under a write lock held to the end of the transaction.

    The no-op UPDATE takes SQLite's write lock (as BEGIN IMMEDIATE would) and PostgreSQL's row lock
    (as SELECT ... FOR UPDATE does), so no other writer can commit between this check and our commit.
    """
    meta = _t("meta")
    conn.execute(meta.update().where(meta.c.key == "change_counter").values(value=meta.c.value))
    v = conn.execute(sa.select(meta.c.value).where(meta.c.key == "change_counter").with_for_update()).scalar()
    return int(v or 0)


def _conflict(target: str) -> StoreError:
    return StoreError(CONFLICT_MESSAGE, file=_display(target),
                      hint="nothing was written; run it again (rows already stored are skipped). If it keeps "
                           "happening, let one import or edit finish before starting the next")


def _display(target: str) -> str:
    """The store's path or URL for messages, without a password."""
    if is_url(target):
        try:
            return sa.make_url(target).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            return target
    return target


def _is_database_error(exc: BaseException) -> bool:
    """SQLAlchemy's wrapped driver errors, and raw driver errors from bulk paths (sqlite3, psycopg, ADBC)."""
    import sqlite3

    return isinstance(exc, (sa.exc.DBAPIError, sqlite3.Error)) or \
        type(exc).__module__.startswith(("psycopg", "adbc_driver_manager"))


def _error_kind(exc: BaseException) -> str:
    """'operational', 'integrity', 'data' or '' for a wrapped or a raw DBAPI error (PEP 249 class names)."""
    for cls in type(exc).__mro__:
        name = cls.__name__
        if name in ("OperationalError", "IntegrityError", "DataError"):
            return name[:-len("Error")].lower()
    return ""


def _store_error(exc: BaseException, target: str) -> StoreError:
    """A database error as a StoreError that says what happened and how to fix it."""
    orig = getattr(exc, "orig", None) or exc
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:300]
    low = text.lower()
    where = _display(target)
    kind = _error_kind(exc) or _error_kind(orig)
    if not kind and type(orig).__module__.startswith("adbc_driver_manager"):
        # ADBC reports most SQLite failures as internal errors: tell them apart by SQLite's message
        kind = "integrity" if "constraint failed" in low else \
            "operational" if any(w in low for w in ("disk", "full", "locked", "busy", "unable to open")) else ""
    if "nul" in low and ("0x00" in low or "character" in low):
        return StoreError(f"a value contains a NUL character (0x00), which the database cannot store: {text}",
                          file=where, hint="remove NUL characters from the input file (nothing was written)")
    if kind == "operational":
        if "locked" in low or "busy" in low:
            return StoreError(f"the store is locked by another program ({text})", file=where,
                              hint="wait until the other import or edit has finished, then run again "
                                   "(nothing was written)")
        if any(w in low for w in ("connect", "refused", "timeout", "timed out", "resolve host", "password")):
            return StoreError(f"cannot connect to the database: {text}", file=where,
                              hint="check the URL (host, port, database, user, password) and that the "
                                   "server is running")
        if "disk" in low or "full" in low or "no space" in low:
            return StoreError(f"the disk is full: {text}", file=where,
                              hint="free some disk space and run again (nothing was written)")
        return StoreError(f"the database refused the operation: {text}", file=where,
                          hint="check the path/URL, permissions and free disk space")
    if kind == "integrity":
        return StoreError(f"the write breaks a key or constraint of the store: {text}", file=where,
                          hint="nothing was written; run again, and if it repeats, report it with the input "
                               "files")
    if kind == "data":
        return StoreError(f"the database rejected a value: {text}", file=where,
                          hint="nothing was written; find and fix the value in the input file")
    return StoreError(f"the database failed: {text}", file=where,
                      hint="nothing was written; check the database server and its log")


def _publish(tmp: Path, final: Path, target: str) -> None:
    """Move a complete new store into place, refusing to replace one another writer created meanwhile."""
    try:
        os.link(tmp, final)  # atomic, and fails when the final name exists
    except FileExistsError:
        raise _conflict(target) from None
    except OSError:  # no hard links on this file system
        if final.exists():
            raise _conflict(target) from None
        os.replace(tmp, final)
        return
    tmp.unlink(missing_ok=True)


def remove_stale_temp_files(store_path: Path) -> list[Path]:
    """Delete ``.NAME.tmp-PID`` files next to a store whose process is gone (a killed migration or backup).

    Files of processes still running are left alone. Returns the files removed.
    """
    removed = []
    folder = store_path.parent
    prefix = f".{store_path.name}{_TEMP_MARK}"
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for p in candidates:
        pid = p.name[len(prefix):].split("-")[0]
        for suffix in ("-journal", "-wal", "-shm"):
            pid = pid.removesuffix(suffix)
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or we cannot tell: keep the file
    return True


def _order_by(t: sa.Table, dialect: str) -> list:
    """ORDER BY for read_table: primary or natural key, then the other columns; the same on every dialect."""
    name = t.name
    if name in _INSERTION_ORDER:
        # matching is sensitive to the order of the records it is given: keep the order they were written in
        return [sa.literal_column("ctid" if dialect == "postgresql" else "rowid")] \
            if dialect in ("postgresql", "sqlite") else []
    if name in _PRIMARY:
        cols = [_PRIMARY[name]]
    elif name in ("decisions", "deal_stage_history"):
        cols = [t.primary_key.columns.values()[0].name]
    else:
        keys = _ORDER_KEYS.get(name, [])
        cols = keys + [c for c in TABLE_COLUMNS[name] if c not in keys]
    out = []
    for c in cols:
        col = t.c[c]
        if dialect == "postgresql" and isinstance(col.type, sa.Text):
            col = col.collate("C")  # byte order, as SQLite compares text
        out.append(col.asc().nulls_first())
    return out


def _orient_pairs(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Unordered pairs of records stored one way round, record_id_l < record_id_r, on every dialect.

    Returns a new frame when any pair is swapped (the input is never changed).
    """
    if df is None or df.empty or "record_id_l" not in df or "record_id_r" not in df:
        return df
    if name in _PAIR_TABLES:
        swap_cols = [("record_id_l", "record_id_r"), _PAIR_TABLES[name]]
        # a 'link' ties a deal/order customer (right) to a contact record (left): it has a direction
        eligible = df["decision"].ne("link") if "decision" in df else pd.Series(True, index=df.index)
    elif name == "decisions" and "kind" in df:
        swap_cols = [("record_id_l", "record_id_r")]
        eligible = df["kind"].isin(_SYMMETRIC_DECISIONS)
    else:
        return df
    left, right = df["record_id_l"], df["record_id_r"]
    swap = eligible & left.notna() & right.notna() & (left.astype(str) > right.astype(str))
    if not swap.any():
        return df
    out = df.copy()
    for a, b in swap_cols:
        if a in out and b in out:
            out.loc[swap, [a, b]] = out.loc[swap, [b, a]].to_numpy()
    return out


def _default_str_dtype():
    """pandas' dtype for a column of strings built from Python values (``str``, pyarrow-backed, in pandas 3)."""
    return pd.Series(["a"]).dtype


_STR_DTYPE = _default_str_dtype()

def _read_postgres_copy(conn: sa.Connection, query, columns: list[str]) -> pd.DataFrame | None:
    """A whole table through ``COPY (query) TO STDOUT`` as CSV, parsed by pyarrow into columns.

    Values never become Python objects, so this is several times faster than fetching rows, and
    the frame is the same as :func:`pd.DataFrame` builds from fetched rows: text as pandas' string
    dtype (NaN for NULL), INTEGER as int64 (float64 when it holds NULLs), REAL as float64, a column
    without any value as object None. In CSV, NULL is an empty field and the empty string a quoted
    one (``""``), so the two stay apart. None (the caller fetches rows instead) without psycopg 3,
    pyarrow or a pyarrow-backed string dtype, with a client encoding other than UTF-8, or when
    pyarrow cannot parse the data (a value larger than a parse block).
    """
    if conn.dialect.driver != "psycopg" or getattr(_STR_DTYPE, "storage", None) != "pyarrow":
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pandas' pyarrow strings imply pyarrow
        return None
    driver = conn.connection.driver_connection
    if str(getattr(driver.info, "encoding", "")).lower().replace("-", "").replace("_", "") != "utf8":
        return None
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    buf = bytearray()
    with driver.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        for data in copy:
            buf += data
    if not buf:
        return pd.DataFrame([], columns=columns)
    kinds = {c: pa.int64() if c in _INTEGER else pa.float64() if c in _REAL else pa.large_string() for c in columns}
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(buf)),
            read_options=pacsv.ReadOptions(column_names=columns, block_size=1 << 26),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=kinds, null_values=[""], strings_can_be_null=True,
                                                 quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # a value longer than a parse block, or text pyarrow cannot type: the caller reads the table again
        # through the cursor, which takes any value (the rare slow path; nothing is lost either way)
        return None
    del buf
    n = table.num_rows
    data = {}
    for c in columns:
        col = table.column(c)
        if col.null_count == n:
            data[c] = np.full(n, None, dtype=object)
        elif c in _INTEGER and col.null_count == 0:
            data[c] = col.to_numpy().astype(np.int64, copy=False)
        elif c in _INTEGER or c in _REAL:
            data[c] = col.to_numpy().astype(np.float64, copy=False)  # NULL -> NaN
        else:
            data[c] = pd.array(col, dtype=_STR_DTYPE)
    return pd.DataFrame(data, columns=columns)


class _Snapshot:
    """A table as a read returned it, hashed (:func:`_fingerprint`) only when a later write asks.

    Reads stay cheap; write() compares the hash with the new content to skip rewriting an unchanged
    table. It keeps a shallow copy of the frame: with pandas' copy-on-write, changes the caller makes
    to its frame never reach this copy. Without copy-on-write (pandas < 3) it hashes at once.
    """

    __slots__ = ("_frame", "_name", "_sqlite", "_digest")

    def __init__(self, frame: pd.DataFrame, name: str, sqlite: bool):
        self._name, self._sqlite = name, sqlite
        self._frame: pd.DataFrame | None = frame.copy(deep=False) if COPY_ON_WRITE else None
        self._digest: str | None = None if COPY_ON_WRITE else _fingerprint(frame, name, sqlite)

    def digest(self) -> str:
        if self._digest is None:
            self._digest = _fingerprint(self._frame, self._name, self._sqlite)
            self._frame = None  # the digest is all a write needs from now on
        return self._digest


def _digest_of(known: "str | _Snapshot") -> str:
    return known if isinstance(known, str) else known.digest()


_HASH_STEP = np.uint64(1099511628211)
_NULL_MARK = np.uint64(0x9E3779B97F4A7C15)
_EMPTY_TEXT_HASH = pd.util.hash_array(np.array([""], dtype=object), categorize=False)[0]


def _fingerprint(df: pd.DataFrame, name: str, sqlite: bool) -> str:
    """A digest of a table's content as the store holds it (row order ignored, values as written)."""
    cols = TABLE_COLUMNS[name]
    n = len(df)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in cols:
            s = df[c] if c in df.columns else pd.Series([None] * n, index=df.index, dtype=object)
            if c in _REAL or c in _INTEGER:
                v = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
                if c in _INTEGER:
                    v = np.trunc(v)
                mask = np.isnan(v)
                part = pd.util.hash_array(np.where(mask, 0.0, v) + 0.0)
            else:
                mask = s.isna().to_numpy(dtype=bool)
                if mask.all():  # a column without values (many are): no strings to hash
                    part = np.full(n, _EMPTY_TEXT_HASH, dtype=np.uint64)
                else:
                    if isinstance(s.dtype, pd.StringDtype):  # what reads return: strings already
                        # no NUL to replace here: PostgreSQL never returns one, and write() hashes
                        # frames after _without_nul
                        obj = s.to_numpy(dtype=object, na_value="")
                    else:
                        obj = s.astype(object).where(~mask, "")
                        if pd.api.types.infer_dtype(obj, skipna=False) != "string":
                            obj = obj.map(lambda x: x if type(x) is str else str(x))
                        if not sqlite:
                            obj = obj.str.replace("\x00", "\ufffd", regex=False)
                        obj = obj.to_numpy(dtype=object)
                    # element-wise (no factorising first): the same hashes, faster on mostly-unique text
                    part = pd.util.hash_array(obj, categorize=False)
            h = h * _HASH_STEP ^ (part + mask.astype(np.uint64) * _NULL_MARK)
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{name}|{','.join(cols)}|{n}|".encode())
    digest.update(np.sort(h).tobytes())
    return digest.hexdigest()


def _insert(conn: "sa.Connection | _BulkFile", name: str, df: pd.DataFrame) -> None:
    """Insert a frame's rows into a table: inside an open transaction, or into a new file being loaded."""
    if isinstance(conn, _BulkFile):
        conn.load(name, df)
        return
    if df is None or df.empty:
        return
    cols = [c for c in TABLE_COLUMNS[name] if c in df.columns]
    table = _t(name)
    if conn.dialect.name == "sqlite":
        _insert_sqlite(conn.connection.driver_connection, name, df)
    else:
        rows = _frame_rows(df, cols)
        _insert_server(conn, name, table, cols, rows)


def _no_value(s: pd.Series) -> bool:
    """Whether a column holds no value at all (such columns are left out of an INSERT: SQLite stores NULL).

    Its first values usually tell that it has some: a whole column of Python objects is looked at (a
    C loop over every object, ~0.15 s for contact_records at 300k rows) only when they are all missing.
    """
    if len(s) > 256 and not s.iloc[:256].isna().all():
        return False
    return bool(s.isna().all())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _insert_sqlite(dbapi_conn, name: str, df: pd.DataFrame) -> None:
    """Bulk insert into SQLite through the DBAPI connection (inside the caller's transaction).

    The DBAPI's executemany is several times faster than Core for bulk loads; identifiers come
    from the fixed schema and are quoted, values are bound. Rows are converted and fed in chunks,
    so a 10M-row table never exists as Python tuples all at once. Columns without any value are
    left out: SQLite fills them with NULL without binding each.
    """
    cols = [c for c in TABLE_COLUMNS[name] if c in df.columns]
    cols = [c for c in cols if not _no_value(df[c])] or cols[:1]
    sql = (f"INSERT INTO {_quote(name)} ({', '.join(_quote(c) for c in cols)}) "
           f"VALUES ({', '.join('?' for _ in cols)})")
    cur = dbapi_conn.cursor()
    try:
        cur.executemany(sql, _frame_rows(df, cols) if len(df) < 2 else _frame_row_chunks(df, cols))
    finally:
        cur.close()


# -- bulk load of a brand-new SQLite file -----------------------------------------------------------
# A new store is written under a temporary name nobody else opens, so it is loaded as fast as SQLite
# allows: no rollback journal (a failed write deletes the file), no syncs until the one fsync before
# the rename, an exclusive lock, and every index built after its table is full (from sorted keys, several
# times faster than updating it row by row). Measured on crmkit's tables at 1M rows (CPU seconds):
# - 16 KiB pages (set before the first table is created): a shallower b-tree with fewer splits, -15 to -45%
#   for a table loaded in random key order (contacts, contact_records), and half the cost of copying a
#   helper's file (fewer, fuller pages); the store keeps them (SQLite's default is 4 KiB);
# - index sorts in one thread, in runs of 4 MB spilled to temporary files and merged: a multi-threaded sort
#   (threads=2) costs 10-30% more CPU (and during the write the other core is busy with a helper anyway), and
#   runs as large as the page cache (64 MB, or 200 MB in memory) cost 1.3-2x as much as small ones, which
#   stay in the CPU's caches (SQLite's sorter sizes its runs by the cache: it is lowered while an index is
#   built, and kept large for the loads);
# - a table with a text primary key (contacts, contact_records: ids are hashes, so rows come in random key
#   order) is loaded without its key's b-tree, which is then built from sorted keys like any index and
#   becomes the key's own (see _BulkFile._defer_key): at 1M rows, 7.0 -> 4.8 s for contact_records and
#   1.8 -> 1.2 s for contacts (updating that b-tree at a random place for every row cost more than the row).
_BULK_PRAGMAS = ("page_size=16384", "journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE", "threads=0")
_CACHE_KIB = 65_536  # the page cache while rows are loaded or copied
_SORT_CACHE_KIB = 4096  # ... and while an index is built (the size of the sorter's runs)
_ARROW_CHUNK = 65_536  # rows per Arrow batch: bounded memory whatever the table's length


class _BulkFile:
    """One private SQLite file being loaded, through ADBC (adbc-driver-sqlite) when installed.

    ADBC binds values straight from Arrow buffers in C; the sqlite3 module needs a Python object per
    value, which costs more than SQLite's own work (3-4x the CPU on crmkit's tables). Without ADBC (or
    pyarrow) the rows go through sqlite3's executemany. Either way the file holds the same values
    with the same storage classes. ADBC links its own copy of SQLite: a file is never open in both at
    once (POSIX locks of one copy do not see the other's), which is why this is used only for files
    that no other connection opens until this one is closed.
    """

    def __init__(self, path: Path):
        self.path = path
        self._adbc = _adbc_sqlite()
        if self._adbc is not None:
            self._conn = self._adbc.connect(str(path), autocommit=True)
            self._cur = self._conn.cursor()
        else:
            import sqlite3

            self._conn = sqlite3.connect(str(path), isolation_level=None)
            self._cur = self._conn.cursor()
        for pragma in (*_BULK_PRAGMAS, f"cache_size=-{_CACHE_KIB}"):
            self.execute(f"PRAGMA {pragma}")
        self._keyless: dict[str, tuple[str, str, str]] = {}  # see _defer_key
        self._schema_writable: bool | None = None

    def execute(self, sql: str) -> None:
        if sql == "COMMIT" and self._keyless:  # (every load is followed by create_indexes, which restores keys)
            raise StoreError(f"{', '.join(self._keyless)}: loaded without its primary key",
                             hint="report this as a bug")
        self._cur.execute(sql)
        if self._adbc is not None and self._cur.description is not None:
            self._cur.fetchall()  # PRAGMAs answer with a row; drain it so the statement finishes

    def _rows(self, sql: str) -> list[tuple]:
        self._cur.execute(sql)
        return self._cur.fetchall()

    def create_table(self, name: str) -> None:
        self.execute(_ddl(name)[0])

    def create_indexes(self, name: str, *, without: list[str] = (), only: list[str] | None = None) -> None:
        """The table's indexes: all, those on none of the columns ``without``, or those on some of ``only``."""
        statements = [statement for columns, statement in _index_ddl(name)
                      if not columns & set(without) and (only is None or columns & set(only))]
        if not statements and name not in self._keyless:
            return
        self.execute(f"PRAGMA cache_size=-{_SORT_CACHE_KIB}")  # the sorter's runs (see _SORT_CACHE_KIB)
        try:
            if name in self._keyless:  # (its values are final once loaded: whatever ``without`` says)
                self._restore_key(name)
            for statement in statements:
                self.execute(statement)
        finally:
            self.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")

    def _defer_key(self, name: str) -> None:
        """Before an empty table with a text primary key is loaded: create it anew without the key's b-tree.

        SQLite keeps a rowid table's text primary key in a b-tree of its own, an index it names
        ``sqlite_autoindex_TABLE_1`` (no SQL in the schema), updated at a random place for every row
        loaded when keys come in random order (crmkit's ids are hashes). Loaded without it, the table
        gets it afterwards (:meth:`_restore_key`, from :meth:`create_indexes`) as a unique index built
        from sorted keys, which then becomes the key's own b-tree. The file ends up as if the table had
        been loaded with its key: the same schema text, the same b-tree (an index on the key column, its
        entries the key and the rowid), a duplicate key refused with the same error.
        """
        key = [c.name for c in _t(name).primary_key.columns]
        if name in self._keyless or len(key) != 1 or not isinstance(_t(name).c[key[0]].type, sa.Text):
            return
        table = _sql_text(name)
        found = self._rows(f"SELECT sql, (SELECT group_concat(name, char(10)) FROM main.sqlite_master "
                           f"WHERE type = 'index' AND tbl_name = {table} AND sql IS NULL), "
                           f"EXISTS (SELECT 1 FROM main.{_quote(name)}) "
                           f"FROM main.sqlite_master WHERE type = 'table' AND name = {table}")
        if len(found) != 1 or not self._may_write_schema():
            return
        sql, autoindex, rows = found[0]
        clause = f", \n\tPRIMARY KEY ({key[0]})\n)"
        if rows or autoindex is None or "\n" in autoindex or not sql.endswith(clause):
            return  # (not an empty table of the schema's DDL with one key b-tree: loaded as it is)
        self.execute(f"DROP TABLE main.{_quote(name)}")
        self.execute(sql[:-len(clause)] + "\n)")
        self._keyless[name] = (sql, autoindex, key[0])

    def _may_write_schema(self) -> bool:
        """Whether this connection may write its schema (not when SQLite runs in its defensive mode)."""
        if self._schema_writable is None:
            self.execute("PRAGMA writable_schema=ON")
            try:
                self._schema_writable = bool(self._rows("PRAGMA writable_schema")[0][0])
            finally:
                self.execute("PRAGMA writable_schema=OFF")
        return self._schema_writable

    def _restore_key(self, name: str) -> None:
        """The primary key of a table loaded without it (:meth:`_defer_key`): a unique index built from sorted
        keys, then made the key's b-tree by writing the schema as the table's DDL would have: the table's SQL
        with its PRIMARY KEY clause, and the index under the key's name without SQL (SQLite then knows it
        as the key's, and checks new rows against it)."""
        sql, autoindex, column = self._keyless[name]
        temporary = f"_crmkit_key_{name}"
        self.execute(f"CREATE UNIQUE INDEX main.{_quote(temporary)} ON {_quote(name)} ({_quote(column)})")
        self.execute("PRAGMA writable_schema=ON")
        try:
            self.execute(f"UPDATE main.sqlite_master SET sql = {_sql_text(sql)} "
                         f"WHERE type = 'table' AND name = {_sql_text(name)}")
            self.execute(f"UPDATE main.sqlite_master SET name = {_sql_text(autoindex)}, sql = NULL "
                         f"WHERE type = 'index' AND name = {_sql_text(temporary)}")
        finally:
            self.execute("PRAGMA writable_schema=RESET")  # off, and the schema read again
        # SQLite, reading the schema again, must now know the built b-tree as the table's unique primary key
        rebuilt = self._rows(f"SELECT name, rootpage FROM main.sqlite_master WHERE type = 'index' "
                             f"AND name IN ({_sql_text(autoindex)}, {_sql_text(temporary)})")
        if (len(rebuilt) != 1 or rebuilt[0][0] != autoindex or not rebuilt[0][1]
                or not any(row[1:4] == (autoindex, 1, "pk")
                           for row in self._rows(f"PRAGMA main.index_list({_quote(name)})"))):
            raise StoreError(f"{name}: its primary key was not rebuilt as SQLite's own", hint="report this as a bug")
        del self._keyless[name]

    def fill(self, name: str, df: pd.DataFrame, columns: list[str]) -> None:
        """Set ``columns`` of every row of a loaded table from a frame of as many rows, row i of the frame
        to the row of rowid i + 1 (the rows as loaded), in one UPDATE inside SQLite. Values are converted
        as :meth:`load` converts them, so the table holds what loading the whole frame would have stored."""
        self._cur.execute(f"SELECT count(*), coalesce(max(rowid), 0) FROM main.{_quote(name)}")
        count, top = self._cur.fetchall()[0]
        if not (count == top == len(df)):
            raise StoreError(f"{name}: {len(df)} rows to fill in, {count} loaded", hint="report this as a bug")
        cols = [c for c in columns if c in df.columns and not _no_value(df[c])]
        if not cols or not len(df):
            return
        self.execute(f"CREATE TEMP TABLE _fill (n INTEGER PRIMARY KEY, {', '.join(_quote(c) for c in cols)})")
        if self._adbc is None:
            rows = _frame_rows(df, cols)
            self._cur.executemany(f"INSERT INTO temp._fill VALUES ({', '.join('?' for _ in range(len(cols) + 1))})",
                                  [(i, *r) for i, r in enumerate(rows, 1)])
        else:
            import pyarrow as pa

            types = {c: pa.int64() if c in _INTEGER else pa.float64() if c in _REAL else pa.large_string()
                     for c in cols}
            data = pa.table({"n": pa.array(np.arange(1, len(df) + 1, dtype=np.int64)),
                             **{c: _arrow_column(df[c], types[c]) for c in cols}})
            self._cur.adbc_ingest("_fill", data, mode="append", temporary=True)
        table, listed = _quote(name), ", ".join(_quote(c) for c in cols)
        # (a correlated lookup by rowid: several times faster than UPDATE ... FROM, which sorts the join first)
        self.execute(f"UPDATE main.{table} SET ({listed}) = (SELECT {', '.join('f.' + _quote(c) for c in cols)} "
                     f"FROM temp._fill AS f WHERE f.n = {table}.rowid)")
        self.execute("DROP TABLE temp._fill")

    def load(self, name: str, df: pd.DataFrame | None) -> None:
        """Append a frame's rows to a table (pairs oriented, columns converted as everywhere else)."""
        df = _orient_pairs(name, df)
        if df is None or df.empty:
            return
        cols = [c for c in TABLE_COLUMNS[name] if c in df.columns]
        cols = [c for c in cols if not _no_value(df[c])] or cols[:1]
        self._defer_key(name)
        if self._adbc is None:
            _insert_sqlite(self._conn, name, df)
            return
        self._cur.adbc_ingest(name, _arrow_reader(df, cols), mode="append")

    def copy_from(self, part: Path) -> list[str]:
        """Copy every table of another file into its empty twin here, returning their names: SQLite's
        transfer optimisation moves rows and index entries without decoding them."""
        self.execute(f"ATTACH DATABASE {_sql_text(str(part))} AS part")
        try:
            self._cur.execute("SELECT name FROM part.sqlite_master WHERE type = 'table' ORDER BY rowid")
            names = [r[0] for r in self._cur.fetchall()]
            self.execute("BEGIN")
            for name in names:
                self.create_indexes(name)  # empty: the copy fills them from the part file's own indexes
                self.execute(f"INSERT INTO main.{_quote(name)} SELECT * FROM part.{_quote(name)}")
            self.execute("COMMIT")
        finally:
            self.execute("DETACH DATABASE part")
        return names

    def close(self) -> None:
        try:
            self._cur.close()
        finally:
            self._conn.close()


def _adbc_sqlite():
    """adbc_driver_sqlite.dbapi, or None when it (or pyarrow) is missing or disabled (CRMKIT_ADBC=0)."""
    if os.environ.get("CRMKIT_ADBC") == "0":
        return None
    try:
        import adbc_driver_sqlite.dbapi as dbapi
        import pyarrow  # noqa: F401 - the DBAPI layer of ADBC needs it
    except ImportError:
        return None
    return dbapi


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _arrow_reader(df: pd.DataFrame, cols: list[str]):
    """The frame's columns as a stream of Arrow record batches of ``_ARROW_CHUNK`` rows.

    Values are exactly what :func:`_column_values` gives the sqlite3 module: INTEGER columns as
    int64 (non-numbers and non-finite numbers NULL, fractions truncated), REAL as float64 (NaN NULL),
    TEXT as strings (non-strings as ``str(value)``), missing values NULL. Text already held by
    pyarrow (pandas' string dtype) and categories are converted without a Python object per value.
    """
    import pyarrow as pa

    fields = [pa.field(c, pa.int64() if c in _INTEGER else pa.float64() if c in _REAL else pa.large_string())
              for c in cols]
    schema = pa.schema(fields)

    def batches():
        for start in range(0, len(df), _ARROW_CHUNK):
            part = df.iloc[start:start + _ARROW_CHUNK]
            # text held by pyarrow may come in chunks (a ChunkedArray): a table takes both kinds
            yield from pa.table([_arrow_column(part[f.name], f.type) for f in fields], schema=schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _arrow_column(s: pd.Series, typ):
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        arr = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
        if pa.types.is_integer(typ):
            missing = ~np.isfinite(arr)
            return pa.array(np.where(missing, 0, arr).astype(np.int64), mask=missing, type=typ)
        return pa.array(arr, mask=np.isnan(arr), type=typ)
    if isinstance(s.dtype, pd.CategoricalDtype):  # each category once, then a take by code
        cats = pa.array(_column_values(pd.Series(s.cat.categories), None), type=typ)
        codes = s.cat.codes.to_numpy()
        return pc.take(cats, pa.array(codes, mask=codes < 0))
    if isinstance(s.dtype, pd.StringDtype):
        arr = pa.array(s.array)  # pyarrow storage: the same buffers; python storage: one C loop
        return arr if arr.type == typ else arr.cast(typ)
    if s.dtype == object:
        # str and missing values only (None/NaN -> NULL): converted in one C loop, which tells the type it
        # found; anything else (a number, bytes, a missing value pyarrow does not know as one) is converted
        # value by value below
        try:
            arr = pa.array(s.to_numpy(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return arr.cast(typ)
        if arr is not None and pa.types.is_null(arr.type):  # no value at all
            return pa.nulls(len(s), typ)
    return pa.array(_column_values(s, None), type=typ)


# Tables at least this long are loaded by forked helper processes, each into a file of its own with the
# table's indexes, while this process loads the others; then each is copied over with
# ``INSERT INTO t SELECT * FROM part.t``, which SQLite runs as a page-level transfer of rows and index
# entries (its "xfer" optimisation): a fraction of the cost of binding every value again.
_PARALLEL_MIN_ROWS = 50_000


def _parallel_plan(tables: Mapping[str, pd.DataFrame]) -> tuple[int, list[str]]:
    """(number of helper processes, the big tables shared out through the queue, most work first); (0, [])
    to load all here.

    This process takes the first table (the most work: no copy of it) and then tables from the same queue
    as its helpers, so it keeps a share of the work that needs no copying. A table with columns of Python
    objects (text that pandas holds as ``object``, contact_records' cleaned values) may go to a helper
    too: reading an object writes its reference count, so the helper gets its own copy of the memory
    pages holding those objects, but it converts them 65,536 rows at a time, costing the same CPU as here
    (at 1M rows the write's peak memory with its helper was 2.77 GB, 2.58 GB for this process alone).
    A table without an index or a text primary key (conflicts, merge_history, review_queue) is loaded
    here, among the small ones: copying it costs about as much as loading it (1 s less CPU in all at 1M).
    """
    workers = min(os.cpu_count() or 1, 2)
    if not _may_fork():
        return 0, []
    big = [n for n, df in tables.items() if df is not None and len(df) >= _PARALLEL_MIN_ROWS and _sorts(n)]
    big.sort(key=lambda n: _load_cost(n, tables[n]), reverse=True)
    helpers = min(workers - 1, len(big) - 1)
    return (helpers, big) if helpers > 0 else (0, [])


def _sorts(name: str) -> bool:
    """Whether loading a table builds a b-tree of sorted keys besides its rows: an index, or a text primary key
    (the work a helper's copy is spared: SQLite's transfer copies index entries in order)."""
    table = _t(name)
    return bool(table.indexes) or any(isinstance(c.type, sa.Text) for c in table.primary_key.columns)


_HELPER_MEMORY = 2 << 30  # bytes the machine must have free for a helper process to be forked


def _may_fork() -> bool:
    """Whether a write may fork a helper process: ``os.fork``, two CPUs or more, no ``CRMKIT_WRITE_WORKERS=0``,
    no other thread running, and memory the helper can have for itself."""
    return (hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and os.environ.get("CRMKIT_WRITE_WORKERS") != "0"
            and threading.active_count() == 1  # forking a threaded process (the app) could deadlock the child
            and _memory_available() >= _HELPER_MEMORY)  # a helper needs memory of its own (~1 GB at 1M rows)


def _memory_available() -> int:
    """Bytes of memory the system can still give (MemAvailable), or a large number when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 62


def _load_cost(name: str, df: pd.DataFrame) -> int:
    """A rough measure of the work of loading a table, for sharing tables out (largest first).

    Per row: one unit per column and ten per index (a sort when it is built), a text primary key's b-tree
    included (built after the load like an index: see ``_BulkFile._defer_key``).
    """
    table = _t(name)
    text_key = any(isinstance(c.type, sa.Text) for c in table.primary_key.columns)
    return len(df) * (len(df.columns) + 10 * (len(table.indexes) + text_key))


def _ddl(name: str) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements of one table, exactly as a new store has them."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    return [str(sa.schema.CreateTable(_t(name)).compile(dialect=sqlite_dialect.dialect()))] + [
        statement for _, statement in _index_ddl(name)]


def _index_ddl(name: str) -> list[tuple[set[str], str]]:
    """(columns, CREATE INDEX statement) of each index of one table, in the order of their names."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    return [({c.name for c in ix.columns}, str(sa.schema.CreateIndex(ix).compile(dialect=dialect)))
            for ix in sorted(_t(name).indexes, key=lambda i: i.name)]


def _load_part(part_of, tables: Mapping[str, pd.DataFrame], names: list[str], queue: int, done: int) -> None:
    """A helper's work: take table numbers from the ``queue`` pipe (one byte each) until it is empty, and write
    each table, with its indexes, into a new SQLite file of its own (``part_of(name)``), telling its number
    through the ``done`` pipe when the file is complete. Helpers share one queue, so each takes the next table
    as soon as it is free; the parent copies each file as soon as it is free itself."""
    while (item := os.read(queue, 1)):
        name = names[item[0]]
        path = part_of(name)
        path.unlink(missing_ok=True)
        bulk = _BulkFile(path)
        try:
            bulk.execute("BEGIN")
            bulk.create_table(name)
            _insert(bulk, name, tables[name])
            bulk.create_indexes(name)  # after the load: built from sorted keys
            bulk.execute("COMMIT")
        finally:
            bulk.close()
        os.write(done, item)


class _HelperLoad:
    """A forked process running ``work()``: it writes SQLite files of its own next to the store (``path``, if
    given, is removed when it fails). A child that fails prints why and exits with 1; :meth:`wait` then
    answers False."""

    def __init__(self, path: Path | None, work):
        self.reaped = False
        self.path = path
        self.pid = -1
        gc.freeze()  # the helper's garbage collector then never touches (copies) our objects
        try:
            self.pid = os.fork()
        finally:
            if self.pid != 0:
                gc.unfreeze()
        if self.pid == 0:  # pragma: no cover - runs in the child
            code = 1
            gc.disable()  # short-lived, and its few objects hold no cycles
            try:
                if path is not None:
                    path.unlink(missing_ok=True)
                work()
                code = 0
            except BaseException:
                import traceback

                traceback.print_exc()
                if path is not None:
                    path.unlink(missing_ok=True)
            finally:
                os._exit(code)

    def wait(self) -> bool:
        """True when the helper did its work (and wrote its file, if it has one)."""
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:  # pragma: no cover - reaped elsewhere
            return False
        finally:
            self.reaped = True
        return os.waitstatus_to_exitcode(status) == 0 and (self.path is None or self.path.exists())

    def stop(self) -> None:
        if not self.reaped:  # never signal a pid that may belong to another process by now
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.reaped = True
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class _Preload:
    """One table of a brand-new SQLite store, built and loaded by a forked process while this one goes on.

    The child runs ``build()`` (the table as a frame), hands the frame back through a memory-mapped
    Arrow file (:meth:`frame`), then writes the store's future file (``.NAME.tmp-PID-NAME``, this
    process's pid, so it is swept only once this process is gone): every table created, this one
    loaded without the ``later`` columns (left NULL) and indexed except where those take part. At the
    write, :meth:`Store.write` fills the ``later`` columns in by row position (an UPDATE inside SQLite),
    builds the other indexes and loads the other tables into the same file. Started by
    :meth:`Store.preload`; a child that fails makes :meth:`frame` or the write raise a StoreError.
    """

    def __init__(self, final: Path, name: str, build, later: list[str]):
        self.name, self.later = name, list(later)
        self.path = final.with_name(f".{final.name}{_TEMP_MARK}{os.getpid()}-{name}")
        self.arrow = self.path.with_name(self.path.name + ".arrow")
        self.target = str(final)
        self._ready, feed = os.pipe()
        # the child loads the table once it is told to (frame() tells it; so does end of file): until this
        # process has its frame, it cleans beside its own helper, and a third process would slow both
        go, self._go = os.pipe()
        self._handed = False
        try:
            self.helper = _HelperLoad(self.path, lambda: self._child(self.path, build, feed, go))
        except BaseException:
            os.close(self._ready)
            os.close(self._go)
            raise
        finally:
            os.close(feed)  # (the child's copy stays open until it exits: end of file then tells it is gone)
            os.close(go)

    def _child(self, path: Path, build, feed: int, go: int) -> None:  # pragma: no cover - runs in the child
        """Build the frame, hand it over, load it when told through ``go``: every failure is told through
        ``feed``."""
        handed = False
        os.close(self._go)  # (the parent's end: end of file on ``go`` once the parent closes its own)
        try:
            _write_arrow_file(build(), self.arrow)
            frame = _mapped_frame(self.arrow, unlink=False)  # what this process gets: the same values loaded
            os.write(feed, b"R")
            handed = True  # (the file is the parent's from now on: it maps it, or removes it in stop())
            os.read(go, 1)  # until the parent has taken the frame (or ended, or gave up on it)
            os.nice(5)  # loading waits for the write: let this process (and what it forks) go first meanwhile
            bulk = _BulkFile(path)
            try:
                bulk.execute("BEGIN")
                for table in METADATA.sorted_tables:
                    bulk.create_table(table.name)
                bulk.load(self.name, frame.drop(columns=self.later, errors="ignore"))
                del frame
                bulk.create_indexes(self.name, without=self.later)
                bulk.execute("COMMIT")
            finally:
                bulk.close()
        except BaseException as exc:
            if not handed:
                self.arrow.unlink(missing_ok=True)
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            os.write(feed, b"E" + f"{type(exc).__name__}: {text}".encode("utf-8", "replace"))
            raise

    def frame(self) -> pd.DataFrame:
        """The frame the child built (once; waits for it), its columns memory-mapped from a file."""
        if self._handed:
            raise RuntimeError("the preloaded frame was handed over already")
        head = os.read(self._ready, 1)
        if head != b"R":
            self._fail(head)
        self._handed = True
        self._let_load()
        return _mapped_frame(self.arrow)

    def _let_load(self) -> None:
        """Tell the child to load its table: a byte, as processes forked meanwhile hold this end open too."""
        if self._go >= 0:
            try:
                os.write(self._go, b"G")
            except BrokenPipeError:  # the child is gone: nothing to tell (what it left is told on _ready)
                pass
            os.close(self._go)
            self._go = -1

    def finish(self) -> Path:
        """Wait for the child to finish its file and return its path (a StoreError when it failed)."""
        self._let_load()
        told = b""
        while chunk := os.read(self._ready, 65536):
            told += chunk
        if not self.helper.wait() or told.startswith(b"E") or not self._handed:
            self._fail(told)
        os.close(self._ready)
        self._ready = -1
        return self.path

    def _fail(self, told: bytes) -> None:
        self._let_load()  # (a child waiting to load would keep _ready open)
        while chunk := os.read(self._ready, 65536):
            told += chunk
        self.stop()
        why = told[1:].decode("utf-8", "replace") if told.startswith(b"E") else "it ended without a word"
        raise StoreError(f"the helper process that prepares {self.name} failed ({why})", file=_display(self.target),
                         hint="nothing was written; run it again, or set CRMKIT_WRITE_WORKERS=0 to work in "
                              "one process")

    def stop(self) -> None:
        """End the child if it still runs and remove its files (nothing to do when it was used)."""
        if self._ready >= 0:
            os.close(self._ready)
            self._ready = -1
        self._let_load()
        self.helper.stop()
        self.arrow.unlink(missing_ok=True)


def _write_arrow_file(frame: pd.DataFrame, path: Path) -> None:
    """A frame as an Arrow IPC file (see :func:`_mapped_frame`)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _mapped_frame(path: Path, unlink: bool = True) -> pd.DataFrame:
    """The frame of an Arrow IPC file, its columns memory-mapped; the file is unlinked at once (the mapping
    keeps it until the frame goes), so its pages belong to the page cache, not to this process."""
    import pyarrow as pa

    try:
        return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all().to_pandas()
    finally:
        if unlink:
            os.unlink(path)


def _insert_server(conn: sa.Connection, name: str, table: sa.Table, cols: list[str], rows: list[tuple]) -> None:
    """Bulk insert into a server database: COPY on PostgreSQL (psycopg 3), executemany elsewhere.

    PostgreSQL cannot store NUL (0x00) in text: it becomes U+FFFD there (SQLite keeps it, and the
    original value stays in ``source_rows.raw`` as JSON, where it is escaped).
    """
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql" and hasattr(driver, "cursor") and conn.dialect.driver == "psycopg" \
            and len(rows) > 50:
        prep = conn.dialect.identifier_preparer
        sql = f"COPY {prep.quote(name)} ({', '.join(prep.quote(c) for c in cols)}) FROM STDIN"
        with driver.cursor() as cur, cur.copy(sql) as copy:
            for r in rows:
                copy.write_row(r)
        return
    chunk = 5000
    for i in range(0, len(rows), chunk):
        conn.execute(table.insert(), [dict(zip(cols, r)) for r in rows[i:i + chunk]])


def _without_nul(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """Text with NUL (0x00) replaced by U+FFFD, for databases that cannot store NUL (a new frame if any)."""
    if df is None or df.empty:
        return df
    out = None
    for c in df.columns:
        s = df[c]
        if c in _REAL or c in _INTEGER:
            continue
        if isinstance(s.dtype, pd.StringDtype):  # pandas' string dtype (the default for text from pandas 3)
            has = s.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
        elif s.dtype == object:
            has = s.map(lambda v: type(v) is str and "\x00" in v).to_numpy(dtype=bool)
        else:
            continue
        if has.any():
            out = df.copy() if out is None else out
            out.loc[has, c] = s[has].str.replace("\x00", "\ufffd", regex=False)
    return df if out is None else out


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
