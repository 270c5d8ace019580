"""The link stage's vectorised helpers agree with the row-by-row computations they replace."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crmkit import link
from crmkit.link import RECORD_COLUMNS


def _split_tags(text) -> list[str]:
    if not isinstance(text, str):
        return []
    return [t.strip() for t in text.replace("|", ";").split(";") if t.strip()]


def _keep_store_tags_by_row(contacts, records, old):
    """The rule, contact by contact: stored tags no record carries are appended, each once."""
    if old is None or old.empty or "tags" not in old or old["tags"].isna().all():
        return contacts
    rec_tags = records.dropna(subset=["tags"]).groupby("contact_id")["tags"].agg(
        lambda s: {t for v in s for t in _split_tags(v)})
    contacts = contacts.copy()
    pos = pd.Series(range(len(contacts)), index=contacts["contact_id"])
    col = contacts.columns.get_loc("tags")
    for cid, text in old.dropna(subset=["tags"]).set_index("contact_id")["tags"].items():
        if cid not in pos.index:
            continue
        extra = [t for t in _split_tags(text) if t not in rec_tags.get(cid, set())]
        if extra:
            current = _split_tags(contacts.iat[pos[cid], col])
            contacts.iat[pos[cid], col] = "; ".join(dict.fromkeys(current + extra))
    return contacts


@pytest.mark.parametrize("seed", range(40))
def test_store_tags_kept_as_row_by_row(seed):
    rng = np.random.default_rng(seed)
    tags = ["vip", "lead", " vip ", "a|b", "x; y", "", " ; ", None, "At Risk|vip", "lead,vip", "ü ; 张", "\x1cz"]
    n = int(rng.integers(1, 25))
    ids = [f"C{i}" for i in range(n)]
    contacts = pd.DataFrame({"contact_id": pd.Series(ids, dtype="str"),
                             "tags": pd.Series([tags[i] for i in rng.integers(0, len(tags), n)], dtype="str")})
    m = int(rng.integers(0, 50))
    records = pd.DataFrame({"contact_id": pd.Series([ids[i] for i in rng.integers(0, n, m)], dtype="str"),
                            "tags": [tags[i] for i in rng.integers(0, len(tags), m)]})
    old_ids = [f"C{i}" for i in rng.integers(0, n + 4, int(rng.integers(0, 25)))]  # repeats, unknown ids
    old = pd.DataFrame({"contact_id": old_ids, "tags": [tags[i] for i in rng.integers(0, len(tags), len(old_ids))]})
    pd.testing.assert_frame_equal(link._keep_store_tags(contacts, records, old),
                                  _keep_store_tags_by_row(contacts, records, old))


def test_explanations_are_the_json_of_each_row():
    rng = np.random.default_rng(0)
    pairs = pd.DataFrame({f"weight_{f}": rng.normal(0, 10, 400) for f in ("name", "email", "phone")})
    pairs.loc[rng.random(400) < 0.3, "weight_email"] = np.nan
    pairs.loc[:3, :] = np.nan
    pairs.loc[4, "weight_name"], pairs.loc[5, "weight_name"], pairs.loc[6, "weight_phone"] = -0.001, np.inf, 1e-9
    expected = [json.dumps({k[len("weight_"):]: v for k, v in row.items() if v == v})
                for row in pairs.round(2).to_dict("records")]
    assert list(link._explanations(pairs)) == expected
    assert link._explanations(pairs[[]]) == [None] * len(pairs)


def test_pairs_not_in_a_set_of_decisions():
    rng = np.random.default_rng(1)
    ids = [f"R{i}" for i in range(30)]
    left = pd.Series([ids[i] for i in rng.integers(0, 30, 500)], dtype="str")
    right = pd.Series([ids[i] for i in rng.integers(0, 30, 500)], dtype="str")
    decided = {(ids[i], ids[j]) for i, j in rng.integers(0, 30, (40, 2))}
    decided |= {(b, a) for a, b in decided} | {("R1", None), (None, "R1")}  # an edit decision has one id
    expected = [(a, b) not in decided for a, b in zip(left, right)]
    assert link._not_in_pairs(left, right, decided).tolist() == expected
    assert link._not_in_pairs(left, right, set()).all()


def _apply_never_by_ids(clusters: pd.Series, accepted, never, forced) -> pd.Series:
    """The rule on record ids: split components holding a 'never' pair by dropping the non-forced edges
    touching its records (up to five rounds), then the right-hand record of a remaining pair stands alone."""
    def components(ids, pairs):
        parent = {i: i for i in ids}

        def find(x):
            while parent[x] != x:
                x = parent[x]
            return x
        for a, b in pairs:
            if a in parent and b in parent:
                ra, rb = find(a), find(b)
                if ra != rb:
                    lo, hi = sorted((ra, rb), key=list(ids).index)
                    parent[hi] = lo
        return pd.Series({i: find(i) for i in ids})

    for _ in range(5):
        bad = [(a, b) for a, b in never if a in clusters and b in clusters and clusters[a] == clusters[b]]
        if not bad:
            return clusters
        touched = {x for pair in bad for x in pair}
        accepted = [(a, b) for a, b in accepted if a not in touched and b not in touched] + list(forced)
        clusters = components(clusters.index, accepted)
    clusters = clusters.copy()
    for a, b in never:
        if a in clusters and b in clusters and clusters[a] == clusters[b]:
            clusters[b] = b
    return clusters


@pytest.mark.parametrize("seed", range(15))
def test_never_decisions_split_like_the_id_rule(seed):
    rng = np.random.default_rng(seed)
    n = 40
    ids = pd.Index([f"R{i:02d}" for i in range(n)])
    edges = [tuple(e) for e in rng.integers(0, n, (60, 2))]
    forced = [tuple(e) for e in rng.integers(0, n, (5, 2))]
    never = [tuple(e) for e in rng.integers(0, n, (8, 2))] + [(0, n + 5)]  # one id not among the records
    accepted = edges + forced
    label = link._components(n, np.array([a for a, _ in accepted]), np.array([b for _, b in accepted]))
    arr = lambda pairs: (np.array([a for a, _ in pairs]), np.array([b if b < n else -1 for _, b in pairs]))  # noqa: E731
    got = link._apply_never(label, arr(accepted), arr(never), arr(forced))
    name = lambda i: f"R{i:02d}"  # noqa: E731
    expected = _apply_never_by_ids(pd.Series(ids[label], index=ids), [(name(a), name(b)) for a, b in accepted],
                                   [(name(a), name(b)) for a, b in never], [(name(a), name(b)) for a, b in forced])
    # the same partition of the records
    assert pd.factorize(got)[0].tolist() == pd.factorize(expected.reindex(ids).to_numpy())[0].tolist()


def _keepable_by_groups(prev: pd.Series, cluster: np.ndarray) -> dict:
    df = pd.DataFrame({"contact_id": prev.values, "cluster": cluster, "record_id": prev.index}).dropna(subset=["cluster"])
    sizes = df.groupby(["contact_id", "cluster"]).agg(n=("record_id", "size"), first=("record_id", "min"))
    sizes = sizes.reset_index().sort_values(["contact_id", "n", "first"], ascending=[True, False, True])
    df = df.merge(sizes.drop_duplicates("contact_id")[["contact_id", "cluster"]], on=["contact_id", "cluster"])
    return dict(zip(df["record_id"], df["contact_id"]))


@pytest.mark.parametrize("seed", range(10))
def test_stored_ids_kept_by_the_largest_part(seed):
    rng = np.random.default_rng(seed)
    n = 200
    prev = pd.Series([f"C{i}" for i in rng.integers(0, 60, n)], index=[f"R{i:03d}" for i in rng.permutation(n)])
    cluster = rng.integers(0, 80, n).astype(float)
    cluster[rng.random(n) < 0.1] = np.nan
    keep = link._kept_parts(prev, cluster)
    assert dict(zip(prev.index[keep], prev.values[keep])) == _keepable_by_groups(prev, cluster)


def test_merge_history_lists_sorted_ids_as_json():
    ids = pd.Series(["Rb", 'R"q', "Ra", "Rü", "Rc", "Rd"], dtype="str")
    contact_rows = np.array([1, 1, 1, 0, 0, 2])
    contact_ids = pd.Series(["C2", "C1", "C3"], dtype="str")
    is_new = np.array([False, True, False, False, True, False])
    h = link._merge_history(contact_rows, contact_ids, ids, is_new, "t", "me", "B1")
    assert h["contact_id"].tolist() == ["C1", "C2"]
    assert h["record_ids"].tolist() == [json.dumps(sorted(['Rb', 'R"q', 'Ra'])), json.dumps(sorted(["Rü", "Rc"]))]
    plain = link._merge_history(contact_rows, contact_ids, pd.Series(["Rb", "Rx", "Ra", "Ry", "Rc", "Rd"]), is_new,
                                "t", "me", "B1")
    assert plain["record_ids"].tolist() == ['["Ra", "Rb", "Rx"]', '["Rc", "Ry"]']


def test_all_records_keeps_the_first_of_each_id_and_the_full_column_order():
    old = pd.DataFrame({"record_id": ["R1", "R2"], "contact_id": ["C1", "C2"], "batch_id": ["B0", "B0"],
                        **{c: [None, None] for c in RECORD_COLUMNS if c != "record_id"}})
    new = pd.DataFrame({c: [None, None] for c in RECORD_COLUMNS}).assign(record_id=["R2", "R3"])
    derived = pd.DataFrame(columns=RECORD_COLUMNS)
    records, is_new = link._all_records(old, new, derived, "B1")
    expected = pd.concat([old.drop(columns=["contact_id"]),
                          pd.concat([new.assign(batch_id="B1"), derived.assign(batch_id="B1")], ignore_index=True)],
                         ignore_index=True).drop_duplicates("record_id").reset_index(drop=True)
    assert list(records.columns) == list(expected.columns)
    assert records["record_id"].tolist() == ["R1", "R2", "R3"] and records["batch_id"].tolist() == ["B0", "B0", "B1"]
    assert is_new.tolist() == [False, True, True]  # R2 is stored, and in this batch again


def test_columns_without_copies():
    df = pd.DataFrame({"a": pd.Series(["x", None], dtype=object), "s": pd.Series(["p", "q"], dtype="str")})
    got = link._columns(df, ["s", "missing", "a"])
    pd.testing.assert_frame_equal(got, df.reindex(columns=["s", "missing", "a"]))
    assert np.shares_memory(got["a"].to_numpy(), df["a"].to_numpy())


def test_deals_without_customers_and_no_contact_records():
    deals = pd.DataFrame({"name": ["a", "b"], "contact_email": [None, None], "contact_name": [None, None],
                          "source_file": "d.csv", "source_sheet": "", "source_row": [2, 3], "record_id": ["D1", "D2"]})
    empty = pd.DataFrame(columns=["record_id"])
    result = link.build_contacts(empty, deals, empty, existing=None, dedupe=True, batch_id="B1", actor="t")
    assert result.contacts.empty and result.contact_records.empty
    assert result.deals["deal_id"].tolist() == ["D1", "D2"] and result.deals["contact_id"].isna().all()
