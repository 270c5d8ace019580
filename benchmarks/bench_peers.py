"""Duplicate detection side by side: crmkit, Splink (DuckDB) and recordlinkage on one generated corpus.

    python benchmarks/bench_peers.py                        # 10,000 rows
    python benchmarks/bench_peers.py --rows 100000
    python benchmarks/bench_peers.py --tools crmkit splink  # a subset

The seeded corpus of :mod:`make_corpus` is generated once and written to a temporary parquet file.
Each tool then runs in a fresh Python process (``--worker``), so its peak memory is its own: the
worker reports ``ru_maxrss`` of itself (DuckDB works in threads of that process) and its resident
memory after imports and loading the corpus (``base MB``: what the tool starts from). Time is the
matching alone: from the loaded corpus to one cluster label per record, imports excluded.
Precision / recall / F1 are pairwise on the final clusters, computed by the parent with
``bench_match.pairwise_scores`` for every tool.

The peers are optional (``pip install -e ".[bench]"``); a missing one prints "skipped".

Configurations (both peers get the same standardised input, :func:`peer_frame`: names folded to
lower-case ASCII letters, first/last name taken from the full name where the file had only that,
Chinese full names split into surname (first character) and given name, invalid emails and phones
set to missing):

* **crmkit**: ``find_duplicates`` with the default :class:`MatchSettings`, then ``cluster``.
* **Splink** (4 or 5, DuckDB): comparisons ``NameComparison`` on first name and surname (with term
  frequencies: Smith and 张 count for less), email exact or one edit apart
  (``DamerauLevenshteinAtThresholds``), phone and mobile in one comparison (same phone, same
  mobile, each with term frequencies so a shared switchboard counts for little, or crossed: a
  phone and a mobile swapped between files still agree), ``JaroWinklerAtThresholds`` on the
  company key, ``ExactMatch`` on city (term frequencies), postcode and street. Blocking: email, any phone (array exploded), surname + first initial, first name and
  surname swapped, surname + postcode. Training as in Splink's tutorials: the prior from
  deterministic rules (email; first name + surname + city, recall 0.7), u by random sampling
  (``max_pairs`` = 2M), m by EM on two blocking rules (email; first name + surname) so that every
  comparison is trained by one of them. Pairs at match probability >= 0.9, clusters with
  ``cluster_pairwise_predictions_at_threshold(…, 0.9)``. Not Splink's ``EmailComparison``: its
  levels for similar user names (``martin.raphael`` / ``raphaelmartin``) give namesakes with
  name-made addresses +10 bits, and at 100k rows the clusters chain into groups of hundreds
  (``--splink-library-email`` runs it).
* **recordlinkage**: ``Index`` = union of ``Block`` on email, phone, mobile, surname + first
  initial, surname + postcode; ``Compare`` (binary, as ECM needs): Jaro-Winkler >= 0.85 on first
  name and surname, >= 0.9 on the company key, exact email, any phone (phone/mobile in either
  column), exact postcode; ``ECMClassifier`` (unsupervised EM on the binary vectors); clusters =
  connected components of the links (scipy). One address feature only: ECM assumes the features are
  independent given the class, and with city, postcode and street as three features it learns
  "same address" as the match class (on 10k rows: F1 0.75, recall 0.61).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_match import pairwise_scores  # noqa: E402

TOOLS = ("crmkit", "splink", "recordlinkage")
_SKIPPED = 3          # worker exit code: the tool is not installed
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_PHONE = re.compile(r"^\+\d{6,15}$")


# ----------------------------------------------------------------------------- shared helpers
def _fold(v) -> str | None:
    """'Müller-Lüdenscheidt ' -> 'mullerludenscheidt'; CJK kept without spaces."""
    if v is None or v != v:
        return None
    t = unicodedata.normalize("NFKD", str(v).casefold())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = re.sub(r"[^\w]+", "", t).replace("_", "")
    return t or None


def _on_unique(s: pd.Series, func) -> pd.Series:
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    mapped = np.array([func(v) for v in uniq] + [None], dtype=object)
    return pd.Series(mapped[codes], index=s.index, dtype=object)


def _split_full(v) -> tuple | None:
    """Full name -> (first, last): 'Anna  Weber ' -> ('anna', 'weber'); '张伟' -> ('伟', '张')."""
    if v is None or v != v:
        return None
    t = " ".join(str(v).split())
    if _CJK.search(t):
        t = t.replace(" ", "")
        return (t[1:] or None, t[:1]) if len(t) > 1 else (None, t)
    toks = [x for x in (_fold(p) for p in t.split()) if x]
    if not toks:
        return None
    return (toks[0], "".join(toks[1:])) if len(toks) > 1 else (None, toks[0])


def peer_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The standardised input both peers get (one row per record, same order as ``df``).

    Columns: unique_id, first_name, surname, first_initial, email, phone, mobile, phones (list),
    company_key, street, postcode, city. Done on unique values, as a user of either tool would.
    """
    n = len(df)
    col = (lambda c: df[c].astype(object).where(df[c].notna(), None) if c in df else
           pd.Series([None] * n, index=df.index, dtype=object))
    first, last = _on_unique(col("first_name"), _fold), _on_unique(col("last_name"), _fold)
    split = _on_unique(col("full_name"), _split_full)
    need = first.isna() & last.isna() & split.notna()
    first[need] = split[need].map(lambda t: t[0])
    last[need] = split[need].map(lambda t: t[1])
    email = _on_unique(col("email"), lambda v: e if _EMAIL.match(e := str(v).strip().casefold()) else None)
    phone = _on_unique(col("phone"), lambda v: p if _PHONE.match(p := str(v).strip()) else None)
    mobile = _on_unique(col("mobile"), lambda v: p if _PHONE.match(p := str(v).strip()) else None)
    mobile = mobile.where(mobile != phone, None)
    phones = [sorted({p for p in pair if p is not None}) for pair in zip(phone.tolist(), mobile.tolist())]
    out = pd.DataFrame({
        "unique_id": df["record_id"].astype(str).to_numpy(),
        "first_name": first.to_numpy(), "surname": last.to_numpy(),
        "first_initial": first.str[:1].to_numpy(),
        "email": email.to_numpy(), "phone": phone.to_numpy(), "mobile": mobile.to_numpy(),
        "phones": phones,
        "company_key": _on_unique(col("company_key"), lambda v: " ".join(str(v).casefold().split()) or None).to_numpy(),
        "street": _on_unique(col("street"), lambda v: " ".join(re.sub(r"[^\w ]", " ", str(v).casefold()).split())
                             or None).to_numpy(),
        "postcode": _on_unique(col("postcode"), lambda v: re.sub(r"[\s\-]", "", str(v)).upper() or None).to_numpy(),
        "city": _on_unique(col("city"), _fold).to_numpy(),
    })
    return out


