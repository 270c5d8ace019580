"""Measure crmkit.read speed on generated CSV and XLSX files; prints rows/second.

    python benchmarks/bench_read.py            # 100k + 1M row CSV, 100k row XLSX
    python benchmarks/bench_read.py --quick    # 10k rows each, for a smoke run
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from crmkit.read import read

HEADER = ["First name", "Last name", "Email", "Phone", "Company", "City", "Country", "Created"]


def _row(i: int, rng: random.Random) -> list:
    return [f"Ann{i}", f"Smith{rng.randrange(1000)}", f"ann{i}@example{i % 50}.com",
            f"+1 415 555 {i % 10000:04d}", f"Acme {rng.randrange(3000)}, Inc.", " Springfield ", "US",
            f"2023-{i % 12 + 1:02d}-{i % 28 + 1:02d}"]


def make_csv(path: Path, n: int) -> Path:
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(n):
            writer.writerow(_row(i, rng))
    return path


def make_xlsx(path: Path, n: int) -> Path:
    from openpyxl import Workbook

    rng = random.Random(7)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Contacts")
    ws.append(HEADER)
    for i in range(n):
        row = _row(i, rng)
        row[3] = 4155550000.0 + i % 10000  # phone stored as a float, as Excel does
        row[7] = dt.date(2023, i % 12 + 1, i % 28 + 1)
        ws.append(row)
    wb.save(path)
    return path


def bench(path: Path, expected: int) -> None:
    t0 = time.perf_counter()
    sheets = read(path)
    seconds = time.perf_counter() - t0
    rows = sum(len(s.frame) for s in sheets)
    assert rows == expected, (rows, expected)
    print(f"{path.name:<14} {rows:>9,} rows  {seconds:7.2f} s  {rows / seconds:>11,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k rows per file")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [100_000, 1_000_000]
    xlsx_rows = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in sizes:
            bench(make_csv(tmp / f"csv_{n}.csv", n), n)
        bench(make_xlsx(tmp / f"xlsx_{xlsx_rows}.xlsx", xlsx_rows), xlsx_rows)


if __name__ == "__main__":
    main()
