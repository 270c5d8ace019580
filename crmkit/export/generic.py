"""Generic: the canonical tables (contacts, companies, deals, orders) as CSV files or one .xlsx workbook.

For CRMs without a dedicated target, and for people who map columns themselves. Columns are crmkit's
own names (see the README's "Store contract"); contacts and deals gain ``company_id``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from crmkit.export._common import (COMPANY_COLUMNS, CONTACT_COLUMNS, Prepared, chunks, files_list,
                                   part_names, readme_common, write_csv_parts)
from crmkit.schema import DEAL_COLUMNS, ORDER_COLUMNS
from crmkit.workbook import EXCEL_MAX_ROWS, write_workbook

NAME_CSV, NAME_XLSX = "csv", "xlsx"
DEFAULT_MAX_ROWS = {NAME_CSV: None, NAME_XLSX: EXCEL_MAX_ROWS}
SHEETS = {"Contacts": "contacts", "Companies": "companies", "Deals": "deals", "Orders": "orders"}
WORKBOOK_STEM = "crm_export"


def frames(prep: Prepared) -> dict[str, pd.DataFrame]:
    contacts = prep.contacts.reindex(columns=_after(CONTACT_COLUMNS, "company_key", "company_id"))
    deals = prep.deals.reindex(columns=_after(DEAL_COLUMNS, "company_key", "company_id"))
    return {"contacts": contacts, "companies": prep.companies.reindex(columns=COMPANY_COLUMNS),
            "deals": deals, "orders": prep.orders.reindex(columns=ORDER_COLUMNS)}


def _after(columns: list[str], anchor: str, new: str) -> list[str]:
    out = list(columns)
    out.insert(out.index(anchor) + 1, new)
    return out


def write(prep: Prepared, out_dir: Path, max_rows: int | None, written: list[Path],
          rows: dict[str, int], *, fmt: str = NAME_CSV) -> str:
    tables = frames(prep)
    if fmt == NAME_CSV:
        names = write_csv_parts(tables, out_dir, max_rows, written, rows)
    else:
        # one workbook per part; part i holds the i-th slice of every table
        split = {k: chunks(v, max_rows) for k, v in tables.items()}
        n = max(len(p) for p in split.values())
        book_names = part_names(WORKBOOK_STEM, ".xlsx", n)
        for i, name in enumerate(book_names):
            part = {k: (p[i] if i < len(p) else v.iloc[0:0]) for (k, p), v in zip(split.items(), tables.values())}
            written.append(write_workbook(part, out_dir / name, sheets=SHEETS))
            for sheet, table in SHEETS.items():
                rows[f"{name}:{sheet}"] = len(part[table])
        names = {"workbook": book_names}
    return readme(prep, names, max_rows, fmt)


def readme(prep: Prepared, names: dict[str, list[str]], max_rows: int | None, fmt: str) -> str:
    where = ("one CSV file per table" if fmt == NAME_CSV
             else f"one workbook with the sheets {', '.join(SHEETS)}")
    return f"""# crmkit canonical export ({fmt})

Files: {files_list(names)} — {where}.

## Tables
- **contacts**: one row per deduplicated customer (`contact_id`), with `company_id` linking to companies;
  `emails` / `phones` / `tags` hold every known value, `; `-separated.
- **companies**: derived from the contacts, one per `company_key` (`company_id` = `CO-` + SHA-256 prefix of the
  key, stable across exports): most frequent name, non-free-mail email domain, city and country.
- **deals**: `contact_id` and `company_id` link to the tables above; `stage` is one of lead, qualified,
  proposal, negotiation, won, lost; `probability` is 0–1.
- **orders**: `contact_id` links to contacts.

## Import order
companies → contacts → deals → orders, linking on `company_id` and `contact_id`. Map the columns to your
CRM's fields by hand; the crmkit ids make good external ids for repeatable imports.

{readme_common(prep, max_rows)}"""
