"""RFM: checked against a plain-Python loop over the orders, plus hand-made edge cases."""
from __future__ import annotations

import bisect
import json
import math
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
import sqlalchemy as sa

from crmkit.analytics import (DEFAULT_SCHEME, SegmentRule, SegmentScheme, export_segments, rfm, segment_changes,
                              segment_summary, tag_contacts)
from crmkit.errors import SettingsError


# ------------------------------------------------------------------------------------------ reference
def _reference_scores(values: list[float], higher_is_better: bool) -> list[int]:
    """score = floor(5 * (avg_rank - min avg_rank) / (max - min)) + 1 by counting, one value at a time."""
    vals = [v if higher_is_better else -v for v in values]
    ordered = sorted(vals)
    n = len(vals)
    avg = []
    for v in vals:
        less = bisect.bisect_left(ordered, v)
        equal = bisect.bisect_right(ordered, v) - less
        avg.append(less + (equal + 1) / 2)
    lo, hi = (min(avg), max(avg)) if avg else (0, 0)
    out = []
    for a in avg:
        out.append(3 if hi == lo else min(int(math.floor(5 * (a - lo) / (hi - lo) + 1e-12)) + 1, 5))
    return out


def reference_rfm(orders: pd.DataFrame, as_of: date | None = None, use_order_id: bool = True) -> dict:
    rows = []
    for rec in orders.to_dict("records"):
        key = rec["contact_id"]
        if pd.isna(key) or not str(key).strip():
            continue
        d = date.fromisoformat(str(rec["order_date"])[:10])
        amt = rec["amount"]
        amt = 0.0 if amt is None or (isinstance(amt, float) and math.isnan(amt)) else float(amt)
        rows.append((key, d, amt, rec.get("order_id") if use_order_id else None))
    if as_of is None:
        as_of = max(r[1] for r in rows) + timedelta(days=1)
    spend = defaultdict(float)
    orders_of = defaultdict(set)
    dates = defaultdict(list)
    for i, (key, d, amt, oid) in enumerate(rows):
        if d >= as_of:
            continue
        spend[key] += amt
        if amt >= 0:
            orders_of[key].add(oid if oid is not None else ("row", i))
            dates[key].append(d)
    customers = sorted(k for k in orders_of)
    rec_ = [(as_of - max(dates[k])).days for k in customers]
    freq = [len(orders_of[k]) for k in customers]
    mon = [round(spend[k], 6) for k in customers]
    r = _reference_scores(rec_, False)
    f = _reference_scores(freq, True)
    m = _reference_scores(mon, True)
    return {k: dict(recency_days=rec_[i], frequency=freq[i], monetary=mon[i], r_score=r[i], f_score=f[i],
                    m_score=m[i], first_order=min(dates[k]), last_order=max(dates[k]),
                    tenure_days=(as_of - min(dates[k])).days)
            for i, k in enumerate(customers)}


