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


def _odd_rules() -> SurvivorshipRules:
    """Rules whose links chain (last → first → full name), cross kinds (mobile → email → phone) and point at a
    combining field (city → tags)."""
    rules = SurvivorshipRules(linked={"email": "phone", "first_name": "full_name", "last_name": "first_name",
                                      "city": "tags", "mobile": "email"})
    rules.fields["full_name"] = ["longest", "earliest", "first_non_empty"]
    rules.default = ["most_complete", "most_frequent"]
    return rules


@pytest.mark.parametrize("rules", [None, _odd_rules()], ids=["default rules", "odd links"])
def test_winners_shared_out_any_way_give_the_same_merge(rules, monkeypatch):
    """The fields whose winners are chosen beside the contact ids are renumbered into one run's rule labels:
    any split of the linked groups gives the merge of all fields chosen in one place."""
    records, clusters = _records(500, 11)
    records["first_name"] = records["full_name"].str.split().str[0]
    records["last_name"] = records["full_name"].str.split().str[-1]
    real = golden._share_fields
    here_all = merge(records, clusters, rules)
    groups = golden._link_groups(rules or SurvivorshipRules())
    assert sorted(n for g in groups for n in g) == sorted(n for n in golden.FIELDS if n not in ("tags", "notes"))
    for pick in (lambda i: True, lambda i: i % 2 == 0, lambda i: i % 2 == 1):
        def share(fr, rules, multi_rows, C, pick=pick):
            here, _ = real(fr, rules, multi_rows, C)
            there = [n for i, g in enumerate(groups) if pick(i) for n in g]
            return [n for n in here + _ if n not in there], there
        monkeypatch.setattr(golden, "_share_fields", share)
        _same(here_all, merge(records, clusters, rules))


def test_link_groups_keep_leaders_with_followers():
    groups = golden._link_groups(_odd_rules())
    together = next(g for g in groups if "full_name" in g)
    assert {"first_name", "last_name"} <= set(together)
    assert {"email", "phone", "mobile"} <= set(next(g for g in groups if "email" in g))
    assert ["city"] in groups  # its leader combines values: it stands alone


@pytest.mark.parametrize("values", [
    ["C123456789012", "Cabcdefabcdef", "C000000000000"],  # one width: copied as fixed-width bytes
    ["a", "bb", "", "ccc"], ["é", "ab"], ["x", None, "y"], ["same"] * 4,
])
def test_take_text_is_take(values):
    from crmkit.merge._values import _take_text

    rng = np.random.default_rng(0)
    s = pd.Series(values, dtype="str")
    for part in (s, s.iloc[1:]):
        at = rng.integers(0, len(part), 25)
        pd.testing.assert_series_equal(_take_text(part, at), part.take(at).reset_index(drop=True))
        pd.testing.assert_series_equal(_take_text(part, at[:0]), part.take(at[:0]).reset_index(drop=True))


def test_joint_numbers_are_factorize_of_the_forms_in_turn():
    first = pd.Series(["+491", "+492", "+493"], dtype="str")
    second = pd.Series(["+494", "+492", "", "+495"], dtype="str")
    codes = [np.array([2, 0, 1, 1]), np.array([3, 1, 0, 2, 1])]
    joint = pd.factorize(pd.concat([first, second], ignore_index=True))[0]
    expected = [joint[:3][codes[0]], joint[3:][codes[1]]]
    got = golden._joint_numbers([(codes[0], first), (codes[1], second)])
    assert all((g == e).all() for g, e in zip(got, expected))


def test_compact_keeps_only_the_values_taken():
    uniq = [pd.Series(["a", "b", "c"], dtype="str"), pd.Series(["d", "e"], dtype="str")]
    codes = np.array([4, -1, 0, 4, 2])
    small_codes, small = golden._compact(codes, uniq)
    whole = pd.concat(uniq, ignore_index=True)
    assert small.tolist() == ["a", "c", "e"]
    assert [small[c] if c >= 0 else None for c in small_codes] == [whole[c] if c >= 0 else None for c in codes]


@pytest.mark.parametrize("rules", [None, _odd_rules()], ids=["default rules", "odd links"])
def test_rule_labels_are_numbered_as_one_run_over_the_fields(rules):
    """Each field's winners carry rule codes of their own; _choose numbers them (and the 'linked:' labels) as
    one _Labels shared by all fields in field order would, so the rule categories keep their order."""
    from crmkit.merge._records import _Frame

    rules = rules or SurvivorshipRules()
    records, clusters = _records(400, 5)
    fr = _Frame(records, rules)
    cc = golden._cluster_codes(fr, clusters)
    C = int(cc.max()) + 1
    size = np.bincount(cc, minlength=C)
    multi = np.flatnonzero(size[cc] > 1)
    multi = multi[np.argsort(cc[multi], kind="stable")]
    single = np.flatnonzero(size[cc] == 1)
    selecting = [n for n in golden.FIELDS if rules.chain(n)[0] not in ("union", "concat_distinct")]
    won = golden._winners(selecting, fr, cc, size, multi, single, C, rules)
    _, chosen, _, _, lab = golden._choose(fr, cc, size, multi, single, C, rules, won)
    shared = golden._Labels()  # the plain way: one _Labels through every field's selection, then the links
    plain = {n: golden._select(n, rules.chain(n), fr, cc, multi, C, shared) for n in selecting}
    for n in selecting:
        leader = rules.linked.get(n)
        if leader in plain:
            shared(f"linked:{leader}")
    assert lab.names[:len(shared.names)] == shared.names
    for n in selecting:
        linked = won[n].linked if won[n].linked is not None else np.zeros(C, bool)
        expected = [shared.names[r] for r in plain[n].rule[~linked]]
        assert [lab.names[r] for r in chosen[n].rule[~linked]] == expected, n


