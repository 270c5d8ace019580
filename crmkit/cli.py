"""The ``crmkit`` command line: one command per public function, errors as one clear line.

Every command opens what it is given, calls one library function and prints the result.
Run ``crmkit COMMAND --help`` for options and an example.
"""
from __future__ import annotations

import functools
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from crmkit.errors import CrmkitError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CrmkitError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="crmkit")
def main() -> None:
    """crmkit: turn messy customer spreadsheets into one clean, deduplicated customer base.

    \b
    Example:
        crmkit migrate sample_data/ --out crm.sqlite
    """


@contextmanager
def _progress(enabled: bool, label: str):
    """A progress bar fed by the library's progress(step, fraction) callback."""
    if not enabled:
        yield None
        return
    with click.progressbar(length=1000, label=label, show_eta=False, file=sys.stderr,
                           item_show_func=lambda s: s or "") as bar:
        state = {"done": 0}

        def update(step: str, fraction: float) -> None:
            target = int(max(0.0, min(1.0, fraction)) * 1000)
            bar.update(max(0, target - state["done"]), step)
            state["done"] = max(state["done"], target)

        yield update


@functools.cache  # (registered once, however many commands run in this process)
def _ending() -> None:
    """When the process exits, let the garbage collector skip every object left (a migration leaves a few
    hundred thousand: phone metadata, pinyin tables, pandas' and SQLAlchemy's own): the interpreter's last
    collections would walk them all, and write to their pages, to find nothing to collect. At exit, after
    the command has returned, its output is written and its result is freed: what is garbage then is
    collected once, the rest is frozen (and its memory goes back with the process)."""
    import atexit
    import gc

    def freeze() -> None:
        gc.collect()
        gc.freeze()

    atexit.register(freeze)


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", required=True, help="Store to write: PATH.sqlite / PATH.db, a database URL, or PATH.xlsx.")
@click.option("--mapping", "-m", type=click.Path(exists=True, dir_okay=False),
              help="Column mapping JSON (from `crmkit map --save`); other sheets are mapped automatically.")
@click.option("--region", help="Default phone region (ISO country code, e.g. DE) for numbers without a country code.")
@click.option("--no-dedupe", is_flag=True, help="Skip matching and merging: every contact row is its own contact.")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False),
              help="Matching settings JSON (saved with every run) to replay a run exactly.")
@click.option("--rules", "rules_file", type=click.Path(exists=True, dir_okay=False),
              help="Survivorship rules JSON for golden records.")
