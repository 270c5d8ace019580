"""Export: write the store in a CRM's import format (HubSpot, Salesforce, Odoo) or as plain CSV/XLSX,
and download the files as one zip with the README that says in which order to import them."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app_pages import _shared as shared
from crmkit.export import DEFAULT_MAX_ROWS, TARGETS, export
from crmkit.app_support import MASK_CHOICES, export_archive, export_file_table, segment_and_tag_options
from crmkit.errors import CrmkitError

shared.page_header("Export", "Files in the import layout of the CRM you migrate to, with a README of the "
                             "import order. Same as `crmkit export STORE --to TARGET --out DIR`.")
store = shared.require_store()


LABELS = {"hubspot": "HubSpot", "salesforce": "Salesforce", "odoo": "Odoo", "csv": "CSV", "xlsx": "Excel (XLSX)"}
RESULT = "exp_result"

t = shared.tables(store, "contacts", "deals", "orders")
if t["contacts"].empty:
    shared.empty_state("No contacts in this store yet: import files first, then export them.")
    st.stop()
segments, tags = segment_and_tag_options(t["contacts"])

# ------------------------------------------------------------------------------------------ options
target = st.segmented_control("Target", list(TARGETS), default="hubspot", key="exp_target",
                              format_func=lambda k: LABELS.get(k, k)) or "hubspot"
st.caption(f"**{LABELS.get(target, target)}**: {TARGETS[target]}.")

left, right = st.columns(2)
with left:
    st.markdown("**Which contacts**")
    sel_segments = st.multiselect("RFM segments", segments, key="exp_segments", placeholder="all segments",
                                  disabled=not segments,
                                  help="Contacts tagged rfm:<segment> (tag them on the Segments page).")
    if not segments:
        st.caption("No contact carries an RFM segment yet: use *Tag all scored contacts* on the Segments page.")
    sel_tags = st.multiselect("Tags", tags, key="exp_tags", placeholder="all tags", disabled=not tags)
    st.caption("With segments or tags chosen, contacts with **any** of them are exported, with their "
               "companies and deals.")
with right:
    st.markdown("**Privacy and file size**")
    mask = st.multiselect("Mask these columns (PII)", MASK_CHOICES, key="exp_mask", placeholder="no masking",
                          help="For a test import: masked values are replaced wherever they appear "
                               "(an email also in deals and orders).")
    mode = st.radio("Masking", ["hash", "redact"], key="exp_mask_mode", horizontal=True, disabled=not mask,
                    format_func={"hash": "stable pseudonym (links stay intact)", "redact": "empty cell"}.get)
    default_rows = DEFAULT_MAX_ROWS.get(target)
    max_rows = st.number_input("Split files at this many rows", min_value=0, step=1000, value=0, key="exp_max_rows",
                               help="0: the target's own limit"
                                    + (f" ({default_rows:,} rows per file)." if default_rows else " (no limit)."))

settings = {"target": target, "segments": tuple(sel_segments), "tags": tuple(sel_tags), "mask": tuple(mask),
            "mode": mode, "max_rows": int(max_rows), "counter": shared.counter(store)}

if st.button("Run export", type="primary", key="exp_run", icon=":material/output:"):
    st.session_state.pop(RESULT, None)
    with st.spinner(f"Writing the {LABELS.get(target, target)} files…"):
        try:
            with tempfile.TemporaryDirectory(prefix="crmkit-export-") as tmp:
                out = Path(tmp) / f"crmkit_{target}"
                result = export(dict(t), target, out, segments=list(sel_segments) or None,
                                tags=list(sel_tags) or None, mask=list(mask) or None, mask_mode=mode,
                                max_rows=int(max_rows) or None)
                st.session_state[RESULT] = {
                    "settings": settings, "zip": export_archive(result), "files": export_file_table(result),
                    "readme": result.readme.read_text(encoding="utf-8") if result.readme.exists() else "",
                    "counts": dict(result.counts), "warnings": list(result.warnings), "masked": list(result.masked),
                }
        except (CrmkitError, ImportError) as exc:
            st.error(shared.error_text(exc), icon=":material/error:")

# ------------------------------------------------------------------------------------------ result
res = st.session_state.get(RESULT)
if res is None:
    st.info("Choose the target and options, then run the export. Nothing is sent anywhere: you download the "
            "files and import them into your CRM yourself.", icon=":material/info:")
    st.stop()
if res["settings"] != settings:
    st.caption("The options (or the store) changed since this export ran; run it again to refresh the files.")

done = res["settings"]
st.success(f"Export for {LABELS.get(done['target'], done['target'])} written: {len(res['files'])} files.",
           icon=":material/task_alt:")
cols = st.columns(max(len(res["counts"]), 1))
for col, (entity, n) in zip(cols, res["counts"].items()):
    col.metric(entity.capitalize(), f"{n:,}", border=True)
for w in res["warnings"]:
    st.warning(w, icon=":material/warning:")
if res["masked"]:
    st.caption("Masked columns: " + ", ".join(res["masked"]))
f1, f2 = st.columns([2, 1])
f1.dataframe(res["files"], hide_index=True, width="stretch", key="exp_files",
             column_config={"rows": "data rows", "size_kb": "size (KB)"})
f2.download_button("Download all files (zip)", res["zip"], file_name=f"crmkit_{done['target']}_export.zip",
                   mime="application/zip", key="exp_zip", type="primary", icon=":material/download:",
                   width="stretch")
st.subheader("README.md")
with st.container(border=True, key="exp_readme"):
    st.markdown(res["readme"] or "_(no README written)_")