def _plain_contact_ids(records: pd.DataFrame, result) -> dict:
    """Each contact's id as the docstring defines it: "C" + 12 hex of sha1 over its sorted member keys."""
    import hashlib

    from crmkit.merge._records import _Frame

    keys = _Frame(records, SurvivorshipRules()).member_keys().tolist()
    members = result.membership.assign(key=keys).groupby("contact_id")["key"].agg(list)
    return {cid: "C" + hashlib.sha1("\n".join(sorted(k)).encode("utf-8")).hexdigest()[:12]
            for cid, k in members.items()}


@pytest.mark.parametrize("seed", [0, 1])
def test_new_contact_ids_are_the_sha1_of_their_member_keys_on_either_path(seed):
    records, clusters = _records(300, seed)
    fresh = merge(records, clusters)  # no stored id: the ids are built as fixed-width text
    assert fresh.contacts["contact_id"].dtype == "str"
    expected = _plain_contact_ids(records, fresh)
    assert set(fresh.contacts["contact_id"]) == set(expected) and all(k == v for k, v in expected.items())
    kept = fresh.membership.iloc[0]
    again = merge(records, clusters, existing={kept["record_id"]: "Cstored"})  # a stored id: one str at a time
    ids = again.membership["contact_id"]
    assert ids.iloc[0] == "Cstored"
    assert ids.tolist()[1:] == [i if i != kept["contact_id"] else "Cstored"
                                for i in fresh.membership["contact_id"].tolist()[1:]]


def test_hash_ids_are_sha1_hex_digits():
    import hashlib

    keys = ["f.csv||2", "ü€张|Leads|10", "", "a\nb"]
    for width in (12, 20, 7):
        assert _hash_ids(keys, width=width).tolist() == \
            ["C" + hashlib.sha1(k.encode("utf-8")).hexdigest()[:width] for k in keys]


def test_clashing_short_ids_get_longer_digests(monkeypatch):
    import hashlib

    from crmkit.merge import _records

    records = pd.DataFrame({"record_id": ["r1", "r2", "r3"], "full_name": ["A", "B", "C"],
                            "source_file": ["f.csv"] * 3, "source_sheet": [""] * 3, "source_row": [1, 2, 3]})
    plain = merge(records, None).contacts["contact_id"].tolist()
    real = _records._digests

    def clashing(keys):  # the first 6 bytes of every digest alike: every 12-digit id clashes
        d = real(keys).copy()
        d[:, :6] = 7
        return d
    monkeypatch.setattr(_records, "_digests", clashing)
    long = merge(records, None).contacts["contact_id"].tolist()
    assert [i[:13] for i in long] == ["C070707070707"] * 3  # (the first 6 bytes, as patched)
    real_hex = [hashlib.sha1(k.encode()).hexdigest() for k in ("f.csv||1", "f.csv||2", "f.csv||3")]
    assert [i[13:] for i in long] == [h[12:20] for h in real_hex]  # the rest: digits 13 to 20 of the real digests
    assert plain == ["C" + h[:12] for h in real_hex]


def test_a_field_and_a_choice_pickle_narrow_and_come_back_the_same():
    import pickle

    from crmkit.merge._values import _Field

    for n_distinct in (0, 3, 200, 40_000):
        values = pd.Series([f"v{i % max(n_distinct, 1)}" if n_distinct else None for i in range(50_000)] + [None],
                           dtype=object)
        field = _Field(values, len(values), "city")
        back = pickle.loads(pickle.dumps(field, protocol=5))
        assert back.codes.dtype == np.int64 and np.array_equal(back.codes, field.codes)
        assert np.array_equal(back.notna, field.notna) and back.uniq.equals(field.uniq) and back.name == "city"
        state = field.__getstate__()
        assert state["codes"] is None if not n_distinct else state["codes"].itemsize < 8
    chosen = golden._Chosen(np.array([-1, 5, 70_000]), np.array([0, 1, 2], np.int16), np.array([3, 4]),
                            np.array([0, 0]))
    back = pickle.loads(pickle.dumps(chosen))
    for k in ("win", "conflict_rows", "conflict_c"):
        assert getattr(back, k).dtype == np.int64 and np.array_equal(getattr(back, k), getattr(chosen, k))
    assert back.rule.dtype == np.int16 and np.array_equal(back.rule, chosen.rule)
