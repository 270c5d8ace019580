"""Acceptance on the bundled sample data against its hidden truth (tests/data/sample_truth)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from crmkit.store import Store

TRUTH_KEY = ["source_file", "source_sheet", "source_row"]


@pytest.fixture(scope="module")
def truth(data_dir):
    t = pd.read_csv(data_dir / "sample_truth" / "rows.csv", dtype=str, keep_default_na=False)
    t["source_row"] = t["source_row"].astype(int)
    return t


@pytest.fixture(scope="module")
def tables(sample_store):
    store = Store(sample_store)
    names = ["source_rows", "contact_records", "contacts", "deals", "orders", "extra_fields", "issues"]
    out = {n: store.read_table(n) for n in names}
    for df in out.values():
        if "source_row" in df:
            df["source_row"] = pd.to_numeric(df["source_row"]).astype("Int64")
    return out


def test_every_data_row_is_in_source_rows_exactly_once(truth, tables):
    src = tables["source_rows"]
    assert not src.duplicated(TRUTH_KEY).any()
    got = set(map(tuple, src[TRUTH_KEY].astype(str).values))
    want = set(map(tuple, truth[TRUTH_KEY].astype(str).values))
    assert got == want  # no title, blank or footer row, and nothing missing
    merged = truth.merge(src, on=TRUTH_KEY)
    assert (merged["entity_x"] == merged["entity_y"]).all()
    assert src["record_id"].notna().all()


def _compare(truth, records, truth_col, col):
    rows = truth[(truth["entity"] == "contact") & (truth[truth_col] != "")]
    got = rows.merge(records, on=TRUTH_KEY, how="left")
    return (got[truth_col] == got[col]).mean(), len(rows)


def test_emails_and_phones_match_the_truth(truth, tables):
    records = tables["contact_records"][TRUTH_KEY + ["email", "phone", "mobile", "country"]].copy()
    records["source_row"] = records["source_row"].astype(int)
    for truth_col, col in [("email_truth", "email"), ("phone_truth", "phone"), ("mobile_truth", "mobile"),
                           ("country_truth", "country")]:
        share, n = _compare(truth, records, truth_col, col)
        assert n > 20
        assert share >= 0.99, f"{col}: {share:.3f} of {n} rows match the truth"


def test_every_source_row_belongs_to_exactly_one_contact(tables):
    recs = tables["contact_records"]
    assert recs["record_id"].is_unique
    assert recs["contact_id"].notna().all()
    assert set(recs["contact_id"]) == set(tables["contacts"]["contact_id"])
    src = tables["source_rows"]
    contact_rows = src[src["entity"] == "contact"]
    assert contact_rows["record_id"].isin(tables["contacts"]["contact_id"]).all()


def test_deals_and_orders_link_to_contacts(tables):
    assert tables["orders"]["contact_id"].notna().all()
    assert tables["orders"]["contact_id"].isin(tables["contacts"]["contact_id"]).all()
    deals = tables["deals"]
    assert deals["contact_id"].notna().mean() > 0.9
    assert set(deals["stage"].dropna()) <= {"lead", "qualified", "proposal", "negotiation", "won", "lost"}


def test_unmapped_columns_are_kept(tables, sample_dir):
    from crmkit.read import read

    extras = tables["extra_fields"]
    raw = read(sample_dir / "old_crm_export.xlsx", sheets=["Contacts"])[0]
    unmapped = [c for c in raw.frame.columns if c in set(extras["field"])]
    assert unmapped, "the CRM export's unmapped columns are stored as extra fields"
    for col in unmapped:
        want = raw.frame[col].dropna()
        got = extras[(extras["field"] == col) & (extras["source_file"] == "old_crm_export.xlsx")]
        assert sorted(got["value"]) == sorted(want)


def test_raw_values_are_recoverable(tables, sample_dir):
    from crmkit.read import read_paths

    sheets, errors = read_paths([sample_dir])
    assert not errors
    src = tables["source_rows"].set_index(TRUTH_KEY)
    for raw in sheets:
        for row, values in raw.frame.iterrows():
            stored = json.loads(src.loc[(raw.source_file, raw.sheet, row), "raw"])
            assert {k: v for k, v in stored.items() if v is not None} == \
                {k: v for k, v in values.items() if pd.notna(v)}


def test_rows_the_reader_skips_are_reported_not_lost(tables):
    """Title rows above the header and a 'Total:' footer are not data rows, but a user sees them as issues."""
    issues, src = tables["issues"], tables["source_rows"]
    skipped = issues[issues["problem"].astype(str).str.startswith("skipped")]
    footer = skipped[skipped["value"].astype(str).str.contains("Total", case=False)]
    assert len(footer) >= 1 and footer["source_row"].notna().all()
    where = set(zip(skipped["source_file"], skipped["source_sheet"], skipped["source_row"].astype(int)))
    stored = set(zip(src["source_file"], src["source_sheet"], src["source_row"].astype(int)))
    assert not where & stored  # a skipped row never also became a data row
