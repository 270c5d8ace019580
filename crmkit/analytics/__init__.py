"""Analytics on the store: RFM segmentation and sales-pipeline metrics.

Charts live in :mod:`crmkit.analytics.charts` (imported on demand, so the library does not load Altair).

>>> from crmkit.analytics import rfm, segment_summary, stage_summary   # doctest: +SKIP
"""
from crmkit.analytics.pipeline import (
    DEFAULT_PIPELINE,
    Pipeline,
    Stage,
    average_deal_size,
    by_owner,
    forecast,
    funnel,
    move_deal,
    open_totals,
    stage_summary,
    stale_deals,
    win_rate,
)
from crmkit.analytics.rfm import (
    DEFAULT_SCHEME,
    RFM_COLUMNS,
    SegmentRule,
    SegmentScheme,
    export_segments,
    rfm,
    segment_changes,
    segment_summary,
    tag_contacts,
)

__all__ = [
    # RFM
    "DEFAULT_SCHEME",
    "RFM_COLUMNS",
    "SegmentRule",
    "SegmentScheme",
    "export_segments",
    "rfm",
    "segment_changes",
    "segment_summary",
    "tag_contacts",
    # pipeline
    "DEFAULT_PIPELINE",
    "Pipeline",
    "Stage",
    "average_deal_size",
    "by_owner",
    "forecast",
    "funnel",
    "move_deal",
    "open_totals",
    "stage_summary",
    "stale_deals",
    "win_rate",
]
