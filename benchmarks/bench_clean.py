"""Speed of crmkit.clean.clean(df, "contact") on generated messy contact rows.

Run:  python benchmarks/bench_clean.py [ROWS ...]     (default: 100000 1000000)
      python benchmarks/bench_clean.py --corpus 1000000 [--repeat 3]

Rows are drawn from pools of ~ROWS/10 distinct values per column (as in real
exports, where the same company, city or country repeats), in mixed formats:
"Last, First" and "First Last" names in ALL CAPS or not, Chinese names,
emails with display names and case noise, phones in national, international,
float-stored and extension forms, country names in several languages, and
dates in ISO, d.m.Y and m/d/Y.

``--corpus N`` cleans the cached migrate corpus instead (benchmarks/_data/contacts_N_7_v2.csv, made by
``bench_migrate.py``), read and mapped as ``crmkit migrate`` does, and prints the CPU seconds of
each field's cleaner (one process, the best of ``--repeat`` runs) and then the whole ``clean()``: wall
seconds and the CPU seconds of this process and of the forked child that cleans the phones. CPU
seconds are the figure to compare on a shared machine; wall seconds depend on the other load.
"""
from __future__ import annotations

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


def _corpus_frame(rows: int) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    """The cached migrate corpus, read and mapped as ``crmkit migrate`` does."""
    from pathlib import Path

    from crmkit.mapping import apply_mapping, map_sheets
    from crmkit.read import read_paths

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_migrate import corpus_csv

    path, _ = corpus_csv(rows, 7)  # generated and cached on first use
    start = time.perf_counter()
    sheets, _ = read_paths([path])
    sheet = map_sheets(sheets, None).sheets[0]
    mapped = apply_mapping(sheets[0], sheet)
    print(f"{path.name}: {len(mapped.frame):,} rows read and mapped in {time.perf_counter() - start:.1f} s")
    return mapped.frame, mapped.kinds, sheet.entity


def _cpu() -> float:
    return time.process_time()


def _field_seconds(df: pd.DataFrame, kinds: pd.DataFrame | None) -> dict[str, float]:
    """CPU seconds of each field's cleaner, called as clean() calls it, in this process."""
    import importlib

    pkg = importlib.import_module("crmkit.clean")  # the package (crmkit.clean is also the function's name)
    out: dict[str, float] = {}

    def timed(name, func):
        start = _cpu()
        result = func()
        out[name] = _cpu() - start
        return result

    countries = timed("countries", lambda: pkg.clean_countries(df["country"])).values
    timed("names", lambda: pkg.clean_names(df.get("first_name"), df.get("last_name"), df.get("full_name"),
                                           country=countries))
    phone_fields = [f for f in ("phone", "mobile") if f in df.columns]

    def regions():
        if hasattr(pkg, "_row_regions"):  # what clean() calls
            return pkg._row_regions(df, phone_fields, ["email"], countries, None)
        # (older crmkit: the same steps inside clean())
        texts = [df[c] for c in ("full_name", "last_name", "company", "city") if c in df.columns]
        default = pkg.infer_region(pd.concat([df[f] for f in phone_fields], ignore_index=True),
                                   countries=df["country"], texts=pd.concat(texts, ignore_index=True))
        row_region = pkg._email_regions(df, ["email"])
        row_region = row_region.where(row_region.notna(), default)
        return countries.where(countries.notna(), row_region)

    row_region = timed("phone regions", regions)
    for f in phone_fields:
        timed(f, lambda f=f: pkg.clean_phones(df[f], region=row_region))
    timed("email", lambda: pkg.clean_emails(df["email"]))
    timed("company", lambda: pkg.clean_companies(df["company"]))
    for f in ("street", "postcode", "city"):
        timed(f, lambda f=f: pkg.clean_text(df[f]))
    timed("created_at", lambda: pkg.clean_dates(df["created_at"], kinds=kinds["created_at"] if kinds is not None
                                                else None))
    return out


def corpus(rows: int, repeat: int) -> None:
    import resource

    df, kinds, entity = _corpus_frame(rows)
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, seconds in _field_seconds(df, kinds).items():
            best[name] = min(seconds, best.get(name, seconds))
    print("CPU seconds per field (one process, best of", repeat, "runs):")
    for name, seconds in best.items():
        print(f"  {name:<14} {seconds:6.2f}")
    print(f"  {'sum':<14} {sum(best.values()):6.2f}")
    for _ in range(repeat):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        before = children.ru_utime + children.ru_stime
        start, cpu = time.perf_counter(), _cpu()
        cleaned, issues = clean(df, entity, kinds=kinds)
        wall, cpu = time.perf_counter() - start, _cpu() - cpu
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = children.ru_utime + children.ru_stime - before
        print(f"clean(df, {entity!r}): {len(df):,} rows in {wall:.2f} s wall; CPU {cpu:.2f} s here + {child:.2f} s "
              f"in the phone process ({len(issues):,} issues)")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="*", type=int, help="generated rows (default: 100000 1000000)")
    parser.add_argument("--corpus", type=int, help="clean the cached migrate corpus of this many rows instead")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (the best is shown)")
    args = parser.parse_args()
    if args.corpus:
        corpus(args.corpus, args.repeat)
    else:
        main(args.rows or [100_000, 1_000_000])
