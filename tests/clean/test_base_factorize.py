"""_base.factorize (pyarrow for long text columns) gives what pd.factorize gives."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmkit.clean import _base
from crmkit.clean._base import factorize


def _expected(values):
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(uniques)


@pytest.mark.parametrize("make", [
    lambda i: f"v{i % 7919}",                                         # many distinct values: pyarrow
    lambda i: [f"a{i}", None, float("nan"), pd.NA, "", " x"][i % 6],   # missing values of every kind
    lambda i: f"ü{i % 5000}\u3000" if i % 3 else None,                 # non-ASCII text
    lambda i: ["DE", "FR", None][i % 3],                               # few distinct values: pandas
    lambda i: f"s{i % 3000}" if i % 1000 else "\ud800",                # a lone surrogate: pandas
    lambda i: f"n{i % 3000}" if i % 1000 else 5,                       # not only text: pandas
])
def test_factorize_equals_pandas(make):
    values = pd.Series([make(i) for i in range(120_000)], dtype=object)
    codes, uniques = factorize(values)
    want_codes, want_uniques = _expected(values)
    assert codes.tolist() == want_codes.tolist()
    assert list(uniques) == want_uniques
    assert [type(u) for u in uniques] == [type(u) for u in want_uniques]


def test_the_pyarrow_path_is_taken_for_long_text_with_many_values():
    values = pd.Series([f"v{i % 7919}" for i in range(120_000)], dtype=object)
    assert _base._factorize_text(values) is not None
    assert _base._factorize_text(pd.Series(["DE", "FR"] * 60_000, dtype=object)) is None
    assert _base._factorize_text(values.astype("str")) is None  # str dtype: pandas factorizes it well
    assert _base._factorize_text(np.arange(100_000)) is None
