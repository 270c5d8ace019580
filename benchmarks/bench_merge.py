"""How fast does crmkit.merge turn clustered records into golden contacts, and the link stage around it?

Generates N cleaned contact records in N/2 clusters (every cluster has 1 + Poisson(1) members,
so about a third of clusters are singletons) with realistic disagreements: name case and
initials, old and new cities, valid and invalid emails, two phone columns, tags and notes.

``--link`` times ``crmkit.link.build_contacts`` without the matcher on the benchmark corpus (the
``bench_migrate.py`` CSV): its inputs and the matcher's pairs are captured once from a real migrate and
cached in ``benchmarks/_data/`` (git-ignored); each run prints CPU seconds per step and the stage's peak
memory above its inputs.

    /work/venv/bin/python benchmarks/bench_merge.py            # 100k and 1M
    /work/venv/bin/python benchmarks/bench_merge.py 200000     # one size
    /work/venv/bin/python benchmarks/bench_merge.py --link --rows 1000000 [--repeat 3]
"""
from __future__ import annotations

import argparse
import functools
import gc
import importlib
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from crmkit.merge import merge

FIRST = np.array(["Robert", "Bob", "R.", "Anna", "ANNA", "Li", "José", "Marie", "Ahmed", "Sofia", "张", "Olga"])
LAST = np.array(["Smith", "SMITH", "García", "Müller", "Wang", "O'Brien", "Nguyen", "Kowalski", "伟", "Dubois"])
CITY = np.array(["Berlin", "Paris", "London", "Madrid", "Shanghai", "New York", "Toronto", "Lyon"])
COUNTRY = np.array(["DE", "FR", "GB", "ES", "CN", "US", "CA", "FR"])
COMPANY = np.array(["Acme GmbH", "Globex", "Initech", "Umbrella", "Hooli", None], dtype=object)
FILES = np.array(["old_crm_export.xlsx", "trade_show_2023.csv", "newsletter.csv", "webshop_orders.xlsx"])
TAGS = np.array(["vip", "newsletter; event", "lead", "customer, vip", None], dtype=object)


def _pick(rng: np.random.Generator, options: np.ndarray, n: int) -> np.ndarray:
    return options[rng.integers(0, len(options), n)]


def _vary(rng: np.random.Generator, base: np.ndarray, options: np.ndarray, share: float) -> np.ndarray:
    """The person's value, replaced by a random option in ``share`` of records."""
    out = base.copy()
    noisy = rng.random(len(base)) < share
    out[noisy] = _pick(rng, options, int(noisy.sum()))
    return out


def make_records(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """n records and their cluster labels, generated without Python loops over rows.

    Each person has a base name, city, company...; each record of the person disagrees with the
    base in some share of fields (a nickname, a move, a new job, a typo'd email), as real
    duplicates do.
    """
    rng = np.random.default_rng(seed)
    n_clusters = n // 2
    person = np.concatenate([np.arange(n_clusters), rng.integers(0, n_clusters, n - n_clusters)])
    rng.shuffle(person)
    p_first = rng.integers(0, len(FIRST), n_clusters)[person]
    p_last = rng.integers(0, len(LAST), n_clusters)[person]
    p_city = rng.integers(0, len(CITY), n_clusters)[person]
    p_company = rng.integers(0, len(COMPANY), n_clusters)[person]
    first = _vary(rng, FIRST[p_first], FIRST, 0.15)
    last = _vary(rng, LAST[p_last], LAST, 0.05)
    city_i = _vary(rng, p_city, np.arange(len(CITY)), 0.1)
    pid = pd.Series(person).astype(str)
    email = pd.Series("p" + pid + "@example.com")
    bad = rng.random(n) < 0.05
    email[bad] = "p" + pid[bad] + " at example"
    other = rng.random(n) < 0.1
    email[other] = "p" + pid[other] + "@work.example.org"
    email[rng.random(n) < 0.2] = None
    phone = pd.Series("+4930" + pd.Series(person * 7 + (rng.random(n) < 0.1)).astype(str))
    phone[rng.random(n) < 0.3] = None
    mobile = pd.Series("+49170" + pid)
    mobile[rng.random(n) < 0.6] = None
    created = pd.Series(pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, n), unit="D"))
    created = created.dt.strftime("%Y-%m-%d").astype(object)
    created[rng.random(n) < 0.3] = None
    file_i = rng.integers(0, len(FILES), n)
    records = pd.DataFrame({
        "record_id": "r" + pd.Series(np.arange(n)).astype(str),
        "first_name": first, "last_name": last,
        "full_name": pd.Series(first) + " " + pd.Series(last),
        "salutation": None, "email": email, "phone": phone, "phone_ext": None, "mobile": mobile,
        "company": _vary(rng, COMPANY[p_company], COMPANY, 0.1), "company_key": None, "job_title": None,
        "street": "Main St " + pd.Series(person % 200 + 10 * city_i).astype(str),
        "postcode": pd.Series(10000 + person % 89999).astype(str),
        "city": CITY[city_i], "region": None, "country": COUNTRY[city_i],
        "website": None, "owner": None, "tags": _pick(rng, TAGS, n),
        "notes": np.where(rng.random(n) < 0.05, "called back", None),
        "created_at": created,
        "source_file": FILES[file_i], "source_sheet": "",
        "source_row": np.arange(n) + 2,
    })
    clusters = pd.Series(person, index=records["record_id"].to_numpy())
    return records, clusters


