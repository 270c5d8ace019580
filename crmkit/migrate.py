"""The main job: read → map → clean → match → merge → store, for files and folders.

>>> import crmkit
>>> # result = crmkit.migrate(["sample_data/"], "crm.sqlite")
>>> # print(result.summary_text())
"""
from __future__ import annotations

import getpass
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from crmkit._link_tables import _hash_ids, _isin
from crmkit._raw_json import pandas_raw_json, raw_json_array
from crmkit.clean import clean as clean_frame
from crmkit.errors import CrmkitError
from crmkit.mapping import Mapping, apply_mapping, map_sheets
from crmkit.read import RawSheet, read_paths
from crmkit.schema import ISSUE_COLUMNS
from crmkit.store import TABLE_COLUMNS, Store

Progress = Callable[[str, float], None]  # (step description, fraction done 0..1)

CONTACT_RECORD_COLUMNS = [c for c in TABLE_COLUMNS["contact_records"] if c not in ("contact_id", "batch_id")]


@dataclass
class MigrationResult:
    """What a migration read and wrote; ``summary`` is also stored in the ``batches`` table.

    Its ``seconds`` are the time until the store was written (the summary is part of that write);
    ``seconds_total``, only in the returned summary, includes the write."""

    out: str
    batch_id: str
    summary: dict
    mapping: Mapping
    errors: list[CrmkitError] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary_text(self) -> str:
        s = self.summary
        lines = [
            f"Read {s['files_read']} file(s), {s['sheets_read']} sheet(s)"
            + (f"; {len(self.errors)} file(s) could not be read" if self.errors else ""),
            "Rows read: " + (", ".join(f"{n:,} {e}" for e, n in s["rows_read"].items()) or "none new"),
        ]
        if s.get("rows_skipped_existing"):
            lines.append(f"Rows already in the store (skipped): {s['rows_skipped_existing']:,}")
        lines.append(f"Contacts written: {s['contacts']:,} (from {s['contact_records']:,} contact records)")
        if s.get("dedupe"):
            lines.append(f"Duplicates: {s.get('pairs_merged', 0):,} pairs auto-merged, "
                         f"{s.get('pairs_review', 0):,} pairs for review")
        lines.append(f"Deals: {s['deals']:,}, orders: {s['orders']:,}")
        lines.append(f"Issues found: {s['issues']:,}" + (
            " (" + ", ".join(f"{n} {p}" for p, n in list(s["issues_by_problem"].items())[:4]) + ")"
            if s["issues"] else ""))
        for note in s.get("notes", []):
            lines.append(f"Note: {note}")
        for err in self.errors:
            lines.append(f"  ! {err}")
        return "\n".join(lines)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _raw_json(raw: RawSheet) -> list[str]:
    """One JSON object per row (the original cells, by header), as pandas writes them (see
    :func:`crmkit._raw_json.pandas_raw_json`; :func:`_sheet_rows` builds the same text faster)."""
    return pandas_raw_json(raw.frame)


@dataclass
class _SheetWork:
    entity: str
    cleaned: pd.DataFrame  # with the sheet's source record ids as record_id
    issues: pd.DataFrame


def migrate(
    inputs: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    mapping: Mapping | str | Path | None = None,
    region: str | None = None,
    dedupe: bool = True,
    match_settings=None,
    rules=None,
    actor: str | None = None,
    progress: Progress | None = None,
) -> MigrationResult:
    """Migrate files and folders into a store (``.sqlite``/``.db``/URL) or a canonical workbook (``.xlsx``).

    Files that cannot be read are reported in ``result.errors`` and the others still migrate.
    Migrating into an existing store adds to it: rows already imported are skipped, existing
    contact ids stay stable, and the new rows are matched against the existing contacts. When the
    files hold nothing new (and matching would run as the last import ran it), the store is left as
    it is: only the batch and its audit row are added.

    >>> # r = migrate(["sample_data/"], "crm.sqlite"); print(r.summary_text())
    """
    preloads: list = []  # a helper process preparing source_rows (see _migrate), ended whatever happens
    t0 = time.perf_counter()
    try:
        result = _migrate(inputs, out, mapping=mapping, region=region, dedupe=dedupe, match_settings=match_settings,
                          rules=rules, actor=actor, progress=progress, preloads=preloads)
        result.summary["seconds_total"] = round(time.perf_counter() - t0, 2)
        return result
    finally:
        for pre in preloads:
            pre.stop()


