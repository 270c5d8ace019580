"""Reverting the latest import batch restores the contacts the earlier batches made (merges included)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

import crmkit
from crmkit.curate import revert_batch
from crmkit.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def _membership(path) -> pd.Series:
    recs = Store(str(path)).read_table("contact_records")
    return recs.set_index("record_id")["contact_id"].sort_index()


def test_revert_of_the_last_batch_keeps_earlier_merges(tmp_path):
    store = tmp_path / "crm.sqlite"
    first = [str(SAMPLE / n) for n in ("old_crm_export.xlsx", "tradeshow_leads_2023.csv", "newsletter_signups.csv")]
    crmkit.migrate(first, str(store))
    before = _membership(store)
    assert before.nunique() < len(before)          # the first batch merged duplicates
    last = crmkit.migrate([str(SAMPLE / "contacts_unicode_export.txt")], str(store)).batch_id
    assert len(_membership(store)) > len(before)
    revert_batch(str(store), last)
    after = _membership(store)
    pd.testing.assert_index_equal(after.index, before.index)
    # the same records are together again (ids of merged contacts may be re-derived, the grouping may not)
    assert after.groupby(after).ngroups == before.groupby(before).ngroups
    same = pd.DataFrame({"b": before, "a": after})
    assert (same.groupby("b")["a"].nunique() == 1).all()
    assert (same.groupby("a")["b"].nunique() == 1).all()
