"""The app's small helpers (crmkit.app_support), without Streamlit."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from crmkit import app_support as sup
from crmkit.errors import StoreError
from crmkit.store import Store


@pytest.mark.parametrize("left,right,expected", [
    ("Anna Müller", "anna  müller", "equal"),
    ("Anna Müller", "Anna Mueller", "similar"),
    ("ACME GmbH", "Acme", "similar"),
    ("Berlin", "Seattle", "different"),
    ("x", None, "missing"),
    (float("nan"), "y", "missing"),
])
def test_compare_values(left, right, expected):
    assert sup.compare_values(left, right) == expected


def test_threshold_preview_and_current_thresholds():
    pairs = pd.DataFrame({"match_probability": [0.99, 0.92, 0.6, 0.35, 0.1],
                          "decision": ["merge", "merge", "review", "review", "no"]})
    assert sup.current_thresholds(pairs) == (0.35, 0.92)
    assert sup.current_thresholds(pairs, json.dumps({"merge_threshold": 0.9, "review_threshold": 0.3})) == (0.3, 0.9)
    same = sup.threshold_preview(pairs, 0.35, 0.92)
    assert int(same.to_numpy().trace()) == len(pairs)
    moved = sup.threshold_preview(pairs, 0.5, 0.95)
    assert moved.loc["auto-merge", "review"] == 1 and moved.loc["review", "no match"] == 1


def test_search_filters():
    df = pd.DataFrame({"contact_id": ["C1", "C2", "C3"], "full_name": ["José Núñez", "Ann Lee", "Bo Li"],
                       "email": ["jn@x.es", "ann@y.com", None], "phone": ["+34 612 345 678", None, "+86 1380013800"],
                       "company": [None, "Acme", "Yuntu"], "country": ["ES", "US", "CN"],
                       "tags": ["vip; rfm:Champions", "newsletter", None]})
    ids = lambda f: list(f["contact_id"])  # noqa: E731
    assert ids(sup.search_contacts(df, "jose nunez")) == ["C1"]
    assert ids(sup.search_contacts(df, "612345678")) == ["C1"]
    assert ids(sup.search_contacts(df, "acme")) == ["C2"]
    assert ids(sup.search_contacts(df, tags=["rfm:Champions"])) == ["C1"]
    assert ids(sup.search_contacts(df, countries=["CN", "US"])) == ["C2", "C3"]
    recs = pd.DataFrame({"contact_id": ["C3"], "source_file": ["leads.csv"]})
    assert ids(sup.search_contacts(df, source_files=["leads.csv"], records=recs)) == ["C3"]
    assert sup.split_tags(df["tags"]) == ["newsletter", "rfm:Champions", "vip"]


def test_open_or_create(tmp_path):
    with pytest.raises(StoreError, match="no crmkit store"):
        sup.open_or_create(tmp_path / "none.sqlite")
    with pytest.raises(StoreError, match=r"\.sqlite"):
        sup.open_or_create(tmp_path / "notes.txt", create=True)
    store = sup.open_or_create(tmp_path / "new.sqlite", create=True)
    assert store.exists() and Store(tmp_path / "new.sqlite").read_table("contacts").empty


def test_board_columns_and_filters():
    deals = pd.DataFrame({"deal_id": ["a", "b", "c", "d"], "stage": ["Lead", "won", "weird", "lead"],
                          "amount": [1.0, 2.0, 3.0, 4.0],
                          "close_date": ["2024-02-01", None, "2024-01-05", "2024-01-01"],
                          "owner": ["Ana", None, "Ben", "Ana"]})
    cols = dict(sup.board_columns(deals))
    assert list(cols["lead"]["deal_id"]) == ["d", "a"] and list(cols["(other stage)"]["deal_id"]) == ["c"]
    assert list(sup.filter_deals(deals, owners=["(unassigned)"])["deal_id"]) == ["b"]
    assert list(sup.filter_deals(deals, months=["2024-01"])["deal_id"]) == ["c", "d"]
    assert sup.close_months(deals) == ["2024-01", "2024-02"]


def test_hide_password_and_export_options():
    url = "postgresql://crm:p%40ss@db.example.com/crm"
    assert "p%40ss" not in sup.hide_password(f"cannot open {url}", url)
    assert sup.hide_password("no secret here", "crm.sqlite") == "no secret here"
    contacts = pd.DataFrame({"tags": ["vip; rfm:Champions", "rfm:At Risk", None, "newsletter, vip"]})
    assert sup.segment_and_tag_options(contacts) == (["At Risk", "Champions"], ["newsletter", "vip"])
    assert sup.segment_and_tag_options(pd.DataFrame()) == ([], [])


def test_contact_segments_and_default_as_of():
    import datetime as dt

    contacts = pd.DataFrame({"contact_id": ["C1", "C2", "C3"]})
    scores = pd.DataFrame({"contact_id": ["C3", "C1"],
                           "segment": pd.Categorical(["Lost", "Champions"], categories=["Champions", "Lost"])})
    seg = sup.contact_segments(contacts, scores)
    assert seg.tolist() == ["Champions", sup.NO_ORDERS, "Lost"]
    assert list(seg.cat.categories) == ["Champions", "Lost", sup.NO_ORDERS]
    assert sup.contact_segments(contacts, scores.iloc[0:0]).tolist() == [sup.NO_ORDERS] * 3
    found = sup.search_contacts(contacts.assign(segment=seg), segments=["Lost", sup.NO_ORDERS])
    assert found["contact_id"].tolist() == ["C2", "C3"]
    assert sup.default_as_of(pd.DataFrame({"order_date": ["2024-02-28", "bad", None]})) == dt.date(2024, 2, 29)


def test_contact_history_edits_merges_and_splits(demo_store):
    from crmkit import curate

    store = Store(demo_store)
    assert sup.contact_history(store, "C1", ["R1"]).empty
    curate.edit_contact(store, "C1", "city", "Potsdam", actor="ann")
    curate.edit_contact(store, "C1", "city", None, actor="ann")
    curate.merge_contacts(store, ["C1", "C2"], actor="bob")
    curate.unmerge(store, "C1", actor="cy")
    hist = sup.contact_history(store, "C1", ["R1"])
    assert hist["action"].tolist() == ["unmerge", "merge", "edit", "edit"]          # newest first
    assert hist["actor"].tolist() == ["cy", "bob", "ann", "ann"]
    assert hist["details"].tolist()[2:] == ["city: cleared", "city: set to “Potsdam”"]
    other = store.read_table("contact_records").set_index("record_id").loc["R2", "contact_id"]
    split_off = sup.contact_history(store, other, ["R2"])                     # found by its record
    assert split_off["action"].tolist() == ["unmerge", "merge"]
    assert sup.contact_history(store, "C3", ["R3"]).empty
