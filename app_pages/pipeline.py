"""Pipeline: a board with one column per stage; move deals with the stage box on each card."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import _shared as shared
from crmkit.app_support import board_columns, close_months, filter_deals, stale_ids
from crmkit.errors import CrmkitError

CARDS_PER_STAGE = 25

shared.page_header("Pipeline", "Open deals by stage. Change a card's stage box to move the deal; "
                               "every move is saved at once with its history.")
store = shared.require_store()

from crmkit.analytics.pipeline import DEFAULT_PIPELINE, forecast, funnel, move_deal, stage_summary, stale_deals

pipe = DEFAULT_PIPELINE
t = shared.tables(store, "deals", "deal_stage_history")
deals, history = t["deals"], t["deal_stage_history"]
if deals.empty:
    shared.empty_state("No deals in this store. Import a pipeline export (deal name, stage, amount, close date).")
    st.stop()


def _move(deal_id: str) -> None:
    to_stage = st.session_state.get(f"pipe_stage_{deal_id}")
    if not to_stage:
        return
    try:
        r = move_deal(store, deal_id, to_stage, actor=shared.actor(), pipeline=pipe)
        if r.get("changed"):
            st.session_state["pipe_flash"] = ("success", f"Moved “{names.get(deal_id, deal_id)}” from "
                                                         f"{r['from_stage']} to {r['to_stage']}.")
    except (CrmkitError, ImportError) as exc:
        st.session_state["pipe_flash"] = ("error", shared.error_text(exc))
    finally:
        shared.after_write(store)


owner_col = deals["owner"].astype(object)
owners = sorted(set(owner_col.dropna().astype(str).str.strip()) - {""}) + \
    (["(unassigned)"] if (owner_col.isna() | (owner_col.astype(str).str.strip() == "")).any() else [])
months = close_months(deals) + (["(no date)"] if pd.to_datetime(deals["close_date"], errors="coerce",
                                                                   format="ISO8601").isna().any() else [])
f1, f2, f3 = st.columns([2, 2, 1])
sel_owners = f1.multiselect("Owner", owners, key="pipe_owner", placeholder="all owners")
sel_months = f2.multiselect("Close month", months, key="pipe_month", placeholder="all months")
show_closed = f3.toggle("Show won & lost", value=True, key="pipe_closed")
view = filter_deals(deals, owners=sel_owners, months=sel_months)
names = dict(zip(deals["deal_id"].astype(str), deals["name"].astype(object).fillna("(unnamed deal)").astype(str)))

flash = st.session_state.pop("pipe_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])

summary = stage_summary(view, pipe).set_index("stage")
totals = summary.attrs.get("open_totals", {})
m1, m2, m3, m4 = st.columns(4)
m1.metric("Open deals", f"{totals.get('deals', 0):,}", border=True)
m2.metric("Open amount", shared.money(totals.get("amount")), border=True)
m3.metric("Weighted", shared.money(totals.get("weighted")), border=True, help="Sum of amount × win probability")
stale = stale_deals(view, history, pipe)
m4.metric("Stale deals", f"{len(stale):,}", border=True,
          help="Open deals that have sat in their stage longer than the stage allows")
shared.currency_note(view)

# a kanban look: each stage column a light lane, the cards white on it (pure CSS on the containers' keys)
st.html("""<style>
div[class*="st-key-pipe_col_"] {background: #f4f6fa; border-radius: 10px; padding: 10px 8px 12px 8px;}
div[class*="st-key-pipe_col_"] h5 {padding-top: 0;}
div[class*="st-key-pipe_card_"] {background: #ffffff;}
div[class*="st-key-pipe_col_won"] {background: #eef8f1;}
div[class*="st-key-pipe_col_lost"] {background: #fbf0ef;}
</style>""")
stale_by_id = stale_ids(stale)
columns = board_columns(view, pipe)
if not show_closed:
    columns = [(s, d) for s, d in columns if s not in (pipe.won, pipe.lost)]
cols = st.columns(len(columns), gap="small")
for col, (stage, sdeals) in zip(cols, columns):
    with col:
        row = summary.loc[stage] if stage in summary.index else None
        count = int(row["deals"]) if row is not None else len(sdeals)
        amount = float(row["amount"]) if row is not None else \
            float(pd.to_numeric(sdeals["amount"], errors="coerce").sum())
        weighted = float(row["weighted"]) if row is not None else 0.0
        with st.container(key=f"pipe_col_{stage}"):
            st.markdown(f"##### {stage.capitalize()} · {count}")
            st.caption(f"**{shared.money(amount)}** total  \n{shared.money(weighted)} weighted")
            for deal in sdeals.head(CARDS_PER_STAGE).itertuples(index=False):
                did = str(deal.deal_id)
                with st.container(border=True, key=f"pipe_card_{did}"):
                    st.markdown(f"**{names.get(did)}**")
                    amt = pd.to_numeric(deal.amount, errors="coerce")
                    cur = deal.currency if isinstance(deal.currency, str) else ""
                    parts = [str(deal.company) if isinstance(deal.company, str) and deal.company else None,
                             f"{cur} {amt:,.0f}".strip() if pd.notna(amt) else "no amount",
                             f"closes {deal.close_date}" if isinstance(deal.close_date, str) and deal.close_date
                             else "no close date",
                             str(deal.owner) if isinstance(deal.owner, str) and deal.owner else "unassigned"]
                    st.caption(" · ".join(p for p in parts if p))
                    if did in stale_by_id:
                        st.badge(f"stale +{stale_by_id[did]} d", color="orange", icon=":material/schedule:",
                                 help=f"{stale_by_id[did]} days longer in this stage than the stage allows")
                    current = pipe.canonical(deal.stage)
                    st.selectbox("Stage", pipe.names, index=pipe.names.index(current) if current else None,
                                 key=f"pipe_stage_{did}", on_change=_move, args=(did,),
                                 label_visibility="collapsed", placeholder=f"{deal.stage} (unknown stage)")
            if len(sdeals) > CARDS_PER_STAGE:
                st.caption(f"+ {len(sdeals) - CARDS_PER_STAGE:,} more — narrow the board with the filters.")
st.caption("Move a deal with the stage box on its card (works with keyboard and screen readers, and in "
           "automated tests; drag and drop is not offered).")

st.divider()
c1, c2 = st.columns(2)
with c1:
    from crmkit.analytics.charts import forecast_chart, funnel_chart

    fc = forecast(view, pipe)
    if fc.empty:
        st.caption("No open deals to forecast.")
    else:
        st.altair_chart(forecast_chart(fc), width="stretch")
with c2:
    st.altair_chart(funnel_chart(funnel(history, view, pipe)), width="stretch")
if len(stale):
    with st.expander(f"Stale deals ({len(stale)})", icon=":material/schedule:"):
        st.dataframe(stale[[c for c in ("name", "company", "stage", "amount", "owner", "in_stage_since",
                                        "days_in_stage", "rotting_days", "days_over") if c in stale]],
                     hide_index=True, width="stretch")
with st.expander("Stage history", icon=":material/history:"):
    if history.empty:
        st.caption("No moves recorded yet.")
    else:
        h = history.assign(deal=history["deal_id"].astype(str).map(names))
        st.dataframe(h.sort_values("changed_at", ascending=False).head(200), hide_index=True, width="stretch")
