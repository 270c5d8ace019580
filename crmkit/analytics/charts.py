"""Altair charts for RFM segments and the sales pipeline, used by the app and the notebooks.

Every function takes the frame a crmkit.analytics function returns, aggregates it in pandas first (the chart
spec carries a few dozen rows, never one row per customer) and returns an Altair chart; ``.to_dict()``
gives the Vega-Lite spec, ``st.altair_chart(chart)`` shows it.

>>> from crmkit.analytics import rfm
>>> from crmkit.analytics.charts import segment_chart
>>> chart = segment_chart(rfm(orders))  # doctest: +SKIP
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from crmkit.errors import SettingsError

__all__ = ["segment_chart", "rf_heatmap", "distribution_chart", "funnel_chart", "forecast_chart", "stage_chart"]

_WIDTH = 480


def _segment_table(rfm_or_summary: pd.DataFrame) -> pd.DataFrame:
    if "customers" in rfm_or_summary.columns and "revenue_share" in rfm_or_summary.columns:
        return rfm_or_summary
    from crmkit.analytics.rfm import segment_summary

    return segment_summary(rfm_or_summary)


def segment_chart(rfm_or_summary: pd.DataFrame, *, title: str = "Customers and revenue by segment"):
    """Grouped horizontal bars: each segment's share of customers next to its share of revenue.

    Takes ``rfm()`` output or ``segment_summary()`` output; segments keep the scheme order.
    """
    s = _segment_table(rfm_or_summary)
    order = [str(x) for x in s["segment"]]
    long = pd.DataFrame({
        "segment": np.repeat(order, 2),
        "measure": ["customers", "revenue"] * len(s),
        "share": np.column_stack([s["share"].to_numpy(float), s["revenue_share"].to_numpy(float)]).ravel(),
        "count": np.column_stack([s["customers"].to_numpy(float), s["revenue"].to_numpy(float)]).ravel(),
    })
    return (
        alt.Chart(long, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", sort=order, title=None),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share"),
            yOffset=alt.YOffset("measure:N", sort=["customers", "revenue"]),
            color=alt.Color("measure:N", sort=["customers", "revenue"], title=None),
            tooltip=["segment:N", "measure:N", alt.Tooltip("share:Q", format=".1%"),
                     alt.Tooltip("count:Q", format=",.0f", title="customers / revenue")],
        )
        .properties(width=_WIDTH)
    )


def rf_heatmap(rfm_df: pd.DataFrame, *, title: str = "Customers by recency and frequency score"):
    """R x F grid (5 x 5): colour and label = customers, tooltip adds revenue and the segment(s)."""
    df = rfm_df[["r_score", "f_score", "monetary"]].assign(segment=rfm_df["segment"].astype(object).astype(str))
    g = df.groupby(["r_score", "f_score"])
    cells = pd.DataFrame({"customers": g.size(), "revenue": g["monetary"].sum(),
                          "segment": g["segment"].agg(lambda x: ", ".join(sorted(set(x))))})
    grid = pd.MultiIndex.from_product([range(1, 6), range(1, 6)], names=["r_score", "f_score"])
    cells = cells.reindex(grid).fillna({"customers": 0, "revenue": 0.0, "segment": ""}).reset_index()
    cells["customers"] = cells["customers"].astype(np.int64)
    base = alt.Chart(cells, title=title).encode(
        x=alt.X("f_score:O", title="frequency score"),
        y=alt.Y("r_score:O", sort="descending", title="recency score"),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="blues"), title="customers"),
        tooltip=["r_score:O", "f_score:O", alt.Tooltip("customers:Q", format=","),
                 alt.Tooltip("revenue:Q", format=",.2f"), "segment:N"],
    )
    text = base.mark_text(baseline="middle").encode(
        text=alt.Text("customers:Q", format=","),
        color=alt.condition(alt.datum.customers > cells["customers"].max() / 2, alt.value("white"),
                            alt.value("black")),
    )
    return (rect + text).properties(width=300, height=300)


_METRIC_COLUMNS = {"recency": "recency_days", "frequency": "frequency", "monetary": "monetary"}


def distribution_chart(rfm_df: pd.DataFrame, metric: str = "recency", *, bins: int = 30, title: str | None = None):
    """Histogram of ``recency`` (days), ``frequency`` (orders) or ``monetary`` across customers.

    Frequency gets one bar per order count (capped at ``bins``; the last bar holds the rest).
    """
    if metric not in _METRIC_COLUMNS:
        raise SettingsError(f"unknown RFM metric {metric!r}", hint=f"use one of {', '.join(_METRIC_COLUMNS)}")
    col = _METRIC_COLUMNS[metric]
    v = pd.to_numeric(rfm_df[col], errors="coerce").dropna().to_numpy(float)
    if metric == "frequency":
        cap = max(int(bins), 1)
        counts = np.bincount(np.minimum(v.astype(np.int64), cap), minlength=cap + 1)[1:]
        lo = np.arange(1, cap + 1, dtype=float)
        hi = lo + 1
    else:
        if len(v) == 0:
            v = np.zeros(1)
        counts, edges = np.histogram(v, bins=bins)
        lo, hi = edges[:-1], edges[1:]
    data = pd.DataFrame({"start": lo, "end": hi, "customers": counts.astype(np.int64)})
    label = {"recency": "days since last order", "frequency": "orders", "monetary": "total spend"}[metric]
    return (
        alt.Chart(data, title=title or f"{metric.capitalize()} distribution")
        .mark_bar()
        .encode(
            x=alt.X("start:Q", title=label, bin="binned"),
            x2="end:Q",
            y=alt.Y("customers:Q", title="customers"),
            tooltip=[alt.Tooltip("start:Q", format=",.0f", title="from"),
                     alt.Tooltip("end:Q", format=",.0f", title="to"), alt.Tooltip("customers:Q", format=",")],
        )
        .properties(width=_WIDTH)
    )


def funnel_chart(funnel_df: pd.DataFrame, *, title: str = "Pipeline funnel"):
    """Horizontal bars of deals that reached each stage, in pipeline order; tooltip with conversion."""
    data = funnel_df[["stage", "reached", "moved_on", "conversion", "from_top"]].copy()
    order = [str(s) for s in data["stage"]]
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("stage:N", sort=order, title=None),
            x=alt.X("reached:Q", title="deals that reached the stage"),
            tooltip=["stage:N", "reached:Q", "moved_on:Q", alt.Tooltip("conversion:Q", format=".0%"),
                     alt.Tooltip("from_top:Q", format=".0%", title="of all deals")],
        )
        .properties(width=_WIDTH)
    )


def forecast_chart(forecast_df: pd.DataFrame, *, title: str = "Open pipeline by expected close"):
    """Per period, the unweighted open amount next to the probability-weighted amount."""
    order = [str(p) for p in forecast_df["period"]]
    long = forecast_df.melt(id_vars=["period", "deals"], value_vars=["amount", "weighted"],
                            var_name="measure", value_name="value")
    long["measure"] = long["measure"].map({"amount": "unweighted", "weighted": "weighted"})
    return (
        alt.Chart(long, title=title)
        .mark_bar()
        .encode(
            x=alt.X("period:N", sort=order, title=None),
            xOffset=alt.XOffset("measure:N", sort=["unweighted", "weighted"]),
            y=alt.Y("value:Q", title="amount"),
            color=alt.Color("measure:N", sort=["unweighted", "weighted"], title=None),
            tooltip=["period:N", "measure:N", alt.Tooltip("value:Q", format=",.2f"), "deals:Q"],
        )
        .properties(width=_WIDTH)
    )


def stage_chart(summary_df: pd.DataFrame, *, title: str = "Deals by stage", include_closed: bool = True):
    """Amount and weighted amount per stage (``stage_summary()`` output), pipeline order."""
    data = summary_df if include_closed else summary_df[summary_df["is_open"]]
    order = [str(s) for s in data["stage"]]
    long = data.melt(id_vars=["stage", "deals"], value_vars=["amount", "weighted"], var_name="measure",
                     value_name="value")
    return (
        alt.Chart(long, title=title)
        .mark_bar()
        .encode(
            x=alt.X("stage:N", sort=order, title=None),
            xOffset=alt.XOffset("measure:N", sort=["amount", "weighted"]),
            y=alt.Y("value:Q", title="amount"),
            color=alt.Color("measure:N", sort=["amount", "weighted"], title=None),
            tooltip=["stage:N", "measure:N", alt.Tooltip("value:Q", format=",.2f"), "deals:Q"],
        )
        .properties(width=_WIDTH)
    )