def components_labels(ids: pd.Series, left, right) -> np.ndarray:
    """Connected components of links (record ids) as one label per id (scipy.sparse.csgraph)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index = pd.Index(ids.astype(str))
    a = index.get_indexer(pd.Index(pd.Series(left, dtype=object).astype(str)))
    b = index.get_indexer(pd.Index(pd.Series(right, dtype=object).astype(str)))
    ok = (a >= 0) & (b >= 0)
    n = len(index)
    g = coo_matrix((np.ones(int(ok.sum())), (a[ok], b[ok])), shape=(n, n))
    return connected_components(g, directed=False)[1]


# ----------------------------------------------------------------------------- the three tools
def run_crmkit(df: pd.DataFrame) -> np.ndarray:
    """crmkit's matcher with its default settings: find_duplicates, then cluster."""
    from crmkit.match import cluster, find_duplicates

    records = df.drop(columns=["true_id"], errors="ignore")
    pairs = find_duplicates(records)
    return cluster(pairs, records["record_id"], pairs.attrs["settings"]).to_numpy()


def _splink_linker(frames, settings):
    """A DuckDB Linker on Splink 4 (``Linker(df, settings, db_api)``) or 5 (``db_api.register``)."""
    from splink import DuckDBAPI, Linker

    db = DuckDBAPI()
    if hasattr(db, "register"):                          # Splink >= 5
        sdfs = [db.register(f) for f in frames]
        return Linker(sdfs if len(sdfs) > 1 else sdfs[0], settings)
    return Linker(frames if len(frames) > 1 else frames[0], settings, db_api=db)