@click.option("--actor", help="Who runs this import (recorded in the audit log); default: the OS user.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def migrate(inputs, out, mapping, region, no_dedupe, settings_file, rules_file, actor, quiet, as_json):
    """Read, map, clean, deduplicate and store INPUTS (files and/or folders).

    \b
    Examples:
        crmkit migrate sample_data/ --out crm.sqlite
        crmkit migrate leads.csv crm_export.xlsx --out crm.xlsx --region DE
        crmkit migrate new_leads.csv --out crm.sqlite      # adds to an existing store
    """
    from crmkit.migrate import migrate as run

    settings = Path(settings_file).read_text(encoding="utf-8") if settings_file else None
    rules = None
    if rules_file:
        from crmkit.merge import SurvivorshipRules

        rules = SurvivorshipRules.from_json(Path(rules_file).read_text(encoding="utf-8"))
    with _progress(not quiet and not as_json, "Migrating") as progress:
        result = run(list(inputs), out, mapping=mapping, region=region, dedupe=not no_dedupe,
                     match_settings=settings, rules=rules, actor=actor, progress=progress)
    _ending()
    if as_json:
        click.echo(json.dumps(result.summary, indent=2, ensure_ascii=False))
        return
    click.echo(result.summary_text())
    click.echo(f"\nWrote {out} in {result.summary['seconds_total']} s. Next:")
    if str(out).lower().endswith((".xlsx", ".xlsm")):
        click.echo(f"  open {out} in a spreadsheet app (sheets Contacts, Deals, Orders, Review, Issues, Sources)")
    else:
        click.echo(f"  crmkit issues {out}            # what could not be cleaned, by file/sheet/row/column")
        click.echo(f"  crmkit review list {out}       # uncertain duplicates to decide")
        click.echo(f"  streamlit run app.py -- --store {out}   # browse it in the app")


@main.command("map")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--mapping", "-m", type=click.Path(exists=True, dir_okay=False), help="Start from this mapping JSON.")
@click.option("--save", type=click.Path(dir_okay=False), help="Save the mapping as JSON to edit and pass back with --mapping.")
def map_command(files, mapping, save):
    """Show how the columns of FILES map to crmkit's fields (and save it to edit).

    \b
    Example:
        crmkit map sample_data/tradeshow_leads_2023.csv --save mapping.json
        crmkit migrate sample_data/ --mapping mapping.json --out crm.sqlite
    """
    from crmkit.mapping import Mapping, map_sheets
    from crmkit.read import read_paths

    sheets, errors = read_paths(list(files))
    for err in errors:
        click.secho(f"! {err}", fg="red", err=True)
    m = map_sheets(sheets, Mapping.load(mapping) if mapping else None)
    for sm in m.sheets:
        click.echo(sm.describe())
        click.echo()
    if save:
        m.save(save)
        click.echo(f"Saved the mapping to {save}; edit it and pass it back with --mapping {save}")
    if errors and not sheets:
        sys.exit(1)


@main.command("read")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sheet", multiple=True, help="Only these sheets (repeatable).")
@click.option("--head", default=5, show_default=True, help="Data rows to show per sheet.")
def read_command(file, sheet, head):
    """Show what crmkit reads from FILE: sheets, header row, encoding, skipped rows, first rows.

    \b
    Example:
        crmkit read sample_data/old_crm_export.xlsx --head 3
    """
    from crmkit.read import read

    for raw in read(file, sheets=list(sheet) or None):
        info = [f"header row {raw.header_row}", f"{len(raw.frame):,} data rows"]
        if raw.encoding:
            info.append(f"encoding {raw.encoding}")
        if raw.delimiter:
            info.append(f"delimiter {raw.delimiter!r}")
        click.secho(f"{raw.source_file}" + (f" [{raw.sheet}]" if raw.sheet else "") + ": " + ", ".join(info), bold=True)
        for row, why in raw.skipped[:10]:
            click.echo(f"  skipped row {row}: {why}")
        if head:
            click.echo(raw.frame.head(head).to_string())
        click.echo()


@main.command("clean")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="Cleaned rows as CSV.")
@click.option("--issues", "issues_out", type=click.Path(dir_okay=False), help="Issues as CSV (default: OUT with .issues.csv).")
@click.option("--mapping", "-m", type=click.Path(exists=True, dir_okay=False), help="Column mapping JSON.")
@click.option("--region", help="Default phone region, e.g. US.")
def clean_command(file, out, issues_out, mapping, region):
    """Read, map and clean one file without storing it: cleaned CSV + issues CSV.

    \b
    Example:
        crmkit clean sample_data/newsletter_signups.csv --out newsletter.clean.csv
    """
    from crmkit.migrate import clean_file
    from crmkit.workbook import write_csv

    cleaned, issues = clean_file(file, mapping=mapping, region=region)
    write_csv(cleaned, out)
    issues_out = issues_out or str(Path(out).with_suffix("")) + ".issues.csv"
    write_csv(issues, issues_out)
    click.echo(f"{len(cleaned):,} rows cleaned → {out}; {len(issues):,} issues → {issues_out}")


@main.command("issues")
@click.argument("store")
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="Write all issues to CSV/XLSX instead of printing.")
@click.option("--limit", default=30, show_default=True, help="Rows to print.")
def issues_command(store, out, limit):
    """List the data problems found: file, sheet, row, column, value, problem.

    \b
    Example:
        crmkit issues crm.sqlite --out issues.csv
    """
    from crmkit.store import open_store

    issues = open_store(store).read_table("issues")
    if out:
        _write_table(issues, out)
        click.echo(f"{len(issues):,} issues → {out}")
        return
    if issues.empty:
        click.echo("No issues.")
        return
    counts = issues["problem"].astype(str).str.split(":").str[0].value_counts()
    click.echo(f"{len(issues):,} issues:")
    for p, n in counts.items():
        click.echo(f"  {n:6,}  {p}")
    click.echo()
    cols = ["source_file", "source_sheet", "source_row", "column", "value", "problem"]
    click.echo(issues[cols].head(limit).to_string(index=False))


@main.group()
def review() -> None:
    """The review queue: uncertain duplicate pairs waiting for a person's decision."""


