"""How fast does crmkit.merge turn clustered records into golden contacts?

Generates N cleaned contact records in N/2 clusters (every cluster has 1 + Poisson(1) members,
so about a third of clusters are singletons) with realistic disagreements: name case and
initials, old and new cities, valid and invalid emails, two phone columns, tags and notes.

    /work/venv/bin/python benchmarks/bench_merge.py            # 100k and 1M
    /work/venv/bin/python benchmarks/bench_merge.py 200000     # one size
"""
from __future__ import annotations

import sys
import time

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


def main(sizes: list[int]) -> None:
    for n in sizes:
        records, clusters = make_records(n)
        start = time.perf_counter()
        result = merge(records, clusters)
        seconds = time.perf_counter() - start
        print(f"merge: {n:>9,} records, {clusters.nunique():>8,} clusters -> {len(result.contacts):>8,} contacts, "
              f"{len(result.lineage):>10,} lineage rows, {len(result.conflicts):>8,} conflicts: {seconds:6.2f} s")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