def _migrate(inputs, out, *, mapping, region, dedupe, match_settings, rules, actor, progress,
             preloads: list) -> MigrationResult:
    t0 = time.perf_counter()
    say = progress or (lambda step, frac: None)
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = Mapping.load(mapping)
    actor = actor or _default_actor()
    batch_id = "B" + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
    started = _now()

    say("reading files", 0.02)
    sheets, errors = read_paths(list(inputs))
    if isinstance(mapping, Mapping):
        sheets = _apply_header_rows(sheets, mapping, errors)
    if not sheets and len(errors) == 1:
        raise errors[0]
    if not sheets and errors:
        raise CrmkitError("none of the inputs could be read: " + "; ".join(str(e) for e in errors),
                          hint="check the paths and file types (CSV, TSV, TXT, XLSX, XLSM, ODS)")
    if not sheets:
        raise CrmkitError(f"no spreadsheet files found in {', '.join(map(str, inputs))}",
                          hint="give CSV/XLSX files or folders that contain them")

    say("mapping columns", 0.15)
    sheet_mapping = map_sheets(sheets, mapping if isinstance(mapping, Mapping) else None)

    # every row's source record id (a hash of its provenance and original cells), and its source_rows entry:
    # for a new SQLite store, made by a forked helper while this process cleans and links, which also loads
    # them into the new file (all but record_id and batch_id, filled in at the write; see Store.preload)
    say("preparing rows", 0.15)
    prepared = [_prepare_sheet(raw, sm) for raw, sm in zip(sheets, sheet_mapping.sheets)]
    store = None if str(out).lower().endswith((".xlsx", ".xlsm")) else Store(out)
    pre = None if store is None else store.preload(
        "source_rows", lambda: _source_rows_of(prepared), later=["record_id", "batch_id"],
        rows=sum(len(p.mapped.frame) for p in prepared))
    if pre is not None:
        preloads.append(pre)
    if pre is not None and store.path.exists():  # another process made the store meanwhile: no new file
        pre.stop()
        pre = None
    if pre is None:
        for p in prepared:
            p.ids, p.source = _sheet_rows(p)
    read_issue_frames = [f for p in prepared for f in p.read_issues]
    error_issues = _error_issues(errors)
    files_read, sheets_read = len({str(s.path) for s in sheets}), len(sheets)
    request = _request_key(dedupe, match_settings, rules)

    if store is not None and store.exists() and _FAST_REIMPORT:
        # a re-import: when the store already holds every row, nothing is cleaned, matched or rewritten
        say("comparing with the store", 0.2)
        result = _unchanged_import(store, prepared, read_issue_frames, error_issues, request, sheet_mapping,
                                   errors, out, inputs, batch_id, started, actor, files_read, sheets_read, t0)
        if result is not None:
            say("done", 1.0)
            return result

    # the store as it is now (one snapshot: the write checks nothing changed since); rows it already
    # holds are known by their source record id, so sheets holding nothing new are not cleaned again
    existing = _load_existing(store)
    known = existing["source_rows"]["source_record_id"].dropna() if existing else pd.Series([], dtype=object)

    works: list[_SheetWork] = []
    extra_frames = []
    n = len(prepared)
    handed: list[pd.DataFrame] = []  # the helper's source_rows, once asked for
    ends = np.cumsum([len(p.mapped.frame) for p in prepared]).tolist()

    def preloaded_rows() -> pd.DataFrame:
        if not handed:
            handed.append(pre.frame())
        return handed[0]

    for i, p in enumerate(prepared):
        raw, sm, mapped, ids = p.raw, p.sm, p.mapped, p.ids
        p.mapped = None  # (cleaned below or not at all: the mapped copy goes with this iteration)
        say(f"cleaning {raw.source_file}" + (f" [{raw.sheet}]" if raw.sheet else ""), 0.15 + 0.35 * i / n)
        if sm.entity is None or (len(known) and _isin(ids, known).all()):
            # not a known entity (its rows are kept in source_rows only), or every row is stored already:
            # its cleaned values, issues and extras would all be dropped below
            continue
        cleaned, issues = clean_frame(mapped.frame, sm.entity, kinds=mapped.kinds, region=region)
        if ids is None:  # made by the helper meanwhile (a new store: no row is known, none skipped above)
            ids = preloaded_rows()["source_record_id"].iloc[ends[i] - len(mapped.frame):ends[i]]
        cleaned = cleaned.assign(record_id=ids.values)  # (a new frame: its columns not copied)
        works.append(_SheetWork(sm.entity, cleaned, issues.assign(entity=sm.entity)))
        if len(mapped.extras.columns):
            ex = mapped.extras.assign(record_id=ids.values)
            long = ex.melt(id_vars="record_id", var_name="field", value_name="value").dropna(subset=["value"])
            prov = mapped.frame[_PROVENANCE].assign(record_id=ids.values)
            extra_frames.append(long.merge(prov, on="record_id", how="left").assign(entity=sm.entity))

    # the read frames are not needed any more (their raw text is in source_rows): free them early
    raw = mapped = cleaned = ids = None  # noqa: F841 - the last sheet's frames
    if pre is not None:
        source_rows = preloaded_rows()  # (memory-mapped from a file the helper wrote)
        del handed[:]
    else:
        source_rows = _source_rows_of(prepared, ready=True)
        for p in prepared:
            p.source = None
        if store is not None:  # kept until the write: out of this process's memory while linking runs
            source_rows = _spilled(source_rows)
    del sheets, prepared
    p = None
    new_mask = pd.Series(~_isin(source_rows["source_record_id"], known), index=source_rows.index)
    skipped_existing = int((~new_mask).sum())

    def entity_frame(entity: str) -> pd.DataFrame:
        frames = [w.cleaned for w in works if w.entity == entity]
        if not frames:
            return pd.DataFrame(columns=["record_id"])
        df = pd.concat(frames, ignore_index=True)
        if len(known):  # (a new store knows no row: no filtered copy of the whole frame)
            df = df[~_isin(df["record_id"], known)].reset_index(drop=True)
        return df

    contacts_in, deals_in, orders_in = entity_frame("contact"), entity_frame("deal"), entity_frame("order")
    for w in works:  # the entity frames hold the rows now: one copy less while linking
        w.cleaned = None
    issues = pd.concat([*read_issue_frames, *[w.issues for w in works]], ignore_index=True) \
        if (read_issue_frames or works) else pd.DataFrame(columns=ISSUE_COLUMNS)
    del works, read_issue_frames
    if len(known) and len(issues):
        seen = source_rows.loc[~new_mask, _PROVENANCE]
        issues = issues.merge(seen.assign(_old=True), on=_PROVENANCE, how="left")
        issues = issues[issues["_old"].isna()].drop(columns="_old")
    if len(error_issues):
        issues = pd.concat([issues, error_issues], ignore_index=True)

    _release_freed_memory()  # what reading and cleaning freed, before matching allocates its own
    say("linking deals and orders to contacts", 0.55)
    from crmkit.link import build_contacts

    with warnings.catch_warnings(record=True) as caught:  # matcher notes go into the summary, not stderr
        warnings.simplefilter("always", UserWarning)
        result = build_contacts(contacts_in, deals_in, orders_in, existing=existing, dedupe=dedupe,
                                match_settings=match_settings, rules=rules, batch_id=batch_id, actor=actor,
                                progress=lambda step, f: say(step, 0.55 + 0.3 * f))
    notes = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)))
    for w in caught:
        if not issubclass(w.category, UserWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    del contacts_in, deals_in, orders_in
    contacts = result.contacts
    if existing is not None and len(existing["decisions"]):
        # edits made by hand stay, as every rebuild of the store keeps them (crmkit.curate)
        from crmkit.curate import _apply_edits

        contacts = _apply_edits(contacts, result.contact_records, existing["decisions"])

    if not new_mask.all():
        source_rows = source_rows[new_mask]
    rid = source_rows["source_record_id"]
    target = result.record_targets  # source record id -> contact_id / deal_id / order_id
    source_rows = source_rows.assign(record_id=rid.map(target), batch_id=batch_id)
    # rows of earlier batches may now point at a merged contact: re-target them as well
    if existing is not None and len(existing["source_rows"]):
        old = existing["source_rows"].copy()
        old_target = old["source_record_id"].map(target)
        old["record_id"] = old_target.where(old_target.notna(), old["record_id"])
        source_rows = pd.concat([old, source_rows], ignore_index=True)
    issues = issues.assign(batch_id=batch_id)
    if existing is not None and len(existing["issues"]):
        # issues not tied to a stored row (skipped footer rows, unreadable files) are known from before when
        # the very same issue is already in the store: a re-import must not repeat them
        issues = issues[~_known_issues(issues, existing["issues"])]
        issues = pd.concat([existing["issues"], issues], ignore_index=True)
    extras = pd.concat(extra_frames, ignore_index=True) if extra_frames else \
        pd.DataFrame(columns=TABLE_COLUMNS["extra_fields"])
    if len(known) and len(extras):
        extras = extras[~_isin(extras["record_id"], known)]

    summary = {
        "batch_id": batch_id,
        "files_read": files_read,
        "files_failed": len(errors),
        "sheets_read": sheets_read,
        "rows_read": {e: int((source_rows["batch_id"] == batch_id).where(source_rows["entity"] == e, False).sum())
                      for e in ("contact", "deal", "order", "unknown")
                      if ((source_rows["entity"] == e) & (source_rows["batch_id"] == batch_id)).any()},
        "rows_skipped_existing": skipped_existing,
        "notes": notes,
        "contact_records": int(len(result.contact_records)),
        "contacts": int(len(contacts)),
        "deals": int(len(result.deals)),
        "orders": int(len(result.orders)),
        "issues": int((issues["batch_id"] == batch_id).sum()),
        "issues_by_problem": _problem_counts(issues[issues["batch_id"] == batch_id]),
        "dedupe": dedupe,
        **result.stats,
        "request": request,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    batch = _batch_row(batch_id, started, actor, inputs, sheet_mapping, json.dumps(result.settings, ensure_ascii=False),
                       summary)
    tables = {
        **result.tables(),
        "contacts": contacts,
        "source_rows": source_rows,
        "issues": issues,
        "extra_fields": pd.concat([existing["extra_fields"], extras], ignore_index=True)
        if existing is not None else extras,
    }
    # only the tables are written from here on: let the raw, mapped and cleaned frames go first, so that
    # the write (and the helper processes it forks) starts from a smaller process
    merge_history = result.merge_history
    del extra_frames, existing, result, source_rows, issues, extras, contacts
    _release_freed_memory()
    say("writing " + str(out), 0.88)
    if store is None:
        from crmkit.workbook import write_workbook

        from crmkit.review import review_table

        write_workbook({**tables, "batches": batch, "review_queue": review_table(tables)}, out)
    else:
        store.write(replace=tables, append={"batches": batch, "audit_log": _audit_row(actor, batch_id, summary),
                                            "merge_history": merge_history}, preloaded=pre)
        store.close()
    say("done", 1.0)
    return MigrationResult(out=str(out), batch_id=batch_id, summary=summary, mapping=sheet_mapping,
                           errors=errors, tables=tables)


# a re-import of files whose every row is stored already writes only its batch (see _unchanged_import);
# tests switch it off to compare with the full path
_FAST_REIMPORT = True
_PROVENANCE = ["source_file", "source_sheet", "source_row"]


@dataclass
class _PreparedSheet:
    raw: RawSheet
    sm: object  # the sheet's SheetMapping
    mapped: object  # its MappedSheet
    read_issues: list[pd.DataFrame]  # what reading found (skipped rows, undecodable lines, an unknown sheet)
    ids: pd.Series | None = None  # the source record id of every row (see _sheet_rows)
    source: pd.DataFrame | None = None  # its rows as source_rows (record_id and batch_id still to set)


def _prepare_sheet(raw: RawSheet, sm) -> _PreparedSheet:
    """A sheet's mapped frame and read issues: everything but its source rows (:func:`_sheet_rows`) and cleaning."""
    read_issues = []
    if raw.issues is not None and len(raw.issues):
        read_issues.append(raw.issues.assign(entity=sm.entity or "unknown"))
    skipped = raw.skipped_issues
    if len(skipped):
        read_issues.append(skipped.assign(entity=sm.entity or "unknown"))
    mapped = apply_mapping(raw, sm)
    if sm.entity is None and len(raw.frame):
        read_issues.append(pd.DataFrame([{
            "source_file": raw.source_file, "source_sheet": raw.sheet, "source_row": raw.header_row,
            "column": None, "value": None, "entity": "unknown",
            "problem": "sheet not recognised as contacts, deals or orders; its rows are kept in "
                       "source_rows only (map it with --mapping)"}]))
    return _PreparedSheet(raw, sm, mapped, read_issues)


def _sheet_rows(p: _PreparedSheet) -> tuple[pd.Series, pd.DataFrame]:
    """A sheet's source record ids and its rows as source_rows (record_id and batch_id still to set)."""
    raw, sm = p.raw, p.sm
    raw_json = raw_json_array(raw.frame)  # (made once, hashed and stored)
    provenance = p.mapped.frame[_PROVENANCE]
    ids = _hash_ids({"contact": "R", "deal": "D", "order": "O"}.get(sm.entity, "U"),
                    provenance.assign(raw=raw_json) if len(raw_json) else provenance)
    source = provenance.assign(entity=sm.entity or "unknown", record_id=None, raw=raw_json,
                               source_record_id=ids.values, source_path=str(raw.path))
    return ids, source


def _source_rows_of(prepared: list[_PreparedSheet], ready: bool = False) -> pd.DataFrame:
    """The source_rows of all sheets (record_id and batch_id still to set), made here unless ``ready``."""
    frames = [p.source if ready else _sheet_rows(p)[1] for p in prepared]
    if not frames:
        return pd.DataFrame(columns=TABLE_COLUMNS["source_rows"])
    return pd.concat(frames, ignore_index=True)


def _error_issues(errors: list[CrmkitError]) -> pd.DataFrame:
    """One issue row per file that could not be read."""
    return pd.DataFrame([{
        "source_file": Path(err.file).name if err.file else None, "source_sheet": err.sheet or "",
        "source_row": None, "column": None, "value": None, "entity": None, "problem": err.message}
        for err in errors], columns=[*ISSUE_COLUMNS, "entity"])


def _spilled(frame: pd.DataFrame) -> pd.DataFrame:
    """The same frame, its columns read back from a memory-mapped temporary Arrow file.

    source_rows (every row's cells as JSON) waits through matching and merging, untouched, until the
    write: mapped from a file, its pages belong to the page cache, not to this process, until the
    write reads them (the file is unlinked at once; the mapping keeps it until the frame goes). The
    frame as it was when the file cannot be written (no pyarrow, a disk that is full, not POSIX).
    """
    if os.name != "posix" or frame.empty:
        return frame
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pandas' text without pyarrow
        return frame
    from crmkit.store import _mapped_frame, _write_arrow_file

    try:
        fd, path = tempfile.mkstemp(prefix="crmkit-rows-", suffix=".arrow")
        os.close(fd)
        try:
            _write_arrow_file(frame, Path(path))
            back = _mapped_frame(Path(path), unlink=False)
        finally:
            os.unlink(path)
    except (OSError, pa.ArrowException):
        return frame
    if list(back.columns) != list(frame.columns) or len(back) != len(frame):  # pragma: no cover - defensive
        return frame
    return back


def _release_freed_memory() -> None:
    """Hand memory that pyarrow's pool holds for reuse back to the system.

    pandas' text columns live in pyarrow's memory pool (mimalloc or jemalloc), which keeps freed
    blocks for later Arrow allocations; numpy arrays (what matching allocates) cannot use them, so
    without this the frames freed after reading and cleaning would still count in the peak.
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - text without pyarrow: freed through malloc
        return
    pa.default_memory_pool().release_unused()


_ISSUE_KEY = ["source_file", "source_sheet", "source_row", "column", "value", "problem"]


def _known_issues(issues: pd.DataFrame, stored: pd.DataFrame) -> np.ndarray:
    """Which issues the store holds already (the same file, sheet, row, column, value and problem)."""
    if not len(issues) or not len(stored):
        return np.zeros(len(issues), dtype=bool)

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[_ISSUE_KEY].copy()
        # rows as numbers: a stored column with a NULL reads as floats (12.0), new issues hold ints (12)
        out["source_row"] = pd.to_numeric(out["source_row"], errors="coerce").astype("Float64")
        return out.astype("string").fillna("\0")

    old = keyed(stored).drop_duplicates().assign(_known=True)
    return keyed(issues).merge(old, on=_ISSUE_KEY, how="left")["_known"].notna().to_numpy()


def _request_key(dedupe: bool, match_settings, rules) -> dict:
    """What decides the contacts a migration builds, besides the rows: whether it matches, with which
    settings and survivorship rules (digests of their JSON, the defaults when not given). A re-import
    whose key equals the last import's, with no row that is new, would rebuild what the store holds."""
    import hashlib

    def digest(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]

    key: dict = {"dedupe": bool(dedupe), "match_settings": None, "rules": None}
    if dedupe:
        from crmkit.match import MatchSettings

        settings = MatchSettings() if match_settings is None else match_settings
        if isinstance(settings, str):
            settings = MatchSettings.from_json(settings)
        if hasattr(settings, "to_dict"):
            key["match_settings"] = digest(json.dumps(settings.to_dict(), sort_keys=True, ensure_ascii=False))
    from crmkit.merge.rules import SurvivorshipRules

    chosen = SurvivorshipRules() if rules is None else rules
    if hasattr(chosen, "to_json"):
        key["rules"] = digest(chosen.to_json())
    return key


def _unchanged_import(store: Store, prepared: list[_PreparedSheet], read_issues: list[pd.DataFrame],
                      error_issues: pd.DataFrame, request: dict, sheet_mapping, errors, out, inputs,
                      batch_id: str, started: str, actor: str, files_read: int, sheets_read: int,
                      t0: float) -> MigrationResult | None:
    """Record a re-import that brings nothing new, without reading, re-linking or rewriting the store.

    Applies when the store holds every row of the files (by source record id), the files give no
    issue it does not hold (skipped rows, unreadable files), and the last import ran with the same
    request (dedupe, match settings, survivorship rules; :func:`_request_key`): the full path would
    then rebuild exactly what the store holds (curation is applied to the store when it is made, so
    none is pending). Writes only the batch and its audit row, refused like any write when the store
    changed since it was read. Returns None when the full migration must run.
    """
    ids = pd.concat([p.ids for p in prepared], ignore_index=True) if prepared else pd.Series(dtype=object)
    # issues not tied to a row of these files: the ones the full path would add unless already stored
    candidates = pd.concat(read_issues, ignore_index=True) if read_issues else error_issues.iloc[:0]
    if len(candidates):  # (as the full path drops the issues of rows it already holds)
        rows = pd.concat([p.source[_PROVENANCE] for p in prepared], ignore_index=True).drop_duplicates()
        tied = candidates[_PROVENANCE].merge(rows.assign(_row=True), on=_PROVENANCE, how="left")
        candidates = candidates[tied["_row"].isna().to_numpy()]
    if len(error_issues):
        candidates = pd.concat([candidates, error_issues], ignore_index=True)
    state = store.import_state(candidates[_PROVENANCE] if len(candidates) else None)
    last = state.last_batch
    if last is None or last.get("status") != "done" or not _isin(ids, state.source_record_ids).all():
        return None
    try:
        last_summary = json.loads(last.get("summary") or "{}")
    except ValueError:
        return None
    if last_summary.get("request") != request:
        return None
    if len(candidates) and not _known_issues(candidates, state.issues).all():
        return None
    counts = state.counts
    summary = {
        "batch_id": batch_id,
        "files_read": files_read,
        "files_failed": len(errors),
        "sheets_read": sheets_read,
        "rows_read": {},
        "rows_skipped_existing": int(len(ids)),
        "notes": ["every row is already in the store: nothing was cleaned, matched or rewritten"],
        "contact_records": counts["contact_records"],
        "contacts": counts["contacts"],
        "deals": counts["deals"],
        "orders": counts["orders"],
        "issues": 0,
        "issues_by_problem": {},
        "dedupe": request["dedupe"],
        "pairs_scored": counts["pairs"],
        "pairs_merged": counts["pairs_merged"],
        "pairs_review": counts["review_open"],
        "linked_by_email_or_name": counts["links"],
        "clusters_merged": counts["clusters_merged"],
        "request": request,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    # the same settings as the import that built the store (matching them again would train the same)
    batch = _batch_row(batch_id, started, actor, inputs, sheet_mapping, last.get("settings") or "{}", summary)
    store.write(append={"batches": batch, "audit_log": _audit_row(actor, batch_id, summary)},
                expect_counter=state.counter)
    store.close()
    return MigrationResult(out=str(out), batch_id=batch_id, summary=summary, mapping=sheet_mapping,
                           errors=errors, tables={})


def _batch_row(batch_id: str, started: str, actor: str, inputs, sheet_mapping, settings: str,
               summary: dict) -> pd.DataFrame:
    return pd.DataFrame([{
        "batch_id": batch_id, "started_at": started, "finished_at": _now(), "actor": actor,
        "inputs": json.dumps([str(p) for p in inputs], ensure_ascii=False),
        "mapping": sheet_mapping.to_json(), "settings": settings,
        "summary": json.dumps(summary, ensure_ascii=False), "status": "done"}])


def _audit_row(actor: str, batch_id: str, summary: dict) -> pd.DataFrame:
    return pd.DataFrame([{"at": _now(), "actor": actor, "action": "import", "entity": "batch",
                          "record_id": batch_id, "detail": json.dumps(summary, ensure_ascii=False)}])


def _apply_header_rows(sheets: list[RawSheet], mapping: Mapping, errors: list) -> list[RawSheet]:
    """Re-read the sheets whose mapping entry pins a header row other than the detected one."""
    from crmkit.read import read as read_file

    out = []
    for raw in sheets:
        entry = mapping.find(raw.source_file, raw.sheet)
        want = entry.header_row if entry is not None else None
        if want and want != raw.header_row:
            try:
                raw = read_file(raw.path, sheets=[raw.sheet] if raw.sheet else None, header_row=int(want))[0]
            except CrmkitError as exc:
                errors.append(exc)
                continue
        out.append(raw)
    return out


def _problem_counts(issues: pd.DataFrame) -> dict[str, int]:
    if issues.empty:
        return {}
    kind = issues["problem"].astype(str).str.split(":").str[0]
    return {k: int(v) for k, v in kind.value_counts().items()}


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def _load_existing(store: Store | None) -> dict[str, pd.DataFrame] | None:
    if store is None or not store.exists():
        return None
    names = ["source_rows", "contact_records", "contacts", "deals", "orders", "issues", "extra_fields",
             "decisions", "lineage", "contact_values", "conflicts", "match_pairs", "review_queue", "batches"]
    return store.read_tables(names)  # one snapshot: the write checks nothing changed since


def clean_file(path: str | Path, *, mapping: Mapping | str | Path | None = None, region: str | None = None,
               sheets: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read, map and clean one file without storing it: (cleaned rows, issues).

    Rows of all sheets are concatenated with an ``entity`` column; unmapped columns are kept as
    columns prefixed ``extra:``.

    >>> # cleaned, issues = clean_file("sample_data/newsletter_signups.csv")
    """
    from crmkit.read import read

    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = Mapping.load(mapping)
    raws = read(path, sheets=sheets)
    m = map_sheets(raws, mapping)
    frames, issues = [], []
    for raw, sm in zip(raws, m.sheets):
        if raw.issues is not None and len(raw.issues):
            issues.append(raw.issues)
        if sm.entity is None:
            continue
        mapped = apply_mapping(raw, sm)
        cleaned, iss = clean_frame(mapped.frame, sm.entity, kinds=mapped.kinds, region=region)
        extras = mapped.extras.add_prefix("extra:")
        frames.append(pd.concat([cleaned.assign(entity=sm.entity), extras.set_axis(cleaned.index)], axis=1))
        issues.append(iss)
    cleaned = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    issues_df = pd.concat(issues, ignore_index=True) if issues else pd.DataFrame(columns=ISSUE_COLUMNS)
    return cleaned, issues_df
