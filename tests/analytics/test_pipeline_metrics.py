"""Pipeline metrics with totals worked out by hand, a small stage history, and move_deal on SQLite."""
from __future__ import annotations

import getpass
import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from crmkit.analytics.pipeline import (DEFAULT_PIPELINE, Pipeline, Stage, average_deal_size, by_owner, forecast,
                                       funnel, move_deal, open_totals, stage_summary, stale_deals, win_rate)
from crmkit.errors import CrmkitError, SettingsError

DEALS = pd.DataFrame({
    "deal_id": ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"],
    "stage": ["lead", "Qualified", "proposal", "proposal", "won", "lost", "won", "on hold"],
    "amount": [1000.0, 2000.0, 4000.0, 3000.0, 5000.0, 7000.0, 1000.0, 900.0],
    "probability": [np.nan, 0.5, np.nan, 0.2, 0.8, 0.3, np.nan, 0.5],
    "close_date": ["2024-03-15", "2024-03-31", "2024-05-02", None, "2024-02-01", "2024-01-10", "2024-02-20",
                   "2024-04-01"],
    "owner": ["ana", "ana", "ben", None, "ana", "ben", "ben", "ana"],
    "created_at": ["2024-01-01", "2024-01-05", "2024-01-10", "2024-02-01", "2024-01-01", "2024-01-01",
                   "2024-01-01", "2024-01-01"],
    "currency": "EUR",
})


def test_default_pipeline_and_json_round_trip(tmp_path):
    p = DEFAULT_PIPELINE
    assert p.names == ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
    assert [(s.probability, s.rotting_days) for s in p.stages] == [
        (0.1, 14), (0.25, 21), (0.5, 21), (0.75, 30), (1.0, None), (0.0, None)]
    assert Pipeline.from_json(p.to_json()) == p
    p.to_json(tmp_path / "p.json")
    assert Pipeline.from_json(tmp_path / "p.json") == p
    custom = Pipeline((Stage("intro", 0.2, 7), Stage("demo", 0.6), Stage("signed", 1.0), Stage("dead", 0.0)),
                      won="signed", lost="dead", name="saas")
    assert Pipeline.from_dict(json.loads(custom.to_json())) == custom
    assert custom.funnel_stages == ["intro", "demo", "signed"]


@pytest.mark.parametrize("stages, won", [
    ((Stage("a", 1.5), Stage("won", 1.0), Stage("lost", 0.0)), "won"),
    ((Stage("a", 0.5), Stage("A", 0.5), Stage("won", 1.0), Stage("lost", 0.0)), "won"),
    ((Stage("a", 0.5), Stage("won", 1.0), Stage("lost", 0.0)), "closed"),
])
def test_invalid_pipeline_raises(stages, won):
    with pytest.raises(SettingsError, match="invalid pipeline"):
        Pipeline(stages, won=won)


def test_stage_summary_by_hand():
    s = stage_summary(DEALS).set_index("stage")
    assert list(s.index) == ["lead", "qualified", "proposal", "negotiation", "won", "lost", "on hold"]
    assert s.loc["negotiation", "deals"] == 0 and s.loc["negotiation", "amount"] == 0
    assert s.loc["proposal", "deals"] == 2 and s.loc["proposal", "amount"] == 7000
    # lead 1000 x 0.10 (stage default); qualified 2000 x 0.5 (own); proposal 4000 x 0.5 + 3000 x 0.2
    assert s.loc["lead", "weighted"] == pytest.approx(100)
    assert s.loc["qualified", "weighted"] == pytest.approx(1000)
    assert s.loc["proposal", "weighted"] == pytest.approx(2600)
    # closed deals weigh 1 and 0 whatever probability they carry
    assert s.loc["won", "weighted"] == pytest.approx(6000) and s.loc["lost", "weighted"] == 0
    assert not s.loc["on hold", "is_open"] and s.loc["proposal", "is_open"] and not s.loc["won", "is_open"]
    assert s.attrs["open_totals"] == {"deals": 4, "amount": 10000.0, "weighted": pytest.approx(3700.0)}
    assert open_totals(DEALS) == s.attrs["open_totals"]


