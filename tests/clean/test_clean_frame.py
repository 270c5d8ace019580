"""clean(df, entity): dispatch, derived columns, provenance, issues, no mutation."""
from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from crmkit.clean import CLEANED_COLUMNS, clean
from crmkit.errors import CrmkitError
from crmkit.schema import ISSUE_COLUMNS, SOURCE_COLUMNS


@pytest.fixture
def contacts() -> pd.DataFrame:
    return pd.DataFrame({
        "full_name": ["MÜLLER, HANS", "张伟先生", "Dr. Jane Doe", None],
        "email": ["Hans <HANS@X.DE>", "zhang@x.cn; wei@y.cn", "not-an-email", "n/a"],
        "phone": ["030 1234567 Durchwahl -12", "13800138000.0", "+1 (415) 555-0123", "12"],
        "company": ["MÜLLER GMBH", "华为技术有限公司", "Acme, Inc.", None],
        "country": ["Deutschland", "中国", "USA", "Atlantis"],
        "created_at": ["05.03.2024", "25.12.2023", "45000", "garbage"],
        "tags": ["vip, newsletter", None, "a|b", None],
        "source_file": "c.csv", "source_sheet": "", "source_row": [2, 3, 4, 5],
        "extra": [{"Fax": "1"}, {}, {}, {}],
    }, index=[2, 3, 4, 5])


def test_clean_contacts(contacts):
    before = contacts.copy(deep=True)
    cleaned, issues = clean(contacts, "contact")
    pdt.assert_frame_equal(contacts, before)  # input never mutated
    assert list(cleaned.columns) == CLEANED_COLUMNS["contact"] + SOURCE_COLUMNS + ["extra"]
    pdt.assert_index_equal(cleaned.index, contacts.index)
    pdt.assert_series_equal(cleaned["source_row"], contacts["source_row"])
    assert cleaned["extra"].tolist() == contacts["extra"].tolist()
    assert cleaned["full_name"].tolist() == ["Hans Müller", "张伟", "Jane Doe", None]
    assert cleaned["salutation"].tolist() == [None, "先生", "Dr.", None]
    assert cleaned["email"].tolist() == ["hans@x.de", "zhang@x.cn", "not-an-email", None]
    assert cleaned["email_others"].tolist() == [None, "wei@y.cn", None, None]
    assert cleaned["phone"].tolist() == ["+49301234567", "+8613800138000", "+14155550123", "12"]
    assert cleaned["phone_ext"].tolist() == ["12", None, None, None]
    assert cleaned["company"].tolist() == ["Müller GmbH", "华为技术有限公司", "Acme, Inc.", None]
    assert cleaned["company_key"].tolist() == ["muller", "华为技术", "acme", None]
    assert cleaned["country"].tolist() == ["DE", "CN", "US", None]
    assert cleaned["created_at"].tolist() == ["2024-03-05", "2023-12-25", "2023-03-15", None]
    assert cleaned["tags"].tolist() == ["vip; newsletter", None, "a; b", None]
    assert cleaned["job_title"].isna().all()

    assert list(issues.columns) == ISSUE_COLUMNS
    got = {(r.source_row, r.column, r.value) for r in issues.itertuples()}
    assert got == {(4, "email", "not-an-email"), (5, "country", "Atlantis"), (5, "phone", "12"),
                   (5, "created_at", "garbage")}
    assert (issues["source_file"] == "c.csv").all()


def test_region_param_and_inference():
    df = pd.DataFrame({"phone": ["030 1234567", "+49 89 1234567"], "source_file": "a", "source_sheet": "",
                       "source_row": [2, 3]})
    cleaned, issues = clean(df, "contact")  # inferred from the international number
    assert cleaned["phone"].tolist() == ["+49301234567", "+49891234567"]
    cleaned, _ = clean(df.iloc[:1], "contact", region="DE")
    assert cleaned["phone"].tolist() == ["+49301234567"]
    cleaned, issues = clean(df.iloc[:1], "contact")
    assert issues["problem"].tolist() == ["not a valid phone number (no country code, no region)"]


def test_clean_deals():
    df = pd.DataFrame({
        "name": ["Big deal"], "company": ["ACME CORP"], "contact_name": ["doe, jane"], "stage": ["Closed Won"],
        "amount": ["€ 1.234,50"], "probability": ["90%"], "close_date": ["2024-06-30"],
        "source_file": "d.xlsx", "source_sheet": "Deals", "source_row": [7],
    })
    cleaned, issues = clean(df, "deal", kinds=pd.DataFrame({"amount": ["s"]}))
    row = cleaned.iloc[0]
    assert (row["company"], row["company_key"], row["contact_name"]) == ("Acme Corp", "acme", "Jane Doe")
    assert (row["stage"], row["amount"], row["currency"], row["probability"]) == ("won", 1234.5, "EUR", 0.9)
    assert row["close_date"] == "2024-06-30"
    assert issues.empty and list(issues.columns) == ISSUE_COLUMNS
    assert cleaned["amount"].dtype == float


def test_clean_orders_currency_clash():
    df = pd.DataFrame({"order_id": ["A-1"], "amount": ["$10"], "currency": ["EUR"], "quantity": ["2"],
                       "order_date": ["3/14/2024"], "source_file": "o.csv", "source_sheet": "", "source_row": [2]})
    cleaned, issues = clean(df, "order")
    assert cleaned[["amount", "currency", "quantity", "order_date"]].iloc[0].tolist() == [10.0, "EUR", 2.0,
                                                                                          "2024-03-14"]
    assert issues["column"].tolist() == ["currency"]


def test_unknown_entity():
    with pytest.raises(CrmkitError, match="unknown entity"):
        clean(pd.DataFrame(), "lead")


def test_long_frame_cleans_phones_in_a_forked_process_with_the_same_result(monkeypatch):
    """From PARALLEL_MIN_ROWS rows the phones are cleaned in a forked process: same frame, same issues
    in the same order as cleaning everything in this process."""
    import numpy as np

    from crmkit.clean._base import PARALLEL_MIN_ROWS

    rng = np.random.default_rng(3)
    n = PARALLEL_MIN_ROWS + 10
    pick = lambda *xs: rng.choice(np.array(xs, dtype=object), n)  # noqa: E731
    df = pd.DataFrame({
        "first_name": pick("Sam", "ANNA", None, "Dr. Bob", "n/a"),
        "last_name": pick("Smith", "müller", None, "Jäger"),
        "email": pick("a@b.de", "bad at mail", None, "x@y.co.uk"),
        "phone": pick("030 1234567", "+4915143738523", "(415) 555-0123 ext. 12", "12", None, "+3351917405"),
        "mobile": pick("+447911123456", None, "0171 1234567"),
        "country": pick("DE", "Germany", None, "GB", "US"),
        "company": pick("ACME GmbH", None),
        "source_file": "f.csv", "source_sheet": "", "source_row": np.arange(2, n + 2),
    })
    forked = clean(df, "contact")
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    here = clean(df, "contact")
    pdt.assert_frame_equal(forked[0], here[0])
    pdt.assert_frame_equal(forked[1], here[1])
