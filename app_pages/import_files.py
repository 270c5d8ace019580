"""Import: upload spreadsheets, check how they are read and mapped, preview the cleaning, migrate."""
from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages import _shared as shared
from crmkit.mapping import Mapping, SheetMapping, apply_mapping, map_sheets
from crmkit.read import read
from crmkit.errors import CrmkitError
from crmkit.schema import ENTITIES, ISSUE_COLUMNS

TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "ods"]
KEEP = "(keep as extra)"
NOT_CUSTOMER_DATA = "(not customer data)"
PREVIEW_ROWS = 50
FULL_CHECK_ROWS = 20_000   # files up to this size are checked completely while you map; larger ones on request

shared.page_header("Import", "Upload customer spreadsheets (CSV, TXT, XLSX, ODS; several at once). "
                             "Check how each is read and mapped, then migrate them into the open store.")
store = shared.require_store()
max_mb = st.get_option("server.maxUploadSize")
st.caption(f"Files up to {max_mb:,} MB each (set `server.maxUploadSize` in .streamlit/config.toml). "
           "Uploads are only saved to a temporary folder and read as data, never executed; "
           "the folder is deleted after each read.")



def _safe_name(name: str) -> str:
    """The uploaded file's base name without any directory parts or control characters."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f/]", "_", base).strip(". ") or "upload"
    return base[:200]


def _describe(exc: Exception, name: str) -> str:
    if isinstance(exc, CrmkitError):
        where = [name] + ([f"sheet {exc.sheet!r}"] if exc.sheet else []) + ([f"row {exc.row}"] if exc.row else [])
        return f"{', '.join(where)}: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")
    return f"{name}: could not be read ({type(exc).__name__}: {exc})"


@st.cache_data(show_spinner="Reading…", max_entries=32)
def _read_upload(name: str, digest: str, _data: bytes):
    """Read one uploaded file (cached by content hash): ('ok', [RawSheet]) or ('error', message)."""
    with tempfile.TemporaryDirectory(prefix="crmkit-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(_data)
        try:
            return "ok", read(path)
        except Exception as exc:  # a bad file must not stop the others: report it by name
            return "error", _describe(exc, name)


@st.cache_data(show_spinner="Reading with the chosen header row…", max_entries=32)
def _reread(name: str, digest: str, sheet: str, header_row: int, _data: bytes):
    """One sheet read again with another header row (cached): ('ok', RawSheet) or ('error', message)."""
    from crmkit.app_support import reread_sheet

    with tempfile.TemporaryDirectory(prefix="crmkit-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(_data)
        try:
            return "ok", reread_sheet(path, sheet, header_row)
        except Exception as exc:  # e.g. the row is empty: say so, keep the detected header
            return "error", _describe(exc, name)


@st.cache_data(show_spinner="Cleaning…", max_entries=64)
def _clean(digest: str, sheet_index: int, mapping_json: str, region: str | None, full: bool, _raw):
    """Cleaned preview rows and the issues of one sheet under a mapping (cached)."""
    from crmkit.clean import clean

    sm = Mapping.from_json(mapping_json).sheets[0]
    raw = _raw
    if not full and len(raw.frame) > PREVIEW_ROWS:
        from dataclasses import replace

        raw = replace(raw, frame=raw.frame.head(PREVIEW_ROWS),
                      kinds=raw.kinds.head(PREVIEW_ROWS) if raw.kinds is not None else None)
    mapped = apply_mapping(raw, sm)
    cleaned, issues = clean(mapped.frame, sm.entity, kinds=mapped.kinds, region=region)
    read_issues = _raw.issues if _raw.issues is not None else pd.DataFrame(columns=ISSUE_COLUMNS)
    issues = pd.concat([read_issues, issues.reindex(columns=ISSUE_COLUMNS)], ignore_index=True)
    return cleaned.head(PREVIEW_ROWS), issues.reindex(columns=ISSUE_COLUMNS)


def _options(entity: str | None) -> list[str]:
    return [KEEP] + (ENTITIES[entity].field_names if entity else [])


# ------------------------------------------------------------------------------------------ inputs
uploads = st.file_uploader("Spreadsheets", type=TYPES, accept_multiple_files=True, key="imp_files")
o1, o2, o3 = st.columns([2, 1, 1])
saved = o1.file_uploader("Saved mapping (optional JSON)", type=["json"], key="imp_mapping_file",
                         help="A mapping downloaded from this page or written by `crmkit map --save`.")
region = o2.text_input("Default phone region", key="imp_region", max_chars=2, placeholder="e.g. DE",
                       help="Two-letter country used for phone numbers written without +country code.")
dedupe = o3.toggle("Find duplicates", value=True, key="imp_dedupe")

given_mapping = None
if saved is not None:
    try:
        given_mapping = Mapping.from_json(saved.getvalue().decode("utf-8-sig"), source=saved.name)
        st.success(f"Using the saved mapping for {len(given_mapping.sheets)} sheet(s) where it fits.")
    except (CrmkitError, UnicodeDecodeError) as exc:
        st.error(_describe(exc, saved.name) if isinstance(exc, CrmkitError) else f"{saved.name}: not UTF-8 text")

last = st.session_state.get("imp_result")
if not uploads:
    if last:
        st.success("Last migration finished.")
        st.code(last["text"], language=None)
    st.info("Drop files above to start. Try the files in `sample_data/` (e.g. tradeshow_leads_2023.csv).",
            icon=":material/upload_file:")
    st.stop()

# ------------------------------------------------------------------------------------------ read
files: list[tuple[str, bytes, list]] = []
seen: set[str] = set()
for up in uploads:
    name = _safe_name(up.name)
    if name in seen:
        st.warning(f"{name}: uploaded twice; only the first copy is used.")
        continue
    seen.add(name)
    data = up.getvalue()
    digests = st.session_state.setdefault("imp_digests", {})
    digest = digests.get(up.file_id) or hashlib.sha256(data).hexdigest()   # hash each upload once
    digests[up.file_id] = digest
    status, payload = _read_upload(name, digest, data)
    if status == "error":
        st.error(payload, icon=":material/error:")
        continue
    if not payload:
        st.warning(f"{name}: no sheet with data found.")
        continue
    files.append((name, data, [(digest, i, raw) for i, raw in enumerate(payload)]))

if not files:
    st.stop()

# ------------------------------------------------------------------------------------------ map
entity_names = list(ENTITIES)
sheet_mappings: list[SheetMapping] = []
header_rows: dict[tuple[str, str], int] = {}   # (file, sheet) -> header row chosen by hand
previews = []


def _guess(name: str, raws: list) -> list[SheetMapping]:
    try:
        return map_sheets(raws, given_mapping).sheets
    except CrmkitError as exc:  # the saved mapping does not fit this file: say so, fall back to guessing
        st.warning(_describe(exc, name) + " — using the detected mapping instead.")
        return map_sheets(raws).sheets


for name, data, sheets in files:
    inferred = _guess(name, [raw for _d, _i, raw in sheets])
    for (digest, i, raw), guess in zip(sheets, inferred):
        k = f"{digest[:12]}_{i}"
        label = name + (f" › {raw.sheet}" if raw.sheet else "")
        detected = raw.header_row
        chosen = st.session_state.get(f"imp_hdr_{k}", detected)
        reread_error = None
        if chosen and int(chosen) != detected:
            status, payload = _reread(name, digest, raw.sheet, int(chosen), data)
            if status == "ok":
                raw = payload
                guess = _guess(name, [raw])[0]
                header_rows[(name, raw.sheet)] = raw.header_row
            else:
                reread_error = payload
        headers = [str(c) for c in raw.frame.columns]
        hk = f"{k}_h{raw.header_row}"      # widgets below depend on the header row's columns
        with st.expander(f"{label} — {len(raw.frame):,} rows, {guess.entity or 'not recognised'}",
                         expanded=len(files) == 1, icon=":material/table:"):
            h1, h2 = st.columns([1, 4])
            h1.number_input("Header row", min_value=1, value=detected, step=1, key=f"imp_hdr_{k}",
                            help="The row that holds the column names, numbered as a spreadsheet app shows it. "
                                 f"Detected: row {detected}. Change it when detection picked the wrong row.")
            if reread_error:
                h2.error(reread_error + f" Using the detected header row {detected}.", icon=":material/error:")
            elif raw.header_row != detected:
                h2.info(f"Header row set by hand to {raw.header_row} (detected: {detected}); "
                        "the migration reads the sheet the same way.", icon=":material/edit:")
            facts = [f"header row {raw.header_row}" + ("" if raw.header_row == detected else " (set by hand)"),
                     f"{len(raw.frame):,} data rows", f"{len(headers)} columns"]
            if getattr(raw, "encoding", None):
                facts.append(f"encoding {raw.encoding}")
            if getattr(raw, "delimiter", None):
                facts.append(f"delimiter {raw.delimiter!r}")
            if getattr(raw, "skipped", None):
                facts.append(f"{len(raw.skipped)} title/blank/footer rows skipped")
            st.caption(" · ".join(facts))
            ent_opts = entity_names + [NOT_CUSTOMER_DATA]
            entity = st.selectbox("This sheet holds", ent_opts, key=f"imp_ent_{hk}",
                                  index=ent_opts.index(guess.entity) if guess.entity else len(ent_opts) - 1,
                                  format_func=lambda e: {"contact": "contacts", "deal": "deals (pipeline)",
                                                         "order": "orders"}.get(e, e))
            entity = None if entity == NOT_CUSTOMER_DATA else entity
            if entity == guess.entity:
                defaults = guess.columns
            elif entity:
                from crmkit.app_support import suggest_columns

                defaults = suggest_columns(headers, entity)
            else:
                defaults = {h: None for h in headers}
            columns: dict[str, str | None] = {}
            opts = _options(entity)
            grid = st.columns(4)
            for j, h in enumerate(headers):
                d = defaults.get(h)
                choice = grid[j % 4].selectbox(h, opts, index=opts.index(d) if d in opts else 0,
                                               key=f"imp_col_{hk}_{entity}_{j}", disabled=entity is None)
                columns[h] = None if choice == KEEP else choice
            dup = pd.Series([f for f in columns.values() if f]).duplicated()
            if dup.any():
                st.warning("Several columns map to the same field: "
                           + ", ".join(sorted(set(pd.Series([f for f in columns.values() if f])[dup])))
                           + ". The first one wins; map the others to another field or keep them as extra.")
            sm = SheetMapping(file=name, sheet=raw.sheet, entity=entity, columns=columns, header_row=raw.header_row)
            sheet_mappings.append(sm)
            if entity is None:
                st.info("Not imported as contacts, deals or orders; its rows are still kept in the store's "
                        "source rows.")
                continue
            full = len(raw.frame) <= FULL_CHECK_ROWS or st.session_state.get(f"imp_full_{k}", False)
            one = Mapping([sm]).to_json()
            try:
                cleaned, issues = _clean(f"{digest}_h{raw.header_row}", i, one, region.strip().upper() or None,
                                         full, raw)
            except CrmkitError as exc:
                st.error(_describe(exc, name))
                continue
            st.markdown(f"**Cleaned preview** (first {min(PREVIEW_ROWS, len(raw.frame))} rows)")
            st.dataframe(cleaned, width="stretch", height=260, key=f"imp_prev_{hk}")
            if not full:
                st.caption(f"Issues below are for the first {PREVIEW_ROWS} rows only.")
                st.checkbox(f"Check all {len(raw.frame):,} rows (can take a while)", key=f"imp_full_{k}")
            previews.append((label, issues))

mapping = Mapping(sheet_mappings)

# ------------------------------------------------------------------------------------------ issues
st.subheader("Cleaning issues")
all_issues = pd.concat([iss for _l, iss in previews], ignore_index=True) if previews else \
    pd.DataFrame(columns=ISSUE_COLUMNS)
if all_issues.empty:
    st.success("No problems found in the checked rows.")
else:
    by_file = all_issues.groupby(["source_file", "source_sheet"], dropna=False).size().rename("issues").reset_index()
    i1, i2 = st.columns([1, 2])
    i1.dataframe(by_file, hide_index=True, width="stretch")
    i2.dataframe(all_issues.head(2000), hide_index=True, width="stretch", height=260, key="imp_issues")
    from crmkit.workbook import neutralise_frame

    st.download_button("Download issues (CSV)",
                       lambda: neutralise_frame(all_issues).to_csv(index=False).encode("utf-8-sig"),
                       file_name="issues.csv", mime="text/csv", key="imp_issues_csv", icon=":material/download:")
    st.caption("Problem values are kept as they were; they are listed here so you can fix them at the source.")

# ------------------------------------------------------------------------------------------ run
st.subheader("Migrate")
d1, d2 = st.columns([1, 3])
d1.download_button("Download mapping (JSON)", mapping.to_json(), file_name="mapping.json", mime="application/json",
                   key="imp_mapping_json", icon=":material/download:",
                   help="Reuse it here or with `crmkit migrate FILES --mapping mapping.json`.")
d2.caption(f"Into **{store.target}**. Rows already in the store are skipped; new rows are matched against "
           "the existing contacts. A failed run leaves the store as it was.")

if st.button("Run migration into the open store", type="primary", key="imp_run", icon=":material/play_arrow:"):
    from crmkit.app_support import migrate_files

    bar = st.progress(0.0, text="Starting…")

    def _progress(step: str, fraction: float) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=step)

    with tempfile.TemporaryDirectory(prefix="crmkit-import-") as tmp:
        for name, data, _sheets in files:
            (Path(tmp) / name).write_bytes(data)
        try:
            result = migrate_files([tmp], store.target, mapping=mapping, region=region.strip().upper() or None,
                                   dedupe=dedupe, actor=shared.actor(), progress=_progress,
                                   header_rows={(str(Path(tmp) / f), sh): n for (f, sh), n in header_rows.items()})
        except CrmkitError as exc:
            bar.empty()
            st.error(str(exc).replace(tmp + "/", "").replace(tmp, "upload"))
            result = None
        except Exception as exc:  # a bug, not bad input: say so plainly, keep the details one click away
            logging.getLogger("crmkit.app").exception("migration failed")
            bar.empty()
            st.error(f"The migration failed ({type(exc).__name__}: {exc}). The store was not changed. "
                     "This is a bug in crmkit; please report it with the details below.")
            with st.expander("Technical details"):
                st.exception(exc)
            result = None
        finally:
            shared.after_write(store)
    if result is not None:
        text = result.summary_text().replace(tmp + "/", "")
        st.session_state["imp_result"] = {"text": text, "summary": result.summary}
        bar.progress(1.0, text="Done")
        s = result.summary
        st.success("Migration finished.", icon=":material/task_alt:")
        r1, r2, r3, r4 = st.columns(4)
        r1.metric("Contacts in the store", f"{s.get('contacts', 0):,}")
        r2.metric("Duplicates auto-merged", f"{s.get('pairs_merged', 0):,}")
        r3.metric("Pairs to review", f"{s.get('pairs_review', 0):,}")
        r4.metric("Issues found", f"{s.get('issues', 0):,}")
        for err in result.errors:
            st.error(_describe(err, Path(err.file).name if err.file else "a file"))
        st.code(text, language=None)
        p1, p2, p3 = st.columns(3)
        p1.page_link("app_pages/overview.py", label="See the overview", icon=":material/dashboard:")
        p2.page_link("app_pages/duplicates.py", label="Review duplicates", icon=":material/join_inner:")
        p3.page_link("app_pages/pipeline.py", label="Open the pipeline", icon=":material/view_kanban:")
