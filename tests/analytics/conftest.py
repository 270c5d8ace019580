"""Fixtures for the analytics tests: generated orders, the CDNOW log, a small deal book, a scratch SQLite."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_master.txt.gz"


@pytest.fixture(scope="session")
def cdnow_orders() -> pd.DataFrame:
    """The CDNOW master log as crmkit orders (69,659 rows, 23,570 customers)."""
    with gzip.open(CDNOW, "rt") as fh:
        raw = pd.read_csv(fh, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return pd.DataFrame({
        "contact_id": raw["customer_id"],
        "order_date": raw["date"].str[:4] + "-" + raw["date"].str[4:6] + "-" + raw["date"].str[6:],
        "amount": raw["dollar_value"].astype(float),
        "currency": "USD",
    })


@pytest.fixture(scope="session")
def generated_orders() -> pd.DataFrame:
    """5,000 seeded orders over 600 customers: ties, refunds, zero amounts, blank keys, shared order ids."""
    rng = np.random.default_rng(42)
    n = 5000
    cust = rng.integers(0, 600, n)
    day = np.datetime64("2023-01-01") + rng.integers(0, 500, n).astype("timedelta64[D]")
    amount = np.round(rng.choice([0.0, 10.0, 25.0, 49.99, 100.0, 250.0], n) + rng.integers(0, 3, n), 2)
    amount[rng.random(n) < 0.05] *= -1
    oid = np.arange(n)
    oid[1::7] = oid[0::7][: len(oid[1::7])]  # some two-line orders
    keys = np.array([f"K{c:04d}" for c in cust], dtype=object)
    keys[rng.random(n) < 0.01] = None
    keys[rng.random(n) < 0.01] = "  "
    return pd.DataFrame({"order_id": [f"O{o}" for o in oid], "contact_id": keys,
                         "order_date": day.astype(str), "amount": amount, "currency": "EUR"})


@pytest.fixture()
def engine(tmp_path) -> sa.Engine:
    """A scratch SQLite with minimal contacts and deals tables (no history/audit tables: created on demand)."""
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE TABLE contacts (contact_id TEXT PRIMARY KEY, full_name TEXT, tags TEXT)"))
        conn.execute(sa.text("CREATE TABLE deals (deal_id TEXT PRIMARY KEY, name TEXT, contact_id TEXT, "
                             "company TEXT, stage TEXT, amount REAL, currency TEXT, probability REAL, "
                             "close_date TEXT, owner TEXT, created_at TEXT)"))
        conn.execute(sa.text("INSERT INTO deals VALUES (:id, :name, NULL, 'Acme', :stage, :amount, 'EUR', :p, "
                             "'2024-06-30', 'ana', '2024-01-02')"),
                     [{"id": "D1", "name": "Roof", "stage": "qualified", "amount": 1000.0, "p": 0.25},
                      {"id": "D2", "name": "Door", "stage": "proposal", "amount": 500.0, "p": 0.9},
                      {"id": "D3", "name": "Gate", "stage": "lead", "amount": 200.0, "p": None}])
    yield eng
    eng.dispose()