HERE = Path(__file__).resolve().parent
# the link stage's steps (functions of crmkit.link, and the merge) timed one by one
_STEPS = ["derive_customer_records", "_all_records", "_forced_links", "_not_in_pairs", "_cluster_labels",
          "_components", "_apply_never", "_kept_parts", "_explanations", "_merge_history", "_link_entity",
          "_link_orders", "_relink", "_keep_store_tags"]


def _link_inputs(rows: int, seed: int) -> Path:
    """build_contacts' inputs and the matcher's pairs for the corpus, captured from one real migrate."""
    sys.path.insert(0, str(HERE))
    from bench_migrate import corpus_csv

    cache = HERE / "_data" / f"link_inputs_{rows}_{seed}.pkl"
    if cache.exists():
        return cache
    import tempfile

    import crmkit.link as link
    import crmkit.match as match
    from crmkit.migrate import migrate

    csv, _ = corpus_csv(rows, seed)
    real_build, real_find = link.build_contacts, match.find_duplicates
    captured: dict = {}

    class Captured(Exception):
        pass

    def find(records, settings):
        captured["pairs"] = real_find(records, settings)
        return captured["pairs"]

    def build(contacts_in, deals_in, orders_in, **kw):
        kw.pop("progress", None)
        captured["args"], captured["kw"] = (contacts_in, deals_in, orders_in), kw
        match.find_duplicates = find
        try:
            real_build(contacts_in, deals_in, orders_in, **kw)
        finally:
            match.find_duplicates = real_find
        raise Captured

    print(f"capturing the link stage's inputs from a migrate of {rows:,} rows (once) ...", flush=True)
    link.build_contacts = build
    try:
        with tempfile.TemporaryDirectory() as tmp:
            migrate([str(csv)], Path(tmp) / "crm.sqlite")
    except Captured:
        pass
    finally:
        link.build_contacts = real_build
    pairs = captured["pairs"]
    settings = pairs.attrs.get("settings")
    with open(cache, "wb") as f:
        pickle.dump({"args": captured["args"], "kw": captured["kw"], "pairs": pairs,
                     "settings": settings.to_json() if settings is not None else None}, f, protocol=5)
    return cache


def _fresh_peak() -> float:
    """Collect garbage and reset this process's peak memory (Linux, as _memory); the resident GB now."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return _memory()["VmRSS"]


def _memory() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, value = line.split(":", 1)
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024 / 1024
    return out


def bench_link(rows: int, seed: int, repeat: int) -> None:
    """CPU seconds of build_contacts without the matcher (its pairs replayed), per step, and its peak memory."""
    import crmkit.link as link
    import crmkit.match as match
    from crmkit.match import MatchSettings

    with open(_link_inputs(rows, seed), "rb") as f:
        data = pickle.load(f)
    pairs = data["pairs"]
    if data["settings"]:
        pairs.attrs["settings"] = MatchSettings.from_json(data["settings"])
    match.find_duplicates = lambda records, settings: pairs
    steps: dict[str, float] = {}

    def timed(owner, name, label):
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                steps[label] = steps.get(label, 0.0) + time.process_time() - t
        setattr(owner, name, wrapper)

    for name in _STEPS:
        if hasattr(link, name):
            timed(link, name, name)
    if hasattr(link, "_Positions"):
        timed(link._Positions, "of", "record id lookups")
    golden = importlib.import_module("crmkit.merge.golden")
    timed(golden, "_merge_coded", "merge (golden records)") if hasattr(golden, "_merge_coded") else \
        timed(importlib.import_module("crmkit.merge"), "merge", "merge (golden records)")
    for run in range(repeat):
        steps.clear()
        before = _fresh_peak()
        t = time.process_time()
        result = link.build_contacts(*data["args"], **data["kw"])
        cpu = time.process_time() - t
        mem = _memory()
        print(f"link without matching, {rows:,} rows (run {run + 1}): {cpu:.2f} s CPU, "
              f"peak {mem['VmHWM']:.2f} GB ({mem['VmHWM'] - before:+.2f} GB over its inputs); "
              f"{len(result.contacts):,} contacts, {len(result.lineage):,} lineage rows")
        for name, sec in sorted(steps.items(), key=lambda kv: -kv[1]):
            if sec >= 0.005:
                print(f"  {name:<28} {sec:7.2f}")
        print(f"  {'(build_contacts itself)':<28} {cpu - sum(steps.values()):7.2f}")
        del result


def main(sizes: list[int]) -> None:
    for n in sizes:
        records, clusters = make_records(n)
        start = time.perf_counter()
        result = merge(records, clusters)
        seconds = time.perf_counter() - start
        print(f"merge: {n:>9,} records, {clusters.nunique():>8,} clusters -> {len(result.contacts):>8,} contacts, "
              f"{len(result.lineage):>10,} lineage rows, {len(result.conflicts):>8,} conflicts: {seconds:6.2f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", type=int, nargs="*", help="merge() on generated records of these sizes")
    ap.add_argument("--link", action="store_true", help="time the link stage without matching instead")
    ap.add_argument("--rows", type=int, default=100_000, help="--link: corpus rows")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    if a.link:
        bench_link(a.rows, a.seed, a.repeat)
    else:
        main(a.sizes or [100_000, 1_000_000])
