"""Duplicate detection: Index (blocking) → Compare (levels) → Classify (Fellegi–Sunter) → Cluster.

>>> import pandas as pd
>>> df = pd.DataFrame({"record_id": ["1", "2"], "full_name": ["Liz Taylor", "Elizabeth Taylor"],
...                    "email": ["liz@example.com", "liz@example.com"]})
>>> pairs = find_duplicates(df)
>>> pairs["decision"].tolist(), cluster(pairs, df["record_id"]).tolist()
(['merge'], ['1', '1'])
"""
from __future__ import annotations

from crmkit.match.blocking import BLOCKING_KEYS, block_pairs
from crmkit.match.cluster import cluster
from crmkit.match.compare import LADDERS, compare_pairs, prepare
from crmkit.match.explain import explain
from crmkit.match.generic import KINDS
from crmkit.match.pipeline import find_duplicates
from crmkit.match.settings import Comparison, ComparisonLevel, MatchSettings

__all__ = ["MatchSettings", "Comparison", "ComparisonLevel", "find_duplicates", "cluster", "explain",
           "block_pairs", "compare_pairs", "prepare", "BLOCKING_KEYS", "LADDERS", "KINDS"]
