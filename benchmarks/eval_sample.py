"""Matching accuracy on the bundled sample data, scored against its hidden truth.

    python benchmarks/eval_sample.py              # figures
    python benchmarks/eval_sample.py --analyse    # + why the missed and the wrong pairs happen

Migrates ``sample_data/`` into a temporary SQLite store with :func:`crmkit.migrate`, then maps every
data row to its contact through ``source_rows`` (contact rows: record_id is the contact id; deal and
order rows: record_id is the deal/order id, whose ``contact_id`` says the contact) and to its true
person through ``tests/data/sample_truth/rows.csv``. Prints

* pairwise precision / recall / F1 of the contact rows (two rows of one person in one contact is a
  true positive pair);
* the same over all rows (contacts, deals and orders);
* how many persons have rows, deals or orders spread over more than one contact, and how many
  contacts hold rows of more than one person.

``--analyse`` re-runs the matcher on the stored contact records with every candidate pair kept and
sorts the missed pairs (false negatives) and the wrong pairs (false positives) by cause: not blocked,
scored below the review band, in the review band (a review pair is not a merge), cut by the chain
guard, CJK names, rows that are derived customers of deals/orders.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = ["source_file", "source_sheet", "source_row"]


def _c2(x) -> float:
    x = np.asarray(x, dtype=float)
    return float((x * (x - 1) / 2).sum())


def pairwise(pred, truth) -> dict:
    """Pairwise precision/recall/F1 of a clustering (labels aligned by position)."""
    df = pd.DataFrame({"p": np.asarray(pred, dtype=object), "t": np.asarray(truth, dtype=object)})
    tp, pp, tt = _c2(df.groupby(["p", "t"]).size()), _c2(df.groupby("p").size()), _c2(df.groupby("t").size())
    prec = tp / pp if pp else 1.0
    rec = tp / tt if tt else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "true_pairs": int(tt), "predicted_pairs": int(pp),
            "tp": int(tp)}


def load_truth() -> pd.DataFrame:
    t = pd.read_csv(ROOT / "tests" / "data" / "sample_truth" / "rows.csv", dtype=str, keep_default_na=False)
    t["source_row"] = t["source_row"].astype(int)
    return t


def run_sample(store_path: str | Path, match_settings=None) -> dict[str, pd.DataFrame]:
    """Migrate the sample data into ``store_path`` and return the tables the evaluation needs."""
    import crmkit
    from crmkit.store import Store

    crmkit.migrate([str(ROOT / "sample_data")], str(store_path), match_settings=match_settings)
    store = Store(str(store_path))
    out = {n: store.read_table(n) for n in ("source_rows", "contact_records", "deals", "orders", "match_pairs")}
    for df in out.values():
        if "source_row" in df:
            df["source_row"] = pd.to_numeric(df["source_row"]).astype("Int64")
    return out


def row_contacts(tables: dict[str, pd.DataFrame], truth: pd.DataFrame) -> pd.DataFrame:
    """Every truth row with the contact it ended up in (``contact_id``)."""
    src = tables["source_rows"][KEY + ["entity", "record_id"]].copy()
    src["source_row"] = src["source_row"].astype(int)
    rows = truth.merge(src, on=KEY, how="left", suffixes=("", "_src"))
    contact_of = pd.concat([
        pd.Series(tables["deals"]["contact_id"].to_numpy(), index=tables["deals"]["deal_id"].to_numpy()),
        pd.Series(tables["orders"]["contact_id"].to_numpy(), index=tables["orders"]["order_id"].to_numpy()),
    ])
    contact_of = contact_of[~contact_of.index.duplicated()]
    is_contact = rows["entity"] == "contact"
    rows["contact_id"] = np.where(is_contact, rows["record_id"], rows["record_id"].map(contact_of))
    return rows


def figures(tables: dict[str, pd.DataFrame], truth: pd.DataFrame) -> dict:
    rows = row_contacts(tables, truth)
    contacts = rows[rows["entity"] == "contact"]
    out = {"contacts": pairwise(contacts["contact_id"], contacts["person_id"])}
    linked = rows.dropna(subset=["contact_id"])
    out["all_rows"] = pairwise(linked["contact_id"], linked["person_id"])
    out["unlinked_rows"] = int(rows["contact_id"].isna().sum())
    per_person = linked.groupby("person_id")["contact_id"].nunique()
    out["persons"] = int(truth["person_id"].nunique())
    out["persons_split"] = int((per_person > 1).sum())
    cp = contacts.groupby("person_id")["contact_id"].nunique()
    out["persons_split_contact_rows"] = int((cp > 1).sum())
    per_contact = linked.groupby("contact_id")["person_id"].nunique()
    out["contacts_mixed"] = int((per_contact > 1).sum())
    out["rows"] = rows
    return out


def print_figures(f: dict) -> None:
    for name in ("contacts", "all_rows"):
        s = f[name]
        print(f"{name:>9}: precision={s['precision']:.4f} recall={s['recall']:.4f} f1={s['f1']:.4f} "
              f"(true pairs {s['true_pairs']}, predicted {s['predicted_pairs']}, correct {s['tp']})")
    print(f"persons: {f['persons']}; split over >1 contact: {f['persons_split']} (all rows), "
          f"{f['persons_split_contact_rows']} (contact rows only); contacts mixing persons: {f['contacts_mixed']}; "
          f"rows without contact: {f['unlinked_rows']}")


# ----------------------------------------------------------------------------- analysis
def analyse(tables: dict[str, pd.DataFrame], truth: pd.DataFrame, rows: pd.DataFrame, show: int = 25) -> None:
    """Classify every missed and every wrong record pair by cause, on the stored contact records."""
    from crmkit.match import MatchSettings, block_pairs, find_duplicates, prepare

    recs = tables["contact_records"].copy()
    recs["source_row"] = recs["source_row"].astype(int)
    person = truth.set_index(KEY)["person_id"]
    recs["person_id"] = person.reindex(pd.MultiIndex.from_frame(recs[KEY])).to_numpy()
    recs = recs.reset_index(drop=True)
    records = recs.drop(columns=["contact_id", "batch_id", "person_id"])
    settings = MatchSettings(keep_rejected=True)
    pairs = find_duplicates(records, settings)
    trained = pairs.attrs["settings"]
    cand = block_pairs(prepare(records), trained.blocking_rules, max_block_size=trained.max_block_size,
                       window=trained.window)
    pos = pd.Series(np.arange(len(recs)), index=recs["record_id"])
    blocked = set(map(tuple, cand.tolist()))
    scored = {}
    for row in pairs.itertuples(index=False):
        a, b = pos[row.record_id_l], pos[row.record_id_r]
        scored[(min(a, b), max(a, b))] = row
    contact = recs["contact_id"].to_numpy()
    pid = recs["person_id"].to_numpy()
    derived = recs["record_id"].str.startswith("X").to_numpy()
    from crmkit.match.compare import _CJK

    name = recs["full_name"].fillna(recs["first_name"].fillna("") + " " + recs["last_name"].fillna(""))
    cjk = name.map(lambda v: bool(_CJK.search(str(v)))).to_numpy()

    def kind(a: int, b: int) -> str:
        tags = []
        if derived[a] or derived[b]:
            tags.append("derived(deal/order)")
        if cjk[a] or cjk[b]:
            tags.append("cjk")
        return "+".join(tags) or "contact-contact"

    fn_causes, fp_causes = Counter(), Counter()
    examples: dict[str, list] = {}
    for p, idx in recs.groupby("person_id").indices.items():
        idx = np.sort(idx)
        for i in range(len(idx)):
            for j in range(i + 1, len(idx)):
                a, b = idx[i], idx[j]
                if contact[a] == contact[b]:
                    continue
                row = scored.get((a, b))
                if (a, b) not in blocked and row is None:
                    cause = "not blocked"
                elif row is None:
                    cause = "scored (not kept)"
                elif row.decision == "merge":
                    cause = "merge pair, split by guard/link"
                elif row.decision == "review":
                    cause = "review band"
                else:
                    cause = "scored below review"
                key = f"{cause} | {kind(a, b)}"
                fn_causes[key] += 1
                examples.setdefault(key, []).append((a, b, row))
    for c, idx in recs.groupby("contact_id").indices.items():
        if len(idx) < 2:
            continue
        for i in range(len(idx)):
            for j in range(i + 1, len(idx)):
                a, b = sorted((idx[i], idx[j]))
                if pid[a] == pid[b]:
                    continue
                row = scored.get((a, b))
                cause = row.decision if row is not None else "chained (no direct pair)"
                key = f"FP {cause} | {kind(a, b)}"
                fp_causes[key] += 1
                examples.setdefault(key, []).append((a, b, row))

    cols = ["record_id", "first_name", "last_name", "full_name", "email", "phone", "mobile", "company_key", "city",
            "postcode", "country", "source_file"]
    print("\nmissed record pairs (false negatives) by cause:")
    for k, v in fn_causes.most_common():
        print(f"  {v:5d}  {k}")
    print("wrong record pairs (false positives) by cause:")
    for k, v in fp_causes.most_common():
        print(f"  {v:5d}  {k}")
    for key, ex in examples.items():
        print(f"\n== {key} ({len(ex)})")
        for a, b, row in ex[:show]:
            print("   ", recs.loc[a, cols].fillna("").astype(str).str[:28].tolist(), pid[a])
            print("   ", recs.loc[b, cols].fillna("").astype(str).str[:28].tolist(), pid[b])
            if row is not None:
                lv = {c[6:]: getattr(row, c) for c in row._fields if c.startswith("level_")}
                w = {c[7:]: round(getattr(row, c), 1) for c in row._fields if c.startswith("weight_")}
                print(f"      p={row.match_probability:.3f} w={row.match_weight:.1f} {lv} {w}")


def main() -> None:
    ap = argparse.ArgumentParser(description="crmkit matching accuracy on the bundled sample data")
    ap.add_argument("--analyse", action="store_true", help="classify missed and wrong pairs by cause")
    ap.add_argument("--show", type=int, default=6, help="examples per cause with --analyse")
    a = ap.parse_args()
    truth = load_truth()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tables = run_sample(Path(tmp) / "sample.sqlite")
        secs = time.perf_counter() - t0
    f = figures(tables, truth)
    print(f"sample migrate: {secs:.1f} s")
    print_figures(f)
    mp = tables["match_pairs"]
    print("stored pairs by decision:", mp["decision"].value_counts().to_dict())
    if a.analyse:
        analyse(tables, truth, f["rows"], a.show)


if __name__ == "__main__":
    main()
