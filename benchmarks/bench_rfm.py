"""Time crmkit.analytics.rfm on synthetic orders (default 1,000,000 rows, 100,000 customers).

    python benchmarks/bench_rfm.py [n_orders] [n_customers]

Prints the best of three runs for dates given as datetimes and as ISO text, plus segment_summary.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from crmkit.analytics import rfm, segment_summary


def make_orders(n: int, n_customers: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # skewed activity: a few customers buy a lot
    cust = (rng.pareto(1.2, n) * n_customers / 20).astype(np.int64) % n_customers
    day = np.datetime64("2021-01-01") + rng.integers(0, 3 * 365, n).astype("timedelta64[D]")
    amount = np.round(rng.lognormal(3.5, 0.8, n), 2)
    amount[rng.random(n) < 0.02] *= -1  # 2 % refunds
    return pd.DataFrame({
        "order_id": np.arange(n).astype(str),
        "contact_id": pd.array([f"C{c:07d}" for c in cust], dtype="string"),
        "order_date": day.astype("datetime64[ns]"),
        "amount": amount,
        "currency": "EUR",
    })


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    orders = make_orders(n, k)
    text_orders = orders.assign(order_date=orders["order_date"].dt.strftime("%Y-%m-%d"))
    result = rfm(orders)
    print(f"{n:,} orders, {len(result):,} customers scored and segmented")
    print(f"rfm (datetime dates):     {best_of(lambda: rfm(orders)):.3f} s")
    print(f"rfm (ISO text dates):     {best_of(lambda: rfm(text_orders)):.3f} s")
    print(f"rfm (no order_id column): {best_of(lambda: rfm(orders, order_id=None)):.3f} s")
    print(f"segment_summary:          {best_of(lambda: segment_summary(result)):.3f} s")
    print(segment_summary(result)[["segment", "customers", "share", "revenue_share"]].to_string(index=False))


if __name__ == "__main__":
    main()
