"""Nicknames whose full name is itself another name's nickname (Joe -> Joseph -> Josef) still meet."""
from __future__ import annotations

import importlib

import pytest

from crmkit.match import find_duplicates

NICKNAMES = importlib.import_module("crmkit.clean._nicknames").NICKNAMES


def test_every_name_maps_to_the_end_of_its_chain():
    ends = set(NICKNAMES.values())
    assert all(NICKNAMES.get(end, end) == end for end in ends), \
        sorted((end, NICKNAMES[end]) for end in ends if NICKNAMES.get(end, end) != end)


@pytest.mark.parametrize("short, full", [("Joe", "Joseph"), ("Joey", "Joseph"), ("Joe", "Josef"),
                                         ("Elke", "Elisabeth"), ("Bob", "Robert")])
def test_a_nickname_and_its_full_name_compare_as_nicknames(make_frame, short, full):
    pairs = find_duplicates(make_frame([
        dict(record_id="a", first_name=short, last_name="Wilson", email="jw.4711@icloud.com", country="US"),
        dict(record_id="b", first_name=full, last_name="Wilson", email="jw.4711@icloud.com", country="US"),
    ]))
    assert pairs["level_name"].tolist() == ["nickname"], pairs.T
