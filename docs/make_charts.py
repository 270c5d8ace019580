"""Render the README's analysis charts to PNG (docs/charts/), from the same chart functions the app uses.

    pip install -e ".[docs]" && python docs/make_charts.py

RFM charts use the real CDNOW transaction log in tests/data/cdnow (23,570 customers, 69,659 orders);
the pipeline charts use the store migrated from sample_data/.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

import crmkit
from crmkit.analytics import pipeline as pl
from crmkit.analytics import rfm
from crmkit.analytics.charts import forecast_chart, funnel_chart, rf_heatmap, segment_chart, stage_chart

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "charts"


def _save(chart, name: str) -> None:
    import vl_convert as vlc

    png = vlc.vegalite_to_png(chart.to_json(), scale=2)
    (OUT / name).write_bytes(png)
    print("wrote", OUT / name)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    cdnow = pd.read_csv(ROOT / "tests/data/cdnow/CDNOW_master.txt.gz", sep=r"\s+", header=0,
                        names=["customer", "date", "quantity", "amount"], dtype={"date": str})
    cdnow["order_date"] = pd.to_datetime(cdnow["date"], format="%Y%m%d")
    scores = rfm(cdnow, customer="customer", date="order_date", amount="amount", order_id=None)
    _save(segment_chart(scores, title="CDNOW: customers and revenue by RFM segment"), "rfm_segments.png")
    _save(rf_heatmap(scores, title="CDNOW: customers by recency and frequency score"), "rfm_heatmap.png")

    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "crm.sqlite"
        crmkit.migrate([ROOT / "sample_data"], store_path)
        tables = crmkit.read_store(store_path)
    deals, history = tables["deals"], tables.get("deal_stage_history")
    _save(stage_chart(pl.stage_summary(deals), title="Sample pipeline: amount and weighted amount by stage"),
          "pipeline_stages.png")
    _save(forecast_chart(pl.forecast(deals), title="Sample pipeline: open amount by expected close month"),
          "pipeline_forecast.png")
    _save(funnel_chart(pl.funnel(history, deals), title="Sample pipeline: funnel"), "pipeline_funnel.png")


if __name__ == "__main__":
    main()
