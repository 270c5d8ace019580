"""A new SQLite store is bulk loaded through ADBC (Arrow) when installed, else through sqlite3: the same file."""
from __future__ import annotations

import decimal
import sqlite3

import numpy as np
import pandas as pd
import pytest

import crmkit.store as store_mod
from crmkit.errors import StoreError
from crmkit.store import Store

pytest.importorskip("adbc_driver_sqlite")


def _typed_dump(path) -> dict:
    """Every table's rows in rowid order, each value with its SQLite storage class."""
    con = sqlite3.connect(path)
    out = {"schema": con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall(),
           "integrity": con.execute("PRAGMA integrity_check").fetchall()}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        cols = [c[1] for c in con.execute(f'PRAGMA table_info("{name}")')]
        if name in ("meta",):
            continue
        sel = ", ".join(f'typeof("{c}"), "{c}"' for c in cols)
        out[name] = con.execute(f'SELECT rowid, {sel} FROM "{name}" ORDER BY rowid').fetchall()
    con.close()
    return out


def _awkward_tables() -> dict[str, pd.DataFrame]:
    """Values of every kind a frame can hand to the store, in the dtypes crmkit's frames use."""
    n = 7
    cat = pd.Categorical(["a", None, "b", "a", "ünï", "a", None])
    return {
        "contacts": pd.DataFrame({
            "contact_id": pd.array([f"C{i}" for i in range(n)], dtype="str"),
            "full_name": pd.array(["Zoë", None, "", "nul\x00inside", "张伟", "=1+1", "line\u2028sep"], dtype="str"),
            "email": np.array(["a@x", None, 5, 2.5, True, decimal.Decimal("1.10"), float("nan")], dtype=object),
            "phone": cat,
            "n_records": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
            "n_sources": [1.0, 2.7, np.nan, np.inf, -np.inf, 1e15, -3.0],  # INTEGER: truncated, non-finite NULL
            "emails": pd.array([None] * n, dtype="str"),                     # no value at all: left out
            "mobile": np.array(["+49", b"bytes", None, "x", "y", "z", "w"], dtype=object),  # str(b"...") as text
            "website": np.array([b"a", b"b", None, b"c", b"d", b"e", b"f"], dtype=object),  # bytes only: the same
            "owner": np.array(["Ann", None, np.str_("Bo"), float("nan"), "Cy", pd.NA, "Di"], dtype=object),
        }),
        "deals": pd.DataFrame({
            "deal_id": ["D1", "D2", "D3", "D4"],
            "amount": ["12.5", "x", None, 3],                                  # REAL from text: non-numbers NULL
            "probability": [np.inf, np.nan, 0.0, -1.5],
            "source_row": ["7", "seven", None, 9.9],
        }),
        "contact_values": pd.DataFrame({
            "contact_id": ["C1", "C2", "C3"], "field": pd.Categorical(["email", "phone", "email"]),
            "value": ["v", None, "w"], "is_primary": [True, False, True],
            "source_row": pd.array([2, None, 4], dtype="Int64"),
        }),
        "match_pairs": pd.DataFrame({  # oriented on the way in: record_id_l < record_id_r
            "record_id_l": ["R9", "R1", "R5"], "record_id_r": ["R2", "R3", "X1"],
            "contact_id_l": ["C9", "C1", "C5"], "contact_id_r": ["C2", "C3", "C1"],
            "match_weight": [1.5, -2.0, None], "decision": ["merge", "review", "link"],
        }),
        "lineage": pd.DataFrame({"contact_id": [f"C{i % 3}" for i in range(200)],
                                 "field": pd.Categorical(["email", "phone"] * 100),
                                 "value": [f"v{i}" if i % 7 else None for i in range(200)],
                                 "source_row": range(200)}),
    }


@pytest.mark.parametrize("workers", ["0", "2"])
def test_adbc_and_sqlite3_write_the_same_new_store(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(store_mod, "_PARALLEL_MIN_ROWS", 3)  # small tables through the helper queue too
    monkeypatch.setenv("CRMKIT_WRITE_WORKERS", workers)
    monkeypatch.setattr(store_mod, "_memory_available", lambda: 1 << 40)
    tables = _awkward_tables()
    ingested = []
    real = store_mod._arrow_reader
    monkeypatch.setattr(store_mod, "_arrow_reader", lambda df, cols: (ingested.append(len(df)), real(df, cols))[1])
    Store(tmp_path / "adbc.sqlite").write(replace=tables, append={"audit_log": pd.DataFrame({"action": ["x"]})})
    if workers == "0":  # (a forked helper's calls are not seen here)
        assert sorted(ingested) == [1, 3, 3, 4, 7, 200]
    monkeypatch.setenv("CRMKIT_ADBC", "0")
    assert store_mod._adbc_sqlite() is None
    Store(tmp_path / "sqlite3.sqlite").write(replace=tables, append={"audit_log": pd.DataFrame({"action": ["x"]})})
    a, b = _typed_dump(tmp_path / "adbc.sqlite"), _typed_dump(tmp_path / "sqlite3.sqlite")
    assert a["integrity"] == [("ok",)]
    assert a == b
    contacts = Store(tmp_path / "adbc.sqlite").read_table("contacts")
    assert contacts["full_name"].tolist()[3] == "nul\x00inside"
    assert contacts["email"].tolist()[2:6] == ["5", "2.5", "True", "1.10"]
    assert Store(tmp_path / "adbc.sqlite").change_counter() == 1
    assert list(Store(tmp_path / "adbc.sqlite").read_table("meta")["key"]) == ["change_counter", "schema_version"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adbc.sqlite", "sqlite3.sqlite"]


@pytest.mark.parametrize("adbc", ["1", "0"])
def test_a_failed_bulk_load_leaves_nothing_and_says_why(tmp_path, monkeypatch, adbc):
    monkeypatch.setenv("CRMKIT_WRITE_WORKERS", "0")
    monkeypatch.setenv("CRMKIT_ADBC", adbc)
    path = tmp_path / "crm.sqlite"
    with pytest.raises(StoreError, match="breaks a key or constraint"):
        Store(path).write(replace={"contacts": pd.DataFrame({"contact_id": ["C1", "C1"]})})
    assert list(tmp_path.iterdir()) == []
