"""clean_countries, clean_dates, clean_amounts, clean_currency, clean_probabilities, clean_stages."""
from __future__ import annotations

import math

import pandas as pd
import pandas.testing as pdt
import pytest

from crmkit.clean import (
    clean_amounts, clean_countries, clean_currency, clean_dates, clean_probabilities, clean_stages,
)


def S(*values):
    return pd.Series(list(values), dtype=object)


@pytest.mark.parametrize("raw, code", [
    ("USA", "US"), ("U.S.", "US"), ("United States of America", "US"), ("us", "US"), ("美国", "US"),
    ("Deutschland", "DE"), ("Allemagne", "DE"), ("Alemania", "DE"), ("DEU", "DE"), ("德国", "DE"),
    ("中国", "CN"), ("中华人民共和国", "CN"), ("UK", "GB"), ("Great Britain", "GB"), ("England", "GB"),
    ("Schweiz", "CH"), ("Österreich", "AT"), ("España", "ES"), ("Holland", "NL"), ("Korea, Republic of", "KR"),
    ("Republic of Korea", "KR"), ("香港", "HK"), ("Corée du Sud", "KR"), ("Germnay", "DE"), ("ＦＲ", "FR"),
])
def test_clean_countries(raw, code):
    result = clean_countries(S(raw))
    assert result.values.iloc[0] == code and result.problems.iloc[0] is None


def test_clean_countries_unknown_and_placeholder():
    result = clean_countries(S("Atlantis", "n/a", None))
    assert result.values.tolist() == [None, None, None]
    assert result.problems.tolist() == ["unknown country: 'Atlantis'", None, None]


def test_dates_formats():
    result = clean_dates(S("2024-03-05T14:30:00", "2024-03-05 10:00", "3 Mar 2024", "März 3, 2024", "5 janv. 2023",
                           "5 de enero de 2023", "2023年5月6日", "Tuesday, March 5th, 2024", "20240305", "n/a", None))
    assert result.values.tolist() == ["2024-03-05", "2024-03-05", "2024-03-03", "2024-03-03", "2023-01-05",
                                      "2023-01-05", "2023-05-06", "2024-03-05", "2024-03-05", None, None]
    assert result.problems.isna().all()


@pytest.mark.parametrize("values, expected, kw", [
    (["05/03/2024", "25/12/2023"], ["2024-03-05", "2023-12-25"], {}),  # a first part > 12: day-first
    (["05/03/2024", "12/25/2023"], ["2024-05-03", "2023-12-25"], {}),  # a second part > 12: month-first
    (["05/03/2024", "06/04/2024"], ["2024-05-03", "2024-06-04"], {}),  # tie, "/": month-first
    (["05/03/2024"], ["2024-03-05"], {"dayfirst": True}),  # tie, the parameter decides
    (["05.03.2024", "06.04.24"], ["2024-03-05", "2024-04-06"], {}),  # tie, ".": day-first
    (["1/2/99", "1/2/05"], ["1999-01-02", "2005-01-02"], {}),  # two-digit years
])
def test_dates_day_month_per_column(values, expected, kw):
    assert clean_dates(S(*values), **kw).values.tolist() == expected


def test_dates_excel_serials():
    assert clean_dates(S("45000", "45123")).values.tolist() == ["2023-03-15", "2023-07-16"]
    kinds = S("n", "d", "s")
    result = clean_dates(S("45000.75", "2024-01-01", "123"), kinds=kinds)
    assert result.values.tolist() == ["2023-03-15", "2024-01-01", None]
    assert result.problems.tolist() == [None, None, "not a valid date: '123'"]


def test_dates_invalid():
    result = clean_dates(S("2024-02-30", "garbage"))
    assert result.values.tolist() == [None, None]
    assert result.problems.tolist() == ["not a valid date: '2024-02-30'", "not a date: 'garbage'"]


