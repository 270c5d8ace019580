#!/usr/bin/env python
"""Migration, re-import, read, backup and restore speed into SQLite and PostgreSQL for N generated contact rows.

    python benchmarks/bench_store.py                       # 100,000 rows; PostgreSQL if a server can be started
    python benchmarks/bench_store.py --rows 1000000
    python benchmarks/bench_store.py --postgres postgresql://me@localhost/bench   # an existing server
    python benchmarks/bench_store.py --no-postgres --dedupe

Each backend runs in its own child process, so "peak MB" is that process's peak resident memory (the
PostgreSQL server's memory and CPU are not included). Prints one table:

    backend     rows  migrate s  (cpu s)  write s  re-import s  read s  backup s  restore s  peak MB

* migrate: ``crmkit.migrate`` of the generated CSV into a new store (cpu: the client's CPU seconds; a
  number far below wall time means waiting, on the database server or on other processes);
* write: the part of the migration spent writing the store;
* re-import: the same file again (every row already stored: a no-op write);
* read: ``Store.read_table("contacts")`` (what the app does on every page);
* backup: ``crmkit backup`` into one SQLite file; restore: that file into a new store of the same kind.

``--stages`` also prints the migration's stages (read, map, clean, link+match, write).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "trust"))


def _stage(step: str) -> str:
    for prefix, name in (("reading", "read"), ("mapping", "map"), ("preparing", "prepare"),
                         ("comparing", "compare"), ("cleaning", "clean"), ("linking", "link+match"),
                         ("writing", "write"), ("done", "done")):
        if step.startswith(prefix):
            return name
    return "link+match"  # steps reported by build_contacts (matching, merging...)


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (crmkit may fork helpers to write)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its helpers) of fn()."""
    t, c = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - t, _cpu() - c


def run_backend(src: Path, target: str, restore_target: str, rows: int, dedupe: bool, workdir: Path) -> dict:
    """Everything measured for one backend, in this process."""
    import crmkit
    from crmkit.backup import backup, restore
    from crmkit.store import Store

    events: list[tuple[str, float]] = []
    out: dict = {}
    out["migrate"], out["migrate_cpu"] = _timed(lambda: crmkit.migrate(
        [src], target, dedupe=dedupe, progress=lambda step, frac: events.append((step, time.perf_counter()))))
    stages: dict[str, float] = {}
    for (step, t), (_next, t_next) in zip(events, events[1:]):
        stages[_stage(step)] = stages.get(_stage(step), 0.0) + t_next - t
    stages.pop("done", None)
    out["stages"] = stages
    out["write"] = stages.get("write", float("nan"))
    out["reimport"], out["reimport_cpu"] = _timed(lambda: crmkit.migrate([src], target, dedupe=dedupe))
    store = Store(target)
    n = len(store.read_table("source_rows"))
    assert n == rows, f"{n} source rows stored, {rows} expected"
    out["read"], _ = _timed(lambda: Store(target).read_table("contacts"))
    dest = workdir / f"backup-{os.getpid()}.sqlite"
    out["backup"], out["backup_cpu"] = _timed(lambda: backup(store, dest, force=True))
    store.close()
    out["restore"], out["restore_cpu"] = _timed(lambda: restore(dest, restore_target, force=True).close())
    restored = Store(restore_target)
    assert len(restored.read_table("source_rows")) == rows, "the restored store lacks rows"
    restored.close()
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return out


def _child(args) -> None:
    result = run_backend(Path(args.src), args.target, args.restore_target, args.rows, args.dedupe, Path(args.workdir))
    print("RESULT " + json.dumps(result))


def _spawn(backend: str, src: Path, target: str, restore_target: str, args, workdir: Path) -> dict | None:
    cmd = [sys.executable, __file__, "--child", "--src", str(src), "--target", target,
           "--restore-target", restore_target, "--rows", str(args.rows), "--workdir", str(workdir)]
    if args.dedupe:
        cmd.append("--dedupe")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    print(f"{backend} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}", file=sys.stderr)
    return None


def print_table(results: list[tuple[str, int, dict]], stages: bool) -> None:
    head = (f"{'backend':<11} {'rows':>9} {'migrate s':>10} {'(cpu s)':>8} {'write s':>8} {'re-import s':>12} "
            f"{'read s':>7} {'backup s':>9} {'restore s':>10} {'peak MB':>8}")
    print(head)
    print("-" * len(head))
    for backend, rows, r in results:
        print(f"{backend:<11} {rows:>9,} {r['migrate']:>10.1f} {r['migrate_cpu']:>8.1f} {r['write']:>8.1f} "
              f"{r['reimport']:>12.1f} {r['read']:>7.2f} {r['backup']:>9.1f} {r['restore']:>10.1f} "
              f"{r['peak_mb']:>8.0f}")
    if stages:
        print()
        for backend, rows, r in results:
            print(f"{backend:<11} " + "  ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items()))
            print(f"{'':<11} cpu s: re-import {r['reimport_cpu']:.1f}, backup {r['backup_cpu']:.1f}, "
                  f"restore {r['restore_cpu']:.1f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--postgres", help="URL of a PostgreSQL server whose user may create databases "
                                       "(default: start a throwaway server)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--dedupe", action="store_true", help="also find duplicates (default: store speed only)")
    ap.add_argument("--stages", action="store_true", help="also print the migration's stages and CPU seconds")
    # internal: one backend in a child process
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--target", help=argparse.SUPPRESS)
    ap.add_argument("--restore-target", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)

    from _gen import make_big_csv
    from _pg import PostgresUnavailable, create_database, throwaway_postgres

    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        t = time.perf_counter()
        src = make_big_csv(workdir / "contacts.csv", args.rows)
        load = os.getloadavg()[0]
        print(f"generated {args.rows:,} rows ({src.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s; "
              f"dedupe={'on' if args.dedupe else 'off'}; {os.cpu_count()} CPUs, load average {load:.1f} at start",
              flush=True)
        results = []
        r = _spawn("sqlite", src, str(workdir / "crm.sqlite"), str(workdir / "restored.sqlite"), args, workdir)
        if r:
            results.append(("sqlite", args.rows, r))
        if not args.no_postgres:
            server = args.postgres
            if server is None:
                try:
                    server = stack.enter_context(throwaway_postgres())
                except PostgresUnavailable as exc:
                    print(f"PostgreSQL skipped: {exc}")
            if server:
                suffix = f"{os.getpid()}"
                url = create_database(server, f"crmkit_bench_{suffix}")
                restored = create_database(server, f"crmkit_bench_restored_{suffix}")
                r = _spawn("postgresql", src, url, restored, args, workdir)
                if r:
                    results.append(("postgresql", args.rows, r))
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        print()
        print_table(results, args.stages)


if __name__ == "__main__":
    main()
