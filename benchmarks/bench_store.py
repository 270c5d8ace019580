#!/usr/bin/env python
"""Migration speed into SQLite and PostgreSQL, per pipeline stage, for N generated contact rows.

    python benchmarks/bench_store.py                       # 100,000 rows; PostgreSQL if a server can be started
    python benchmarks/bench_store.py --rows 1000000
    python benchmarks/bench_store.py --postgres postgresql://me@localhost/bench   # an existing (empty) database
    python benchmarks/bench_store.py --no-postgres --dedupe

Prints seconds and rows/s for each stage (read, map, clean, link/match, write), the whole migration,
a no-op re-import of the same file, a backup, and reading ``source_rows`` back.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "trust"))

import crmkit  # noqa: E402
from crmkit.backup import backup  # noqa: E402
from crmkit.store import Store  # noqa: E402

from _gen import make_big_csv  # noqa: E402
from _pg import PostgresUnavailable, create_database, throwaway_postgres  # noqa: E402


def _stage(step: str) -> str:
    for prefix, name in (("reading", "read"), ("mapping", "map"), ("cleaning", "clean"), ("linking", "link+match"),
                         ("writing", "write"), ("done", "done")):
        if step.startswith(prefix):
            return name
    return "link+match"  # steps reported by build_contacts (matching, merging...)


def timed_migrate(src: Path, target: str, rows: int, dedupe: bool) -> dict[str, float]:
    events: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    crmkit.migrate([src], target, dedupe=dedupe, progress=lambda step, frac: events.append((step, time.perf_counter())))
    total = time.perf_counter() - t0
    stages: dict[str, float] = {}
    for (step, t), (_next, t_next) in zip(events, events[1:]):
        name = _stage(step)
        stages[name] = stages.get(name, 0.0) + t_next - t
    stages.pop("done", None)
    stages["total"] = total
    return stages


def report(label: str, rows: int, stages: dict[str, float]) -> None:
    for name, sec in stages.items():
        print(f"  {label:<11} {name:<22} {sec:9.2f} s  {rows / sec if sec > 0 else float('inf'):>12,.0f} rows/s")


def bench(label: str, target: str, src: Path, rows: int, dedupe: bool, workdir: Path) -> None:
    stages = timed_migrate(src, target, rows, dedupe)
    report(label, rows, stages)
    t = time.perf_counter()
    crmkit.migrate([src], target, dedupe=dedupe)
    extra = {"re-import (no-op)": time.perf_counter() - t}
    store = Store(target)
    t = time.perf_counter()
    n = len(store.read_table("source_rows"))
    extra["read source_rows"] = time.perf_counter() - t
    t = time.perf_counter()
    backup(store, workdir / f"backup-{label}.sqlite", force=True)
    extra["backup"] = time.perf_counter() - t
    store.close()
    assert n == rows, f"{label}: {n} source rows stored, {rows} expected"
    report(label, rows, extra)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--postgres", help="URL of an empty PostgreSQL database (default: start a throwaway server)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--dedupe", action="store_true", help="also find duplicates (default: store speed only)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        t = time.perf_counter()
        src = make_big_csv(workdir / "contacts.csv", args.rows)
        print(f"generated {args.rows:,} rows ({src.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s; "
              f"dedupe={'on' if args.dedupe else 'off'}")
        print(f"  {'store':<11} {'stage':<22} {'seconds':>9}    {'rows/s':>12}")
        bench("sqlite", str(workdir / "crm.sqlite"), src, args.rows, args.dedupe, workdir)
        if args.no_postgres:
            return
        url = args.postgres
        if url is None:
            try:
                server = stack.enter_context(throwaway_postgres())
            except PostgresUnavailable as exc:
                print(f"PostgreSQL skipped: {exc}")
                return
            url = create_database(server, "crmkit_bench")
        bench("postgresql", url, src, args.rows, args.dedupe, workdir)


if __name__ == "__main__":
    main()
