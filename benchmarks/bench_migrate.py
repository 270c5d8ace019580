"""End to end: `crmkit migrate` from a CSV of N generated messy contacts into a store.

Measures what a user waits for (read, map, clean, match, merge, write) in a separate process: a table
of per-stage seconds (from the migrate progress callback, plus the time the process needs to exit after
``migrate`` returned), the peak memory overall and per stage (the child's resident memory sampled every
50 ms, alone and together with the helper processes it forks, shared pages counted once), the CPU seconds of
the process and of its helpers per stage (``--steps``: per progress step), and the pairwise precision/recall/F1 of the
resulting contacts against the corpus truth. The generated CSV is cached in ``benchmarks/_data/`` (git-ignored).

    python benchmarks/bench_migrate.py                 # 100k rows into SQLite
    python benchmarks/bench_migrate.py --rows 1000000 --no-dedupe
    python benchmarks/bench_migrate.py --rows 1000000 --steps
    python benchmarks/bench_migrate.py --rows 100000 --url postgresql://user@127.0.0.1:5432/crm
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_corpus import make_corpus  # noqa: E402

DATA = HERE / "_data"
HEADERS = {"first_name": "First Name", "last_name": "Last Name", "full_name": "Full Name", "email": "Email",
           "phone": "Phone", "mobile": "Mobile", "company": "Company", "street": "Street", "postcode": "Zip", "city": "City",
           "country": "Country", "created_at": "Created"}

# Runs in the child process: crmkit.migrate with a progress callback that time-stamps every step.
_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from crmkit.migrate import migrate
events = [("import crmkit", 0.0)]
def progress(step, frac):
    events.append((step, time.perf_counter() - t0))
    print("EVENT " + json.dumps(step), flush=True)  # the parent attributes memory samples to this stage
r = migrate([sys.argv[1]], sys.argv[2], dedupe=sys.argv[3] == "1", progress=progress)
from crmkit.cli import _ending
_ending()  # what `crmkit migrate` does once migrate returned: the exit column is the command's exit
events.append(("returned", time.perf_counter() - t0))
print(json.dumps({"events": events, "summary": r.summary}))
sys.stdout.flush()
"""


