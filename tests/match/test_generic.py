"""Declarative comparisons and blocking keys on any column (crmkit.match.generic)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crmkit.errors import CrmkitError, SettingsError
from crmkit.match import Comparison, MatchSettings, block_pairs, compare_pairs, explain, find_duplicates, prepare
from crmkit.match.compare import Prepared
from crmkit.match.generic import KINDS, normalise


def _levels(kind: str, left: list, right: list, **params) -> list[str]:
    """Level labels of pairs (left[i], right[i]) compared as `kind`."""
    comp = Comparison("x", kind=kind, params=params)
    s = MatchSettings(comparisons=[comp])
    df = pd.DataFrame({"record_id": [str(i) for i in range(2 * len(left))], "x": list(left) + list(right)})
    p = Prepared(prepare(df, s.extra_columns()))
    n = len(left)
    levels, _ = compare_pairs(p, np.arange(n), np.arange(n) + n, s)
    return [KINDS[kind][k] for k in levels["x"]]


def test_id_levels():
    got = _levels("id", ["1983497", "1983497", "1983497", "1983497", "AB-12 3", None],
                  ["1983497", "1983447", "1984397", "5550001", "ab123", "1"])
    assert got == ["exact", "one_edit", "transposition", "else", "exact", "null"]


def test_date_levels_and_formats():
    assert normalise(pd.Series(["1956-09-12", "12.09.1956", "19560912", pd.Timestamp("1956-09-12"), "nope"]),
                     "date").tolist() == ["19560912"] * 4 + [None]
    got = _levels("date", ["1956-09-12", "1956-09-12", "1956-09-12", "1959-09-12", "1956-09-12"],
                  ["1956-09-12", "1956-12-09", "1956-08-12", "1960-09-12", "1971-03-30"])
    assert got == ["exact", "day_month_swapped", "one_digit", "year_off_by_one", "else"]


def test_string_number_exact_levels():
    assert _levels("string", ["Müller", "Smith", "Jonathan", "Smith"], ["muller", "Smiht", "Jonhatn", "Brown"]) == \
        ["exact", "jw_high", "jw_high", "else"]
    assert _levels("string", ["martha"], ["marhta"], jw_high=0.99) == ["jw_low"]
    assert _levels("number", [100, "1,000", 5, 5], [100.0, 1005, 9, None]) == ["exact", "close", "else", "null"]
    assert _levels("exact", ["Gold ", "gold", "x"], ["gold", "GOLD", "y"]) == ["exact", "exact", "else"]


def test_settings_with_declared_comparisons_round_trip_and_validate():
    s = MatchSettings(blocking_rules=["email", "col:soc_sec_id", "cols:last_name+date_of_birth"])
    s.comparisons += [Comparison("date_of_birth", kind="date"), Comparison("soc_sec_id", kind="id")]
    s.validate()
    again = MatchSettings.from_json(s.to_json())
    assert again == s and again.comparison("date_of_birth").kind == "date"
    assert s.extra_columns() == {"date_of_birth": ("date", s.comparison("date_of_birth").params),
                                 "soc_sec_id": ("id", s.comparison("soc_sec_id").params),
                                 "last_name": ("exact", {})}
    bad = MatchSettings(blocking_rules=["col:"], comparisons=[Comparison("dob", kind="calendar"),
                                                              Comparison("email", kind="exact"),
                                                              Comparison("nickname", [])])
    with pytest.raises(SettingsError) as err:
        bad.validate()
    msg = str(err.value)
    assert "col:" in msg and "calendar" in msg and "built-in" in msg and "nickname" in msg


def test_generic_blocking_keys():
    df = pd.DataFrame({"record_id": list("abcd"), "first_name": ["Ann", "Bea", "Cy", "Dan"],
                       "last_name": ["Lee", "Lee", "Roe", "Lee"], "ssid": ["ab 123", "AB  123 ", None, "9"],
                       "dob": ["1990-01-02", "1990-01-02", "1990-01-02", "1990-01-02"]})
    prep = prepare(df, MatchSettings(blocking_rules=["col:ssid", "cols:last_name+dob"]).extra_columns())
    assert block_pairs(prep, ["col:ssid"]).tolist() == [[0, 1]]
    assert block_pairs(prep, ["cols:last_name+dob"]).tolist() == [[0, 1], [0, 3], [1, 3]]
    with pytest.raises(CrmkitError, match="nope"):
        block_pairs(prep, ["col:nope"])


def test_address_and_sorted_neighbourhood_keys():
    df = pd.DataFrame({"record_id": list("abcde"),
                       "first_name": ["Robert", "Bob", "Xrobert", "Anna", "Karl"],
                       "last_name": ["Miller", "Milner", "Mueller", "Smith", "Otto"],
                       "street": ["5 High St", "5 high street", "7 Low Rd", "9 Elm Rd", None],
                       "postcode": ["2000", "2000", "2000", "3000", "2000"]})
    prep = prepare(df)
    assert block_pairs(prep, ["first_postcode"]).tolist() == [[0, 1]]          # Bob = Robert, same postcode
    assert block_pairs(prep, ["street_postcode"]).tolist() == [[0, 1]]
    near = block_pairs(prep, ["name_sorted"], max_block_size=2, window=1).tolist()
    assert [0, 2] in near or [2, 0] in near       # Miller / Mueller neighbours in last-name order


def test_find_duplicates_with_dob_and_id_and_explanations():
    rows = []
    for i in range(300):
        rows.append({"record_id": f"{i}", "first_name": f"Name{i % 37}", "last_name": f"Fam{i % 41}",
                     "date_of_birth": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}", "soc_sec_id": f"{7000000 + i * 13}"})
    df = pd.DataFrame(rows)
    dup = df.iloc[[5]].assign(record_id="5d", first_name="Nmae5", soc_sec_id=f"{7000000 + 5 * 13 + 1}")
    df = pd.concat([df, dup], ignore_index=True)
    s = MatchSettings(blocking_rules=["name_tokens", "col:date_of_birth"])
    s.comparisons += [Comparison("date_of_birth", kind="date"), Comparison("soc_sec_id", kind="id")]
    pairs = find_duplicates(df, s)
    hit = pairs[(pairs["record_id_l"] == "5") & (pairs["record_id_r"] == "5d")]
    assert len(hit) == 1 and hit["level_date_of_birth"].iloc[0] == "exact"
    assert hit["level_soc_sec_id"].iloc[0] == "one_edit"
    ex = explain(hit, df)
    row = ex[ex["field"] == "soc_sec_id"].iloc[0]
    assert row["level"] == 2 and row["value_l"] == "7000065" and row["value_r"] == "7000066"
    replay = find_duplicates(df, MatchSettings.from_json(pairs.attrs["settings"].to_json()))
    pd.testing.assert_frame_equal(replay, pairs)
    with pytest.raises(CrmkitError, match="soc_sec_id"):
        find_duplicates(df.drop(columns=["soc_sec_id"]), s)


def test_field_without_data_keeps_default_m_u():
    from make_corpus import make_corpus

    df = make_corpus(3000, seed=5).drop(columns=["true_id"]).assign(email=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trained = find_duplicates(df).attrs["settings"]
    assert any("email" in str(w.message) for w in caught)
    default = MatchSettings().comparison("email")
    assert [(lv.m, lv.u) for lv in trained.comparison("email").levels] == [(lv.m, lv.u) for lv in default.levels]


def test_settings_saved_before_first_edit_still_load():
    import json

    d = json.loads(MatchSettings().to_json())
    name = next(c for c in d["comparisons"] if c["field"] == "name")
    name["levels"] = [lv for lv in name["levels"] if lv["label"] != "first_edit"]
    s = MatchSettings.from_dict(d)
    s.validate()
    assert "first_edit" in s.comparison("name").labels
