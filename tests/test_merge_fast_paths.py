"""The merge's vectorised paths agree with the plain computations they replace."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crmkit.merge import SurvivorshipRules, merge
from crmkit.merge import golden
from crmkit.merge._records import _hash_ids
from crmkit.merge._values import _factorize_text, _json_texts, _text


def _records(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    pick = lambda options: [options[i] for i in rng.integers(0, len(options), n)]  # noqa: E731
    records = pd.DataFrame({
        "record_id": [f"r{i}" for i in rng.permutation(n)],
        "full_name": pick(["Bob Smith", "BOB SMITH", "R. Smith", "bob  smith", " ", None, "Anna Li", "张伟"]),
        "email": pick(["a@b.co", "A@B.CO", "a at b", "x@y.z", "", None, 'q"t@x.io']),
        "phone": pick(["+49 30 1234", "+49301234", "030 1234", None]),
        "mobile": pick(["+49301234", "+1555", None]),
        "city": pick(["Berlin", "berlin", "Paris", None, ""]),
        "created_at": pick(["2020-01-01", "2019-05-05T10:00:00", None, "2021-12-31"]),
        "tags": pick(["vip", "vip; lead", "a|b", None]),
        "source_file": pick(["old_crm.xlsx", "fair.csv", "x|y.csv", None]),
        "source_sheet": pick(["", "Leads", None]),
        "source_row": rng.integers(1, 8, n),
    })
    clusters = pd.Series(rng.integers(0, max(1, n // 3), n), index=records["record_id"])
    return records, clusters


def _same(a, b) -> None:
    for name in ("contacts", "membership", "lineage", "values", "conflicts", "merged_ids"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


@pytest.mark.parametrize("seed", range(6))
def test_select_without_packed_keys_gives_the_same_merge(seed, monkeypatch):
    records, clusters = _records(300, seed)
    rules = SurvivorshipRules(source_priority=["old_crm*", "*"])
    rules.fields["city"] = ["source_priority", "most_recent"]
    packed = merge(records, clusters, rules)
    monkeypatch.setattr(golden, "_packed", lambda keys, positions: None)  # the lexsort fallback everywhere
    _same(packed, merge(records, clusters, rules))


def test_merge_coded_equals_merge():
    records, clusters = _records(400, 7)
    codes = pd.factorize(clusters.reindex(records["record_id"]).to_numpy())[0]
    _same(merge(records, clusters), golden._merge_coded(records, codes))


@pytest.mark.parametrize("seed", range(5))
def test_packed_keys_order_like_lexsort(seed):
    rng = np.random.default_rng(seed)
    n = 500
    positions = rng.permutation(n)
    keys = [rng.integers(-3, 3, n), rng.integers(0, 2, n), -rng.integers(0, 50, n), positions]
    word = golden._packed(keys, positions)
    assert word is not None
    assert (np.argsort(word, kind="stable") == np.lexsort(tuple(reversed(keys)))).all()
    assert golden._packed([rng.integers(0, 2**40, n), rng.integers(0, 2**30, n), positions], positions) is None
    c = np.sort(rng.integers(0, 60, n))
    assert (golden._lex_order([c] + keys) == np.lexsort(tuple(reversed([c] + keys)))).all()


def test_by_contact_is_a_stable_argsort_of_sorted_parts():
    rng = np.random.default_rng(3)
    parts = [np.sort(rng.integers(0, 40, int(rng.integers(0, 80)))) for _ in range(7)] + [np.zeros(0, np.int64)]
    expected = np.argsort(np.concatenate(parts), kind="stable")
    assert (golden._by_contact(parts, 40) == expected).all()
    unsorted = [np.array([3, 1, 2]), np.array([0, 5])]
    assert (golden._by_contact(unsorted, 6) == np.argsort(np.concatenate(unsorted), kind="stable")).all()


@pytest.mark.parametrize("values", [
    pd.Series(["b", " ", "a", None, "", "b", "\t", "A"], dtype=object),
    pd.Series(["b", " ", "a", None, "", "b"], dtype="str"),
    pd.Series([None, None], dtype=object),
    pd.Series([1, "1", 1.0, "x", np.nan, True], dtype=object),  # not text: converted like astype(str)
    pd.Series([], dtype=object),
])
def test_factorize_text_is_factorize_of_text(values):
    codes, uniq = _factorize_text(values)
    want_codes, want_uniq = pd.factorize(_text(values))
    assert codes.tolist() == want_codes.tolist()
    assert uniq.tolist() == list(want_uniq)


def test_json_texts_are_json_dumps():
    values = pd.Series(["a", 'q"uote', "back\\slash", "tab\there", "new\nline", "\x01", "ü€张", None, "\u2028", "a"],
                       dtype="str")
    expected = [json.dumps(v, ensure_ascii=False) if isinstance(v, str) else "null" for v in values.astype(object)]
    assert _json_texts(values).tolist() == expected


def test_a_new_id_never_takes_an_id_kept_by_another_contact():
    # r2 once had a contact of its own, so its stored id is the hash of its key; after a split the link
    # stage leaves that id with r1 only (the smaller record id): r2's new id must be another one
    records = pd.DataFrame({"record_id": ["r1", "r2"], "full_name": ["Ann Lee", "Ann Lee"],
                            "source_file": ["f.csv", "f.csv"], "source_sheet": ["", ""], "source_row": [1, 2]})
    stored = _hash_ids(["f.csv||2"])[0]
    result = merge(records, pd.Series({"r1": 1, "r2": 2}), existing={"r1": stored})
    ids = result.membership.set_index("record_id")["contact_id"]
    assert ids["r1"] == stored
    assert ids["r2"] != stored and ids["r2"].startswith("C")
    assert result.contacts["contact_id"].is_unique