@review.command("list")
@click.argument("store")
@click.option("--limit", default=20, show_default=True)
def review_list(store, limit):
    """Print the open review pairs side by side.

    \b
    Example:
        crmkit review list crm.sqlite
    """
    from crmkit.review import review_table
    from crmkit.store import open_store

    table = review_table(open_store(store))
    open_ = table[table["status"] == "open"]
    click.echo(f"{len(open_):,} pairs to review")
    cols = ["pair_id", "match_probability", "full_name_l", "full_name_r", "email_l", "email_r", "phone_l", "phone_r"]
    if len(open_):
        click.echo(open_[cols].head(limit).to_string(index=False))


@review.command("export")
@click.argument("store")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="Workbook to write (.xlsx).")
def review_export(store, out):
    """Write the review queue to a workbook with a `decision` column to fill (accept/reject/skip).

    \b
    Example:
        crmkit review export crm.sqlite --out review.xlsx
        # fill the decision column, then:
        crmkit review apply review.xlsx --store crm.sqlite
    """
    from crmkit.review import review_table
    from crmkit.store import open_store
    from crmkit.workbook import write_workbook

    table = review_table(open_store(store))
    write_workbook({"review_queue": table}, out, sheets={"Review": "review_queue"})
    click.echo(f"{len(table):,} pairs → {out}; fill the 'decision' column with accept / reject / skip")


@review.command("apply")
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False))
@click.option("--store", "-s", required=True, help="The store to apply the decisions to.")
@click.option("--actor", help="Who decided (audit log); default: the OS user.")
def review_apply(workbook, store, actor):
    """Apply the decisions filled into a workbook's Review sheet.

    \b
    Example:
        crmkit review apply review.xlsx --store crm.sqlite
    """
    from crmkit.curate import apply_review_workbook

    out = apply_review_workbook(workbook, store, actor=actor)
    click.echo(f"Applied {out['applied']} decision(s); {out.get('contacts', '?')} contacts, "
               f"{out.get('review_open', 0)} pairs still to review")


@main.command()
@click.argument("store")
@click.argument("record_id_l")
@click.argument("record_id_r")
@click.option("--accept/--reject", required=True, help="Merge the pair, or never merge it.")
@click.option("--actor")
def decide(store, record_id_l, record_id_r, accept, actor):
    """Decide one pair of source records: --accept merges them, --reject keeps them apart for good.

    \b
    Example:
        crmkit decide crm.sqlite R1f… R9c… --reject
    """
    from crmkit.curate import decide as run

    run(store, record_id_l, record_id_r, accept=accept, actor=actor)
    click.echo("Saved; the decision is re-applied on every re-run.")


@main.command()
@click.argument("store")
@click.argument("contact_id")
@click.option("--actor")
def unmerge(store, contact_id, actor):
    """Split a contact back into its source rows (remembered on re-runs).

    \b
    Example:
        crmkit unmerge crm.sqlite C3fa9c2d41b07
    """
    from crmkit.curate import unmerge as run

    ids = run(store, contact_id, actor=actor)
    click.echo(f"{contact_id} split into {len(ids)} contacts: {', '.join(ids)}")


@main.command("merge")
@click.argument("store")
@click.argument("contact_ids", nargs=-1, required=True)
@click.option("--actor")
def merge_command(store, contact_ids, actor):
    """Merge two or more contacts into one (remembered on re-runs).

    \b
    Example:
        crmkit merge crm.sqlite C3fa9c2d41b07 C88d0e1f2a3b4
    """
    from crmkit.curate import merge_contacts

    cid = merge_contacts(store, list(contact_ids), actor=actor)
    click.echo(f"Merged into {cid}")


@main.command()
@click.argument("store")
@click.argument("contact_id")
@click.argument("field")
@click.argument("value")
@click.option("--actor")
def edit(store, contact_id, field, value, actor):
    """Set a field of a contact by hand (kept across re-runs, audited).

    \b
    Example:
        crmkit edit crm.sqlite C3fa9c2d41b07 job_title "Head of Sales"
    """
    from crmkit.curate import edit_contact

    edit_contact(store, contact_id, field, value, actor=actor)
    click.echo(f"{contact_id}.{field} = {value!r}")


