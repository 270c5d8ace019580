"""Different values of the same kind or of two kinds: a private and a work email, a landline and a mobile;
and places written in Chinese, compared in pinyin."""
from __future__ import annotations

import numpy as np
import pytest

from crmkit.match import LADDERS, MatchSettings, compare_pairs, find_duplicates, prepare


def _levels(make_frame, rows, field, pairs):
    p = prepare(make_frame(rows))
    l, r = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    levels, _ = compare_pairs(p, l, r)
    return [LADDERS[field][k] for k in levels[field]]


def test_email_private_and_work_addresses(make_frame):
    rows = [dict(first_name="Anna", last_name="Weber", email="anna.weber@gmail.com"),
            dict(first_name="Anna", last_name="Weber", email="anna.weber@acme-logistik.de"),
            dict(first_name="Anna", last_name="Weber", email="anna.weber@gmx.de"),
            dict(first_name="Anna", last_name="Weber", email="a.weber@nordlicht.de"),
            dict(first_name="Anna", last_name="Weber", email="aw1987@yahoo.co.uk"),
            dict(first_name="Anna", last_name="Weber", email="aw1987@acme-logistik.de")]
    got = _levels(make_frame, rows, "email", [(0, 1), (0, 2), (1, 3), (3, 2), (4, 5), (0, 0)])
    # a name-made local part at a free-mail and a work domain: one person's two addresses as often as two
    # people's; two private (or two work) addresses: mostly two people; a personal local part: strong
    assert got == ["private_and_work", "else", "else", "private_and_work", "same_local_part", "exact"]


def test_phone_numbers_of_another_kind(make_frame):
    rows = [dict(first_name="Jan", last_name="Roth", phone="+49301234567"),
            dict(first_name="Jan", last_name="Roth", mobile="+4915112345678"),
            dict(first_name="Jan", last_name="Roth", phone="+49307654321"),
            dict(first_name="Jan", last_name="Roth", phone="+49309999999", mobile="+4915199999999")]
    got = _levels(make_frame, rows, "phone", [(0, 1), (0, 2), (1, 3), (0, 3)])
    # a landline only against a mobile only: a person has both; two different landlines: two places
    assert got == ["other_kind", "else", "else", "else"]


def test_em_learns_that_other_kinds_are_weaker_evidence_against(corpus):
    """On a generated list (4,000 rows: m estimated by EM), a private/work pair of addresses and a
    landline/mobile pair of numbers weigh clearly less against a match than two of one kind."""
    s = find_duplicates(corpus.drop(columns=["true_id"])).attrs["settings"]
    email, phone = s.comparison("email"), s.comparison("phone")
    # both happen among true duplicates (the corpus gives people private and work addresses, landlines and
    # mobiles) ...
    assert email.level("private_and_work").m > 0.05 and phone.level("other_kind").m > 0.05
    # ... and say much less against a match than two addresses or two numbers of one kind
    assert email.level("private_and_work").weight() > email.level("else").weight() + 1.5
    assert phone.level("other_kind").weight() > phone.level("else").weight() + 1.5


def test_settings_saved_before_the_kind_levels_still_load():
    data = MatchSettings().to_dict()
    for field, label in (("email", "private_and_work"), ("phone", "other_kind")):
        comp = next(c for c in data["comparisons"] if c["field"] == field)
        comp["levels"] = [lv for lv in comp["levels"] if lv["label"] != label]
    s = MatchSettings.from_dict(data)
    s.validate()
    assert s == MatchSettings()


def test_chinese_places_compared_in_pinyin(make_frame):
    pytest.importorskip("pypinyin")
    rows = [dict(full_name="赵秀英", city="北京", street="人民路 45", postcode="100045", country="CN"),
            dict(first_name="Xiuying", last_name="Zhao", city="Beijing", country="CN"),
            dict(full_name="王芳", city="北京", street="解放路 45", postcode="100045", country="CN"),
            dict(full_name="李娜", city="北京", street="人民路 45", postcode="100045", country="CN")]
    p = prepare(make_frame(rows))
    assert p["city"].tolist()[:2] == ["beijing", "beijing"]
    assert p["street"].tolist()[0] == "renminlu 45"
    got = _levels(make_frame, rows, "address", [(0, 1), (0, 2), (0, 3)])
    # the same house number and postcode on another street is not the same street (it was: '45' = '45')
    assert got == ["same_city", "same_postcode", "same_street"]
