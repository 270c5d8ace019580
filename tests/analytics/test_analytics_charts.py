"""Every chart builds from library output and serialises to a small Vega-Lite spec."""
from __future__ import annotations

import json

import altair as alt
import pandas as pd
import pytest

from crmkit.analytics import rfm, segment_summary
from crmkit.analytics.charts import (distribution_chart, forecast_chart, funnel_chart, rf_heatmap, segment_chart,
                                     stage_chart)
from crmkit.analytics.pipeline import forecast, funnel, stage_summary
from crmkit.errors import SettingsError

DEALS = pd.DataFrame({"deal_id": ["a", "b", "c", "d"], "stage": ["lead", "proposal", "won", "lost"],
                      "amount": [100.0, 200.0, 300.0, 50.0], "probability": [None, 0.4, None, None],
                      "close_date": ["2024-01-31", "2024-03-01", "2024-02-01", None]})


def _spec(chart) -> dict:
    spec = chart.to_dict()
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert len(json.dumps(spec)) < 50_000  # aggregated: no row per customer in the spec
    return spec


def _rows(spec: dict) -> list[dict]:
    return next(iter(spec["datasets"].values()))


@pytest.fixture(scope="module")
def scored(generated_orders):
    return rfm(generated_orders)


def test_segment_chart(scored):
    spec = _spec(segment_chart(scored))
    rows = _rows(spec)
    assert len(rows) == 2 * len(segment_summary(scored))
    assert spec["encoding"]["y"]["sort"][0] == "Champions"
    assert _spec(segment_chart(segment_summary(scored)))["datasets"] == spec["datasets"]


def test_rf_heatmap(scored):
    chart = rf_heatmap(scored)
    assert isinstance(chart, alt.LayerChart)
    spec = _spec(chart)
    rows = _rows(spec)
    assert len(rows) == 25 and sum(r["customers"] for r in rows) == len(scored)
    assert sum(r["revenue"] for r in rows) == pytest.approx(scored["monetary"].sum())


@pytest.mark.parametrize("metric", ["recency", "frequency", "monetary"])
def test_distribution_chart(scored, metric):
    chart = distribution_chart(scored, metric)
    assert isinstance(chart, alt.Chart)
    assert sum(r["customers"] for r in _rows(_spec(chart))) == len(scored)


def test_distribution_chart_rejects_unknown_metric(scored):
    with pytest.raises(SettingsError):
        distribution_chart(scored, "age")


def test_pipeline_charts():
    for chart in (funnel_chart(funnel(None, DEALS)), forecast_chart(forecast(DEALS)),
                  stage_chart(stage_summary(DEALS)), stage_chart(stage_summary(DEALS), include_closed=False)):
        assert isinstance(chart, alt.Chart)
        _spec(chart)
    f = _spec(forecast_chart(forecast(DEALS)))
    assert {r["measure"] for r in _rows(f)} == {"unweighted", "weighted"}


def test_charts_on_empty_input():
    empty = rfm(pd.DataFrame(columns=["contact_id", "order_date", "amount"]))
    for chart in (segment_chart(empty), rf_heatmap(empty), distribution_chart(empty, "monetary"),
                  forecast_chart(forecast(DEALS.iloc[:0]))):
        _spec(chart)
