"""CJK names against their pinyin: 周刚 / 'Gang Zhou' / 'Zhou Gang' (needs pypinyin)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmkit.match import LADDERS, MatchSettings, block_pairs, compare_pairs, prepare

pytest.importorskip("pypinyin")


@pytest.fixture()
def records():
    return pd.DataFrame({"record_id": ["a", "b", "c", "d", "e"],
                         "full_name": ["周刚", "Gang Zhou", "Zhou Gang", "Gang Zhao", "欧阳修"],
                         "first_name": [None, "Gang", "Zhou", "Gang", None],
                         "last_name": [None, "Zhou", "Gang", "Zhao", None]})


def test_pinyin_parts(records):
    p = prepare(records)
    assert p["py_family"].tolist()[:1] + p["py_family"].tolist()[4:] == ["zhou", "ouyang"]
    assert p["py_given"].tolist()[0] == "gang"


def test_pinyin_blocking_meets_both_orders(records):
    pairs = block_pairs(prepare(records), ["cjk_pinyin"]).tolist()
    assert [0, 1] in pairs and [0, 2] in pairs and not any(3 in p for p in pairs)


def test_romanised_level(records):
    levels, _ = compare_pairs(prepare(records), np.array([0, 0, 0, 1]), np.array([1, 2, 3, 0]))
    labels = [LADDERS["name"][k] for k in levels["name"]]
    assert labels == ["romanised", "romanised", "null", "romanised"]   # no pinyin agreement: no evidence


def test_settings_saved_before_romanised_still_load():
    data = MatchSettings().to_dict()
    name = next(c for c in data["comparisons"] if c["field"] == "name")
    name["levels"] = [lv for lv in name["levels"] if lv["label"] != "romanised"]
    s = MatchSettings.from_dict(data)
    s.validate()
    assert s == MatchSettings()
