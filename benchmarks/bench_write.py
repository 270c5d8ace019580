#!/usr/bin/env python
"""The write stage alone: the tables a migration of N generated contacts writes, into a new SQLite store.

    python benchmarks/bench_write.py --rows 100000
    python benchmarks/bench_write.py --rows 1000000 --tables      # also each table on its own
    python benchmarks/bench_write.py --rows 1000000 --only adbc --repeat 2

The tables are what ``crmkit.migrate`` hands to ``Store.write`` for the cached corpus of
``bench_migrate.py`` (computed once, then cached in ``benchmarks/_data/``). Prints the whole write as
migrate makes it, source_rows preloaded by a helper first (see ``Store.preload``; waited for, its CPU
apart): wall seconds, CPU seconds of this process, of the helper processes the write forks and of the
preload helper, file size, for the loaders available: ADBC (adbc-driver-sqlite) and sqlite3's
executemany, each with and without forked helpers (without: nothing is preloaded either). ``--tables`` loads every table alone into an empty file, serially: rows, MB written,
CPU seconds of the insert and of its indexes (with a text primary key's b-tree, built after
the load: see ``_BulkFile._defer_key``). CPU seconds are the figure to compare on a shared
machine; wall seconds follow the load of the other processes.
"""
from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def tables_for(rows: int, seed: int = 7) -> Path:
    """The (replace, append) arguments of the migration's Store.write, pickled in benchmarks/_data/."""
    cache = HERE / "_data" / f"write_tables_{rows}_{seed}.pkl"
    if cache.exists():
        return cache
    from bench_migrate import corpus_csv

    import crmkit
    import crmkit.store as store_mod

    csv, _ = corpus_csv(rows, seed)
    real = store_mod.Store.write

    def capture(self, replace=None, append=None, **kwargs):
        with open(cache, "wb") as fh:
            pickle.dump((replace, append), fh, protocol=5)
        return real(self, replace, append, **kwargs)

    store_mod.Store.write = capture
    try:
        with tempfile.TemporaryDirectory() as tmp:
            crmkit.migrate([csv], Path(tmp) / "crm.sqlite")
    finally:
        store_mod.Store.write = real
    return cache


# one write in a fresh process, as migrate makes it: source_rows is first preloaded into the new file by a
# forked helper (Store.preload, during the matcher in a migration: it is waited for here, and its CPU is told
# apart), then Store.write fills in its record_id and batch_id and loads the rest; the write's helpers' CPU is
# then the rest of RUSAGE_CHILDREN
_ONE = r"""
import os, pickle, resource, sys, time
from crmkit.store import Store
replace, append = pickle.load(open(sys.argv[1], "rb"))
store, rows = Store(sys.argv[2]), replace["source_rows"]
pre = store.preload("source_rows", lambda: rows.drop(columns=["batch_id"]).assign(record_id=None),
                    later=["record_id", "batch_id"], rows=len(rows))
pre_cpu = 0.0
if pre is not None:
    frame = pre.frame()
    os.waitid(os.P_PID, pre.helper.pid, os.WEXITED | os.WNOWAIT)  # done, not reaped: its CPU is in /proc
    stat = open(f"/proc/{pre.helper.pid}/stat").read().rsplit(")", 1)[1].split()
    pre_cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    replace = {**replace, "source_rows": frame.assign(record_id=rows["record_id"].to_numpy(),
                                                      batch_id=rows["batch_id"].to_numpy())}
del rows
t, c = time.perf_counter(), time.process_time()
store.write(replace=replace, append=append, preloaded=pre)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - t, time.process_time() - c, kids.ru_utime + kids.ru_stime - pre_cpu, pre_cpu,
      os.path.getsize(sys.argv[2]))
"""


def whole_write(cache: Path, adbc: bool, helpers: bool) -> tuple[float, float, float, float, int]:
    """(wall s, CPU s here, CPU s of the write's helpers, CPU s of the preload helper, file size)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRMKIT_ADBC": "1" if adbc else "0", "CRMKIT_WRITE_WORKERS": "" if helpers else "0"}
        out = subprocess.run([sys.executable, "-c", _ONE, str(cache), str(Path(tmp) / "crm.sqlite")],
                             capture_output=True, text=True, env=env, check=True)
        wall, cpu, kids, pre, size = out.stdout.split()
        return float(wall), float(cpu), float(kids), float(pre), int(size)


def per_table(cache: Path, adbc: bool) -> None:
    import crmkit.store as store_mod

    os.environ["CRMKIT_ADBC"] = "1" if adbc else "0"
    with open(cache, "rb") as fh:
        replace, append = pickle.load(fh)
    tables = {**replace, **append}
    print(f"\n{'ADBC' if adbc else 'sqlite3'}, each table alone:")
    print(f"  {'table':<16} {'rows':>10} {'MB':>8} {'insert cpu s':>13} {'index cpu s':>12}")
    total = [0.0, 0.0]
    with tempfile.TemporaryDirectory() as tmp:
        for name, df in sorted(tables.items(), key=lambda kv: -len(kv[1]) if kv[1] is not None else 0):
            if df is None or len(df) < 1000:
                continue
            path = Path(tmp) / f"{name}.sqlite"
            con = store_mod._BulkFile(path)
            con.execute("BEGIN")
            con.create_table(name)
            c0 = time.process_time()
            store_mod._insert(con, name, df)
            c1 = time.process_time()
            con.create_indexes(name)
            c2 = time.process_time()
            con.execute("COMMIT")
            con.close()
            total[0] += c1 - c0
            total[1] += c2 - c1
            print(f"  {name:<16} {len(df):>10,} {path.stat().st_size / 1e6:>8.1f} {c1 - c0:>13.2f} {c2 - c1:>12.2f}")
    print(f"  {'total':<16} {'':>10} {'':>8} {total[0]:>13.2f} {total[1]:>12.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tables", action="store_true", help="also load each table alone (serially)")
    ap.add_argument("--repeat", type=int, default=1, help="run each loader this many times")
    ap.add_argument("--only", choices=["adbc", "sqlite3"], help="only this loader (with and without helpers)")
    a = ap.parse_args()
    cache = tables_for(a.rows, a.seed)
    print(f"write of the tables of a {a.rows:,}-row migration into a new SQLite store; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  {'loader':<24} {'wall s':>7} {'cpu s':>7} {'helper cpu s':>13} {'preload cpu s':>14} {'MB':>7}")
    from crmkit.store import _adbc_sqlite

    loaders = [(True, True), (True, False)] if _adbc_sqlite() is not None else []
    runs = [run for run in loaders + [(False, True), (False, False)]
            if a.only is None or run[0] == (a.only == "adbc")]
    for adbc, helpers in runs:
        for _ in range(a.repeat):
            wall, cpu, kids, pre, size = whole_write(cache, adbc, helpers)
            label = f"{'ADBC' if adbc else 'sqlite3'}, {'with helper' if helpers else 'one process'}"
            print(f"  {label:<24} {wall:>7.1f} {cpu:>7.1f} {kids:>13.1f} {pre:>14.1f} {size / 1e6:>7.0f}", flush=True)
    if a.tables:
        for adbc in ([True] if loaders else []) + [False]:
            per_table(cache, adbc)
    print(f"load average {os.getloadavg()[0]:.1f} at the end ({resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak here)")


if __name__ == "__main__":
    main()