def test_probability_outside_0_1_falls_back_to_stage_default():
    deals = pd.DataFrame({"stage": ["proposal"], "amount": [100.0], "probability": [40.0]})
    assert stage_summary(deals).set_index("stage").loc["proposal", "weighted"] == pytest.approx(50)


def test_forecast_by_month():
    f = forecast(DEALS)
    assert list(f["period"]) == ["2024-03", "2024-04", "2024-05", "(no close date)"]
    row = f.set_index("period")
    assert row.loc["2024-03", "deals"] == 2 and row.loc["2024-03", "amount"] == 3000
    assert row.loc["2024-03", "weighted"] == pytest.approx(1100)
    assert row.loc["2024-04", "deals"] == 0  # gap month kept (d8 is at an unknown stage, not open)
    assert row.loc["(no close date)", "weighted"] == pytest.approx(600)
    assert f["amount"].sum() == open_totals(DEALS)["amount"]
    assert list(forecast(DEALS, by="quarter")["period"]) == ["2024Q1", "2024Q2", "(no close date)"]
    with pytest.raises(SettingsError):
        forecast(DEALS, by="fortnight")


def test_win_rate_size_and_owner():
    assert win_rate(DEALS) == pytest.approx(2 / 3)
    assert win_rate(DEALS, by_amount=True) == pytest.approx(6000 / 13000)
    assert np.isnan(win_rate(DEALS[DEALS["stage"] == "lead"]))
    assert average_deal_size(DEALS) == 3000
    assert average_deal_size(DEALS, stage="open") == 2500
    o = by_owner(DEALS).set_index("owner")
    assert list(o.index) == ["ben", "ana", "(unassigned)"]  # weighted open: 2000, 1100, 600
    assert o.loc["ana", "open_deals"] == 2 and o.loc["ana", "weighted"] == pytest.approx(1100)
    assert o.loc["ben", "won_deals"] == 1 and o.loc["ben", "lost_deals"] == 1 and o.loc["ben", "win_rate"] == 0.5
    assert np.isnan(o.loc["(unassigned)", "win_rate"])


def test_funnel_from_a_small_history():
    deals = pd.DataFrame({"deal_id": ["a", "b", "c", "d", "e"],
                          "stage": ["won", "lost", "proposal", "lost", "qualified"], "amount": 1.0})
    history = pd.DataFrame({
        "deal_id": ["a", "a", "b", "b", "b", "e", "e"],
        "from_stage": [None, "lead", "lead", "qualified", "negotiation", "lead", "proposal"],
        "to_stage": ["lead", "won", "qualified", "negotiation", "lost", "proposal", "qualified"],
        "changed_at": "2024-01-01",
    })
    f = funnel(history, deals).set_index("stage")
    # a: won (passed all); b: lost from negotiation; c: at proposal, no history; d: lost, no history (top only);
    # e: went to proposal and back to qualified (reached proposal)
    assert list(f["reached"]) == [5, 4, 4, 2, 1]
    assert list(f["moved_on"]) == [4, 4, 2, 1, 0]
    assert f.loc["lead", "lost_here"] == 1 and f.loc["negotiation", "lost_here"] == 1
    assert f.loc["proposal", "conversion"] == pytest.approx(2 / 4)
    assert f.loc["proposal", "dropped"] == 2
    assert f.loc["won", "from_top"] == pytest.approx(1 / 5)
    assert np.isnan(f.loc["won", "conversion"])
    # without any history: current stage only
    g = funnel(None, deals).set_index("stage")
    assert list(g["reached"]) == [5, 3, 2, 1, 1]


def test_stale_deals():
    history = pd.DataFrame({"deal_id": ["d2", "d3"], "from_stage": ["lead", "qualified"],
                            "to_stage": ["qualified", "proposal"],
                            "changed_at": ["2024-02-25T09:00:00", "2024-01-15T10:00:00+00:00"]})
    s = stale_deals(DEALS, history, today="2024-03-01")
    # d1 lead since 01-01 (60 d > 14); d2 qualified since 02-25 (5 d, fresh); d3 proposal since 01-15 (46 > 21);
    # d4 proposal since created 02-01 (29 > 21)
    assert list(s["deal_id"]) == ["d1", "d3", "d4"]
    assert list(s["days_in_stage"]) == [60, 46, 29]
    assert list(s["days_over"]) == [46, 25, 8]
    assert stale_deals(DEALS, today="2024-01-10").empty