def _assert_matches(result: pd.DataFrame, ref: dict) -> None:
    assert list(result["contact_id"]) == sorted(ref)
    got = result.set_index("contact_id")
    exp = pd.DataFrame.from_dict(ref, orient="index").loc[got.index]
    for col in ["recency_days", "frequency", "r_score", "f_score", "m_score", "tenure_days"]:
        np.testing.assert_array_equal(got[col].to_numpy(), exp[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(got["monetary"].to_numpy(), exp["monetary"].to_numpy(float), atol=1e-6)
    assert (got["first_order"].dt.date == exp["first_order"]).all()
    assert (got["last_order"].dt.date == exp["last_order"]).all()
    assert (got["rfm_score"] == got["r_score"].astype(str) + got["f_score"].astype(str)
            + got["m_score"].astype(str)).all()


# ------------------------------------------------------------------------------------------ vs reference
def test_matches_loop_on_generated_orders(generated_orders):
    result = rfm(generated_orders)
    _assert_matches(result, reference_rfm(generated_orders))
    assert result.attrs["skipped_no_customer"] == int(
        generated_orders["contact_id"].map(lambda k: pd.isna(k) or not str(k).strip()).sum())


def test_matches_loop_with_as_of_in_the_middle(generated_orders):
    result = rfm(generated_orders, as_of="2023-09-01")
    _assert_matches(result, reference_rfm(generated_orders, as_of=date(2023, 9, 1)))
    assert result.attrs["as_of"] == "2023-09-01"
    assert result["last_order"].max() < pd.Timestamp("2023-09-01")
    assert result.attrs["skipped_after_as_of"] > 0


def test_matches_loop_on_cdnow(cdnow_orders):
    result = rfm(cdnow_orders)
    assert len(result) == 23570
    assert result["frequency"].sum() == len(cdnow_orders) == 69659
    assert result.attrs["as_of"] == "1998-07-01"
    _assert_matches(result, reference_rfm(cdnow_orders, use_order_id=False))
    assert result["monetary"].sum() == pytest.approx(cdnow_orders["amount"].sum())


def test_cdnow_scores_are_balanced_where_there_are_few_ties(cdnow_orders):
    result = rfm(cdnow_orders)
    shares = result["m_score"].value_counts(normalize=True)
    assert shares.between(0.19, 0.21).all()  # monetary hardly ties: five even fifths
    # frequency ties massively (about half bought once): ties share one score
    assert result.groupby("frequency")["f_score"].nunique().max() == 1


# ------------------------------------------------------------------------------------------ edge cases
def _orders(rows):
    return pd.DataFrame(rows, columns=["contact_id", "order_date", "amount"])


def test_one_customer_scores_in_the_middle():
    result = rfm(_orders([("a", "2024-01-01", 10.0), ("a", "2024-02-01", 5.0)]))
    row = result.iloc[0]
    assert (row["recency_days"], row["frequency"], row["monetary"]) == (1, 2, 15.0)
    assert row["rfm_score"] == "333" and row["segment"] == "Need Attention"
    assert row["tenure_days"] == 32 and row["mean_order_value"] == 7.5


def test_all_orders_on_the_same_day():
    result = rfm(_orders([(c, "2024-05-05", 10.0 * (i + 1)) for i, c in enumerate("abcdefghij")]))
    assert (result["recency_days"] == 1).all() and (result["r_score"] == 3).all()
    assert (result["f_score"] == 3).all()
    assert list(result["m_score"]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_share_a_score_and_scores_are_monotonic():
    rows = [(f"c{i}", "2024-01-01", v) for i, v in enumerate([5, 5, 5, 10, 10, 20, 30, 30, 30, 30, 40, 50])]
    result = rfm(_orders(rows))
    assert result.groupby("monetary")["m_score"].nunique().max() == 1
    by_value = result.sort_values("monetary")
    assert by_value["m_score"].is_monotonic_increasing
    assert by_value["m_score"].iloc[0] == 1 and by_value["m_score"].iloc[-1] == 5


def test_fewer_than_five_distinct_values():
    rows = [(f"c{i}", "2024-01-01", 10.0) for i in range(5)] + [(f"c{i}", "2024-01-02", 10.0) for i in range(5)]
    rows += [(f"d{i}", "2024-01-01", 10.0) for i in range(5)]
    result = rfm(_orders(rows)).set_index("contact_id")
    # two distinct frequencies, 1 (5 customers) and 2 (5 customers): the worst value 1, the best 5
    assert set(result.loc[[f"d{i}" for i in range(5)], "f_score"]) == {1}
    assert set(result.loc[[f"c{i}" for i in range(5)], "f_score"]) == {5}
    assert result[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()


def test_refunds_and_zero_amounts():
    result = rfm(_orders([
        ("a", "2024-01-01", 100.0), ("a", "2024-01-20", -30.0),   # refund nets, isn't an order
        ("b", "2024-01-05", 0.0), ("b", "2024-01-06", 20.0),      # a free order is an order
        ("c", "2024-01-10", -15.0),                               # refund only: left out
        ("d", "2024-01-10", None),                                # unknown amount: an order worth 0
    ])).set_index("contact_id")
    assert list(result.index) == ["a", "b", "d"]
    assert result.loc["a", "monetary"] == 70.0 and result.loc["a", "frequency"] == 1
    assert result.loc["a", "last_order"] == pd.Timestamp("2024-01-01")  # the refund does not move it
    assert result.loc["b", "frequency"] == 2 and result.loc["b", "monetary"] == 20.0
    assert result.loc["d", "frequency"] == 1 and result.loc["d", "monetary"] == 0.0
    assert result.attrs["refund_rows"] == 2 and result.attrs["refund_only_customers"] == 1


def test_order_lines_with_one_order_id_count_once():
    df = pd.DataFrame({"order_id": ["1", "1", "2", None], "contact_id": ["a"] * 4,
                       "order_date": ["2024-01-01"] * 4, "amount": [5.0, 5.0, 1.0, 2.0]})
    assert rfm(df)["frequency"].iloc[0] == 3
    assert rfm(df, order_id=None)["frequency"].iloc[0] == 4


def test_skipped_rows_are_counted_and_input_is_not_mutated():
    df = _orders([("a", "2024-01-01", 1.0), (None, "2024-01-01", 2.0), ("", "2024-01-01", 3.0),
                  ("b", "not a date", 4.0), ("b", None, 4.0), ("c", "2024-01-03", 5.0)])
    before = df.copy()
    result = rfm(df)
    pdt.assert_frame_equal(df, before)
    assert list(result["contact_id"]) == ["a", "c"]
    assert result.attrs["skipped_no_customer"] == 2 and result.attrs["skipped_no_date"] == 2


def test_dates_as_text_datetimes_and_time_zones_agree():
    text = _orders([("a", "2024-03-01", 1.0), ("b", "2024-03-05T23:30:00", 2.0), ("c", "2024-02-01", 3.0)])
    dt = text.assign(order_date=pd.to_datetime(text["order_date"], format="ISO8601"))
    tz = dt.assign(order_date=dt["order_date"].dt.tz_localize("Europe/Berlin"))
    objs = text.assign(order_date=[date(2024, 3, 1), date(2024, 3, 5), date(2024, 2, 1)])
    expected = rfm(text)
    for other in (dt, tz, objs):
        pdt.assert_frame_equal(rfm(other), expected)
    assert list(expected["recency_days"]) == [5, 1, 34]


def test_empty_orders():
    result = rfm(_orders([]))
    assert result.empty and list(result.columns)[1:] == [
        "recency_days", "frequency", "monetary", "mean_order_value", "first_order", "last_order",
        "tenure_days", "r_score", "f_score", "m_score", "rfm_score", "segment"]


# ------------------------------------------------------------------------------------------ thresholds
def test_thresholds_pin_the_bins():
    days = [30, 31, 90, 91, 365, 366]
    as_of = pd.Timestamp("2024-12-31")
    rows = [(f"c{d}", (as_of - pd.Timedelta(days=d)).strftime("%Y-%m-%d"), float(d)) for d in days]
    result = rfm(_orders(rows), as_of=as_of, thresholds={"recency": [30, 90, 180, 365],
                                                         "monetary": [30, 90, 180, 365]})
    assert list(result.sort_values("recency_days")["r_score"]) == [5, 4, 4, 3, 2, 1]
    assert list(result.sort_values("recency_days")["m_score"]) == [1, 2, 2, 3, 4, 5]
    assert result.attrs["scoring"] == {"recency": "thresholds", "frequency": "quantile", "monetary": "thresholds"}


@pytest.mark.parametrize("bad", [{"recency": [1, 2, 3]}, {"recency": [4, 3, 2, 1]}, {"age": [1, 2, 3, 4]},
                                 {"monetary": ["a", 2, 3, 4]}])
def test_bad_thresholds_raise_settings_error(bad):
    with pytest.raises(SettingsError, match="thresholds"):
        rfm(_orders([("a", "2024-01-01", 1.0)]), thresholds=bad)


# ------------------------------------------------------------------------------------------ segments
def test_default_scheme_tiles_the_grid_and_everyone_gets_one_segment(generated_orders, cdnow_orders):
    lut, names = DEFAULT_SCHEME.lookup()
    assert names == ["Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising",
                     "Need Attention", "About To Sleep", "At Risk", "Can't Lose Them", "Hibernating"]
    for r in range(1, 6):
        for f in range(1, 6):
            hits = [rule.segment for rule in DEFAULT_SCHEME.rules if rule.matches(r, f, 3)]
            assert len(hits) == 1, (r, f, hits)
    for orders in (generated_orders, cdnow_orders):
        result = rfm(orders)
        assert result["segment"].notna().all()
        assert set(result["segment"].astype(str)) <= set(names)


def test_default_segments_by_hand():
    scheme = DEFAULT_SCHEME
    lut, names = scheme.lookup()
    seg = lambda r, f, m=3: names[lut[(r - 1) * 25 + (f - 1) * 5 + m - 1]]  # noqa: E731
    assert seg(5, 5) == "Champions" and seg(5, 1) == "New Customers" and seg(1, 5) == "Can't Lose Them"
    assert seg(3, 3) == "Need Attention" and seg(2, 4) == "At Risk" and seg(1, 1, 5) == "Hibernating"


def test_custom_scheme_from_records_json_and_frame(tmp_path, generated_orders):
    records = [{"segment": "VIP", "r_min": 4, "fm_min": 4},
               {"segment": "Big spenders", "m_min": 5},
               {"segment": "Lapsed", "r_max": 2}]
    scheme = SegmentScheme.from_records(records, default="Everyone else", name="mine")
    assert SegmentScheme.from_json(scheme.to_json()) == scheme
    path = tmp_path / "scheme.json"
    scheme.to_json(path)
    assert SegmentScheme.from_json(path) == scheme
    assert SegmentScheme.from_records(scheme.to_frame(), default="Everyone else", name="mine") == scheme
    assert json.loads(scheme.to_json())["rules"][0] == {"segment": "VIP", "r_min": 4, "r_max": 5, "f_min": 1,
                                                        "f_max": 5, "fm_min": 4}
    result = rfm(generated_orders, scheme=scheme)
    assert list(result["segment"].cat.categories) == ["VIP", "Big spenders", "Lapsed", "Everyone else"]
    fm = (result["f_score"] + result["m_score"] + 1) // 2
    vip = (result["r_score"] >= 4) & (fm >= 4)
    assert (result.loc[vip, "segment"] == "VIP").all()
    assert (result.loc[~vip & (result["m_score"] == 5), "segment"] == "Big spenders").all()  # first match wins
    rest = ~vip & (result["m_score"] < 5) & (result["r_score"] > 2)
    assert (result.loc[rest, "segment"] == "Everyone else").all()
    pdt.assert_frame_equal(rfm(generated_orders, scheme=path), result)
    assert (rfm(generated_orders, scheme=records)["segment"].astype(str).replace("Other", "Everyone else")
            == result["segment"].astype(str)).all()


@pytest.mark.parametrize("bad", [[{"segment": "x", "r_min": 0}], [{"segment": "x", "r_min": 4, "r_max": 2}],
                                 [{"segment": ""}], [{"segment": "x", "colour": "red"}], []])
def test_bad_scheme_raises_settings_error(bad):
    with pytest.raises(SettingsError, match="scheme"):
        SegmentScheme.from_records(bad)


def test_segment_rule_matches():
    rule = SegmentRule("x", r_min=2, r_max=3, fm_min=4)
    assert rule.matches(2, 4, 4) and rule.matches(3, 3, 4)  # fm = (3 + 4) / 2 rounds half up to 4
    assert not rule.matches(3, 3, 3) and not rule.matches(3, 2, 4) and not rule.matches(1, 5, 5)


# ------------------------------------------------------------------------------------------ summaries
def test_segment_summary(generated_orders):
    result = rfm(generated_orders)
    s = segment_summary(result)
    assert list(s["segment"]) == DEFAULT_SCHEME.segments  # scheme order, empty segments included
    assert s["customers"].sum() == len(result)
    assert s["share"].sum() == pytest.approx(1) and s["revenue_share"].sum() == pytest.approx(1)
    champs = result[result["segment"] == "Champions"]
    row = s.set_index("segment").loc["Champions"]
    assert row["revenue"] == pytest.approx(champs["monetary"].sum())
    assert row["mean_recency_days"] == pytest.approx(champs["recency_days"].mean())


def test_segment_changes(generated_orders):
    table = segment_changes(generated_orders, "2023-09-01", "2024-01-01")
    before = rfm(generated_orders, as_of="2023-09-01")
    after = rfm(generated_orders, as_of="2024-01-01")
    assert table.to_numpy().sum() == len(after)
    assert table.loc["(new)"].sum() == len(set(after["contact_id"]) - set(before["contact_id"]))
    assert table.drop(index="(new)").sum(axis=1).sum() == len(before)
    champs_before = set(before.loc[before["segment"] == "Champions", "contact_id"])
    still = set(after.loc[after["segment"] == "Champions", "contact_id"]) & champs_before
    assert table.loc["Champions", "Champions"] == len(still)


# ------------------------------------------------------------------------------------------ export, tags
def test_export_neutralises_formulas(tmp_path):
    df = _orders([("=HYPERLINK(\"http://x\")", "2024-01-01", 1.0), ("-12", "2024-01-01", 2.0),
                  ("@SUM(A1)", "2024-01-02", 3.0), ("+49 30 1234", "2024-01-02", 4.0), ("ok", "2024-01-03", 5)])
    result = rfm(df, scheme=[{"segment": "=cmd|' /C calc'!A0"}])
    csv = export_segments(result, tmp_path / "seg.csv")
    back = pd.read_csv(csv, dtype=str)
    ids = set(back["contact_id"])
    assert {"'=HYPERLINK(\"http://x\")", "-12", "'@SUM(A1)", "'+49 30 1234", "ok"} == ids
    assert set(back["segment"]) == {"'=cmd|' /C calc'!A0"}
    assert back.set_index("contact_id").loc["ok", "first_order"] == "2024-01-03"
    xlsx = export_segments(result, tmp_path / "seg.xlsx")
    import openpyxl

    ws = openpyxl.load_workbook(xlsx).active
    values = [c.value for row in ws.iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_export_only_some_segments(tmp_path, generated_orders):
    result = rfm(generated_orders)
    path = export_segments(result, tmp_path / "champs.csv", segments=["Champions", "At Risk"])
    back = pd.read_csv(path)
    assert len(back) == result["segment"].isin(["Champions", "At Risk"]).sum()
    with pytest.raises(SettingsError, match="unknown segment"):
        export_segments(result, tmp_path / "x.csv", segments=["Champs"])
    with pytest.raises(SettingsError):
        export_segments(result, tmp_path / "x.pdf")


class _StoreLike:
    def __init__(self, engine):
        self.engine = engine


def test_tag_contacts(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO contacts VALUES (:id, 'x', :tags)"),
                     [{"id": "a", "tags": "vip; rfm:Hibernating; newsletter"}, {"id": "b", "tags": None},
                      {"id": "c", "tags": "rfm:Old"}, {"id": "d", "tags": "rfm:At Risk"}])
    seg = pd.DataFrame({"contact_id": ["a", "b", "d", "zz"],
                        "segment": ["Champions", "New Customers", "At Risk", "Promising"]})
    counts = tag_contacts(_StoreLike(engine), seg)
    assert counts == {"updated": 2, "unchanged": 1, "missing": 1}
    with engine.connect() as conn:
        tags = dict(conn.execute(sa.text("SELECT contact_id, tags FROM contacts")).all())
    assert tags == {"a": "vip; newsletter; rfm:Champions", "b": "rfm:New Customers", "c": "rfm:Old",
                    "d": "rfm:At Risk"}


def test_tag_contacts_is_one_transaction(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO contacts VALUES ('a', 'x', NULL)"))
        conn.execute(sa.text("CREATE TRIGGER no_b BEFORE UPDATE ON contacts WHEN NEW.contact_id = 'b' "
                             "BEGIN SELECT RAISE(ABORT, 'boom'); END"))
        conn.execute(sa.text("INSERT INTO contacts VALUES ('b', 'y', NULL)"))
    with pytest.raises(sa.exc.DatabaseError):
        tag_contacts(engine, pd.DataFrame({"contact_id": ["a", "b"], "segment": ["Champions", "Promising"]}))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT tags FROM contacts WHERE contact_id = 'a'")).scalar() is None


def test_rfm_reads_the_store_orders_table(engine, generated_orders):
    generated_orders.to_sql("orders", engine, index=False)
    pdt.assert_frame_equal(rfm(_StoreLike(engine)), rfm(generated_orders))


def test_float_noise_in_sums_does_not_break_ties():
    df = _orders([("a", "2024-01-01", 0.1), ("a", "2024-01-01", 0.2), ("b", "2024-01-01", 0.3)])
    result = rfm(df)
    assert result["monetary"].iloc[0] != result["monetary"].iloc[1]  # 0.30000000000000004 vs 0.3
    assert result["m_score"].nunique() == 1


def test_rfm_reads_a_csv_and_keeps_leading_zeros(tmp_path, cdnow_orders):
    path = tmp_path / "orders.csv"
    cdnow_orders.head(500).to_csv(path, index=False)
    result = rfm(path)
    assert result["contact_id"].iloc[0] == "00001"
    pdt.assert_frame_equal(result, rfm(cdnow_orders.head(500)), check_dtype=False)
    table = segment_changes(path, "1997-03-01", "1997-06-01", order_id=None)
    assert table.to_numpy().sum() == len(rfm(path, as_of="1997-06-01"))
