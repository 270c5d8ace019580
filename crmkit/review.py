"""The review queue as a person sees it: each uncertain pair side by side with its explanation."""
from __future__ import annotations

import json

import pandas as pd

from crmkit.store import Store

SIDE_FIELDS = ["full_name", "email", "phone", "mobile", "company", "city", "country", "source_file", "source_row"]


def review_table(store: Store | dict, *, status: str | None = None) -> pd.DataFrame:
    """Review pairs with both records' values (``_l``/``_r``), the explanation and an empty ``decision``.

    ``store`` is a Store or a dict of its tables (review_queue, contact_records, match_pairs).
    """
    get = store.get if isinstance(store, dict) else store.read_table
    rq = get("review_queue")
    if status is not None:
        rq = rq[rq["status"] == status]
    recs = get("contact_records").set_index("record_id")
    pairs = get("match_pairs")
    cols = [c for c in SIDE_FIELDS if c in recs.columns]
    out = rq.copy()
    for side in ("l", "r"):
        vals = recs.reindex(out[f"record_id_{side}"])[cols]
        for c in cols:
            out[f"{c}_{side}"] = vals[c].values
    if len(pairs):
        expl = pairs.set_index(["record_id_l", "record_id_r"])["explanation"]
        keys = pd.MultiIndex.from_frame(out[["record_id_l", "record_id_r"]])
        out["explanation"] = expl.reindex(keys).values
    else:
        out["explanation"] = None
    out["decision"] = None
    return out.reset_index(drop=True)


def explanation_frame(explanation: str | None) -> pd.DataFrame:
    """The per-field weights of one pair as rows (field, weight), strongest evidence first."""
    data = json.loads(explanation) if explanation else {}
    df = pd.DataFrame({"field": list(data), "weight": list(data.values())})
    return df.sort_values("weight", key=abs, ascending=False).reset_index(drop=True)
