"""Contacts: search and filter the golden records, see where each value came from, edit, unmerge, export."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import _shared as shared
from crmkit import curate
from crmkit.app_support import (NO_ORDERS, contact_detail, contact_history, contact_segments, record_files,
                                search_contacts, search_haystack, split_tags)
from crmkit.curate import EDITABLE_FIELDS
from crmkit.errors import CrmkitError
from crmkit.workbook import neutralise_frame

PAGE_SIZE = 200
LIST_COLUMNS = ["full_name", "email", "phone", "company", "city", "country", "segment", "tags", "n_sources",
                "contact_id"]

shared.page_header("Contacts", "Golden records: one row per customer, each value traceable to the rows it came from.")
store = shared.require_store()
url, cc = store.target, shared.counter(store)


@st.cache_data(show_spinner=False, max_entries=4)
def _index(url: str, change_counter: int) -> dict:
    """The contacts with their RFM segment, the search text and the filter options (one cache entry)."""
    store = shared.get_store(url)
    contacts = shared.table(store, "contacts")
    records = record_files(store)
    segment_note = None
    try:
        scores = shared.rfm_scores(store)
    except (CrmkitError, ImportError) as exc:   # segments unavailable: every other filter still works
        scores, segment_note = None, shared.error_text(exc)
    contacts["segment"] = contact_segments(contacts, scores)
    seg_counts = contacts["segment"].value_counts(sort=False)
    return {
        "contacts": contacts,
        "haystack": search_haystack(contacts),
        "countries": sorted(contacts["country"].dropna().astype(str).unique()) if len(contacts) else [],
        "tags": split_tags(contacts["tags"]) if len(contacts) else [],
        "files": sorted(records["source_file"].dropna().astype(str).unique()) if len(records) else [],
        "records": records,
        "segments": {str(k): int(v) for k, v in seg_counts.items() if v > 0},
        "segment_note": segment_note,
        "as_of": scores.attrs.get("as_of") if scores is not None else None,
    }


@st.cache_data(show_spinner=False, max_entries=16)
def _filtered(url: str, change_counter: int, query: str, countries: tuple, tags: tuple, files: tuple,
              segments: tuple) -> pd.DataFrame:
    ix = _index(url, change_counter)
    return search_contacts(ix["contacts"], query, countries=countries, tags=tags, source_files=files,
                           records=ix["records"], haystack=ix["haystack"], segments=segments)


@st.cache_data(show_spinner=False, max_entries=16)
def _history(url: str, change_counter: int, contact_id: str, record_ids: tuple) -> pd.DataFrame:
    return contact_history(shared.get_store(url), contact_id, record_ids)


def _csv(frame: pd.DataFrame):
    """The export, built only when the button is clicked (deferred download)."""
    return lambda: neutralise_frame(frame).to_csv(index=False).encode("utf-8-sig")


ix = _index(url, cc)
contacts = ix["contacts"]
if contacts.empty:
    shared.empty_state("No contacts in this store yet.")
    st.stop()

seg_counts = ix["segments"]
f1, f2, f3, f4, f5 = st.columns([3, 1, 1, 1, 1])
query = f1.text_input("Search", key="contacts_q", placeholder="name, email, phone or company",
                      help="Every word must match; case and accents are ignored; phone digits match any formatting.")
countries = f2.multiselect("Country", ix["countries"], key="contacts_country")
segments = f3.multiselect(
    "RFM segment", list(seg_counts), key="contacts_segment", format_func=lambda s: f"{s} ({seg_counts.get(s, 0):,})",
    disabled=ix["segment_note"] is not None,
    help=(f"Segments not available: {ix['segment_note']}" if ix["segment_note"] else
          f"The contact's RFM segment from all orders as of {ix['as_of']} (the Segments page's default day); "
          f"'{NO_ORDERS}' for contacts without a purchase."))
tags = f4.multiselect("Tag", ix["tags"], key="contacts_tags",
                      help="Tags stored on the contact; rfm: tags hold the segment from when they were tagged.")
files = f5.multiselect("Source file", ix["files"], key="contacts_files")
args = (url, cc, query.strip(), tuple(countries), tuple(tags), tuple(files), tuple(segments))
found = _filtered(*args)

n = len(found)
pages = max(1, -(-n // PAGE_SIZE))
h1, h2, h3 = st.columns([2, 1, 1])
h1.markdown(f"**{n:,}** of {len(contacts):,} contacts")
page_no = h2.number_input("Page", 1, pages, 1, key="contacts_page", label_visibility="collapsed") if pages > 1 else 1
h3.download_button("Export CSV", _csv(found) if n else b"", file_name="contacts.csv", mime="text/csv",
                   key="contacts_export", icon=":material/download:", disabled=not n, width="stretch",
                   help="The filtered contacts as UTF-8 CSV; cells that a spreadsheet would run as formulas "
                        "are neutralised.")
shown = found.iloc[(page_no - 1) * PAGE_SIZE: page_no * PAGE_SIZE]
view = shown.reindex(columns=[c for c in LIST_COLUMNS if c in shown.columns]).reset_index(drop=True)
event = st.dataframe(view, key="contacts_table", on_select="rerun", selection_mode="single-row", hide_index=True,
                     width="stretch", height=min(420, 38 + 35 * max(len(view), 1)),
                     column_config={"full_name": "Name", "n_sources": st.column_config.NumberColumn("Sources"),
                                    "segment": "Segment",
                                    "contact_id": st.column_config.TextColumn("Id", width="small")})
if pages > 1:
    st.caption(f"Page {page_no} of {pages} ({PAGE_SIZE} per page). Narrow the list with search and filters.")

# the table selection drives the picker below (the picker also works without a mouse, and in tests)
ids = list(view["contact_id"])
rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
if rows and rows[0] < len(ids):
    picked_in_table = ids[rows[0]]
    if st.session_state.get("contacts_last_table_pick") != picked_in_table:
        st.session_state["contacts_last_table_pick"] = picked_in_table
        st.session_state["contacts_pick"] = picked_in_table
if st.session_state.get("contacts_pick") not in ids:
    st.session_state.pop("contacts_pick", None)
labels = dict(zip(view["contact_id"], view["full_name"].astype(object).fillna("(no name)").astype(str)
                  + "  ·  " + view["email"].astype(object).fillna("").astype(str)))
if not ids:
    st.info("No contact matches the search and filters.")
    st.stop()
cid = st.selectbox("Contact", ids, format_func=lambda c: labels.get(c, c), key="contacts_pick", index=None,
                   placeholder="Select a row above, or pick a contact here")
if cid is None:
    st.stop()

try:
    d = contact_detail(store, cid)
except CrmkitError as exc:
    st.error(str(exc))
    st.stop()
golden = d["contact"].iloc[0]
st.divider()
top_l, top_r = st.columns([3, 1])
top_l.subheader(str(golden.get("full_name") or "(no name)"))
seg_of = contacts.loc[contacts["contact_id"] == cid, "segment"]
top_l.caption(f"Contact {cid} · from {len(d['records'])} source record(s) · "
              + (f"RFM segment {seg_of.iloc[0]} · " if len(seg_of) and ix["segment_note"] is None else "")
              + f"updated {golden.get('updated_at') or '–'}")


def _unmerge(contact_id: str) -> None:
    try:
        new_ids = curate.unmerge(store, contact_id, actor=shared.actor())
        st.session_state["contacts_flash"] = ("success", f"Split into {len(new_ids)} contacts.")
        st.session_state.pop("contacts_pick", None)
    except (CrmkitError, ImportError) as exc:
        st.session_state["contacts_flash"] = ("error", shared.error_text(exc))
    finally:
        shared.after_write(store)


top_r.button("Unmerge", key="contacts_unmerge", icon=":material/call_split:", on_click=_unmerge, args=(cid,),
             disabled=len(d["records"]) < 2, width="stretch",
             help="Split this contact back into one contact per source record (remembered on re-imports)")
flash = st.session_state.pop("contacts_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])

tabs = st.tabs(["Golden record", "Source rows", "Which value won", "Conflicts", "Emails & phones",
                "Deals & orders", "Edit"])
with tabs[0]:
    rec = golden.drop(labels=["emails", "phones"], errors="ignore")
    rec = rec[rec.notna() & (rec.astype(str) != "")]
    st.dataframe(pd.DataFrame({"field": rec.index, "value": rec.astype(str).values}), hide_index=True,
                 width="stretch")
with tabs[1]:
    st.caption("Every row this contact came from, with the values exactly as they were in the file.")
    st.dataframe(d["source_rows"], hide_index=True, width="stretch")
    with st.expander("Cleaned source records"):
        st.dataframe(d["records"], hide_index=True, width="stretch")
with tabs[2]:
    if d["lineage"].empty:
        st.caption("No lineage stored for this contact.")
    else:
        st.caption("For each field of the golden record: the value that won, the survivorship rule, and its row.")
        st.dataframe(d["lineage"].drop(columns=["contact_id"]), hide_index=True, width="stretch")
with tabs[3]:
    if d["conflicts"].empty:
        st.caption("The source rows agree: no conflicting values.")
    else:
        st.dataframe(d["conflicts"].drop(columns=["contact_id"]), hide_index=True, width="stretch")
with tabs[4]:
    if d["values"].empty:
        st.caption("No emails or phones stored.")
    else:
        st.dataframe(d["values"].drop(columns=["contact_id"]), hide_index=True, width="stretch")
with tabs[5]:
    st.markdown(f"**Deals** ({len(d['deals'])})")
    if len(d["deals"]):
        st.dataframe(d["deals"][[c for c in ("name", "stage", "amount", "currency", "close_date", "owner")
                                 if c in d["deals"]]], hide_index=True, width="stretch")
    st.markdown(f"**Orders** ({len(d['orders'])})")
    if len(d["orders"]):
        st.dataframe(d["orders"][[c for c in ("order_id", "order_date", "amount", "currency", "status", "product")
                                  if c in d["orders"]]], hide_index=True, width="stretch")
with tabs[6]:
    e1, e2 = st.columns([1, 2])
    field = e1.selectbox("Field", EDITABLE_FIELDS, key="contacts_edit_field")
    current = golden.get(field)
    value = e2.text_input("New value", value="" if current is None or pd.isna(current) else str(current),
                          key=f"contacts_edit_value_{cid}_{field}", help="Empty clears the field.")
    if st.button("Save", key="contacts_edit_save", type="primary", icon=":material/save:"):
        with shared.errors_shown():
            try:
                curate.edit_contact(store, cid, field, value.strip() or None, actor=shared.actor())
            finally:
                shared.after_write(store)
            st.session_state["contacts_flash"] = ("success", f"Saved {field} (recorded in the history; "
                                                             "kept when files are imported again).")
            st.rerun()
    st.markdown("**History**")
    hist = _history(url, cc, cid, tuple(sorted(d["records"]["record_id"].astype(str))))
    if hist.empty:
        st.caption("No edits, merges or splits recorded for this contact yet.")
    else:
        st.caption("Edits, merges and splits of this contact and its source records, newest first.")
        st.dataframe(hist, hide_index=True, width="stretch", key="contacts_history",
                     column_config={"at": "When", "action": "What", "actor": "By", "details": "Details"})
