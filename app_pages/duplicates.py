"""Duplicates: the review queue, one pair at a time; threshold preview; manual merge and unmerge."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app_pages import _shared as shared
from crmkit import curate
from crmkit.app_support import current_thresholds, explanation_chart, side_by_side, threshold_preview
from crmkit.errors import CrmkitError
from crmkit.review import SIDE_FIELDS, explanation_frame, review_table

shared.page_header("Duplicates", "Pairs the matcher was unsure about wait here for a person. "
                                 "Every decision is saved at once and kept when files are imported again.")
store = shared.require_store()

COLOURS = {"equal": "#d7f0df", "similar": "#fdebc8", "different": "#f8d4d2", "missing": "", "source": ""}
SKIPPED = "dup_skipped"
st.session_state.setdefault(SKIPPED, [])


@st.cache_data(show_spinner=False, max_entries=8)
def _open_pairs(url: str, change_counter: int) -> pd.DataFrame:
    t = shared.tables(shared.get_store(url), "review_queue", "contact_records", "match_pairs")
    if t["review_queue"].empty:
        return pd.DataFrame(columns=["record_id_l", "record_id_r", "match_probability", "explanation"])
    return review_table(t, status="open")


def _decide(left: str, right: str, accept: bool) -> None:
    try:
        curate.decide(store, left, right, accept=accept, actor=shared.actor())
    except (CrmkitError, ImportError) as exc:
        st.session_state["dup_flash"] = ("error", shared.error_text(exc))
        return
    finally:
        shared.after_write(store)
    st.session_state["dup_flash"] = ("success", "Merged: the two records are now one contact." if accept
                                     else "Rejected: these two records will never be merged.")


def _skip(left: str, right: str) -> None:
    st.session_state[SKIPPED] = [*st.session_state[SKIPPED], [left, right]]
    st.session_state["dup_flash"] = ("info", "Skipped for now: the pair stays in the queue.")


def _n_records(v) -> int | None:
    try:
        return len(json.loads(v)) if v else None
    except (TypeError, ValueError):
        return None


def _style(frame: pd.DataFrame):
    def colour(row):
        c = COLOURS.get(row["match"], "")
        css = f"background-color: {c}" if c else ""
        return ["", css, css, css]

    return frame.style.apply(colour, axis=1)


pairs = _open_pairs(store.target, shared.counter(store))
skipped = {tuple(p) for p in st.session_state[SKIPPED]}
queue = pairs[[(a, b) not in skipped for a, b in zip(pairs["record_id_l"], pairs["record_id_r"])]] \
    if len(pairs) else pairs

flash = st.session_state.pop("dup_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])

tab_review, tab_thresholds, tab_manual = st.tabs(["Review queue", "Thresholds", "Merge / unmerge by id"])

with tab_review:
    c1, c2, c3 = st.columns(3)
    c1.metric("Pairs left to review", f"{len(pairs):,}")
    c2.metric("Skipped this session", f"{len(pairs) - len(queue):,}")
    c3.metric("Decisions so far", f"{len(shared.table(store, 'decisions')):,}")
    if pairs.empty:
        st.success("Nothing to review: every possible duplicate has been decided.", icon=":material/task_alt:")
    elif queue.empty:
        st.info("You skipped the remaining pairs.")
        if st.button("Show skipped pairs again", key="dup_unskip"):
            st.session_state[SKIPPED] = []
            st.rerun()
    else:
        pair = queue.iloc[0]
        left, right = str(pair["record_id_l"]), str(pair["record_id_r"])
        prob = pd.to_numeric(pair.get("match_probability"), errors="coerce")
        st.progress(float(prob) if pd.notna(prob) else 0.0,
                    text=f"Pair 1 of {len(queue):,} — match probability "
                         f"{float(prob):.0%}" if pd.notna(prob) else "match probability unknown")
        fields = [f for f in SIDE_FIELDS if f"{f}_l" in pair.index]
        sbs = side_by_side(pair, fields)
        sbs = sbs.rename(columns={"left": f"left ({left})", "right": f"right ({right})"})
        col_table, col_expl = st.columns([3, 2])
        with col_table:
            st.dataframe(_style(sbs), hide_index=True, width="stretch", key="dup_pair_table",
                         column_config={"match": st.column_config.TextColumn("match", width="small")})
            st.caption("Green: equal · amber: similar · red: different · "
                       "blank: one side empty, or where the row came from.")
        with col_expl:
            expl = explanation_frame(pair.get("explanation") if isinstance(pair.get("explanation"), str) else None)
            if expl.empty:
                st.caption("No per-field explanation stored for this pair.")
            else:
                st.altair_chart(explanation_chart(expl), width="stretch")
        b1, b2, b3, _ = st.columns([1, 1, 1, 2])
        b1.button("Accept — merge", key="dup_accept", type="primary", icon=":material/merge:", shortcut="A",
                  on_click=_decide, args=(left, right, True), width="stretch",
                  help="These are the same customer: merge them (shortcut A)")
        b2.button("Reject — never merge", key="dup_reject", icon=":material/block:", shortcut="N",
                  on_click=_decide, args=(left, right, False), width="stretch",
                  help="Different customers: never merge these two (shortcut N)")
        b3.button("Skip", key="dup_skip", icon=":material/skip_next:", shortcut="S",
                  on_click=_skip, args=(left, right), width="stretch",
                  help="Decide later; the pair stays in the queue (shortcut S)")
        st.caption("Keyboard: **A** accept · **N** never (reject) · **S** skip.")

with tab_thresholds:
    mp = shared.table(store, "match_pairs")
    if mp.empty:
        st.info("No scored pairs are stored (the store was built without deduplication, or is empty).")
    else:
        batches = shared.table(store, "batches")
        settings = batches["settings"].iloc[-1] if len(batches) else None
        review_at, merge_at = current_thresholds(mp, settings)
        st.write(f"The last run sent pairs with probability ≥ **{merge_at:.2f}** to auto-merge and "
                 f"≥ **{review_at:.2f}** to review. Try other thresholds to see how many of the "
                 f"{len(mp):,} stored pairs would move. This is a preview only; nothing is changed.")
        lo, hi = st.slider("Review from … auto-merge from (match probability)", 0.0, 1.0,
                           (float(review_at), float(merge_at)), step=0.01, key="dup_thresholds")
        table = threshold_preview(mp, lo, hi)
        moved = int(table.to_numpy().sum() - sum(table.iat[i, i] for i in range(len(table))))
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Auto-merge", f"{int(table['auto-merge'].sum()):,}",
                  delta=int(table["auto-merge"].sum() - table.loc["auto-merge"].sum()), delta_color="off")
        m2.metric("Review", f"{int(table['review'].sum()):,}",
                  delta=int(table["review"].sum() - table.loc["review"].sum()), delta_color="off")
        m3.metric("No match", f"{int(table['no match'].sum()):,}",
                  delta=int(table["no match"].sum() - table.loc["no match"].sum()), delta_color="off")
        m4.metric("Pairs that would move", f"{moved:,}")
        st.dataframe(table, width="content")
        st.caption("Rows: band now · columns: band with the thresholds above. "
                   "To apply new thresholds, migrate again with matching settings that use them.")

with tab_manual:
    mcol, ucol = st.columns(2)
    with mcol:
        st.subheader("Merge two contacts")
        a = st.text_input("Contact id to keep", key="dup_merge_a", placeholder="C…")
        b = st.text_input("Contact id to merge into it", key="dup_merge_b", placeholder="C…")
        if st.button("Merge", key="dup_merge_btn", icon=":material/merge:", disabled=not (a and b)):
            with shared.errors_shown():
                try:
                    survivor = curate.merge_contacts(store, [a.strip(), b.strip()], actor=shared.actor())
                finally:
                    shared.after_write(store)
                st.success(f"Merged into contact {survivor}.")
    with ucol:
        st.subheader("Unmerge a contact")
        u = st.text_input("Contact id", key="dup_unmerge_id", placeholder="C…",
                          help="Splits the contact back into one contact per source record; "
                               "the split is remembered on later imports.")
        if st.button("Unmerge", key="dup_unmerge_btn", icon=":material/call_split:", disabled=not u):
            with shared.errors_shown():
                try:
                    new_ids = curate.unmerge(store, u.strip(), actor=shared.actor())
                finally:
                    shared.after_write(store)
                st.success(f"Split into {len(new_ids)} contacts: {', '.join(new_ids)}")
    hist = shared.table(store, "merge_history")
    if len(hist):
        with st.expander("Merge history", icon=":material/history:"):
            h = hist.sort_values("at", ascending=False).head(200)
            h = h.assign(records=h["record_ids"].map(_n_records))
            st.dataframe(h.drop(columns=["record_ids"]), hide_index=True, width="stretch")