def test_move_deal_writes_stage_history_and_audit(engine):
    out = move_deal(engine, "D1", "Proposal", actor="ana", when="2024-03-01T10:00:00")
    assert out["from_stage"] == "qualified" and out["to_stage"] == "proposal" and out["changed"]
    assert out["probability"] == 0.5  # followed the stage: it was the old stage's default
    with engine.connect() as conn:
        deal = conn.execute(sa.text("SELECT stage, probability FROM deals WHERE deal_id='D1'")).one()
        hist = conn.execute(sa.text("SELECT deal_id, from_stage, to_stage, changed_at, actor "
                                    "FROM deal_stage_history")).all()
        audit = conn.execute(sa.text("SELECT actor, action, entity, record_id, detail FROM audit_log")).all()
    assert tuple(deal) == ("proposal", 0.5)
    assert [tuple(h) for h in hist] == [("D1", "qualified", "proposal", "2024-03-01T10:00:00", "ana")]
    assert audit[0][:4] == ("ana", "move_stage", "deal", "D1")
    assert json.loads(audit[0][4])["to_stage"] == "proposal"


def test_move_deal_keeps_a_hand_set_probability_until_closed(engine):
    class StoreLike:
        def __init__(self, eng):
            self.engine = eng

    store = StoreLike(engine)
    assert move_deal(store, "D2", "negotiation")["probability"] == 0.9  # 0.9 was set by hand
    assert move_deal(store, "D3", "qualified")["probability"] == 0.25  # was empty
    won = move_deal(store, "D2", "won")
    assert won["probability"] == 1.0 and won["actor"] == getpass.getuser()
    same = move_deal(store, "D2", "won")
    assert not same["changed"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM deal_stage_history")).scalar() == 3
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 3


def test_move_deal_rejects_unknown_stage_and_deal(engine):
    with pytest.raises(SettingsError) as err:
        move_deal(engine, "D1", "closed-won")
    assert "lead, qualified, proposal, negotiation, won, lost" in str(err.value)
    with pytest.raises(CrmkitError, match="no deal"):
        move_deal(engine, "nope", "won")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT stage FROM deals WHERE deal_id='D1'")).scalar() == "qualified"


def test_move_deal_rolls_back_when_a_write_fails(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE audit_log (at TEXT, actor TEXT NOT NULL, action TEXT, entity TEXT, "
                             "record_id TEXT, detail TEXT, CHECK (actor <> 'mallory'))"))
    with pytest.raises(sa.exc.IntegrityError):
        move_deal(engine, "D1", "won", actor="mallory")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT stage FROM deals WHERE deal_id='D1'")).scalar() == "qualified"
        assert conn.execute(sa.text("SELECT count(*) FROM deal_stage_history")).scalar() == 0


def test_move_deal_with_a_custom_pipeline(engine):
    p = Pipeline((Stage("qualified", 0.3, 5), Stage("signed", 1.0), Stage("dead", 0.0)), won="signed", lost="dead")
    assert move_deal(engine, "D1", "signed", pipeline=p)["probability"] == 1.0
    with pytest.raises(SettingsError, match="valid stages: qualified, signed, dead"):
        move_deal(engine, "D1", "won", pipeline=p)


def test_metrics_read_the_store(engine):
    move_deal(engine, "D1", "proposal", when="2024-01-20T00:00:00")
    with engine.connect() as conn:
        deals = pd.read_sql_query(sa.text("SELECT * FROM deals"), conn)
    pd.testing.assert_frame_equal(stage_summary(engine), stage_summary(deals))
    assert funnel(engine, engine).set_index("stage").loc["proposal", "reached"] == 2
    assert list(stale_deals(engine, engine, today="2024-02-15")["deal_id"]) == ["D3", "D2", "D1"]  # over by 30, 23, 5 days
