"""The SQL store: schema, round trips, atomic writes, identifiers never built from data."""
from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from crmkit.errors import StoreError
from crmkit.store import TABLE_COLUMNS, Store, open_store, read_store


def _contacts():
    return pd.DataFrame({
        "contact_id": ["C1", "C2", "C3"],
        "full_name": ["张伟", "Robert O'Brien", "=HYPERLINK(\"http://evil\")"],
        "email": ["zhang.wei@example.cn", None, "x@example.com"],
        "phone": ["+8613800138000", "+14155550123", None],
        "n_sources": [1, 3, 1],
    })


def test_write_and_read_back(tmp_path):
    store = Store(tmp_path / "crm.sqlite")
    assert not store.exists()
    store.write(replace={"contacts": _contacts()})
    assert store.exists()
    back = store.read_table("contacts")
    assert list(back.columns) == TABLE_COLUMNS["contacts"]
    assert back["full_name"].tolist() == ["张伟", "Robert O'Brien", "=HYPERLINK(\"http://evil\")"]
    assert back["n_sources"].tolist() == [1, 3, 1]
    assert pd.isna(back.loc[1, "email"])
    assert store.change_counter() == 1
    store.write(append={"contacts": pd.DataFrame({"contact_id": ["C4"]})})
    assert store.change_counter() == 2
    assert len(store.read_table("contacts")) == 4
    assert set(read_store(tmp_path / "crm.sqlite")) >= {"contacts", "source_rows", "issues", "deals", "orders"}


def test_new_store_is_not_left_half_written(tmp_path):
    path = tmp_path / "crm.sqlite"
    bad = pd.DataFrame({"contact_id": ["C1", "C1"]})  # violates the primary key halfway through the write
    with pytest.raises(Exception):
        Store(path).write(replace={"contacts": _contacts(), "contact_records": pd.DataFrame({"record_id": ["r"]}),
                                   "deals": pd.DataFrame({"deal_id": ["D1", "D1"]})})
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
    del bad


def test_failed_write_keeps_previous_store(tmp_path):
    path = tmp_path / "crm.sqlite"
    store = Store(path)
    store.write(replace={"contacts": _contacts()})
    with pytest.raises(Exception):
        store.write(replace={"contacts": pd.DataFrame({"contact_id": ["N1"]}),
                             "deals": pd.DataFrame({"deal_id": ["D1", "D1"]})})
    assert store.read_table("contacts")["contact_id"].tolist() == ["C1", "C2", "C3"]
    assert store.change_counter() == 1


def test_values_that_look_like_sql_are_stored_as_values(tmp_path):
    store = Store(tmp_path / "crm.sqlite")
    evil = "Robert'); DROP TABLE contacts;--"
    store.write(replace={"contacts": pd.DataFrame({"contact_id": ["C1"], "full_name": [evil]}),
                         "extra_fields": pd.DataFrame({"entity": ["contact"], "record_id": ["C1"],
                                                       "field": ['"; DELETE FROM contacts; --'],
                                                       "value": [evil]})})
    assert store.read_table("contacts")["full_name"].tolist() == [evil]
    assert store.read_table("extra_fields")["field"].tolist() == ['"; DELETE FROM contacts; --']


def test_errors_name_the_store_and_the_fix(tmp_path):
    with pytest.raises(StoreError, match="no crmkit store here.*crmkit migrate"):
        open_store(tmp_path / "missing.sqlite")
    store = Store(tmp_path / "crm.sqlite")
    store.write(replace={"contacts": _contacts()})
    with pytest.raises(StoreError, match="unknown table 'people'"):
        store.read_table("people")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store("nosuchdialect://x/y").engine


def test_url_and_schema_are_sqlalchemy(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.ensure_schema()
    insp = sa.inspect(store.engine)
    assert set(TABLE_COLUMNS) <= set(insp.get_table_names())
    assert [c["name"] for c in insp.get_columns("source_rows")][:6] == [
        "source_file", "source_sheet", "source_row", "entity", "record_id", "raw"]