def _splink_labels(linker, uids: pd.Series, threshold: float) -> np.ndarray:
    pred = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold).as_pandas_dataframe()
    lab = clusters.set_index(clusters["unique_id"].astype(str))["cluster_id"].astype(str)
    return lab.reindex(uids.astype(str)).fillna(pd.Series(uids.astype(str).to_numpy(), index=uids.astype(str))
                                                ).to_numpy()


def _splink_phone_comparison():
    """Phone and mobile in one comparison: same phone, same mobile (each with term frequencies, so a
    switchboard number shared by a whole office counts for little), crossed (phone = mobile), else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(output_column_name="phone", comparison_description="phone or mobile", comparison_levels=[
        cll.Or(cll.And(cll.NullLevel("phone"), cll.NullLevel("mobile")),
               cll.CustomLevel("(phone_l IS NULL AND mobile_l IS NULL) OR (phone_r IS NULL AND mobile_r IS NULL)")
               ).configure(is_null_level=True),
        cll.ExactMatchLevel("phone", term_frequency_adjustments=True),
        cll.ExactMatchLevel("mobile", term_frequency_adjustments=True),
        cll.CustomLevel("phone_l = mobile_r OR mobile_l = phone_r", label_for_charts="phone and mobile crossed"),
        cll.ElseLevel()])


def run_splink(df: pd.DataFrame, threshold: float = 0.9, u_pairs: float = 2e6, library_email: bool = False
               ) -> np.ndarray:
    """Splink with DuckDB; the configuration is in the module docstring."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    d = peer_frame(df)
    d = d.assign(phones=[p if p else None for p in d["phones"]])
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email") if library_email else cl.DamerauLevenshteinAtThresholds("email", [1]),
            _splink_phone_comparison(),
            cl.JaroWinklerAtThresholds("company_key", [0.9]),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("street"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phones", arrays_to_explode=["phones"]),
            block_on("surname", "first_initial"),
            "l.first_name = r.surname and l.surname = r.first_name",
            block_on("surname", "postcode"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = _splink_linker([d], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("first_name", "surname", "city")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    for rule in (block_on("email"), block_on("first_name", "surname")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    return _splink_labels(linker, d["unique_id"], threshold)


def run_recordlinkage(df: pd.DataFrame) -> np.ndarray:
    """recordlinkage: union of blocks, binary comparison vectors, ECM, connected components."""
    import recordlinkage as rl

    d = peer_frame(df).drop(columns=["phones"]).set_index("unique_id")
    idx = rl.Index()
    for key in ("email", "phone", "mobile", ["surname", "first_initial"], ["surname", "postcode"]):
        idx.block(key)
    cand = idx.index(d)
    cmp = rl.Compare(n_jobs=1)
    cmp.string("first_name", "first_name", method="jarowinkler", threshold=0.85, label="first_name")
    cmp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    cmp.exact("email", "email", label="email")
    for a, b in (("phone", "phone"), ("mobile", "mobile"), ("phone", "mobile"), ("mobile", "phone")):
        cmp.exact(a, b, label=f"{a}_{b}")
    cmp.string("company_key", "company_key", method="jarowinkler", threshold=0.9, label="company")
    cmp.exact("postcode", "postcode", label="postcode")
    feats = cmp.compute(cand, d)
    phones = ["phone_phone", "mobile_mobile", "phone_mobile", "mobile_phone"]
    feats = feats.assign(phone=feats[phones].max(axis=1)).drop(columns=phones)
    links = rl.ECMClassifier(binarize=None).fit_predict(feats)
    return components_labels(pd.Series(d.index), links.get_level_values(0), links.get_level_values(1))


RUNNERS = {"crmkit": run_crmkit, "splink": run_splink, "recordlinkage": run_recordlinkage}
_IMPORTS = {"crmkit": ["crmkit.match"], "splink": ["splink", "duckdb"],
            "recordlinkage": ["recordlinkage", "scipy.sparse.csgraph"]}


# ----------------------------------------------------------------------------- worker / parent
def _rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(tool: str, corpus: str, out: str, splink_threshold: float = 0.9, library_email: bool = False) -> int:
    """Run one tool on the corpus file; write labels (.npy) and figures (.json) next to ``out``."""
    import importlib

    try:
        for mod in _IMPORTS[tool]:
            importlib.import_module(mod)
    except ImportError as exc:
        print(f"{tool}: {exc}", file=sys.stderr)
        return _SKIPPED
    df = pd.read_parquet(corpus)
    base = _rss_mb()
    t0 = time.perf_counter()
    labels = run_splink(df, splink_threshold, library_email=library_email) if tool == "splink" else RUNNERS[tool](df)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # KiB on Linux
    np.save(out + ".npy", np.asarray(labels).astype(str))
    Path(out + ".json").write_text(json.dumps({"seconds": secs, "peak_mb": peak, "base_mb": base}))
    return 0


def run_tool(tool: str, corpus: str, workdir: str, truth: np.ndarray, timeout: float,
             splink_threshold: float = 0.9, library_email: bool = False) -> dict:
    out = str(Path(workdir) / tool)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, __file__, "--worker", tool, "--corpus", corpus, "--out", out,
                               "--splink-threshold", str(splink_threshold)]
                              + (["--splink-library-email"] if library_email else []),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "note": f"timed out after {timeout:.0f}s"}
    if proc.returncode == _SKIPPED:
        return {"tool": tool, "note": "skipped: install crmkit[bench]"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"tool": tool, "note": f"failed: {last[:120]}"}
    res = json.loads(Path(out + ".json").read_text())
    labels = np.load(out + ".npy")
    res.update(pairwise_scores(labels, truth))
    res["wall_s"] = time.perf_counter() - t0
    return {"tool": tool, **res}


def format_table(rows: list[dict]) -> str:
    head = f"{'tool':<14} {'rows':>9} {'time s':>8} {'peak MB':>8} {'base MB':>8} {'precision':>9} " \
           f"{'recall':>7} {'F1':>7} {'pred pairs':>11} {'true pairs':>11}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if "note" in r:
            lines.append(f"{r['tool']:<14} {r['rows']:>9,} {r['note']}")
            continue
        lines.append(f"{r['tool']:<14} {r['rows']:>9,} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f} "
                     f"{r['base_mb']:>8.0f} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>7.4f} "
                     f"{r['predicted_pairs']:>11,} {r['true_pairs']:>11,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    warnings.simplefilter("ignore", FutureWarning)      # pandas downcasting notes from crmkit.match
    ap = argparse.ArgumentParser(description="crmkit vs Splink vs recordlinkage on one generated corpus")
    ap.add_argument("--rows", type=int, default=10_000, help="corpus size (default 10000)")
    ap.add_argument("--seed", type=int, default=7, help="corpus seed (default 7, as make_corpus)")
    ap.add_argument("--tools", nargs="*", choices=TOOLS, default=list(TOOLS))
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per tool (default 3600)")
    ap.add_argument("--json", help="also write the rows as JSON to this file")
    ap.add_argument("--splink-threshold", type=float, default=0.9,
                    help="Splink match probability for pairs and clusters (default 0.9)")
    ap.add_argument("--splink-library-email", action="store_true",
                    help="Splink: cl.EmailComparison (username similarity levels) instead of exact / 1 edit")
    ap.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        sys.exit(worker(a.worker, a.corpus, a.out, a.splink_threshold, a.splink_library_email))

    from make_corpus import make_corpus

    with tempfile.TemporaryDirectory(prefix="bench_peers_") as tmp:
        t0 = time.perf_counter()
        df = make_corpus(a.rows, seed=a.seed)
        corpus = str(Path(tmp) / "corpus.parquet")
        df.to_parquet(corpus, index=False)
        truth = df["true_id"].to_numpy()
        print(f"corpus: {len(df):,} rows, {df['true_id'].nunique():,} people, seed {a.seed} "
              f"({time.perf_counter() - t0:.1f}s)", flush=True)
        rows = []
        for tool in a.tools:
            r = {"rows": len(df), **run_tool(tool, corpus, tmp, truth, a.timeout, a.splink_threshold,
                                                    a.splink_library_email)}
            if tool == "splink" and (a.splink_threshold != 0.9 or a.splink_library_email):
                r["tool"] = f"splink@{a.splink_threshold:g}" + ("+EmailCmp" if a.splink_library_email else "")
            rows.append(r)
            print(f"  {tool}: " + (r["note"] if "note" in r else
                                   f"{r['seconds']:.1f}s  F1 {r['f1']:.4f}"), flush=True)
    print()
    print(format_table(rows))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
