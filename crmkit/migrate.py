"""The main job: read → map → clean → match → merge → store, for files and folders.

>>> import crmkit
>>> # result = crmkit.migrate(["sample_data/"], "crm.sqlite")
>>> # print(result.summary_text())
"""
from __future__ import annotations

import getpass
import json
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from crmkit.clean import clean as clean_frame
from crmkit.errors import CrmkitError
from crmkit.mapping import Mapping, apply_mapping, map_sheets
from crmkit.read import RawSheet, read_paths
from crmkit.schema import ENTITIES, ISSUE_COLUMNS
from crmkit.store import TABLE_COLUMNS, Store

Progress = Callable[[str, float], None]  # (step description, fraction done 0..1)

CONTACT_RECORD_COLUMNS = [c for c in TABLE_COLUMNS["contact_records"] if c not in ("contact_id", "batch_id")]


@dataclass
class MigrationResult:
    """What a migration read and wrote; ``summary`` is also stored in the ``batches`` table."""

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
            "Rows read: " + ", ".join(f"{n:,} {e}" for e, n in s["rows_read"].items()),
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


def _hash_ids(prefix: str, frame: pd.DataFrame) -> pd.Series:
    """Stable ids from row content (same input row → same id, run after run)."""
    h = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    # 16 lower-case hex digits per value, vectorised: big-endian bytes -> one hex string -> fixed slices
    hexed = np.frombuffer(h.astype(">u8").tobytes().hex().encode("ascii"), dtype="S16").astype(str)
    return pd.Series(np.char.add(prefix, hexed).tolist(), index=frame.index)