@main.command()
@click.argument("store")
def batches(store):
    """List the import batches of a store.

    \b
    Example:
        crmkit batches crm.sqlite
    """
    from crmkit.store import open_store

    b = open_store(store).read_table("batches")
    if b.empty:
        click.echo("No batches.")
        return
    for r in b.itertuples():
        s = json.loads(r.summary or "{}")
        click.echo(f"{r.batch_id}  {r.started_at}  {r.actor}  {r.status}  rows={sum(s.get('rows_read', {}).values())}"
                   f"  contacts={s.get('contacts')}  inputs={r.inputs}")


@main.command()
@click.argument("store")
@click.argument("batch_id")
@click.option("--actor")
def revert(store, batch_id, actor):
    """Undo one import batch (see `crmkit batches`).

    \b
    Example:
        crmkit revert crm.sqlite B20261123101500123456
    """
    from crmkit.curate import revert_batch

    out = revert_batch(store, batch_id, actor=actor)
    click.echo(f"Reverted {batch_id}; {out['contacts']:,} contacts remain")


@main.command("backup")
@click.argument("store")
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path),
              help="Backup file (.sqlite) to write, or a folder: the file is then named after the store and the time.")
@click.option("--force", is_flag=True, help="Replace an existing backup file of the same name.")
def backup_command(store, out, force):
    """Copy STORE (SQLite path or database URL) into one SQLite backup file.

    The copy is a consistent snapshot, safe while the app or a migration has the store open
    (SQLite's online backup API; one repeatable-read transaction on PostgreSQL).

    \b
    Examples:
        crmkit backup crm.sqlite --out backups/
        crmkit backup postgresql://me@db/crm --out crm-2024-06-05.sqlite
    """
    from crmkit.backup import backup

    dest = backup(store, out, force=force)
    click.echo(f"Backed up {store} to {dest} ({dest.stat().st_size / 1e6:,.1f} MB). "
               f"Restore with: crmkit restore {dest} --to STORE")


@main.command("restore")
@click.argument("backup_file", metavar="BACKUP", type=click.Path(path_type=Path))
@click.option("--to", "to", required=True, help="Store to restore into: a SQLite path or a database URL.")
@click.option("--force", is_flag=True, help="Replace the content of a store that already holds data.")
def restore_command(backup_file, to, force):
    """Copy a BACKUP written by `crmkit backup` into a store, in one transaction.

    A store that already holds data is only replaced with --force (back it up first).

    \b
    Examples:
        crmkit restore backups/crm-20240605T101500.sqlite --to crm.sqlite
        crmkit restore crm-backup.sqlite --to postgresql://me@db/crm --force
    """
    from crmkit.backup import restore

    restored = restore(backup_file, to, force=force)
    click.echo(f"Restored {backup_file} into {to} (change counter {restored.change_counter()}).")
    restored.close()


def _orders_source(source: str):
    """A store (path/URL with tables) or an orders file (CSV/XLSX)."""
    from crmkit.store import is_url

    if is_url(source) or source.lower().endswith((".sqlite", ".db")):
        from crmkit.store import open_store

        return open_store(source)
    return source


@main.command()
@click.argument("source")
@click.option("--as-of", help="Date to measure recency from (YYYY-MM-DD); default: the day after the last order.")
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="Write the per-customer table to CSV or XLSX.")
@click.option("--customer", default="contact_id", show_default=True, help="Customer key column (orders files).")
@click.option("--date", "date_col", default="order_date", show_default=True, help="Order date column (orders files).")
@click.option("--amount", default="amount", show_default=True, help="Amount column (orders files).")
@click.option("--segments", "segment_filter", multiple=True, help="Only these segments in --out (repeatable).")
@click.option("--tag", is_flag=True, help="Also write each customer's segment as an 'rfm:' tag on contacts in the store.")
def rfm(source, as_of, out, customer, date_col, amount, segment_filter, tag):
    """RFM scores and segments per customer from a STORE or an ORDERS_FILE.

    \b
    Examples:
        crmkit rfm crm.sqlite --out segments.csv
        crmkit rfm orders.csv --customer "Customer Email" --date "Order Date" --amount Total
        crmkit rfm crm.sqlite --tag --segments "At Risk" --out at_risk.xlsx
    """
    from crmkit.analytics import export_segments, rfm as run, segment_summary, tag_contacts

    src = _orders_source(source)
    table = run(src, customer=customer, date=date_col, amount=amount, as_of=as_of)
    summary = segment_summary(table)
    click.echo(f"{len(table):,} customers, as of {table.attrs.get('as_of', as_of)}")
    click.echo(summary.to_string(index=False))
    if out:
        export_segments(table, out, segments=list(segment_filter) or None)
        click.echo(f"\nWrote {out}")
    if tag:
        if isinstance(src, str):
            raise CrmkitError("--tag needs a store, not an orders file", hint="crmkit rfm crm.sqlite --tag")
        res = tag_contacts(src, table)
        click.echo(f"Tagged {res.get('updated', 0):,} contacts")


