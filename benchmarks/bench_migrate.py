"""End to end: `crmkit migrate` from a CSV of N generated messy contacts into a store.

Measures what a user waits for (read, map, clean, match, merge, write) in a separate process, its peak
memory, and the pairwise precision/recall/F1 of the resulting contacts against the corpus truth.

    python benchmarks/bench_migrate.py                 # 100k rows into SQLite
    python benchmarks/bench_migrate.py --rows 1000000
    python benchmarks/bench_migrate.py --rows 100000 --url postgresql://user@127.0.0.1:5432/crm
"""
from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import make_corpus  # noqa: E402

HEADERS = {"first_name": "First Name", "last_name": "Last Name", "email": "Email", "phone": "Phone",
           "mobile": "Mobile", "company": "Company", "street": "Street", "postcode": "Zip", "city": "City",
           "country": "Country", "created_at": "Created"}


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--url", help="a database URL instead of a temporary SQLite file")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crmkit-bench-"))
    t = time.perf_counter()
    corpus = make_corpus(a.rows, seed=a.seed)
    csv = work / "contacts.csv"
    corpus[list(HEADERS)].rename(columns=HEADERS).to_csv(csv, index=False)
    print(f"corpus: {len(corpus):,} rows, {corpus['true_id'].nunique():,} people "
          f"({time.perf_counter() - t:.1f} s to generate) -> {csv}")
    out = a.url or str(work / "crm.sqlite")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "crmkit.cli", "migrate", str(csv), "--out", out, "--json", "-q"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode:
        print(proc.stdout, proc.stderr)
        sys.exit(proc.returncode)
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    summary = json.loads(proc.stdout)
    print(f"migrate: {seconds:.1f} s wall ({len(corpus) / seconds:,.0f} rows/s), peak memory {peak_gb:.2f} GB")
    print(f"  contacts {summary['contacts']:,}, pairs scored {summary.get('pairs_scored', 0):,}, "
          f"auto-merged {summary.get('pairs_merged', 0):,}, review {summary.get('pairs_review', 0):,}, "
          f"issues {summary['issues']:,}")
    if a.url:
        import crmkit

        recs = crmkit.Store(a.url).read_table("contact_records")[["source_row", "contact_id"]]
    else:
        recs = pd.read_sql("select source_row, contact_id from contact_records", sqlite3.connect(out))
    # the CSV's line number = corpus position + 2 (header is line 1; no quoted newlines in the corpus)
    truth = corpus["true_id"].to_numpy()[recs["source_row"].astype(int).to_numpy() - 2]
    p, r, f = pairwise(truth, recs["contact_id"].to_numpy())
    print(f"  pairwise precision {p:.4f}  recall {r:.4f}  F1 {f:.4f}")


if __name__ == "__main__":
    main()
