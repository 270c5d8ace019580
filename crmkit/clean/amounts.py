"""Money amounts, currencies and probabilities.

Number formats: "1.234,56", "1,234.56", "1 234,56", "1'234.56", "12,5", "78k",
"1.2M", "5万", "(500)" and "500-" (negative). The decimal separator of
ambiguous values ("1.234", "1,234": one separator followed by exactly three
digits) is decided **per column**: if other values show a comma decimal
("12,5", "1.234,56") the column is comma-decimal, if they show a dot decimal it
is dot-decimal; with no evidence either way the separator is read as a
thousands separator (amounts rarely have three decimals).

Currency symbols: "$" is USD, "€" EUR, "£" GBP, and "¥"/"￥" is **CNY** (the
Chinese reading; crmkit's sources are far more often Chinese than Japanese),
"JP¥"/"円" is JPY. "-" alone is an empty value, as everywhere in crmkit.

>>> import pandas as pd
>>> clean_amounts(pd.Series(["1.234,56 €", "$1,000", "78k", "(500)", "¥12,000"])).values.values.tolist()
[[1234.56, 'EUR'], [1000.0, 'USD'], [78000.0, None], [-500.0, None], [12000.0, 'CNY']]
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from crmkit.clean._base import (
    CleanResult, factorize, fold_accents, is_placeholder, map_unique, normalize_text, problems_series, take,
)

__all__ = ["clean_amounts", "clean_currency", "clean_probabilities"]

# Symbols and words -> ISO 4217; matched longest first, case-insensitively.
_CURRENCY_WORDS: dict[str, str] = {
    "us$": "USD", "usd": "USD", "u.s. dollar": "USD", "us dollar": "USD", "us dollars": "USD", "dollar": "USD",
    "dollars": "USD", "dólar": "USD", "dolares": "USD", "$": "USD", "a$": "AUD", "au$": "AUD", "c$": "CAD",
    "ca$": "CAD", "hk$": "HKD", "nz$": "NZD", "s$": "SGD", "r$": "BRL", "mx$": "MXN",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "eu": "EUR",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "sterling": "GBP", "stg": "GBP",
    "¥": "CNY", "￥": "CNY", "cn¥": "CNY", "rmb": "CNY", "cny": "CNY", "元": "CNY", "人民币": "CNY",
    "人民幣": "CNY", "yuan": "CNY", "renminbi": "CNY", "块": "CNY",
    "jp¥": "JPY", "円": "JPY", "jpy": "JPY", "yen": "JPY", "日元": "JPY",
    "chf": "CHF", "sfr": "CHF", "fr.": "CHF", "franken": "CHF", "₹": "INR", "rs": "INR", "₩": "KRW",
    "₽": "RUB", "₺": "TRY", "zł": "PLN", "zl": "PLN", "美元": "USD", "欧元": "EUR", "英镑": "GBP", "港币": "HKD",
    "港元": "HKD",
}
_MULTIPLIERS: dict[str, float] = {
    "k": 1e3, "tsd": 1e3, "tsd.": 1e3, "thousand": 1e3, "千": 1e3, "m": 1e6, "mm": 1e6, "mn": 1e6, "mio": 1e6,
    "mio.": 1e6, "million": 1e6, "millions": 1e6, "millionen": 1e6, "millones": 1e6, "b": 1e9, "bn": 1e9,
    "mrd": 1e9, "mrd.": 1e9, "billion": 1e9, "万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8,
}
# Currencies whose amounts are written with a decimal point ("$1,000" is a thousand).
_DOT_DECIMAL_CURRENCIES = {"USD", "GBP", "CNY", "JPY", "HKD", "AUD", "NZD", "SGD", "INR", "KRW", "MXN"}
_NUMBER_RE = re.compile(r"^\d[\d.,' ’]*$|^[.,]\d+$")
_MULT_RE = re.compile(
    r"^(.*?\d)\s*(" + "|".join(re.escape(k) for k in sorted(_MULTIPLIERS, key=len, reverse=True)) + r")$",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _iso_currencies() -> frozenset[str]:
    try:
        import pycountry
    except ImportError:  # pragma: no cover - pycountry is a dependency of crmkit.clean
        return frozenset(v for v in _CURRENCY_WORDS.values())
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@lru_cache(maxsize=1)
def _currency_re() -> re.Pattern[str]:
    words = sorted(_CURRENCY_WORDS, key=len, reverse=True)
    alternatives = []
    for word in words:
        escaped = re.escape(word)
        alternatives.append(rf"\b{escaped}\b" if word[0].isalpha() and word[-1].isalpha() else escaped)
    return re.compile(r"(?:\b[A-Z]{3}\b|" + "|".join(alternatives) + ")", re.IGNORECASE)


def _currency_of(token: str) -> str | None:
    low = token.lower()
    if low in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[low]
    if len(token) == 3 and token.upper() in _iso_currencies():
        return token.upper()
    return None


def _take_currency(text: str) -> tuple[str, str | None]:
    """Remove the first currency mention from ``text``; return (rest, ISO code)."""
    for m in _currency_re().finditer(text):
        code = _currency_of(m.group(0))
        if code:
            return (text[: m.start()] + " " + text[m.end():]).strip(), code
    return text, None


def _parse(text: str) -> tuple | None:
    """('n', sign*multiplier, dot_value, comma_value, vote) or None when not an amount."""
    text = text.replace("−", "-").replace("–", "-")
    text, currency = _take_currency(text)
    text = text.strip(" :=")
    if text.endswith((",-", ".-", ",--", ".--")):  # German "12,-"
        text = text.rstrip("-")[:-1]
    sign = 1.0
    if text.startswith("(") and text.endswith(")"):
        sign, text = -1.0, text[1:-1].strip()
        text, currency2 = _take_currency(text)
        currency = currency or currency2
    if text.startswith("-"):
        sign, text = -sign, text[1:].strip()
    elif text.endswith("-") and len(text) > 1:
        sign, text = -sign, text[:-1].strip()
    text = text.lstrip("+").strip()
    multiplier = 1.0
    if m := _MULT_RE.match(text):
        text, multiplier = m.group(1).strip(), _MULTIPLIERS[m.group(2).lower()]
    if not _NUMBER_RE.match(text):
        return None
    digits = text.replace(" ", "").replace("'", "").replace("’", "")
    dots, commas = digits.count("."), digits.count(",")
    vote = None
    if dots and commas:
        dec = "." if digits.rfind(".") > digits.rfind(",") else ","
        thousands = "," if dec == "." else "."
        if digits.count(dec) > 1:
            return None
        value = float(digits.replace(thousands, "").replace(dec, "."))
        dot_value = comma_value = value
        vote = "dot" if dec == "." else "comma"
    elif dots or commas:
        sep = "." if dots else ","
        head, _, tail = digits.rpartition(sep)
        if digits.count(sep) > 1:
            if any(len(g) != 3 for g in digits.split(sep)[1:]):
                return None
            dot_value = comma_value = float(digits.replace(sep, ""))
            vote = "comma" if sep == "." else "dot"
        elif len(tail) != 3 or head in ("", "0"):
            dot_value = comma_value = float(f"{head or '0'}.{tail}")
            vote = "dot" if sep == "." else "comma"
        else:  # one separator, three digits after: ambiguous
            as_decimal, as_thousands = float(f"{head}.{tail}"), float(head + tail)
            dot_value, comma_value = (as_decimal, as_thousands) if sep == "." else (as_thousands, as_decimal)
    else:
        dot_value = comma_value = float(digits)
    return sign * multiplier, dot_value, comma_value, vote, currency


def _parse_number(text: str) -> tuple[float, str | None] | None:
    """A number with at most one decimal separator (for probabilities)."""
    parsed = _parse(text)
    if parsed is None:
        return None
    factor, dot_value, comma_value, vote, currency = parsed
    return factor * (dot_value if vote != "comma" else comma_value), currency


def clean_amounts(values: pd.Series, kinds: pd.Series | None = None) -> CleanResult:
    """Parse money amounts into ``DataFrame[amount (float), currency (ISO 4217 or None)]``.

    ``kinds`` is the reader's per-cell kind; cells of kind 'n' are plain numbers
    and skip the separator guessing. Invalid values become NaN with a problem.
    """
    index = values.index
    codes, uniq = factorize(values)
    number_values: set[str] = set()
    if kinds is not None:
        numeric_rows = kinds.reindex(index).astype(object).to_numpy() == "n"
        number_values = {str(v) for v in values.to_numpy()[numeric_rows] if v is not None and v == v}
    parsed: list[tuple | str | None] = []
    votes = {"dot": 0, "comma": 0}
    for raw in uniq:
        text = normalize_text(raw)
        if is_placeholder(text):
            parsed.append("empty")
            continue
        if str(raw) in number_values:
            try:
                number = float(text)
                parsed.append((1.0, number, number, None, None))
                continue
            except ValueError:
                pass
        item = _parse(text)
        parsed.append(item)
        if item is not None and item[3]:
            votes[item[3]] += 1
    comma_column, dot_column = votes["comma"] > votes["dot"], votes["dot"] > votes["comma"]
    amounts = np.full(len(uniq), np.nan)
    currencies: list[str | None] = [None] * len(uniq)
    problems: list[str | None] = [None] * len(uniq)
    for i, (raw, item) in enumerate(zip(uniq, parsed)):
        if item == "empty":
            continue
        if item is None:
            problems[i] = f"not an amount: {normalize_text(raw)!r}"
            continue
        factor, dot_value, comma_value, _, currency = item
        if dot_value != comma_value:  # ambiguous: decided by the currency, else the column
            if currency in _DOT_DECIMAL_CURRENCIES:
                value = dot_value
            else:
                value = comma_value if comma_column else dot_value if dot_column else max(dot_value, comma_value)
        else:
            value = dot_value
        amounts[i] = factor * value
        currencies[i] = currency
    frame = pd.DataFrame({"amount": pd.Series(take(amounts, codes, np.nan, dtype=float), index=index),
                          "currency": pd.Series(take(currencies, codes), index=index, dtype=object)})
    return CleanResult(frame, problems_series(take(problems, codes), index))


def _clean_currency_value(raw: object) -> tuple[str | None, str | None]:
    text = normalize_text(raw)
    if is_placeholder(text):
        return None, None
    code = _currency_of(text) or _currency_of(fold_accents(text).strip(". "))
    if code is None:
        rest, code = _take_currency(text)
        if code and rest.strip(" .()-"):
            code = None
    return (code, None) if code else (None, f"unknown currency: {text!r}")


def clean_currency(values: pd.Series) -> CleanResult:
    """Currency column -> ISO 4217 ("€", "euro", "US$", "RMB", "元" ...); unknown -> None + problem.

    >>> clean_currency(pd.Series(["€", "US$", "RMB", "元", "chf"])).values.tolist()
    ['EUR', 'USD', 'CNY', 'CNY', 'CHF']
    """
    codes, problems = map_unique(values, _clean_currency_value, 2)
    return CleanResult(pd.Series(codes, index=values.index, dtype=object), problems_series(problems, values.index))


def clean_probabilities(values: pd.Series) -> CleanResult:
    """Probabilities -> float 0..1: "50%", "50 %", "0.5", "0,5" and "50" all give 0.5.

    Per column: if any value without "%" is in 1..100, whole numbers are percentages
    ("1" is 1 %) while fractions such as 0.5 stay fractions.
    Values outside 0..100 % become NaN with a problem.

    >>> clean_probabilities(pd.Series(["50%", "0.5", "50 %", "0,25"])).values.tolist()
    [0.5, 0.5, 0.5, 0.25]
    """
    index = values.index
    codes, uniq = factorize(values)
    items: list[tuple[float, bool] | str | None] = []
    for raw in uniq:
        text = normalize_text(raw)
        if is_placeholder(text):
            items.append("empty")
            continue
        percent = "%" in text or "％" in text
        number = _parse_number(text.replace("%", "").replace("％", "").strip())
        items.append((number[0], percent) if number and number[1] is None else None)
    percent_column = any(isinstance(i, tuple) and not i[1] and 1 < i[0] <= 100 for i in items)
    out = np.full(len(uniq), np.nan)
    problems: list[str | None] = [None] * len(uniq)
    for i, (raw, item) in enumerate(zip(uniq, items)):
        if item == "empty":
            continue
        if item is None:
            problems[i] = f"not a probability: {normalize_text(raw)!r}"
            continue
        bare_percent = percent_column and (item[0] > 1 or item[0] == int(item[0]))
        value = item[0] / 100 if item[1] or bare_percent else item[0]
        if 0 <= value <= 1:
            out[i] = value
        else:
            problems[i] = f"probability out of range: {normalize_text(raw)!r}"
    return CleanResult(pd.Series(take(out, codes, np.nan, dtype=float), index=index),
                       problems_series(take(problems, codes), index))
