"""Fixtures for matching tests: a generated corpus with known duplicates, and a frame builder."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

COLUMNS = ["record_id", "first_name", "last_name", "full_name", "email", "phone", "mobile", "company", "company_key",
           "street", "postcode", "city", "country", "created_at", "source_file", "source_sheet", "source_row"]


def frame(rows: list[dict]) -> pd.DataFrame:
    """A cleaned contacts frame from a few dicts (missing columns None, record ids '1', '2', ...)."""
    out = pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], dtype=object)
    out["record_id"] = [str(r.get("record_id", i + 1)) for i, r in enumerate(rows)]
    if out["full_name"].isna().any():
        fill = (out["first_name"].fillna("") + " " + out["last_name"].fillna("")).str.strip()
        out["full_name"] = out["full_name"].fillna(fill)
    return out


@pytest.fixture(scope="session")
def corpus() -> pd.DataFrame:
    from make_corpus import make_corpus

    return make_corpus(4000, seed=11)


@pytest.fixture(scope="session")
def background(corpus) -> pd.DataFrame:
    """Realistic other records, so hard cases are scored by a model trained on real-looking data."""
    return corpus.drop(columns=["true_id"])


@pytest.fixture(scope="session")
def make_frame():
    return frame
