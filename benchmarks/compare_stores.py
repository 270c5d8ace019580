"""Compare two crmkit SQLite stores table by table: every column's values and storage types, row by row.

Two migrations of the same files differ only in their batch id and clock times; those columns are
compared by storage type only (``batch_id``, ``updated_at``, ``at``, ``started_at``, ``finished_at``), and
the per-run ``batches``/``audit_log``/``meta`` rows by count. Rows are compared in rowid order (the order
they were written in, which matters for the insertion-ordered tables), through a digest per table, so
multi-million-row stores compare in bounded memory. Each file's ``PRAGMA integrity_check`` is compared too
(every index, the primary keys' included, holds exactly its table's rows).

    python benchmarks/compare_stores.py a.sqlite b.sqlite
"""
from __future__ import annotations

import hashlib
import sqlite3
import sys

VOLATILE = {"batch_id", "updated_at", "at", "started_at", "finished_at"}
PER_RUN = {"batches", "audit_log", "meta"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def digest(path: str) -> dict[str, object]:
    """table -> (rows, digest of every row in rowid order), plus the schema (tables and index definitions)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.text_factory = bytes  # text compared byte for byte (a NUL or bad UTF-8 too)
    try:
        out: dict[str, object] = {"schema": sorted(tuple(r) for r in con.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))}
        out["autoindexes"] = sorted(tuple(r) for r in con.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name LIKE 'sqlite_autoindex%'"))
        out["integrity"] = con.execute("PRAGMA integrity_check").fetchall()
        tables = [r[0].decode() for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in sorted(tables):
            if name in PER_RUN:
                out[name] = con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
                continue
            cols = [r[1].decode() for r in con.execute(f"PRAGMA table_info({_quote(name)})")]
            exprs = []
            for c in cols:
                exprs.append(f"typeof({_quote(c)})")
                if c not in VOLATILE:
                    exprs.append(_quote(c))
            h = hashlib.blake2b(digest_size=20)
            n = 0
            cur = con.execute(f"SELECT rowid, {', '.join(exprs)} FROM {_quote(name)} ORDER BY rowid")
            while rows := cur.fetchmany(100_000):
                n += len(rows)
                h.update(repr(rows).encode())
            out[name] = (n, h.hexdigest())
        return out
    finally:
        con.close()


def compare(a: str, b: str) -> list[str]:
    """The differences between two stores (empty when they hold the same content)."""
    da, db = digest(a), digest(b)
    return [f"{k}: {da.get(k)!r} != {db.get(k)!r}" for k in sorted(set(da) | set(db)) if da.get(k) != db.get(k)]


def main() -> None:
    diffs = compare(sys.argv[1], sys.argv[2])
    print("\n".join(diffs) if diffs else "same content: every table, column, value and storage type")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
