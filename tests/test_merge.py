"""Tests for crmkit.merge: survivorship, lineage, conflicts, ids, unmerge."""
from __future__ import annotations

import hashlib
import json

import pandas as pd
import pandas.testing as pdt
import pytest

from crmkit.errors import CrmkitError, SettingsError
from crmkit.merge import (
    CONFLICT_COLUMNS,
    CONTACT_OUTPUT_COLUMNS,
    LINEAGE_COLUMNS,
    VALUE_COLUMNS,
    SurvivorshipRules,
    merge,
    unmerge_records,
)

CRM, FAIR, NEWS = "old_crm_export.xlsx", "trade_show_2023.csv", "newsletter.csv"
COLUMNS = ["record_id", "first_name", "last_name", "full_name", "email", "phone", "mobile", "company",
           "job_title", "street", "city", "country", "tags", "notes", "created_at",
           "source_file", "source_sheet", "source_row"]
ROWS = [
    # Bob/Robert Smith: CRM export, trade show (invalid email), newsletter (initials, shouting)
    ("r1", "Bob", "Smith", "Bob Smith", "bob.smith@acme.com", "+14155550123", None, "Acme Inc",
     "Sales Manager", "1 Main St", "Boston", "US", "customer", "Prefers email", "2019-03-01", CRM, "Contacts", 2),
    ("r2", "Robert", "Smith", "Robert Smith", "bob smith at acme", "+14155550123", "+14155559999", "Acme Inc",
     "VP Sales", "9 Elm Rd", "Denver", "US", "event; vip", "Met at booth 12", "2023-05-10", FAIR, "", 5),
    ("r3", "R.", "SMITH", "R. SMITH", "robert@smith.family", None, None, None,
     None, None, None, None, "newsletter, Customer", "prefers email", "2021-01-15", NEWS, "", 9),
    # Alice moved from Hamburg to Munich
    ("r4", "Alice", "Meyer", "Alice Meyer", "alice@meyer.de", None, None, "Nordbank",
     None, "Hafenstr. 1", "Hamburg", "DE", None, None, "2018-01-01", CRM, "Contacts", 3),
    ("r5", "Alice", "Meyer", "Alice Meyer", "alice@meyer.de", None, None, "Nordbank",
     None, "Isarweg 7", "Munich", "DE", None, None, "2022-06-01", NEWS, "", 10),
    # Wang Wei, CJK, once in CJK and once shouted in Latin letters
    ("r6", "伟", "王", "王伟", "wang.wei@example.cn", "+8613800138000", None, "华为",
     None, None, "深圳", "CN", None, None, None, FAIR, "", 6),
    ("r7", "WEI", "WANG", "WANG WEI", None, None, None, None,
     None, None, None, "CN", None, None, None, NEWS, "", 11),
    # Carol: an invalid email twice, the valid one once
    ("r8", "Carol", "King", "Carol King", "carol at example", None, None, None,
     None, None, None, None, None, None, None, FAIR, "", 7),
    ("r9", "Carol", "King", "Carol King", "carol at example", None, None, None,
     None, None, None, None, None, None, None, NEWS, "", 12),
    ("r10", "Carol", "King", "Carol King", "carol@example.com", None, None, None,
     None, None, None, None, None, None, None, CRM, "Contacts", 4),
    # a lone record
    ("r11", "Dan", "Lee", "Dan Lee", "dan@lee.io", None, None, None,
     None, None, None, None, None, None, None, CRM, "Contacts", 5),
]
CLUSTERS = {"r1": "bob", "r2": "bob", "r3": "bob", "r4": 7, "r5": 7, "r6": ("w", 1), "r7": ("w", 1),
            "r8": "carol", "r9": "carol", "r10": "carol"}  # r11 missing: a singleton


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=COLUMNS)


@pytest.fixture
def clusters() -> pd.Series:
    return pd.Series(CLUSTERS)


def contact_of(result, record_id: str) -> pd.Series:
    cid = result.membership.set_index("record_id").loc[record_id, "contact_id"]
    return result.contacts.set_index("contact_id").loc[cid]


