"""Overview: the headline numbers of the open store and two charts."""
from __future__ import annotations

import streamlit as st

from app_pages import _shared as shared
from crmkit.app_support import overview_metrics
from crmkit.errors import CrmkitError

shared.page_header("Overview", "One clean, deduplicated customer base, built from your spreadsheets.")
store = shared.require_store()

counts = shared.counts(store)
if not counts.get("contacts") and not counts.get("source_rows"):
    shared.empty_state("This store is empty. Import customer spreadsheets to fill it.")
    st.stop()
t = shared.tables(store, "deals", "orders")
m = overview_metrics(counts, t["deals"], t["orders"])
row1 = st.columns(4)
row1[0].metric("Contacts", f"{m['contacts']:,}", border=True,
               help="Golden records after deduplication")
row1[1].metric("Source rows", f"{m['source_rows']:,}", border=True,
               help="Every row read from every file, kept with its file, sheet and row number")
row1[2].metric("Duplicates merged", f"{m['duplicates_merged']:,}", border=True,
               help="Contact records that were merged into another record's golden record")
row1[3].metric("Pairs to review", f"{m['review_open']:,}", border=True,
               help="Possible duplicates waiting for a decision on the Duplicates page")
row2 = st.columns(4)
row2[0].metric("Open issues", f"{m['issues']:,}", border=True,
               help="Values that could not be cleaned (invalid email, impossible phone, unreadable date, …)")
row2[1].metric("Open pipeline", shared.money(m["open_pipeline"]), border=True,
               help=f"{m['open_deals']:,} open deals; weighted by probability: {shared.money(m['open_weighted'])}")
row2[2].metric("Weighted pipeline", shared.money(m["open_weighted"]), border=True,
               help="Sum of amount × win probability over open deals")
rev_help = (f"Orders from {m['revenue_from']} to {m['revenue_to']} (the 12 months up to the latest order)"
            if m["revenue_to"] else "No dated orders in the store")
row2[3].metric("Revenue, last 12 months", shared.money(m["revenue_12m"]), border=True, help=rev_help)
shared.currency_note(t["orders"])

left, right = st.columns(2)
with left:
    st.subheader("Revenue by segment")
    if t["orders"].empty:
        st.caption("No orders in the store: segments need order history.")
    else:
        try:
            from crmkit.analytics import rfm, segment_summary
            from crmkit.analytics.charts import segment_chart

            r = rfm(t["orders"])
            if r.empty:
                st.caption("No orders linked to contacts yet.")
            else:
                st.altair_chart(segment_chart(segment_summary(r)), width="stretch")
                st.page_link("app_pages/segments.py", label="Explore segments", icon=":material/donut_small:")
        except CrmkitError as exc:
            st.error(str(exc))
        except ImportError as exc:
            st.warning(f"Segment analytics are not available in this installation ({exc}).")
with right:
    st.subheader("Pipeline by stage")
    if t["deals"].empty:
        st.caption("No deals in the store.")
    else:
        try:
            from crmkit.analytics.charts import stage_chart
            from crmkit.analytics.pipeline import stage_summary

            st.altair_chart(stage_chart(stage_summary(t["deals"])), width="stretch")
            st.page_link("app_pages/pipeline.py", label="Open the pipeline board", icon=":material/view_kanban:")
        except CrmkitError as exc:
            st.error(str(exc))
        except ImportError as exc:
            st.warning(f"Pipeline analytics are not available in this installation ({exc}).")

with st.expander("Recent activity", icon=":material/history:"):
    audit = shared.table(store, "audit_log")
    if audit.empty:
        st.caption("Nothing recorded yet.")
    else:
        st.dataframe(audit.sort_values("at", ascending=False).head(50), hide_index=True, width="stretch")
