"""clean_emails finds the plain valid addresses with pyarrow (crmkit.clean.emails._plain_addresses): exactly the
ones _PLAIN_CHECKED_RE takes, so the cleaned column is the same."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.clean import emails as emails_module
from crmkit.clean.emails import _PLAIN_CHECKED_RE, _plain_addresses, clean_emails

EDGES = ["a@b.co", "a@b.c", "A@b.co", "a@b.arpa", "a@b.arpax", "a@arpa.com", "a@b.test", "a@b.tests", "a.b@c.de",
         ".a@b.de", "a.@b.de", "a..b@c.de", "a@-b.de", "a@b-.de", "a@b--c.de", "a@b.de.", "a@b@c.de", "a b@c.de",
         "a@b.de\n", "\na@b.de", "a+b@c.de", "a?b@c.de", "#a@b.de", "a@b.co.uk", "a@b.d3", "a@1.de", "ä@b.de",
         "a@" + "b" * 63 + ".de", "a@" + "b" * 64 + ".de", "x" * 64 + "@b.de", "x" * 65 + "@b.de",
         "a@" + "b." * 124 + "de", "a@" + "b." * 126 + "de", "a@b." + "c" * 63, "a@b." + "c" * 64, "", "@", "a@",
         "@b.de", "a@b.DE", "mailto:a@b.de", "<a@b.de>", "a@b.internal", "a@b.local", "a@b.localhost", "a{b}@c.de"]


def _check(values: list[str]) -> None:
    got = _plain_addresses(np.array(values, dtype=object))
    assert got == [len(v) <= 254 and _PLAIN_CHECKED_RE.fullmatch(v) is not None for v in values]


def test_edges(monkeypatch):
    monkeypatch.setattr(emails_module, "_ARROW_MIN_VALUES", 0)
    _check(EDGES)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=list("ab.@-_+Z9 \n?éx"), max_size=14), min_size=1, max_size=40))
def test_random_texts(values):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(emails_module, "_ARROW_MIN_VALUES", 0)
        _check(values)


def test_clean_emails_same_either_way(monkeypatch):
    rng = random.Random(4)
    values = pd.Series([rng.choice(EDGES) + rng.choice(["", "", " ", ";x@y.de"]) for _ in range(20_000)] + [None],
                       dtype=object)
    monkeypatch.setattr(emails_module, "_ARROW_MIN_VALUES", 0)
    fast = clean_emails(values)
    monkeypatch.setattr(emails_module, "_ARROW_MIN_VALUES", 10 ** 9)
    slow = clean_emails(values)
    pd.testing.assert_frame_equal(fast.values, slow.values)
    pd.testing.assert_series_equal(fast.problems, slow.problems)
