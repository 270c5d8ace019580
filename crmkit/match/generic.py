"""Declarative comparisons on any column: ``Comparison(field="date_of_birth", kind="date")``.

The built-in fields (name, email, phone, company, address) have hand-made ladders in
:mod:`crmkit.match.compare`; every other column can be compared through one of these kinds, each an
ordered list of levels (first that applies wins; level 0 = null, no evidence):

======== ====================================================================================
exact    null, exact, else                                     (case and spaces ignored)
id       null, exact, one_edit, transposition, else            (letters and digits only: 'AB-12 3' = 'ab123')
date     null, exact, day_month_swapped, one_digit, year_off_by_one, else   (compared as YYYYMMDD)
string   null, exact, jw_high, jw_low, else                    (Jaro-Winkler >= jw_high / jw_low, folded text)
number   null, exact, close, else                              (|a-b| <= abs_tol or <= rel_tol * max(|a|, |b|))
======== ====================================================================================

m/u start from the defaults below and are estimated like the built-in ones (u from random pairs, m by
EM); the exact level of ``id``, ``date``, ``string`` and ``exact`` is adjusted for the value's frequency
when more than ``params["tf_min_count"]`` (5) records hold it: a placeholder date or id shared by
many counts for less, while a value held by a few records (perhaps one person's duplicates) keeps the
level's weight.
Blocking on any column: ``"col:soc_sec_id"`` (same normalised value) or ``"cols:last_name+date_of_birth"``.

>>> import pandas as pd
>>> vals = normalise(pd.Series(["1956-09-09", "19560909", "09.09.1956", None]), "date")
>>> vals.tolist()
['19560909', '19560909', '19560909', None]
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

# label, description, default m, default u, tf_adjust
_KINDS: dict[str, tuple[list[tuple[str, str, float | None, float | None, bool]], dict]] = {
    "exact": ([
        ("null", "missing on either side: no evidence", None, None, False),
        ("exact", "same value (case and spaces ignored)", 0.90, 0.01, True),
        ("else", "different values", 0.10, 0.99, False),
    ], {"tf_min_count": 5}),
    "id": ([
        ("null", "missing on either side: no evidence", None, None, False),
        ("exact", "same identifier (letters and digits only)", 0.88, 1e-05, True),
        ("one_edit", "one character inserted, deleted or changed: 1983497 / 1983447", 0.05, 1e-04, False),
        ("transposition", "two neighbouring characters swapped: 1983497 / 1984397", 0.03, 1e-05, False),
        ("else", "different identifiers", 0.04, 0.9999, False),
    ], {"tf_min_count": 5}),
    "date": ([
        ("null", "missing or not a date on either side: no evidence", None, None, False),
        ("exact", "same date", 0.85, 0.0005, True),
        ("day_month_swapped", "day and month swapped: 1956-09-12 / 1956-12-09", 0.02, 1e-05, False),
        ("one_digit", "one digit differs (typo): 1956-09-12 / 1956-08-12", 0.06, 0.002, False),
        ("year_off_by_one", "same day and month, year one apart (beyond one digit): 1959-09-12 / 1960-09-12", 0.02, 0.0005, False),
        ("else", "different dates", 0.05, 0.997, False),
    ], {"dayfirst": True, "tf_min_count": 5}),
    "string": ([
        ("null", "missing on either side: no evidence", None, None, False),
        ("exact", "same text (case, accents and punctuation ignored)", 0.80, 0.01, True),
        ("jw_high", "Jaro-Winkler >= jw_high: Smith / Smiht", 0.10, 0.005, False),
        ("jw_low", "Jaro-Winkler >= jw_low", 0.04, 0.02, False),
        ("else", "different text", 0.06, 0.965, False),
    ], {"jw_high": 0.92, "jw_low": 0.80, "tf_min_count": 5}),
    "number": ([
        ("null", "missing or not a number on either side: no evidence", None, None, False),
        ("exact", "same number", 0.85, 0.01, False),
        ("close", "|a - b| <= abs_tol or <= rel_tol * max(|a|, |b|)", 0.10, 0.02, False),
        ("else", "different numbers", 0.05, 0.97, False),
    ], {"rel_tol": 0.01, "abs_tol": 0.0}),
}

KINDS: dict[str, list[str]] = {k: [lv[0] for lv in levels] for k, (levels, _) in _KINDS.items()}
# kinds whose exact level identifies a record (used like an email or phone in EM's first training session)
IDENTIFIER_KINDS = {"id"}


def default_levels(kind: str) -> list:
    from crmkit.match.settings import ComparisonLevel

    return [ComparisonLevel(lab, desc, m=m, u=u, tf_adjust=tf) for lab, desc, m, u, tf in _KINDS[kind][0]]


def default_params(kind: str) -> dict:
    return dict(_KINDS[kind][1])


# --------------------------------------------------------------------------- normalisation
def _fold(text: str) -> str:
    t = unicodedata.normalize("NFKD", str(text).casefold())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w ]+", " ", t).split())


def _number_text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _id(v) -> str | None:
    return re.sub(r"[\W_]+", "", _number_text(v)).upper() or None


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def _date(v, dayfirst: bool = True) -> str | None:
    """YYYYMMDD digits (kept when the date is not valid: a typo'd date still compares digit by digit)."""
    if hasattr(v, "strftime"):
        try:
            return v.strftime("%Y%m%d")
        except ValueError:
            return None
    s = str(v).strip()
    if m := _ISO.match(s):
        return f"{m.group(1)}{int(m.group(2)):02d}{int(m.group(3)):02d}"
    if re.fullmatch(r"\d{8}", s):
        if s[:2] in ("18", "19", "20"):
            return s
        return s[4:] + s[2:4] + s[:2] if dayfirst else s[4:] + s[:2] + s[2:4]
    ts = pd.to_datetime(s, errors="coerce", dayfirst=dayfirst)
    return None if ts is pd.NaT or ts != ts else ts.strftime("%Y%m%d")


def _number(v) -> float | None:
    try:
        x = float(str(v).replace(",", "").strip()) if not isinstance(v, (int, float)) else float(v)
    except ValueError:
        return None
    return x if x == x else None


def normalise(values: pd.Series, kind: str, params: dict | None = None) -> pd.Series:
    """The comparable form of a column for one kind (computed on distinct values; None = missing)."""
    from crmkit.match.compare import _on_unique

    params = params or {}
    vals = values.astype(object).where(values.notna(), None)
    if kind == "id":
        return _on_unique(vals, _id)
    if kind == "date":
        return _on_unique(vals, lambda v: _date(v, params.get("dayfirst", True)))
    if kind == "string":
        return _on_unique(vals, lambda v: _fold(v) or None)
    if kind == "number":
        return _on_unique(vals, _number)
    return _on_unique(vals, lambda v: " ".join(_number_text(v).casefold().split()) or None)


# --------------------------------------------------------------------------- levels
def levels(kind: str, coded, l: np.ndarray, r: np.ndarray, params: dict) -> np.ndarray:
    """Level per pair (l, r) of positions; ``coded`` is the column's ``compare._Coded``."""
    from crmkit.match.compare import _eq, _select, _sim

    cl, cr = coded.codes[l], coded.codes[r]
    n = len(l)
    last = len(KINDS[kind]) - 1
    exact = _eq(cl, cr)
    if kind == "id":
        lev = _sim(coded, cl, cr, Levenshtein.distance, 0.0, score_cutoff=2)
        dl = _sim(coded, cl, cr, DamerauLevenshtein.distance, 0.0, score_cutoff=2)
        level = _select([exact, lev == 1, dl == 1], n, last)
    elif kind == "date":
        u = pd.Series(coded.uniq, dtype=object)
        ok8 = u.str.len().astype(float).eq(8).to_numpy() & u.str.isdigit().eq(True).to_numpy(dtype=bool)
        year = np.r_[np.where(ok8, pd.to_numeric(u.str[:4], errors="coerce").fillna(-9), -9), -9].astype(np.int64)
        md = np.r_[pd.factorize(u.str[4:8].where(ok8, None), use_na_sentinel=True)[0], -1]
        dm = pd.factorize(pd.concat([u.str[4:8], u.str[6:8] + u.str[4:6]], ignore_index=True).where(
            np.r_[ok8, ok8], None), use_na_sentinel=True)[0]
        mmdd, ddmm = np.r_[dm[:len(u)], -1], np.r_[dm[len(u):], -2]
        a, b = np.where(cl >= 0, cl, len(u)), np.where(cr >= 0, cr, len(u))
        swapped = (year[a] == year[b]) & (year[a] >= 0) & (mmdd[a] == ddmm[b]) & (mmdd[a] >= 0)
        one = _sim(coded, cl, cr, Levenshtein.distance, 0.0, score_cutoff=2) == 1
        off = (np.abs(year[a] - year[b]) == 1) & (year[a] >= 0) & (year[b] >= 0) & (md[a] == md[b]) & (md[a] >= 0)
        level = _select([exact, swapped, one, off], n, last)
    elif kind == "string":
        jw = _sim(coded, cl, cr, JaroWinkler.normalized_similarity, 1.0)
        level = _select([exact, jw >= params.get("jw_high", 0.92), jw >= params.get("jw_low", 0.80)], n, last)
    elif kind == "number":
        x = np.r_[np.asarray(coded.uniq, dtype=float), np.nan]
        a, b = x[np.where(cl >= 0, cl, len(x) - 1)], x[np.where(cr >= 0, cr, len(x) - 1)]
        with np.errstate(invalid="ignore"):
            close = (np.abs(a - b) <= params.get("abs_tol", 0.0)) | \
                (np.abs(a - b) <= params.get("rel_tol", 0.01) * np.fmax(np.abs(a), np.abs(b)))
        level = _select([exact | (a == b), close], n, last)
    else:
        level = _select([exact], n, last)
    level[(cl < 0) | (cr < 0)] = 0
    return level
