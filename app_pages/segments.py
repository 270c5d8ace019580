"""Segments: RFM scores and segments from the order history; browse, download and tag a segment."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages import _shared as shared
from crmkit.analytics import export_segments, rfm, segment_summary, tag_contacts
from crmkit.analytics.charts import distribution_chart, rf_heatmap, segment_chart
from crmkit.errors import CrmkitError

shared.page_header("Segments", "Customers scored on Recency, Frequency and Monetary value (RFM) "
                               "from their orders, and named by segment.")
store = shared.require_store()



@st.cache_data(show_spinner="Scoring customers…", max_entries=8)
def _rfm(url: str, change_counter: int, as_of: dt.date | None) -> pd.DataFrame:
    orders = shared.table(shared.get_store(url), "orders")
    return rfm(orders, as_of=as_of)


def _export(frame: pd.DataFrame, suffix: str):
    """The download, built only when its button is clicked (deferred), via export_segments."""
    def build() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            return export_segments(frame, Path(tmp) / f"segment{suffix}").read_bytes()

    return build


@st.cache_data(show_spinner=False, max_entries=8)
def _customers(url: str, change_counter: int, as_of: dt.date | None, segment: str) -> pd.DataFrame:
    r = _rfm(url, change_counter, as_of)
    sel = r[r["segment"].astype(str) == segment]
    contacts = shared.table(shared.get_store(url), "contacts")
    info = contacts[["contact_id", "full_name", "email", "phone", "company", "country"]]
    return info.merge(sel, on="contact_id", how="right")


orders = shared.table(store, "orders")
if orders.empty:
    shared.empty_state("No orders in this store: RFM segments need an order history (customer, date, amount).")
    st.stop()

dates = pd.to_datetime(orders["order_date"], errors="coerce", format="ISO8601").dropna()
default_as_of = (dates.max() + pd.Timedelta(days=1)).date() if len(dates) else dt.date.today()
c1, _ = st.columns([1, 3])
as_of = c1.date_input("As of", value=default_as_of, key="seg_as_of",
                      help="Only orders before this day count. Default: the day after the latest order.")
try:
    r = _rfm(store.target, shared.counter(store), as_of)
except CrmkitError as exc:
    st.error(str(exc))
    st.stop()
if r.empty:
    st.info("No customer had an order before this date.")
    st.stop()

summary = segment_summary(r)
a = r.attrs
st.caption(f"{len(r):,} customers scored from {a.get('orders_used', 0):,} orders as of {a.get('as_of')}"
           + (f" · {a['skipped_no_customer']:,} orders without a linked customer"
              if a.get("skipped_no_customer") else "")
           + (f" · {a['skipped_after_as_of']:,} orders after the date left out"
              if a.get("skipped_after_as_of") else ""))
shared.currency_note(orders)

counts = pd.to_numeric(summary["customers"], errors="coerce").fillna(0)
empty_segments = summary.loc[counts == 0, "segment"].astype(str).tolist()
shown = summary[counts > 0].copy()
for col in ("revenue", "mean_monetary"):   # whole money units read better; the downloads keep the cents
    if col in shown:
        shown[col] = pd.to_numeric(shown[col], errors="coerce").round(0)
st.dataframe(shown, hide_index=True, width="stretch", key="seg_summary",
                 column_config={
                     "share": st.column_config.NumberColumn("share", format="percent"),
                     "revenue_share": st.column_config.NumberColumn("revenue share", format="percent"),
                     "revenue": st.column_config.NumberColumn("revenue", format="localized"),
                     "mean_recency_days": st.column_config.NumberColumn("avg recency (days)", format="%.0f"),
                     "mean_frequency": st.column_config.NumberColumn("avg orders", format="%.1f"),
                     "mean_monetary": st.column_config.NumberColumn("avg spend", format="localized"),
                 })
if empty_segments:
    st.caption("No customer in: " + ", ".join(empty_segments) + ".")
left, right = st.columns([3, 2])
with left:
    st.altair_chart(segment_chart(summary), width="stretch")
with right:
    st.altair_chart(rf_heatmap(r), width="content")
    metric = st.segmented_control("Distribution", ["recency", "frequency", "monetary"], default="recency",
                                  key="seg_metric")
    st.altair_chart(distribution_chart(r, metric or "recency"), width="stretch")

st.divider()
st.subheader("Customers in a segment")
present = summary.loc[counts > 0, "segment"].tolist()
segment = st.selectbox("Segment", present, key="seg_pick",
                       format_func=lambda s: f"{s} ({int(summary.set_index('segment').loc[s, 'customers']):,})")
if segment:
    members = _customers(store.target, shared.counter(store), as_of, segment)
    st.dataframe(members.head(1000), hide_index=True, width="stretch")
    if len(members) > 1000:
        st.caption(f"Showing 1,000 of {len(members):,}; the downloads hold all of them.")
    d1, d2, d3 = st.columns([1, 1, 2])
    slug = str(segment).lower().replace(" ", "_")
    d1.download_button("Download CSV", _export(members, ".csv"),
                       file_name=f"segment_{slug}.csv", mime="text/csv", key="seg_csv", icon=":material/download:")
    d2.download_button("Download XLSX", _export(members, ".xlsx"),
                       file_name=f"segment_{slug}.xlsx", key="seg_xlsx", icon=":material/download:",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

st.divider()
st.subheader("Tag contacts with their segment")
st.write("Writes each scored customer's segment into the contact's tags as `rfm:<segment>` "
         "(an older `rfm:` tag is replaced, other tags are kept). Tags can then be filtered on the Contacts page "
         "and exported to your CRM.")
if st.button("Tag all scored contacts", key="seg_tag", icon=":material/sell:"):
    with shared.errors_shown():
        try:
            res = tag_contacts(store, r)
        finally:
            shared.after_write(store)
        st.success(f"Tagged {res['updated']:,} contacts ({res['unchanged']:,} already had this tag"
                   + (f"; {res['missing']:,} customers are not in contacts" if res.get("missing") else "") + ").")
