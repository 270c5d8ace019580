"""crmkit on a small Febrl-like set (generated here): names, address, date of birth and an id number,
duplicates with typos and missing values, no email or phone. Declared comparisons on the birth date
and the id must carry the matching."""
from __future__ import annotations

import random

import pandas as pd

from crmkit.match import Comparison, MatchSettings, cluster, find_duplicates

GIVEN = ["james", "olivia", "jack", "charlotte", "william", "mia", "lachlan", "chloe", "thomas", "emily", "joshua",
         "isabella", "liam", "sophie", "ethan", "grace", "samuel", "ruby", "noah", "zoe", "riley", "jessica"]
SURNAMES = ["smith", "jones", "williams", "brown", "wilson", "taylor", "johnson", "white", "martin", "anderson",
            "thompson", "nguyen", "thomas", "walker", "harris", "lee", "ryan", "robinson", "kelly", "king"]
STREETS = ["banks street", "matina street", "fincham crescent", "deamer crescent", "beaumont close", "sanford place",
           "o'connell street", "kitchener road", "mcgregor place", "gilmore street"]
SUBURBS = ["ringwood", "malvern east", "ascot park", "thebarton", "urana", "west lakes shore", "coonabarabran"]


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = rng.randrange(len(s) - 1)
    op = rng.choice("sdit")
    if op == "s":
        return s[:i] + rng.choice("aeioudrstn") + s[i + 1:]
    if op == "d":
        return s[:i] + s[i + 1:]
    if op == "i":
        return s[:i] + rng.choice("aeioudrstn") + s[i:]
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def febrl_like(n_orig: int = 700, seed: int = 3) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for k in range(n_orig):
        rec = {"true_id": k, "first_name": rng.choice(GIVEN), "last_name": rng.choice(SURNAMES),
               "street": f"{rng.randint(1, 200)} {rng.choice(STREETS)}", "postcode": str(rng.randint(2000, 2999)),
               "city": rng.choice(SUBURBS), "country": "AU",
               "date_of_birth": f"{rng.randint(1920, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
               "soc_sec_id": str(rng.randint(1_000_000, 9_999_999))}
        rows.append(rec)
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            dup = dict(rec)
            for _ in range(rng.randint(1, 3)):
                f = rng.choice(["first_name", "last_name", "street", "city", "date_of_birth", "soc_sec_id",
                                "postcode", "missing"])
                if f == "missing":
                    dup[rng.choice(["first_name", "street", "date_of_birth", "soc_sec_id"])] = None
                elif dup[f] is not None:
                    dup[f] = _typo(rng, dup[f])
            rows.append(dup)
    df = pd.DataFrame(rows)
    df["record_id"] = [f"r{i}" for i in range(len(df))]
    df["full_name"] = (df["first_name"].fillna("") + " " + df["last_name"].fillna("")).str.strip()
    return df


def _f1(df: pd.DataFrame, settings: MatchSettings) -> float:
    records = df.drop(columns=["true_id"])
    pairs = find_duplicates(records, settings)
    lab = cluster(pairs, records["record_id"], pairs.attrs["settings"]).to_numpy()
    frame = pd.DataFrame({"p": lab, "t": df["true_id"].to_numpy()})
    c2 = lambda g: float((g * (g - 1) / 2).sum())  # noqa: E731
    tp, pp, tt = c2(frame.groupby(["p", "t"]).size()), c2(frame.groupby("p").size()), c2(frame.groupby("t").size())
    prec, rec = tp / pp, tp / tt
    return 2 * prec * rec / (prec + rec)


def test_febrl_like_with_date_of_birth_and_id():
    df = febrl_like()
    declared = MatchSettings()
    declared.comparisons += [Comparison("date_of_birth", kind="date"), Comparison("soc_sec_id", kind="id")]
    declared.blocking_rules += ["col:date_of_birth", "col:soc_sec_id", "first_postcode", "street_postcode"]
    contact_only = _f1(df.drop(columns=["date_of_birth", "soc_sec_id"]), MatchSettings())
    with_ids = _f1(df, declared)
    assert with_ids >= 0.97, with_ids
    assert with_ids > contact_only
