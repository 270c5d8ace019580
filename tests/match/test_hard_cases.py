"""The cases a person would judge instantly, scored inside a realistic background list."""
from __future__ import annotations

import pandas as pd
import pytest

from crmkit.match import find_duplicates


CASES = [
    # (name, records, should merge)
    ("household", [
        dict(first_name="Brian", last_name="Miller", email="brian.miller@gmail.com", phone="+15127897718",
             mobile="+15125445561", street="Oak Ave 12", postcode="78701", city="Austin", country="US"),
        dict(first_name="Rebecca", last_name="Miller", email="rebecca.miller@gmail.com", phone="+15127897718",
             mobile="+15125600765", street="Oak Ave 12", postcode="78701", city="Austin", country="US"),
    ], False),
    ("colleagues on a switchboard", [
        dict(first_name="Laura", last_name="Becker", email="l.becker@nordlicht.de", phone="+49306509277",
             company="Nordlicht GmbH", company_key="nordlicht", city="Berlin", country="DE"),
        dict(first_name="Tobias", last_name="Krause", email="t.krause@nordlicht.de", phone="+49306509277",
             company="Nordlicht GmbH", company_key="nordlicht", city="Berlin", country="DE"),
    ], False),
    ("john smith x2", [
        dict(first_name="John", last_name="Smith", email="john.smith@gmail.com", mobile="+13125550199",
             city="Chicago", country="US"),
        dict(first_name="John", last_name="Smith", email="jsmith@yahoo.com", mobile="+12125550142",
             city="New York", country="US"),
    ], False),
    ("zhang wei x2", [
        dict(full_name="张伟", mobile="+8613800138000", city="北京", country="CN"),
        dict(full_name="张伟", mobile="+8613912345678", city="上海", country="CN"),
    ], False),
    ("nickname with same phone", [
        dict(first_name="Robert", last_name="Hawthorne", email="robert.hawthorne@acme.com", mobile="+15125550101",
             city="Austin", country="US"),
        dict(first_name="Bob", last_name="Hawthorne", mobile="+15125550101", country="US"),
    ], True),
    ("typo and new email, same phone", [
        dict(first_name="Katharina", last_name="Oberländer", email="k.oberlaender@firma-a.de",
             mobile="+4915112345678", city="Köln", country="DE"),
        dict(first_name="Katharina", last_name="Oberlander", email="katharina.o@gmail.com",
             mobile="+4915112345678", city="Köln", country="DE"),
    ], True),
    ("swapped name, same email", [
        dict(first_name="Chloé", last_name="Fournier", email="chloe.fournier@orange.fr", country="FR"),
        dict(first_name="Fournier", last_name="Chloé", email="chloe.fournier@orange.fr", country="FR"),
    ], True),
]


@pytest.fixture(scope="module")
def scored(background, make_frame) -> pd.DataFrame:
    rows = []
    for i, (name, recs, _) in enumerate(CASES):
        for j, r in enumerate(recs):
            rows.append({**r, "record_id": f"case{i}_{j}"})
    cases = make_frame(rows)
    both = pd.concat([background, cases], ignore_index=True)
    return find_duplicates(both)


@pytest.mark.parametrize("idx", range(len(CASES)), ids=[c[0] for c in CASES])
def test_hard_case(scored, idx):
    name, recs, should_merge = CASES[idx]
    pair = scored[(scored["record_id_l"] == f"case{idx}_0") & (scored["record_id_r"] == f"case{idx}_1")]
    merged = len(pair) == 1 and pair["decision"].iloc[0] == "merge"
    assert merged == should_merge, pair.T


def test_hard_cases_on_their_own(make_frame):
    """Without background data (defaults, no estimation) the same decisions come out."""
    for name, recs, should_merge in CASES:
        pairs = find_duplicates(make_frame(recs))
        merged = bool(len(pairs)) and pairs["decision"].iloc[0] == "merge"
        assert merged == should_merge, (name, pairs.T)