AMOUNTS = [
    ("1.234,56", 1234.56, None), ("1,234.56", 1234.56, None), ("1 234,56", 1234.56, None),
    ("1'234.56", 1234.56, None), ("$1,000", 1000.0, "USD"), ("€ 2.500", 2500.0, "EUR"), ("EUR 300", 300.0, "EUR"),
    ("¥12,000", 12000.0, "CNY"), ("78k", 78000.0, None), ("1.2M", 1.2e6, None), ("(500)", -500.0, None),
    ("12,5", 12.5, None), ("5万", 50000.0, None), ("-1.234,5 EUR", -1234.5, "EUR"), ("１２３", 123.0, None),
    ("USD 1.5 Mio", 1.5e6, "USD"), ("12,-", 12.0, None),
]


@pytest.mark.parametrize("raw, amount, currency", AMOUNTS)
def test_clean_amounts(raw, amount, currency):
    result = clean_amounts(S(raw))
    assert result.values["amount"].iloc[0] == pytest.approx(amount)
    assert result.values["currency"].iloc[0] == currency
    assert result.problems.iloc[0] is None


@pytest.mark.parametrize("column, expected", [
    (["1.234", "12,5"], 1234.0),   # comma decimals elsewhere: '.' is a thousands separator
    (["1.234", "12.50"], 1.234),   # dot decimals elsewhere: '.' is the decimal point
    (["1.234"], 1234.0),           # no evidence: thousands
    (["1,234", "7,25"], 1.234),
])
def test_amounts_ambiguous_decided_per_column(column, expected):
    assert clean_amounts(S(*column)).values["amount"].iloc[0] == pytest.approx(expected)


def test_amounts_invalid_empty_and_kinds():
    result = clean_amounts(S("abc", "-", None, "1234.5"), kinds=S("s", "", "", "n"))
    assert math.isnan(result.values["amount"].iloc[0]) and math.isnan(result.values["amount"].iloc[1])
    assert result.values["amount"].iloc[3] == 1234.5
    assert result.problems.tolist() == ["not an amount: 'abc'", None, None, None]
    assert result.values["amount"].dtype == float


def test_clean_currency():
    result = clean_currency(S("€", "euro", "US$", "RMB", "元", "usd", "Fr.", "xyz", "n/a"))
    assert result.values.tolist() == ["EUR", "EUR", "USD", "CNY", "CNY", "USD", "CHF", None, None]
    assert result.problems.tolist()[-2:] == ["unknown currency: 'xyz'", None]


def test_clean_probabilities():
    result = clean_probabilities(S("50%", "0.5", "50", "50 %", "0,25", "abc", "150", None))
    pdt.assert_series_equal(result.values, pd.Series([0.5, 0.5, 0.5, 0.5, 0.25, None, None, None], dtype=float))
    assert result.problems.tolist()[5:] == ["not a probability: 'abc'", "probability out of range: '150'", None]


def test_clean_stages_default():
    raw = ["Closed Won", "closed-won", "Won", "Gewonnen", "Auftrag", "gagné", "ganado", "赢单", "成交",
           "Closed Lost", "Verloren", "perdu", "Prospect", "New", "Lead", "线索", "Qualification", "Qualified",
           "Discovery", "Proposal", "Quote", "Angebot", "PROPOSAL", "报价", "Negotiation", "Verhandlung",
           "Contract sent", "Proposl", "3 - Negotiation", "Closed Won (100%)"]
    expected = ["won"] * 9 + ["lost"] * 3 + ["lead"] * 4 + ["qualified"] * 3 + ["proposal"] * 5 + \
               ["negotiation"] * 3 + ["proposal", "negotiation", "won"]
    assert clean_stages(S(*raw)).values.tolist() == expected


def test_clean_stages_unknown_and_custom():
    result = clean_stages(S("banana", "n/a"))
    assert result.values.tolist() == [None, None]
    assert result.problems.tolist() == ["unknown stage: 'banana'", None]
    custom = clean_stages(S("Demo", "Paid", "Won"), stages={"trial": ["demo"], "customer": ["paid"]})
    assert custom.values.tolist() == ["trial", "customer", None]