def lineage_of(result, record_id: str, field: str) -> pd.Series:
    cid = result.membership.set_index("record_id").loc[record_id, "contact_id"]
    rows = result.lineage[(result.lineage["contact_id"] == cid) & (result.lineage["field"] == field)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_output_columns(records, clusters):
    result = merge(records, clusters)
    assert list(result.contacts.columns) == CONTACT_OUTPUT_COLUMNS
    assert list(result.lineage.columns) == LINEAGE_COLUMNS
    assert list(result.values.columns) == VALUE_COLUMNS
    assert list(result.conflicts.columns) == CONFLICT_COLUMNS
    assert len(result.contacts) == 5
    bob = contact_of(result, "r1")
    assert (bob["n_records"], bob["n_sources"]) == (3, 3)


def test_source_priority_picks_the_crm_export(records, clusters):
    rules = SurvivorshipRules(source_priority=["old_crm_export*", "*"])
    for name in ("full_name", "city", "job_title"):
        rules.fields[name] = ["source_priority", "most_recent"]
    result = merge(records, clusters, rules)
    bob = contact_of(result, "r2")
    assert (bob["full_name"], bob["first_name"], bob["city"], bob["job_title"]) == \
        ("Bob Smith", "Bob", "Boston", "Sales Manager")
    line = lineage_of(result, "r2", "full_name")
    assert (line["source_file"], line["source_sheet"], line["source_row"], line["rule"]) == \
        (CRM, "Contacts", 2, "source_priority")


def test_default_names_prefer_well_formed_complete_names(records, clusters):
    result = merge(records, clusters)
    bob = contact_of(result, "r3")
    # "R. SMITH" loses to the well-formed names; the trade-show record is the most complete
    assert bob["full_name"] == "Robert Smith"
    assert (bob["first_name"], bob["last_name"]) == ("Robert", "Smith")  # from the same record
    assert lineage_of(result, "r3", "full_name")["rule"] == "most_complete"
    assert lineage_of(result, "r3", "first_name")["rule"] == "linked:full_name"


def test_most_recent_picks_the_new_city_and_its_street(records, clusters):
    result = merge(records, clusters)
    alice = contact_of(result, "r4")
    assert (alice["city"], alice["street"]) == ("Munich", "Isarweg 7")
    line = lineage_of(result, "r4", "city")
    assert (line["source_file"], line["source_row"], line["rule"]) == (NEWS, 10, "most_recent")
    assert lineage_of(result, "r4", "street")["rule"] == "linked:city"
    assert lineage_of(result, "r4", "email")["rule"] == "agreed"


def test_emails_keep_all_valid_values_with_the_valid_one_primary(records, clusters):
    result = merge(records, clusters)
    bob = contact_of(result, "r1")
    # the newest record (trade show) has an invalid email: the newest *valid* one wins
    assert bob["email"] == "robert@smith.family"
    assert lineage_of(result, "r1", "email")["rule"] == "most_recent"
    assert bob["emails"] == "robert@smith.family; bob.smith@acme.com"
    assert bob["phones"] == "+14155550123; +14155559999"  # phone and mobile, primary first
    values = result.values[result.values["contact_id"] == bob.name].reset_index(drop=True)
    expected = pd.DataFrame({
        "contact_id": [bob.name] * 4,
        "field": ["email", "email", "phone", "phone"],
        "value": ["robert@smith.family", "bob.smith@acme.com", "+14155550123", "+14155559999"],
        "is_primary": [True, False, True, False],
        "source_file": [NEWS, CRM, FAIR, FAIR],
        "source_sheet": ["", "Contacts", "", ""],
        "source_row": pd.array([9, 2, 5, 5], dtype="Int64"),
    })
    pdt.assert_frame_equal(values, expected, check_dtype=False)


def test_an_invalid_email_is_never_primary(records, clusters):
    result = merge(records, clusters)
    carol = contact_of(result, "r8")
    assert carol["email"] == "carol@example.com"  # although "carol at example" is more frequent
    assert carol["emails"] == "carol@example.com"
    assert lineage_of(result, "r8", "email")["rule"] == "valid"
    assert "carol at example" not in set(result.values["value"])
    lone = merge(records[records["record_id"] == "r8"], None).contacts.iloc[0]
    assert lone["email"] == "carol at example" and pd.isna(lone["emails"])  # kept, but not listed as valid


def test_cjk_names_unchanged_and_preferred_over_shouting(records, clusters):
    result = merge(records, clusters)
    wang = contact_of(result, "r7")
    assert (wang["full_name"], wang["first_name"], wang["last_name"], wang["city"]) == ("王伟", "伟", "王", "深圳")
    assert lineage_of(result, "r7", "full_name")["rule"] == "well_formed"


def test_conflicts_list_every_value_with_its_source(records, clusters):
    result = merge(records, clusters)
    bob_id = contact_of(result, "r1").name
    conflicts = result.conflicts.set_index(["contact_id", "field"])
    city = conflicts.loc[(bob_id, "city")]
    assert json.loads(city["values"]) == [
        {"value": "Boston", "source_file": CRM, "source_sheet": "Contacts", "source_row": 2},
        {"value": "Denver", "source_file": FAIR, "source_sheet": "", "source_row": 5},
    ]
    assert (city["chosen"], city["rule"]) == ("Denver", "most_recent")
    # same value up to case/whitespace is no conflict; combined fields never conflict
    assert (bob_id, "last_name") not in conflicts.index
    assert (bob_id, "phone") not in conflicts.index
    assert (bob_id, "notes") not in conflicts.index
    alice_id = contact_of(result, "r4").name
    assert {f for c, f in conflicts.index if c == alice_id} == {"street", "city"}


def test_lineage_points_at_the_source_row_of_each_value(records, clusters):
    result = merge(records, clusters)
    long = records.melt(id_vars=["source_file", "source_sheet", "source_row"],
                        value_vars=[c for c in COLUMNS if c not in ("record_id", "source_file",
                                                                     "source_sheet", "source_row")],
                        var_name="field", value_name="source_value")
    lineage = result.lineage.astype({"field": str, "source_file": str, "source_sheet": str, "source_row": int})
    joined = lineage.merge(long, on=["field", "source_file", "source_sheet", "source_row"], how="left")
    assert len(joined) == len(lineage)
    assert (joined["value"] == joined["source_value"]).all()
    # every non-empty golden field has lineage
    golden = result.contacts.melt(id_vars="contact_id", value_vars=[c for c in COLUMNS[1:14]]).dropna()
    assert set(zip(golden["contact_id"], golden["variable"])) <= set(zip(lineage["contact_id"], lineage["field"]))


def test_combined_fields(records, clusters):
    result = merge(records, clusters)
    bob = contact_of(result, "r1")
    assert bob["tags"] == "customer; event; vip; newsletter"
    assert bob["notes"] == "Prefers email\nMet at booth 12"
    assert bob["created_at"] == "2019-03-01"
    cid = bob.name
    tags = result.lineage[(result.lineage["contact_id"] == cid) & (result.lineage["field"] == "tags")]
    assert tags["source_row"].tolist() == [2, 5, 9] and set(tags["rule"]) == {"union"}


def test_every_record_in_membership_exactly_once(records, clusters):
    extra = pd.concat([clusters, pd.Series({"gone": "bob"})])  # labels of unknown records are ignored
    result = merge(records, extra)
    pdt.assert_series_equal(result.membership["record_id"], records["record_id"], check_dtype=False)
    assert result.membership["contact_id"].isin(result.contacts["contact_id"]).all()
    assert result.contacts["contact_id"].is_unique
    assert result.contacts["n_records"].sum() == len(records)


def test_ids_are_stable_and_deterministic(records, clusters):
    first = merge(records, clusters)
    assert first.contacts["contact_id"].str.fullmatch(r"C[0-9a-f]{12}").all()
    shuffled = records.sample(frac=1, random_state=3)
    relabelled = clusters.map(lambda label: f"x{label}")
    again = merge(shuffled, relabelled)
    a = first.membership.set_index("record_id")["contact_id"]
    b = again.membership.set_index("record_id")["contact_id"].reindex(a.index)
    pdt.assert_series_equal(a, b)
    dan = contact_of(first, "r11").name
    assert dan == "C" + hashlib.sha1(f"{CRM}|Contacts|5".encode()).hexdigest()[:12]
    pdt.assert_frame_equal(records, pd.DataFrame(ROWS, columns=COLUMNS))  # input untouched


def test_existing_ids_are_kept_and_merged(records, clusters):
    result = merge(records, clusters, existing={"r4": "C000000000042", "r11": "C000000000007"})
    assert contact_of(result, "r5").name == "C000000000042"
    assert contact_of(result, "r11").name == "C000000000007"
    assert result.merged_ids.empty
    # a cluster spanning two stored contacts keeps the lower id
    result = merge(records, clusters, existing={"r1": "C0000000000b2", "r3": "C0000000000a1"})
    assert contact_of(result, "r2").name == "C0000000000a1"
    pdt.assert_frame_equal(result.merged_ids, pd.DataFrame({"id": ["C0000000000b2"], "into": ["C0000000000a1"]}),
                           check_dtype=False)
    # records of one stored contact stay together even when the new clusters split them
    result = merge(records, clusters.drop("r5"), existing={"r4": "C1", "r5": "C1"})
    assert contact_of(result, "r5").name == "C1" and contact_of(result, "r5")["n_records"] == 2


def test_unmerge_restores_one_contact_per_record(records, clusters):
    merged = merge(records, clusters)
    bob_id = contact_of(merged, "r1").name
    split = unmerge_records(records, merged.membership, bob_id)
    assert len(split.contacts) == 3
    assert split.membership["record_id"].tolist() == ["r1", "r2", "r3"]
    alone = merge(records, None)  # everyone a singleton
    expected = alone.contacts[alone.contacts["contact_id"].isin(split.contacts["contact_id"])]
    pdt.assert_frame_equal(split.contacts.reset_index(drop=True), expected.reset_index(drop=True))
    assert set(split.lineage["rule"]) == {"single_source"}
    with pytest.raises(CrmkitError, match="no records"):
        unmerge_records(records, merged.membership, "C404")


def test_rules_json_round_trip_and_validation():
    rules = SurvivorshipRules(source_priority=["old_crm_export*", "*"])
    rules.fields["city"] = ["source_priority", "most_recent"]
    assert SurvivorshipRules.from_json(rules.to_json()) == rules
    assert SurvivorshipRules.from_json(SurvivorshipRules().to_json()) == SurvivorshipRules()
    bad = SurvivorshipRules(fields={"nickname": ["most_frequent"], "city": ["newest"], "notes": ["union", "longest"]})
    with pytest.raises(SettingsError) as err:
        merge(pd.DataFrame(ROWS, columns=COLUMNS), None, bad)
    text = str(err.value)
    assert "'nickname'" in text and "'newest'" in text and "only rule" in text and "hint" in text
    with pytest.raises(SettingsError):
        SurvivorshipRules.from_json('{"fields": 3, "unknown": 1}')


def test_bad_record_ids_raise(records):
    with pytest.raises(CrmkitError, match="record_id"):
        merge(records.assign(record_id="same"), None)
