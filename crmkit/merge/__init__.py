"""Survivorship: clusters of duplicate contact records → golden contacts, with lineage; unmerge.

``merge`` takes the cleaned contacts (one row per source record, unique ``record_id``) and a
cluster label per record, and returns one golden row per cluster. Every golden field is chosen by
a declarative chain of rules (:class:`SurvivorshipRules`); every choice is explained in
``lineage`` (which source row, which rule) and every disagreement between members in
``conflicts``.

>>> import pandas as pd
>>> recs = pd.DataFrame({"record_id": ["r1", "r2"], "full_name": ["Bob Smith", "BOB SMITH"],
...                      "source_file": ["crm.csv", "fair.xlsx"], "source_sheet": ["", "Leads"],
...                      "source_row": [2, 7]})
>>> res = merge(recs, pd.Series({"r1": 1, "r2": 1}))
>>> res.contacts[["full_name", "n_records"]].to_dict("records")
[{'full_name': 'Bob Smith', 'n_records': 2}]

Everything is vectorised: singletons are copied straight through, multi-member clusters are
decided by one ``np.lexsort`` per field (cluster, rule keys..., source priority, source order)
and taking the first row of each cluster.
"""
from crmkit.merge.golden import (
    CONFLICT_COLUMNS,
    CONTACT_OUTPUT_COLUMNS,
    LINEAGE_COLUMNS,
    MERGED_ID_COLUMNS,
    VALUE_COLUMNS,
    MergeResult,
    merge,
    unmerge_records,
)
from crmkit.merge.rules import FIELDS, RULES, SurvivorshipRules

__all__ = [
    "FIELDS",
    "RULES",
    "SurvivorshipRules",
    "MergeResult",
    "merge",
    "unmerge_records",
    "CONTACT_OUTPUT_COLUMNS",
    "LINEAGE_COLUMNS",
    "VALUE_COLUMNS",
    "CONFLICT_COLUMNS",
    "MERGED_ID_COLUMNS",
]
