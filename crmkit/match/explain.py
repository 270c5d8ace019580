"""Explanations: a scored pair as one row per field with its level, weight and both values.

The weights of a pair's rows (the fields plus ``conflict``) add up to ``match_weight`` minus the
prior weight log2(λ/(1-λ)).

>>> import pandas as pd
>>> pairs = pd.DataFrame({"record_id_l": ["a"], "record_id_r": ["b"], "match_weight": [3.0],
...                       "level_email": ["exact"], "weight_email": [9.0], "weight_conflict": [0.0]})
>>> explain(pairs)[["field", "level_label", "weight"]].values.tolist()
[['email', 'exact', 9.0], ['conflict', None, 0.0]]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit.match.compare import LADDERS, display_values

EXPLAIN_COLUMNS = ["record_id_l", "record_id_r", "field", "level", "level_label", "weight", "value_l", "value_r"]


def explain(pairs: pd.DataFrame, records: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long frame (record_id_l, record_id_r, field, level, level_label, weight, value_l, value_r).

    ``level`` is the index of the level in the field's ladder (0 = null; for a comparison declared on
    another column, known from the settings in ``pairs.attrs``); values are shown when the cleaned
    ``records`` (with ``record_id``) are given.
    """
    fields = [c[len("weight_"):] for c in pairs.columns if c.startswith("weight_")]
    if len(pairs) == 0 or not fields:
        return pd.DataFrame(columns=EXPLAIN_COLUMNS)
    parts = []
    settings = pairs.attrs.get("settings")
    declared = {c.field: c.labels for c in settings.comparisons} if hasattr(settings, "comparisons") else {}
    rec = records.set_index(records["record_id"].astype(str)) if records is not None else None
    for f in fields:
        label = pairs[f"level_{f}"] if f"level_{f}" in pairs else pd.Series([None] * len(pairs), index=pairs.index)
        ladder = LADDERS.get(f) or declared.get(f)
        level = label.map({lab: i for i, lab in enumerate(ladder)}) if ladder else pd.Series(np.nan, index=pairs.index)
        part = pd.DataFrame({
            "record_id_l": pairs["record_id_l"].to_numpy(), "record_id_r": pairs["record_id_r"].to_numpy(),
            "field": f, "level": level.to_numpy(), "level_label": label.to_numpy(dtype=object),
            "weight": pairs[f"weight_{f}"].to_numpy(float)})
        if rec is not None and f != "conflict":
            vals = display_values(rec, f)
            part["value_l"] = vals.reindex(pairs["record_id_l"].astype(str)).to_numpy(dtype=object)
            part["value_r"] = vals.reindex(pairs["record_id_r"].astype(str)).to_numpy(dtype=object)
        else:
            part["value_l"] = None
            part["value_r"] = None
        part["_pair"] = np.arange(len(pairs))
        part["_f"] = len(parts)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True).sort_values(["_pair", "_f"], kind="stable")
    out["level"] = out["level"].astype("Int64")
    return out.drop(columns=["_pair", "_f"]).reset_index(drop=True)[EXPLAIN_COLUMNS]
