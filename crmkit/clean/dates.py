"""Dates -> ISO 'YYYY-MM-DD' text.

Understands ISO dates (a time part is dropped), d/m/y and m/d/y with any of
``. / -`` or space, Excel serial numbers, 8-digit ``YYYYMMDD``, month names in
English, German, French and Spanish ("3 Mar 2024", "März 3, 2024",
"5 janv. 2023", "5 de enero de 2023") and Chinese "2023年5月6日".

Day-first or month-first is decided **once per column**: a first part > 12
means day-first, a second part > 12 means month-first; if the values do not
tell, ``dayfirst`` decides; if that is None, "." or "-" separators mean
day-first and "/" means month-first (US style). Two-digit years 00-69 are
20xx, 70-99 are 19xx.

>>> import pandas as pd
>>> clean_dates(pd.Series(["05/03/2024", "25/12/2023", "45000", "März 3, 2024"])).values.tolist()
['2024-03-05', '2023-12-25', '2023-03-15', '2024-03-03']
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from crmkit.clean._base import CleanResult, factorize, fold_accents, is_placeholder, normalize_text, \
    problems_series, take

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_MAX_SERIAL = 2958465  # 9999-12-31
_ISO_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T\s].*)?$")
_DMY_RE = re.compile(r"^(\d{1,2})([./\- ])(\d{1,2})\2(\d{4}|\d{2})(?:[T\s,]+\d{1,2}[:.]\d{2}.*)?$")
_NUM_RE = re.compile(r"^\d+(?:\.\d+)?$")
_CN_RE = re.compile(r"^(\d{2,4})\s*年\s*(\d{1,2})\s*月\s*(?:(\d{1,2})\s*[日号號]?)?")
_TIME_RE = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[ap]\.?m\.?)?(?:\s*(?:z|utc|[+-]\d{2}:?\d{2}))?",
                      re.IGNORECASE)
_ORDINAL_RE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th|er|e|eme|ème|º|°|\.)(?=\s|$|,)", re.IGNORECASE)
_TOKEN_RE = re.compile(r"[a-z]+|\d+")

_MONTHS: dict[str, int] = {}
for _month, _names in enumerate(
    [
        "january jan januar janner jaenner janvier janv enero ene",
        "february feb februar feber fevrier fevr fev febrero",
        "march mar marz maerz mrz mars marzo",
        "april apr avril avr abril abr",
        "may mai mayo",
        "june jun juni juin junio",
        "july jul juli juillet juil julio",
        "august aug aout agosto ago",
        "september sep sept septembre septiembre setiembre set",
        "october oct oktober okt octobre octubre",
        "november nov novembre noviembre",
        "december dec dezember dez decembre diciembre dic",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _month
_NOISE = {"de", "del", "of", "the", "le", "am", "den", "el", "la", "y", "um", "a", "at"}
_WEEKDAYS = {"monday", "mon", "tuesday", "tue", "tues", "wednesday", "wed", "thursday", "thu", "thurs", "friday",
             "fri", "saturday", "sat", "sunday", "sun", "montag", "mo", "dienstag", "di", "mittwoch", "mi",
             "donnerstag", "do", "freitag", "fr", "samstag", "sa", "sonntag", "so", "lundi", "mardi", "mercredi",
             "jeudi", "vendredi", "samedi", "dimanche", "lunes", "martes", "miercoles", "jueves", "viernes",
             "sabado", "domingo"}


def _year(y: int, digits: int) -> int:
    if digits <= 2:
        return 2000 + y if y < 70 else 1900 + y
    return y


def _text_date(text: str) -> tuple[int, int, int] | None:
    """'3 Mar 2024', 'März 3, 2024', '5 janv. 2023' -> (y, m, d)."""
    low = _ORDINAL_RE.sub(r"\1", _TIME_RE.sub(" ", fold_accents(text).lower()))
    tokens = _TOKEN_RE.findall(low)
    month = None
    numbers: list[str] = []
    for token in tokens:
        if token.isdigit():
            numbers.append(token)
        elif token in _MONTHS and month is None:
            month = _MONTHS[token]
        elif token in _NOISE or token in _WEEKDAYS:
            continue
        elif month is None and len(token) > 3 and token[:4] in _MONTHS:
            month = _MONTHS[token[:4]]
        elif month is None and len(token) > 3 and token[:3] in _MONTHS:
            month = _MONTHS[token[:3]]
        else:
            return None
    if month is None or not numbers or len(numbers) > 2:
        return None
    years = [n for n in numbers if len(n) == 4]
    if len(numbers) == 1:
        if not years:
            return None
        return int(years[0]), month, 1  # "March 2024" -> first of the month
    if years:
        year = years[0]
        day = next(n for n in numbers if n is not year)
    else:  # "3 Mar 24": day first, year last
        day, year = numbers
    return _year(int(year), len(year)), month, int(day)


def _iso(y: int, m: int, d: int) -> str | None:
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def _serial(number: float) -> str | None:
    if not 1 <= number <= _MAX_SERIAL:
        return None
    return (_EXCEL_EPOCH + dt.timedelta(days=int(number))).isoformat()


def clean_dates(values: pd.Series, kinds: pd.Series | None = None, dayfirst: bool | None = None) -> CleanResult:
    """Parse a column of dates into ISO 'YYYY-MM-DD' text (None when empty or invalid).

    ``kinds`` is the reader's per-cell kind ('n' number, 'd' date, 's' text); a
    number cell is read as an Excel serial. Without kinds, a column whose
    numbers are all 5-digit values between 20000 and 60000 is read as serials.
    """
    index = values.index
    codes, uniq = factorize(values)
    # First level: drop the time of ISO datetimes vectorised, so distinct datetimes collapse to dates.
    if len(uniq):
        u = pd.Series(uniq, dtype=object).astype(str)
        iso_dt = u.str.match(r"^\d{4}-\d{2}-\d{2}[T ]\d").fillna(False).to_numpy(dtype=bool)
        u = u.where(~iso_dt, u.str.slice(0, 10))
        codes2, uniq2 = factorize(u)
        codes = np.where(codes >= 0, codes2[np.maximum(codes, 0)], -1)
        uniq = uniq2
    number_values: set[str] = set()
    if kinds is not None:
        kind_arr = kinds.reindex(index).astype(object).to_numpy()
        numeric_rows = kind_arr == "n"
        number_values = {str(v) for v in values.to_numpy()[numeric_rows] if v is not None and v == v}
    texts = [normalize_text(v) for v in uniq]

    parsed: list[object] = []
    first_gt12 = second_gt12 = 0
    seps: set[str] = set()
    numeric: list[float] = []
    for raw, text in zip(uniq, texts):
        if is_placeholder(text):
            parsed.append(("empty",))
            continue
        if m := _ISO_RE.match(text):
            parsed.append(("ymd", int(m[1]), int(m[2]), int(m[3])))
        elif m := _DMY_RE.match(text):
            a, b = int(m[1]), int(m[3])
            first_gt12 += a > 12
            second_gt12 += b > 12
            seps.add(m[2])
            parsed.append(("ab", a, b, _year(int(m[4]), len(m[4]))))
        elif _NUM_RE.match(text):
            if len(text) == 8 and text[:2] in ("19", "20") and _iso(int(text[:4]), int(text[4:6]), int(text[6:])):
                parsed.append(("ymd", int(text[:4]), int(text[4:6]), int(text[6:])))
            else:
                number = float(text)
                if str(raw) in number_values:
                    parsed.append(("serial", number))
                else:
                    numeric.append(number)
                    parsed.append(("number", number))
        elif m := _CN_RE.match(text):
            parsed.append(("ymd", _year(int(m[1]), len(m[1])), int(m[2]), int(m[3] or 1)))
        elif ymd := _text_date(text):
            parsed.append(("ymd", *ymd))
        else:
            parsed.append(None)

    if first_gt12 and not second_gt12:
        day_first = True
    elif second_gt12 and not first_gt12:
        day_first = False
    elif first_gt12 and second_gt12:
        day_first = first_gt12 >= second_gt12  # mixed column: the majority wins, the rest become problems
    elif dayfirst is not None:
        day_first = dayfirst
    else:
        day_first = not seps or bool(seps & {".", "-", " "})
    serial_column = bool(numeric) and all(20000 <= n <= 60000 and n == int(n) for n in numeric)

    out: list[str | None] = []
    problems: list[str | None] = []
    for raw, text, item in zip(uniq, texts, parsed):
        iso = None
        if item is None:
            problems.append(f"not a date: {text!r}")
        elif item[0] == "empty":
            problems.append(None)
        else:
            if item[0] == "ymd":
                iso = _iso(item[1], item[2], item[3])
            elif item[0] == "ab":
                a, b, y = item[1], item[2], item[3]
                iso = _iso(y, b, a) if day_first else _iso(y, a, b)
            elif item[0] == "serial" or (item[0] == "number" and serial_column):
                iso = _serial(item[1])
            problems.append(None if iso else f"not a valid date: {text!r}")
        out.append(iso)
    return CleanResult(pd.Series(take(out, codes), index=index, dtype=object, copy=False),
                       problems_series(take(problems, codes), index))
