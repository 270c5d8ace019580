"""The household rule: which evidence a name conflict withholds, and the first_edit name level."""
from __future__ import annotations

import numpy as np

from crmkit.match import LADDERS, Comparison, MatchSettings, compare_pairs, find_duplicates, prepare

SCHMIDT = dict(last_name="Schmidt", street="Hauptstr. 5", postcode="10115", city="Berlin", country="DE")


def _pair(make_frame, a: dict, b: dict, settings=None):
    pairs = find_duplicates(make_frame([a, b]), settings or MatchSettings(keep_rejected=True))
    assert len(pairs) == 1
    return pairs.iloc[0]


def test_shared_landline_and_address_are_withheld(make_frame):
    p = _pair(make_frame, dict(first_name="Anna", phone="+49301234567", **SCHMIDT),
              dict(first_name="Paul", phone="+49301234567", **SCHMIDT))
    assert p["level_name"] == "surname_only" and p["level_phone"] == "exact"
    assert np.isclose(p["weight_conflict"], -(p["weight_phone"] + p["weight_address"]))


def test_a_shared_mobile_is_personal_evidence(make_frame):
    p = _pair(make_frame, dict(first_name="Anna", mobile="+491701234567", **SCHMIDT),
              dict(first_name="Paul", mobile="+491701234567", **SCHMIDT))
    assert p["level_name"] == "surname_only" and p["weight_phone"] > 0
    assert np.isclose(p["weight_conflict"], -p["weight_address"])      # the mobile is not cut


def test_strong_personal_evidence_releases_the_cut(make_frame):
    s = MatchSettings(keep_rejected=True)
    s.comparisons += [Comparison("date_of_birth", kind="date"), Comparison("tax_id", kind="id")]
    a = make_frame([dict(first_name="Anna", **SCHMIDT), dict(first_name="Marta", **SCHMIDT)])
    a["date_of_birth"], a["tax_id"] = ["1970-03-04"] * 2, ["DE123456789"] * 2
    p = find_duplicates(a, s).iloc[0]
    assert p["weight_date_of_birth"] + p["weight_tax_id"] >= s.conflict_release
    assert p["weight_conflict"] == 0 and p["weight_address"] > 0
    a["tax_id"] = ["DE123456789", "DE987654321"]                        # twins: same birth date, other id
    p = find_duplicates(a, s).iloc[0]
    assert p["weight_conflict"] < 0


def test_first_edit_level_is_not_a_conflict(make_frame):
    s = MatchSettings()
    s.comparison("name").params.update(jw_high=0.97, jw_low=0.95, token_set=1.01)   # so 'near' does not take it
    df = make_frame([dict(first_name="Stefan", last_name="Krause"), dict(first_name="Tsefan", last_name="Krause"),
                     dict(first_name="Jan", last_name="Krause"), dict(first_name="Jon", last_name="Krause")])
    levels, _ = compare_pairs(prepare(df), np.array([0, 2]), np.array([1, 3]), s)
    assert [LADDERS["name"][k] for k in levels["name"]] == ["first_edit", "surname_only"]   # 3 letters: no edit
    assert "first_edit" not in s.conflict_levels
