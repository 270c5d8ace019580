"""Free text and tags: trim, collapse whitespace, full-width -> half-width, placeholders -> empty.

>>> import pandas as pd
>>> clean_text(pd.Series(["  Sales\\u3000Manager ", "n/a", "ＣＥＯ"])).values.tolist()
['Sales Manager', None, 'CEO']
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from crmkit.clean._base import CleanResult, is_placeholder, map_unique, normalize_text, problems_series


def _clean_text_value(raw: object) -> tuple[str | None]:
    text = normalize_text(raw)
    return (None if is_placeholder(text) else text,)


def clean_text(values: pd.Series) -> CleanResult:
    """Normalise free text; placeholders ('n/a', '-', 'null', ...) become None. Never a problem."""
    (out,) = map_unique(values, _clean_text_value, 1)
    return CleanResult(pd.Series(out, index=values.index, dtype=object, copy=False),
                       problems_series(np.full(len(values), None, dtype=object), values.index))


_TAG_SPLIT = re.compile(r"\s*[,;|/、，；]\s*")


def _clean_tags_value(raw: object) -> tuple[str | None]:
    text = normalize_text(raw)
    if is_placeholder(text):
        return (None,)
    seen: dict[str, str] = {}
    for tag in _TAG_SPLIT.split(text):
        tag = tag.strip(" #")
        if tag and not is_placeholder(tag) and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return ("; ".join(seen.values()) or None,)


def clean_tags(values: pd.Series) -> CleanResult:
    """Split tags on , ; | / (and CJK commas), trim, drop duplicates, join as 'a; b'.

    >>> clean_tags(pd.Series(["VIP, Newsletter | vip / Partner"])).values.tolist()
    ['VIP; Newsletter; Partner']
    """
    (out,) = map_unique(values, _clean_tags_value, 1)
    return CleanResult(pd.Series(out, index=values.index, dtype=object, copy=False),
                       problems_series(np.full(len(values), None, dtype=object), values.index))
