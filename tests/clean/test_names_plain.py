"""clean_names reads plain names (crmkit.clean.names._plain_names, found with pyarrow) without a Python call
each: the result must stay exactly what _clean_one gives row by row, for names near every edge of "plain"."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.clean import names as names_module
from crmkit.clean._base import is_placeholder, normalize_text
from crmkit.clean.names import NAME_COLUMNS, _clean_one, _plain_names, _read_part, _Recaser, clean_names

TOKENS = ["Anna", "anna", "ANNA", "A", "a", "Ab", "AB", "aB", "O'Brien", "o'brien", "McDonald", "MCDONALD",
          "van", "VAN", "Van", "der", "de", "la", "Jean-Luc", "JEAN-LUC", "jean-luc", "J.", "j.", "J.R.", "M.", "m.",
          "M", "Mr", "mr.", "MR", "Mr,", "Dr.", "dr", "Prof.", "Dipl.", "-Ing.", "med", "Herr", "Frau", "Mme",
          "Sr.", "Jr.", "jr", "III", "n/a", "N/A", "none", "-", "?", "x", "X", "a1", "R2D2", "007", "a@b.de",
          "d`Artagnan", "Müller", "ÉMILE", "张伟", "先生", "Smith,", ",", ".", "..", "St.", "ST.", "Al-Amin",
          "ǅemal", "(Bob)", "'", "Mac", "MACKENZIE", "Mackey"]
SEPARATORS = [" ", " ", " ", " ", "  ", "\t", "\u3000"]


def _name(rng: random.Random) -> str:
    words = [rng.choice(TOKENS) for _ in range(rng.randint(1, 4))]
    text = words[0]
    for w in words[1:]:
        text += rng.choice(SEPARATORS) + w
    if rng.random() < 0.05:
        text = " " + text
    if rng.random() < 0.05:
        text += " "
    return text


def _rows(seed: int, n: int) -> pd.DataFrame:
    rng = random.Random(seed)
    pools = [[_name(rng) for _ in range(3000)] for _ in range(3)]
    rows = [{"first": rng.choice(pools[0] + [None]), "last": rng.choice(pools[1] + [None]),
             "full": rng.choice(pools[2] + [None, None]), "salutation": rng.choice([None] * 8 + ["Mr", "n/a"]),
             "country": rng.choice([None, "FR", "DE", "CA", "CN"])} for _ in range(n)]
    return pd.DataFrame(rows, dtype=object)


@pytest.mark.parametrize("plain_min", [0, 10 ** 9])
@pytest.mark.parametrize("seed", [1, 2])
def test_clean_names_with_and_without_plain_names_equals_row_by_row(seed, plain_min, monkeypatch):
    monkeypatch.setattr(names_module, "_PLAIN_MIN", plain_min)
    frame = _rows(seed, 6000)
    result = clean_names(frame["first"], frame["last"], frame["full"], country=frame["country"],
                         salutation=frame["salutation"])
    got = [tuple(r) for r in result.values[NAME_COLUMNS].to_numpy().tolist()]
    for i, (first, last, full, sal, country) in enumerate(frame[["first", "last", "full", "salutation", "country"]]
                                                          .itertuples(index=False)):
        if all(v is None for v in (first, last, full, sal)):
            assert got[i] == (None,) * 4 and result.problems.iloc[i] is None
            continue
        sal = normalize_text(sal)
        want = _clean_one(first, last, full, None if is_placeholder(sal) else sal, country)
        assert got[i] == want[:4], (first, last, full, sal, country)
        assert result.problems.iloc[i] == want[4]


def _check_plain(values: list[str], saluted: bool) -> None:
    arr = np.array(values, dtype=object)
    plain, keeps = _plain_names(arr, saluted)
    recase = _Recaser()
    for v, p, k in zip(values, plain, keeps):
        if p:
            x, rec, cjk, lone, sals, problem = _read_part(v, None, saluted, recase, True)
            assert (x, cjk, lone, sals, problem) == (v, False, None, (), None), v
            assert _read_part(v, "FR", saluted, recase, False)[0] == v  # (the country never matters then)
            if k:
                assert rec == v and recase(v, False) == v, v
        else:
            assert not k


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=list("aAbBzZ .,'`-@0\x01\u00e9mMrR"), min_size=0, max_size=12), min_size=1,
                max_size=60), st.booleans())
def test_plain_names_are_read_as_they_are(values, saluted):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(names_module, "_PLAIN_MIN", 0)
        _check_plain(values, saluted)


def test_plain_names_of_the_token_list():
    rng = random.Random(3)
    values = [_name(rng) for _ in range(5000)] + TOKENS
    plain, _ = _plain_names(np.array(values, dtype=object), True)
    assert plain.any() and not plain.all()
    _check_plain(values, True)
    _check_plain(values, False)
