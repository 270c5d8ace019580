"""Speed of crmkit.clean.clean(df, "contact") on generated messy contact rows.

Run:  python benchmarks/bench_clean.py [ROWS ...]     (default: 100000 1000000)

Rows are drawn from pools of ~ROWS/10 distinct values per column (as in real
exports, where the same company, city or country repeats), in mixed formats:
"Last, First" and "First Last" names in ALL CAPS or not, Chinese names,
emails with display names and case noise, phones in national, international,
float-stored and extension forms, country names in several languages, and
dates in ISO, d.m.Y and m/d/Y.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from crmkit.clean import clean

FIRST = np.array(["Anna", "Hans", "John", "Marie", "José", "Lucía", "Wei", "Fang", "Pierre", "Claire", "Jan",
                  "Sophie", "Patrick", "Emma", "Lukas", "Carlos", "Olivia", "Noah", "Mia", "Liam"])
LAST = np.array(["Müller", "Schmidt", "Smith", "McDonald", "O'Brien", "van der Berg", "Dupont", "García",
                 "Fernández", "Zhang", "Wang", "Li", "Meyer", "Martin", "Rossi", "Brown", "Johnson", "Weber",
                 "Moreau", "López"])
CJK = np.array(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"])
DOMAINS = np.array(["example.com", "firma.de", "societe.fr", "empresa.es", "gongsi.cn", "mail.com"])
COMPANY = np.array(["Acme", "Müller", "Globex", "Initech", "Umbrella", "Soylent", "Hooli", "Stark", "阿里巴巴",
                    "华为技术", "Wayne", "Tyrell"])
FORMS = np.array([" GmbH", " Inc.", " Ltd", " S.A.", " SARL", " AG", " LLC", "有限公司", " Corp.", ""])
COUNTRIES = np.array(["Germany", "Deutschland", "DE", "USA", "United States", "U.S.", "France", "Frankreich",
                      "España", "Spain", "China", "中国", "UK", "Great Britain", "n/a", None], dtype=object)
REGION_OF = {"Germany": "DE", "Deutschland": "DE", "DE": "DE", "USA": "US", "United States": "US", "U.S.": "US",
             "France": "FR", "Frankreich": "FR", "España": "ES", "Spain": "ES", "China": "CN", "中国": "CN",
             "UK": "GB", "Great Britain": "GB"}


def _s(values) -> pd.Series:
    return pd.Series(values, dtype=object)


def _digits(rng: np.random.Generator, n: int, width: int) -> pd.Series:
    return _s(rng.integers(0, 10**width, n)).astype(str).str.zfill(width)


def _phone_pools(rng: np.random.Generator, pool: int) -> dict[str, np.ndarray]:
    """Distinct numbers per region in the formats found in real files ('' = no country given)."""
    k = max(pool // 6, 50)

    def mix(*forms: pd.Series) -> np.ndarray:
        choice = rng.integers(0, len(forms), k)
        out = forms[0]
        for i, form in enumerate(forms[1:], start=1):
            out = out.where(choice != i, form)
        return out.to_numpy()

    return {
        "DE": mix("030 " + _digits(rng, k, 7), "+49 (0)89 " + _digits(rng, k, 7),
                  "030/" + _digits(rng, k, 7) + " Durchwahl -" + _digits(rng, k, 2), "0151 " + _digits(rng, k, 8)),
        "US": mix("(415) 555-" + _digits(rng, k, 4), "212555" + _digits(rng, k, 4) + ".0",
                  "+1 646-555-" + _digits(rng, k, 4) + " x" + _digits(rng, k, 3)),
        "CN": mix("138" + _digits(rng, k, 8) + ".0", "+86 139 " + _digits(rng, k, 8), "010-" + _digits(rng, k, 8),
                  "８６１３７" + _digits(rng, k, 8)),
        "FR": mix("01 " + _digits(rng, k, 8), "0033 6 12 " + _digits(rng, k, 6)),
        "ES": mix("91 " + _digits(rng, k, 7), "+34 6" + _digits(rng, k, 8)),
        "GB": mix("020 7946 " + _digits(rng, k, 4), "+44 20 7946 " + _digits(rng, k, 4)),
        "": mix("+49 30 " + _digits(rng, k, 7), "+1 415 555 " + _digits(rng, k, 4), "n/a"),
    }


def make_contacts(n: int, seed: int = 7) -> pd.DataFrame:
    """Generate ``n`` messy contact rows (vectorised, ~n/10 distinct values per column)."""
    rng = np.random.default_rng(seed)
    pool = max(n // 10, 100)
    # --- pools of distinct values ---
    first = FIRST[rng.integers(0, len(FIRST), pool)]
    last = LAST[rng.integers(0, len(LAST), pool)]
    style = rng.integers(0, 4, pool)
    western = _s(first) + " " + _s(last)
    full = western.where(style != 1, _s(last) + ", " + _s(first))
    full = full.where(style != 2, full.str.upper())
    full = full.where(style != 3, _s(CJK[rng.integers(0, len(CJK), pool)]))
    email = (_s(first).str.lower() + "." + _s(last).str.lower().str.replace(r"[^a-z]", "", regex=True)
             + _s(rng.integers(0, 1000, pool)).astype(str) + "@" + _s(DOMAINS[rng.integers(0, len(DOMAINS), pool)]))
    e_style = rng.integers(0, 4, pool)
    email = email.where(e_style != 1, email.str.upper())
    email = email.where(e_style != 2, western + " <" + email + ">")
    company = _s(COMPANY[rng.integers(0, len(COMPANY), pool)]) + _s(FORMS[rng.integers(0, len(FORMS), pool)])
    company = company.where(rng.random(pool) > 0.2, company.str.upper())
    day = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, pool), unit="D")
    date = _s(day.strftime("%Y-%m-%d"))
    # --- rows ---
    idx = rng.integers(0, pool, n)
    country = COUNTRIES[rng.integers(0, len(COUNTRIES), n)]
    region = pd.Series(country, dtype=object).map(REGION_OF).fillna("").to_numpy()
    phones = _phone_pools(rng, pool)
    phone, mobile = np.empty(n, dtype=object), np.empty(n, dtype=object)
    for code, numbers in phones.items():
        mask = region == code
        phone[mask] = numbers[rng.integers(0, len(numbers), mask.sum())]
        mobile[mask] = numbers[rng.integers(0, len(numbers), mask.sum())]
    df = pd.DataFrame({
        "full_name": full.to_numpy()[idx],
        "email": email.to_numpy()[idx],
        "phone": phone,
        "mobile": mobile,
        "company": company.to_numpy()[rng.integers(0, pool, n)],
        "country": country,
        "city": np.array(["Berlin", " berlin ", "Paris", "Madrid", "上海", "New York", "n/a"],
                         dtype=object)[rng.integers(0, 7, n)],
        "tags": np.array(["vip, newsletter", "VIP|Partner", "lead / cold", None], dtype=object)[rng.integers(0, 4, n)],
        "created_at": date.to_numpy()[rng.integers(0, pool, n)],
    })
    df["source_file"] = "bench.csv"
    df["source_sheet"] = ""
    df["source_row"] = np.arange(2, n + 2)
    return df


def main(sizes: list[int]) -> None:
    for n in sizes:
        df = make_contacts(n)
        start = time.perf_counter()
        cleaned, issues = clean(df, "contact")
        seconds = time.perf_counter() - start
        print(f"clean(df, 'contact'): {n:>9,} rows in {seconds:6.2f} s = {n / seconds:>10,.0f} rows/s "
              f"({len(issues):,} issues, {cleaned['phone'].notna().mean():.0%} phones filled)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
