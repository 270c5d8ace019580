"""How a large run shares blocking between this process and its forked helper (``pipeline._share_rules``): every
rule keyed once, on two sides with about as much work, and the same candidate pairs whatever the split."""
from __future__ import annotations

import os

import numpy as np
import pytest

from crmkit.match import MatchSettings
from crmkit.match import pipeline as pipeline_mod
from crmkit.match.blocking import BLOCKING_KEYS
from crmkit.match.compare import Prepared, prepare

needs_fork = pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs os.fork, 2 CPUs")
_RULE_SETS = [MatchSettings().blocking_rules, list(BLOCKING_KEYS), ["email", "col:customer_no", "email"], ["phone"], []]


def _loads(mine: list[str], theirs: list[str], need_u: bool, u_pairs: int, n: int) -> tuple[float, float]:
    """The work of each side as the split's cost model counts it."""
    cost = lambda rules: sum(pipeline_mod._RULE_COST.get(r, 1) for r in rules)  # noqa: E731
    here = pipeline_mod._HERE_COST + (pipeline_mod._WARM_COST if need_u else 0) + cost(mine)
    child = pipeline_mod._CHILD_COST + (pipeline_mod._U_COST * u_pairs / n if need_u else 0) + cost(theirs)
    return here, child


@pytest.mark.parametrize("rules", _RULE_SETS)
@pytest.mark.parametrize("n", [50_000, 300_000, 1_000_000, 3_000_000])
@pytest.mark.parametrize("need_u", [True, False])
def test_every_rule_is_keyed_once_on_two_balanced_sides(rules, n, need_u):
    mine, theirs = pipeline_mod._share_rules(rules, need_u, 1_000_000, n)
    assert sorted(mine + theirs) == sorted(set(rules))          # none lost, none keyed twice
    here, child = _loads(mine, theirs, need_u, 1_000_000, n)
    start_here, start_child = _loads([], [], need_u, 1_000_000, n)
    # each rule went to the side with less work so far: the sides end as far apart as the costliest rule at most,
    # unless they started further apart (all the rules then went to the side with less work)
    most = max([pipeline_mod._RULE_COST.get(r, 1) for r in rules], default=0)
    assert abs(here - child) <= max(most, abs(start_here - start_child))
    if rules and not theirs:
        assert start_here <= start_child
    if rules and not mine:
        assert start_child < start_here

def test_a_million_records_share_the_default_rules():
    """The measured case: u beside about half of the name rules in the helper, the rest here."""
    mine, theirs = pipeline_mod._share_rules(MatchSettings().blocking_rules, True, 1_000_000, 1_000_000)
    assert mine and theirs
    costly = {"name_tokens", "name_prefixes", "phonetic_initial", "cjk_pinyin"}
    assert 1 <= len(costly & set(theirs)) <= 3
    here, child = _loads(mine, theirs, True, 1_000_000, 1_000_000)
    assert abs(here - child) <= 2
    # a trained run (no u) keeps more rules here than the helper, which then has only its own cost
    mine_t, theirs_t = pipeline_mod._share_rules(MatchSettings().blocking_rules, False, 1_000_000, 1_000_000)
    assert len(theirs_t) > len(theirs)


@needs_fork
@pytest.mark.parametrize("split", ["shared", "all here", "all there"])
def test_the_candidate_pairs_do_not_depend_on_the_split(background, forks, monkeypatch, split):
    settings = MatchSettings()
    prep = Prepared(prepare(background))
    shared = pipeline_mod._share_rules

    def share(rules, need_u, u_pairs, n):
        if split == "shared":
            return shared(rules, need_u, u_pairs, n)
        return (list(rules), []) if split == "all here" else ([], list(rules))
    monkeypatch.setattr(pipeline_mod, "_share_rules", share)
    cand, counts, u = pipeline_mod._block_and_u(prep, settings)
    assert forks
    monkeypatch.setenv("CRMKIT_WORKERS", "0")
    n_forks = len(forks)
    serial = pipeline_mod._block_and_u(prep, settings)
    assert len(forks) == n_forks
    assert np.array_equal(cand, serial[0]) and len(cand) > 1000
    assert counts == serial[1] and list(counts) == list(settings.blocking_rules)
    assert list(u) == list(serial[2])
    for field, probs in u.items():                                  # u of each level, bit for bit
        want = np.asarray(serial[2][field], float)
        assert np.array_equal(np.asarray(probs, float).view(np.int64), want.view(np.int64))