def _raw_json(raw: RawSheet) -> list[str]:
    """One JSON object per row (the original cells, by header).

    The same text as ``to_json(orient="records", lines=True)`` gives per line, without its slow
    line splitting: the records array is cut at ``},{"``, where every record starts. A key or value
    ending in ``},{`` holds it too, so the cut is kept only when it gives one piece per row (a value
    can only add pieces); else the lines are split as pandas does. Never split at newlines: JSON
    escapes those inside values, but not U+2028/U+2029/U+0085, which ``str.splitlines`` would split on.
    """
    if raw.frame.empty:
        return []
    if len(raw.frame.columns):
        text = raw.frame.to_json(orient="records", force_ascii=False)
        parts = text[2:-2].split('},{"')  # '[{"a":1},{"a":2}]' -> ['"a":1', 'a":2']
        if len(parts) == len(raw.frame):
            return ["{" + parts[0] + "}"] + ['{"' + p + "}" for p in parts[1:]]
    text = raw.frame.to_json(orient="records", lines=True, force_ascii=False)
    return text.rstrip("\n").split("\n")


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
    contact ids stay stable, and the new rows are matched against the existing contacts.

    >>> # r = migrate(["sample_data/"], "crm.sqlite"); print(r.summary_text())
    """
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

    # the store as it is now (one snapshot: the write checks nothing changed since); rows it already
    # holds are known by their source record id, so sheets holding nothing new are not cleaned again
    store = None if str(out).lower().endswith((".xlsx", ".xlsm")) else Store(out)
    existing = _load_existing(store)
    known = set(existing["source_rows"]["source_record_id"].dropna()) if existing else set()

    works: list[_SheetWork] = []
    read_issue_frames = []
    source_frames = []
    extra_frames = []
    n = len(sheets)
    for i, (raw, sm) in enumerate(zip(sheets, sheet_mapping.sheets)):
        say(f"cleaning {raw.source_file}" + (f" [{raw.sheet}]" if raw.sheet else ""), 0.15 + 0.35 * i / n)
        if raw.issues is not None and len(raw.issues):
            read_issue_frames.append(raw.issues.assign(entity=sm.entity or "unknown"))
        skipped = raw.skipped_issues
        if len(skipped):
            read_issue_frames.append(skipped.assign(entity=sm.entity or "unknown"))
        mapped = apply_mapping(raw, sm)
        raw_json = _raw_json(raw)
        provenance = mapped.frame[["source_file", "source_sheet", "source_row"]]
        ids = _hash_ids({"contact": "R", "deal": "D", "order": "O"}.get(sm.entity, "U"),
                        provenance.assign(raw=raw_json) if len(raw_json) else provenance)
        if sm.entity is None:
            src = provenance.assign(entity="unknown", record_id=None, raw=raw_json, source_record_id=ids.values,
                                    source_path=str(raw.path))
            source_frames.append(src)
            if len(raw.frame):
                read_issue_frames.append(pd.DataFrame([{
                    "source_file": raw.source_file, "source_sheet": raw.sheet, "source_row": raw.header_row,
                    "column": None, "value": None, "entity": "unknown",
                    "problem": "sheet not recognised as contacts, deals or orders; its rows are kept in "
                               "source_rows only (map it with --mapping)"}]))
            continue
        source_frames.append(provenance.assign(entity=sm.entity, record_id=None, raw=raw_json,
                                               source_record_id=ids.values, source_path=str(raw.path)))
        if known and ids.isin(known).all():
            # every row is stored already: its cleaned values, issues and extras would all be dropped below
            continue
        cleaned, issues = clean_frame(mapped.frame, sm.entity, kinds=mapped.kinds, region=region)
        cleaned = cleaned.copy()
        cleaned["record_id"] = ids.values
        works.append(_SheetWork(sm.entity, cleaned, issues.assign(entity=sm.entity)))
        if len(mapped.extras.columns):
            ex = mapped.extras.assign(record_id=ids.values)
            long = ex.melt(id_vars="record_id", var_name="field", value_name="value").dropna(subset=["value"])
            prov = provenance.assign(record_id=ids.values)
            extra_frames.append(long.merge(prov, on="record_id", how="left").assign(entity=sm.entity))

    # the read frames are not needed any more (their raw text is in source_rows): free them early
    files_read, sheets_read = len({str(s.path) for s in sheets}), len(sheets)
    del sheets
    raw = mapped = raw_json = provenance = cleaned = None  # noqa: F841 - the last sheet's frames
    source_rows = pd.concat(source_frames, ignore_index=True) if source_frames else \
        pd.DataFrame(columns=TABLE_COLUMNS["source_rows"])
    del source_frames
    new_mask = ~source_rows["source_record_id"].isin(known)
    skipped_existing = int((~new_mask).sum())

    def entity_frame(entity: str) -> pd.DataFrame:
        frames = [w.cleaned for w in works if w.entity == entity]
        if not frames:
            return pd.DataFrame(columns=["record_id"])
        df = pd.concat(frames, ignore_index=True)
        return df[~df["record_id"].isin(known)].reset_index(drop=True)

    contacts_in, deals_in, orders_in = entity_frame("contact"), entity_frame("deal"), entity_frame("order")
    issues = pd.concat([*read_issue_frames, *[w.issues for w in works]], ignore_index=True) \
        if (read_issue_frames or works) else pd.DataFrame(columns=ISSUE_COLUMNS)
    if known and len(issues):
        seen = source_rows.loc[~new_mask, ["source_file", "source_sheet", "source_row"]]
        key = ["source_file", "source_sheet", "source_row"]
        issues = issues.merge(seen.assign(_old=True), on=key, how="left")
        issues = issues[issues["_old"].isna()].drop(columns="_old")
    for err in errors:
        issues = pd.concat([issues, pd.DataFrame([{
            "source_file": Path(err.file).name if err.file else None, "source_sheet": err.sheet or "",
            "source_row": None, "column": None, "value": None, "entity": None, "problem": err.message}])],
            ignore_index=True)

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

    source_rows = source_rows[new_mask].copy()
    source_rows["batch_id"] = batch_id
    rid = source_rows["source_record_id"]
    target = result.record_targets  # source record id -> contact_id / deal_id / order_id
    source_rows["record_id"] = rid.map(target)
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
        same = ["source_file", "source_sheet", "source_row", "column", "value", "problem"]

        def keyed(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[same].astype("string").fillna("\0")

        if len(issues):
            old = keyed(existing["issues"]).drop_duplicates().assign(_known=True)
            issues = issues[keyed(issues).merge(old, on=same, how="left")["_known"].isna().to_numpy()]
        issues = pd.concat([existing["issues"], issues], ignore_index=True)
    extras = pd.concat(extra_frames, ignore_index=True) if extra_frames else \
        pd.DataFrame(columns=TABLE_COLUMNS["extra_fields"])
    extras = extras[~extras["record_id"].isin(known)]

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
        "contacts": int(len(result.contacts)),
        "deals": int(len(result.deals)),
        "orders": int(len(result.orders)),
        "issues": int((issues["batch_id"] == batch_id).sum()),
        "issues_by_problem": _problem_counts(issues[issues["batch_id"] == batch_id]),
        "dedupe": dedupe,
        **result.stats,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    batch = pd.DataFrame([{
        "batch_id": batch_id, "started_at": started, "finished_at": _now(), "actor": actor,
        "inputs": json.dumps([str(p) for p in inputs], ensure_ascii=False),
        "mapping": sheet_mapping.to_json(), "settings": json.dumps(result.settings, ensure_ascii=False),
        "summary": json.dumps(summary, ensure_ascii=False), "status": "done"}])
    tables = {
        **result.tables(),
        "source_rows": source_rows,
        "issues": issues,
        "extra_fields": pd.concat([existing["extra_fields"], extras], ignore_index=True)
        if existing is not None else extras,
    }
    # only the tables are written from here on: let the raw, mapped and cleaned frames go first, so that
    # the write (and the helper processes it forks) starts from a smaller process
    merge_history = result.merge_history
    del works, extra_frames, read_issue_frames, contacts_in, deals_in, orders_in
    del existing, result, source_rows, issues, extras
    say("writing " + str(out), 0.88)
    if store is None:
        from crmkit.workbook import write_workbook

        from crmkit.review import review_table

        write_workbook({**tables, "batches": batch, "review_queue": review_table(tables)}, out)
    else:
        audit = pd.DataFrame([{"at": _now(), "actor": actor, "action": "import", "entity": "batch",
                               "record_id": batch_id, "detail": json.dumps(summary, ensure_ascii=False)}])
        store.write(replace=tables, append={"batches": batch, "audit_log": audit,
                                            "merge_history": merge_history})
        store.close()
    say("done", 1.0)
    return MigrationResult(out=str(out), batch_id=batch_id, summary=summary, mapping=sheet_mapping,
                           errors=errors, tables=tables)


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
