"""clean_names cleans each distinct name once (one-word first/last names word by word, the country only
where "M." can occur): the result is exactly what _clean_one gives row by row."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from crmkit.clean._base import is_placeholder, normalize_text
from crmkit.clean.names import NAME_COLUMNS, _clean_one, clean_names

WORDS = [
    "Sam", "sam", "SAM", "Smith", "smith", "SMITH", "o'brien", "O’BRIEN", "d`artagnan", "mcdonald", "MACKENZIE",
    "Mackey", "müller-lüdenscheidt", "ÉMILE", "DeShawn", "van", "der", "Berg", "de", "la", "M.", "m.", "M", "Mme",
    "Mr", "mr.", "Dr.", "dr", "Herr", "Frau", "Prof.", "med", "jr", "Jr.", "III", "J.", "A.B.", "x", "X",
    "张伟", "王", "张伟先生", "李娜女士", "Ann-Marie", "ANN-MARIE", "jean-luc", "n/a", "-", "unknown", "?",
    "R2D2", "Agent007", "a@b.com", "ＡＮＮＡ", "\u3000anna\u3000", " lee ", "Lee,", "Smith, John", "Mc", "Ö",
    "ß", "ǅemal", "İlhan", "Σοφία", "ΣΟΦΊΑ", "", "  ", "Jürgen", "juergen", "bob", "Liz", "Schneider",
]
COUNTRIES = [None, "FR", "DE", "US", "BE", "CA", "CN"]


def _cell(rng: random.Random, max_words: int) -> str | None:
    if rng.random() < 0.25:
        return None
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, max_words)))


def _frame(seed: int, n: int, with_full: bool, with_salutation: bool) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        rows.append({
            "first": _cell(rng, 1 if rng.random() < 0.7 else 3),
            "last": _cell(rng, 1 if rng.random() < 0.7 else 3),
            "full": _cell(rng, 4) if with_full and rng.random() < 0.5 else None,
            "salutation": rng.choice([None, None, "Mr", "Frau", "n/a", " Dr. "]) if with_salutation else None,
            "country": rng.choice(COUNTRIES),
        })
    # repeat rows so that distinct values meet several times, in other orders
    frame = pd.DataFrame(rows, dtype=object)
    return pd.concat([frame, frame.sample(frac=1.0, random_state=seed)], ignore_index=True)


def _row_by_row(frame: pd.DataFrame) -> tuple[list[tuple], list]:
    out, problems = [], []
    for first, last, full, sal, country in frame[["first", "last", "full", "salutation", "country"]].itertuples(
            index=False):
        if all(v is None for v in (first, last, full, sal)):
            out.append((None, None, None, None))
            problems.append(None)
            continue
        sal = normalize_text(sal)
        res = _clean_one(first, last, full, None if is_placeholder(sal) else sal, country)
        out.append(res[:4])
        problems.append(res[4])
    return out, problems


@pytest.mark.parametrize("with_full, with_salutation", [(False, False), (True, False), (True, True), (False, True)])
@pytest.mark.parametrize("seed", [1, 2])
def test_clean_names_equals_row_by_row(seed, with_full, with_salutation):
    frame = _frame(seed, 3000, with_full, with_salutation)
    result = clean_names(frame["first"], frame["last"], frame["full"] if with_full else None,
                         country=frame["country"], salutation=frame["salutation"] if with_salutation else None)
    expected, problems = _row_by_row(frame)
    got = result.values[NAME_COLUMNS].to_numpy().tolist()
    assert [tuple(r) for r in got] == expected
    assert result.problems.tolist() == problems


def test_word_by_word_rows_are_most_rows_of_plain_data():
    frame = _frame(3, 2000, False, False)
    words = frame[["first", "last"]].map(lambda v: v if v is None or " " not in v else None)
    result = clean_names(words["first"], words["last"], None, country=frame["country"])
    expected, problems = _row_by_row(words.assign(full=None, salutation=None, country=frame["country"]))
    assert [tuple(r) for r in result.values[NAME_COLUMNS].to_numpy().tolist()] == expected
    assert result.problems.tolist() == problems


def test_scalar_country_and_non_text_values():
    first = pd.Series(["m. dupont", "M.", 7, np.nan, "Anna"], dtype=object)
    last = pd.Series(["x", None, "LEE", "Lee", 3.5], dtype=object)
    for country in ("FR", None, float("nan")):
        result = clean_names(first, last, None, country=country)
        expected = [_clean_one(None if pd.isna(f) else str(f), None if pd.isna(la) else str(la), None, None,
                               None if pd.isna(country) else country) for f, la in zip(first, last)]
        assert [tuple(r) for r in result.values[NAME_COLUMNS].to_numpy().tolist()] == [e[:4] for e in expected]