@pytest.mark.parametrize("values", [["a@x.com", "b@y.org", "ü@ß.de", "周刚"], ["one"], ["a\x00b", "c"], ["a", 5],
                                    []])
def test_texts_travel_as_one_string_and_come_back_the_same(values):
    from crmkit.match.compare import _Texts

    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    packed = _Texts.of(arr)
    # only all-str arrays without a NUL are joined; anything else travels as it is
    assert isinstance(packed, _Texts) == (bool(values) and all(isinstance(v, str) and "\x00" not in v for v in values))
    back = packed.array() if isinstance(packed, _Texts) else packed
    assert back.dtype == object and back.tolist() == values


def test_prepared_columns_pack_and_unpack_to_the_same(background):
    """What the prepare helper sends back (:func:`compare._packed`) is rebuilt value for value, shared arrays shared."""
    import pickle

    from crmkit.match import compare as compare_mod

    df = background.reset_index(drop=True)
    want = compare_mod._prepare_contacts(df, None, 7, ("street",))
    sent = pickle.loads(pickle.dumps(compare_mod._packed(*compare_mod._prepare_contacts(df, None, 7, ("street",)))))
    out, coded, derived = compare_mod._unpacked(*sent)
    assert list(out) == list(want[0])
    for name in out:
        assert out[name].dtype == object and list(out[name]) == list(want[0][name]), name
    for name in want[1]:
        assert coded[name].uniq.dtype == object and coded[name].uniq.tolist() == want[1][name].uniq.tolist()
        assert np.array_equal(coded[name].codes, want[1][name].codes)
    assert derived["phone"].uniq.tolist() == want[2]["phone"].uniq.tolist()
    assert derived["phone"].coded.uniq is derived["phone"].uniq


def test_record_ids_sort_as_numpy_sorts_them(monkeypatch):
    """pyarrow sorts long id columns (UTF-8 bytes sort like code points): numpy's order of the Python str, and a
    repeated id is still refused."""
    import pandas as pd

    from crmkit.errors import CrmkitError

    rng = np.random.default_rng(3)
    alphabet = list("aAzZ09 _-é€ßü周刚") + ["\U0001F600", "\ufb01", "\x7f", "\u00a0"]
    ids = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(3000)]
    ids = list(dict.fromkeys(ids))
    settings = MatchSettings()
    monkeypatch.setattr(pipeline_mod, "_ARROW_SORT_MIN", 0)
    df = pd.DataFrame({"record_id": ids})
    want = np.argsort(np.array(ids, dtype=object), kind="stable")
    assert np.array_equal(pipeline_mod._check_input(df, settings), want)
    with pytest.raises(CrmkitError, match="appears more than once"):
        pipeline_mod._check_input(pd.DataFrame({"record_id": ids + [ids[7]]}), settings)
    monkeypatch.setattr(pipeline_mod, "_ARROW_SORT_MIN", 1 << 40)      # numpy's sort: the same order
    assert np.array_equal(pipeline_mod._check_input(df, settings), want)


def test_only_the_columns_matching_reads_are_reordered(background):
    """Columns prepare does not read are left out before the records are reordered: the same pairs with or
    without them."""
    from crmkit.match import find_duplicates

    records = background.iloc[:1500]
    noisy = records.assign(notes=np.arange(len(records)).astype(str), tags="x")
    assert set(pipeline_mod._input_columns(noisy, MatchSettings())) <= set(records.columns)
    a, b = find_duplicates(records), find_duplicates(noisy)
    import pandas as pd

    pd.testing.assert_frame_equal(a, b, check_exact=True)