@main.command()
@click.argument("store")
@click.option("--by", default="month", type=click.Choice(["month", "quarter", "week", "year"]), show_default=True)
@click.option("--pipeline", "pipeline_file", type=click.Path(exists=True, dir_okay=False),
              help="Pipeline definition JSON (stages, probabilities, rotting days).")
def pipeline(store, by, pipeline_file):
    """Pipeline metrics: totals per stage, forecast, win rate, stale deals.

    \b
    Example:
        crmkit pipeline crm.sqlite --by quarter
    """
    from crmkit.analytics import Pipeline, forecast, stage_summary, stale_deals, win_rate
    from crmkit.store import open_store

    st = open_store(store)
    pipe = Pipeline.from_json(Path(pipeline_file).read_text(encoding="utf-8")) if pipeline_file else None
    click.echo(stage_summary(st, pipe).to_string(index=False))
    click.echo(f"\nWin rate: {win_rate(st, pipe):.0%}")
    click.echo("\nForecast:")
    click.echo(forecast(st, pipe, by=by).to_string(index=False))
    stale = stale_deals(st, pipeline=pipe)
    click.echo(f"\nStale deals: {len(stale)}")
    if len(stale):
        click.echo(stale.head(20).to_string(index=False))


@main.command("move-deal")
@click.argument("store")
@click.argument("deal_id")
@click.argument("stage")
@click.option("--actor", help="Who moved it (history and audit log); default: the OS user.")
def move_deal_command(store, deal_id, stage, actor):
    """Move a deal to another pipeline stage (recorded in deal_stage_history).

    \b
    Example:
        crmkit move-deal crm.sqlite D3fa9c2d41b07aa11 negotiation
    """
    from crmkit.analytics import move_deal
    from crmkit.store import open_store

    res = move_deal(open_store(store), deal_id, stage, actor=actor)
    click.echo(f"{deal_id}: {res.get('from_stage')} → {res.get('to_stage')}")


@main.command("export")
@click.argument("store")
@click.option("--to", "target", required=True, type=click.Choice(["hubspot", "salesforce", "odoo", "csv", "xlsx"]),
              help="Import format of the CRM you migrate to.")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--segments", multiple=True, help="Only contacts in these RFM segments (repeatable).")
@click.option("--tags", multiple=True, help="Only contacts with any of these tags (repeatable).")
@click.option("--mask", multiple=True, help="Mask these columns for a test import (repeatable), e.g. email, phone.")
@click.option("--mask-mode", default="hash", show_default=True, type=click.Choice(["hash", "redact"]))
@click.option("--max-rows", type=int, help="Split files at this many rows (default: the target's limit).")
def export_command(store, target, out_dir, segments, tags, mask, mask_mode, max_rows):
    """Write the store in a CRM's import format, with a README saying the import order.

    \b
    Examples:
        crmkit export crm.sqlite --to hubspot --out hubspot_import/
        crmkit export crm.sqlite --to salesforce --out sf/ --segments Champions --mask email --mask phone
    """
    from crmkit.export import export

    res = export(store, target, out_dir, segments=list(segments) or None, tags=list(tags) or None,
                 mask=list(mask) or None, mask_mode=mask_mode, max_rows=max_rows)
    for f in res.files:
        n = res.rows.get(f) if isinstance(res.rows, dict) else None
        click.echo(f"  {f}" + (f"  ({n:,} rows)" if isinstance(n, int) else ""))
    for w in res.warnings:
        click.secho(f"  ! {w}", fg="yellow")
    click.echo(f"Wrote {len(res.files)} file(s) to {out_dir}; read its README.md for the import order.")


def _write_table(df, out: str) -> None:
    from crmkit.workbook import write_csv

    if out.lower().endswith(".xlsx"):
        from crmkit.workbook import write_workbook

        write_workbook({"t": df}, out, sheets={"Data": "t"})
    else:
        write_csv(df, out)


if __name__ == "__main__":  # pragma: no cover
    main()