def pairwise(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """Pairwise precision/recall/F1 of a clustering, counted from contingency sizes (no pair lists)."""
    df = pd.DataFrame({"t": truth, "p": pred})
    both = df.groupby(["t", "p"]).size()
    tp = float((both * (both - 1) / 2).sum())
    pt = df.groupby("t").size()
    pp = df.groupby("p").size()
    true_pairs = float((pt * (pt - 1) / 2).sum())
    pred_pairs = float((pp * (pp - 1) / 2).sum())
    prec = tp / pred_pairs if pred_pairs else 1.0
    rec = tp / true_pairs if true_pairs else 1.0
    return prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def corpus_csv(rows: int, seed: int) -> tuple[Path, np.ndarray]:
    """The corpus as a CSV (cached in benchmarks/_data/) and its true person ids in row order."""
    DATA.mkdir(exist_ok=True)
    csv, truth = DATA / f"contacts_{rows}_{seed}_v2.csv", DATA / f"contacts_{rows}_{seed}_v2.truth.npy"
    if not (csv.exists() and truth.exists()):
        t = time.perf_counter()
        corpus = make_corpus(rows, seed=seed)
        corpus[list(HEADERS)].rename(columns=HEADERS).to_csv(csv, index=False)
        np.save(truth, corpus["true_id"].to_numpy())
        print(f"corpus: {len(corpus):,} rows, {corpus['true_id'].nunique():,} people "
              f"({time.perf_counter() - t:.1f} s to generate) -> {csv}")
    return csv, np.load(truth, allow_pickle=True)


def _stage(step: str) -> str:
    for prefix, name in (("import", "import"), ("reading", "read"), ("mapping", "map"),
                         ("preparing", "prepare (ids, JSON)"), ("comparing", "compare with store"), ("cleaning", "clean"),
                         ("linking", "link (match+merge)"), ("writing", "write"), ("done", "finish"),
                         ("returned", "returned")):
        if step.startswith(prefix):
            return name
    return "link (match+merge)"  # steps reported by build_contacts (finding duplicates, clustering, merging)


def stage_table(events: list[tuple[str, float]], wall: float) -> list[tuple[str, float]]:
    """Seconds per stage from time-stamped progress events; 'exit' is process teardown after return."""
    stages: dict[str, float] = {}
    for (step, t), (_next, t_next) in zip(events, events[1:]):
        name = _stage(step)
        stages[name] = stages.get(name, 0.0) + t_next - t
    stages["exit (after return)"] = max(wall - events[-1][1], 0.0)
    return list(stages.items())


def _memory_gb(pid: int, field: str = "Rss") -> float:
    """Resident (``Rss``) or proportional (``Pss``: shared pages split between the processes mapping
    them) memory of one process in GB, 0 when it is gone."""
    # status is cheap to read; smaps_rollup walks the page tables, so it is read only while helpers run
    source, key = (f"/proc/{pid}/status", "VmRSS:") if field == "Rss" else (f"/proc/{pid}/smaps_rollup", "Pss:")
    try:
        with open(source) as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                kids = [int(k) for k in fh.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (``/proc/PID/stat``), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of stat)


def run_sampled(cmd: list[str], pss_every: float = 1.0
                ) -> tuple[int, str, str, dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """Run the child, sampling its memory and CPU every 50 ms; returns (returncode, stdout, stderr, peaks,
    cpu) where peaks maps each stage to (the child's own peak resident GB, peak GB of the child and its
    helper processes together, pages they share after a fork counted once: the sum of their Pss) and cpu
    maps each stage to (CPU seconds of the child itself, CPU seconds of its helper processes): how well a
    stage keeps both cores busy. A helper's CPU in its last 50 ms before it exits is not seen.

    The child's own resident memory and every CPU figure are cheap counters. The Pss of the child and its
    helpers is not: the kernel walks each process's page tables to count it (about 3 GB of them at 1M
    rows), and sampling it every 50 ms made a 1M migrate 10-13 s slower on two cores. So it is sampled every
    ``pss_every`` seconds (0: never, and the with-helpers column shows the child alone) and a short peak
    between two samples can be missed."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stage = ["import"]
    step = ["import crmkit"]
    lines: list[str] = []
    err: list[str] = []

    def pump() -> None:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("EVENT "):
                step[0] = json.loads(line[len("EVENT "):])
                stage[0] = _stage(step[0])

    readers = [threading.Thread(target=pump, daemon=True),
               threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)]
    for r in readers:
        r.start()
    peaks: dict[str, tuple[float, float]] = {}
    cpu: dict[str, tuple[float, float]] = {}
    steps: dict[str, tuple[float, float]] = {}  # the same per progress step
    seen: dict[int, float] = {}  # CPU seconds of each process at the previous sample
    next_pss = 0.0
    while proc.poll() is None:
        own = _memory_gb(proc.pid)
        kids = _descendants(proc.pid)
        main_cpu = helper_cpu = 0.0
        for pid in [proc.pid, *kids]:
            now = _cpu_seconds(pid)
            if now is not None:
                # a forked helper starts with its parent's counters at zero, so its first delta is all its own
                delta, seen[pid] = now - seen.get(pid, 0.0), now
                if pid == proc.pid:
                    main_cpu += delta
                else:
                    helper_cpu += delta
        c_main, c_help = cpu.get(stage[0], (0.0, 0.0))
        cpu[stage[0]] = (c_main + main_cpu, c_help + helper_cpu)
        c_main, c_help = steps.get(step[0], (0.0, 0.0))
        steps[step[0]] = (c_main + main_cpu, c_help + helper_cpu)
        total = own
        if kids and pss_every and time.perf_counter() >= next_pss:
            total = _memory_gb(proc.pid, "Pss") + sum(_memory_gb(k, "Pss") for k in kids)
            next_pss = time.perf_counter() + pss_every
        a, b = peaks.get(stage[0], (0.0, 0.0))
        peaks[stage[0]] = (max(a, own), max(b, total))
        time.sleep(0.05)
    for r in readers:
        r.join()
    return proc.returncode, "".join(lines), "".join(err), peaks, cpu, steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--url", help="a database URL instead of a temporary SQLite file")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-dedupe", action="store_true", help="skip matching and merging")
    ap.add_argument("--steps", action="store_true",
                    help="also print every progress step: seconds, CPU of the process and of its helpers")
    ap.add_argument("--pss-every", type=float, default=1.0, metavar="SECONDS",
                    help="how often to measure the memory of the process and its helpers together (it costs the "
                         "measured run time: every 50 ms slowed a 1M run by 10-13 s); 0 for never (default: 1)")
    a = ap.parse_args()
    csv, truth_ids = corpus_csv(a.rows, a.seed)
    work = Path(tempfile.mkdtemp(prefix="crmkit-bench-"))
    out = a.url or str(work / "crm.sqlite")
    t = time.perf_counter()
    code, stdout, stderr, peaks, cpu_by_stage, cpu_by_step = run_sampled([sys.executable, "-c", _CHILD, str(csv), out,
                                               "0" if a.no_dedupe else "1"], a.pss_every)
    seconds = time.perf_counter() - t
    if code:
        print(stdout, stderr)
        sys.exit(code)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_gb, cpu = usage.ru_maxrss / 1024 / 1024, usage.ru_utime + usage.ru_stime
    child = json.loads(stdout.strip().splitlines()[-1])
    summary = child["summary"]
    rows = len(truth_ids)
    print(f"migrate {rows:,} rows{' (no dedupe)' if a.no_dedupe else ''}: {seconds:.1f} s wall "
          f"({rows / seconds:,.0f} rows/s), {cpu:.1f} s CPU, peak memory {peak_gb:.2f} GB")
    print(f"  {'stage':<22} {'seconds':>8} {'peak GB':>8} {'+helpers':>8} {'CPU s':>7} {'+helpers':>8}"
          "  (the process alone; with the helpers it forks)")
    for name, sec in stage_table([tuple(e) for e in child["events"]], seconds):
        own, total = peaks.get(name, (float("nan"), float("nan")))
        c_main, c_help = cpu_by_stage.get(name, (float("nan"), float("nan")))
        print(f"  {name:<22} {sec:8.1f} {own:8.2f} {total:8.2f} {c_main:7.1f} {c_help:8.1f}")
    if a.steps:
        events = [tuple(e) for e in child["events"]]
        for (name, t), (_next, t_next) in zip(events, events[1:]):
            c_main, c_help = cpu_by_step.get(name, (float("nan"), float("nan")))
            print(f"    {t:6.1f} {t_next - t:6.1f} s {c_main:6.1f} {c_help:6.1f}  {name[:70]}")
    print(f"  contacts {summary['contacts']:,}, pairs scored {summary.get('pairs_scored', 0):,}, "
          f"auto-merged {summary.get('pairs_merged', 0):,}, review {summary.get('pairs_review', 0):,}, "
          f"issues {summary['issues']:,}")
    if a.url:
        import crmkit

        recs = crmkit.Store(a.url).read_table("contact_records")[["source_row", "contact_id"]]
    else:
        recs = pd.read_sql("select source_row, contact_id from contact_records", sqlite3.connect(out))
    # the CSV's line number = corpus position + 2 (header is line 1; no quoted newlines in the corpus)
    truth = truth_ids[recs["source_row"].astype(int).to_numpy() - 2]
    p, r, f = pairwise(truth, recs["contact_id"].to_numpy())
    print(f"  pairwise precision {p:.4f}  recall {r:.4f}  F1 {f:.4f}")
    shutil.rmtree(work, ignore_errors=True)  # a 1M-row store is 2 GB


if __name__ == "__main__":
    main()
