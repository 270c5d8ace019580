"""Exports into CRM import formats: HubSpot, Salesforce, Odoo, and the canonical tables as CSV/XLSX.

Each target writes its files, split into parts at the target's row limit, plus a ``README.md`` that
says in which order to import them, how records are linked and which columns need mapping by hand.
Companies are derived from the contacts (one per ``company_key``, id ``CO-`` + hash) and every record
carries a stable crmkit id, so importing a newer export updates instead of duplicating.

>>> import crmkit
>>> # result = crmkit.export("crm.sqlite", "hubspot", "out/hubspot", segments=["Champions"])
>>> # result.files, result.counts
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from crmkit.errors import CrmkitError
from crmkit.export import generic, hubspot, odoo, salesforce
from crmkit.export._common import Prepared, check_max_rows, prepare, write_readme

__all__ = ["export", "ExportResult", "TARGETS"]

#: target name -> what it writes
TARGETS: dict[str, str] = {
    "hubspot": "companies.csv, contacts.csv, deals.csv for HubSpot's import tool",
    "salesforce": "Account.csv, Contact.csv, Opportunity.csv for Data Loader / Data Import Wizard",
    "odoo": "res_partner.csv, crm_lead.csv for Odoo's import screen",
    "csv": "the canonical tables (contacts, companies, deals, orders) as CSV files",
    "xlsx": "the canonical tables as one formatted .xlsx workbook",
}
DEFAULT_MAX_ROWS: dict[str, int | None] = {
    "hubspot": hubspot.DEFAULT_MAX_ROWS,
    "salesforce": salesforce.DEFAULT_MAX_ROWS,
    "odoo": odoo.DEFAULT_MAX_ROWS,
    **generic.DEFAULT_MAX_ROWS,
}


@dataclass
class ExportResult:
    """What an export wrote.

    ``files``: every file, README.md last; ``rows``: data rows per file name (for workbooks
    ``"file:Sheet"``); ``counts``: records per entity; ``warnings``: things to check before importing.
    """

    target: str
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    masked: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def readme(self) -> Path:
        return self.out_dir / "README.md"


def export(store_or_tables: object, target: str, out_dir: str | Path, *,
           segments: Iterable[str] | str | None = None, tags: Iterable[str] | str | None = None,
           mask: Iterable[str] | str | None = None, mask_mode: str = "hash",
           max_rows: int | None = None) -> ExportResult:
    """Write the store's contacts, companies and deals in a CRM's import format into ``out_dir``.

    ``store_or_tables``: a store path/URL, a canonical .xlsx, a :class:`crmkit.Store`, or a dict of
    DataFrames (``contacts`` required; ``deals``, ``orders`` optional).
    ``target``: one of :data:`TARGETS` (hubspot, salesforce, odoo, csv, xlsx).
    ``segments`` / ``tags``: keep only contacts with any of these tags (an RFM segment ``"Champions"``
    means the tag ``"rfm:Champions"``), and their companies and deals.
    ``mask``: columns to pseudonymise for a test import (``mask_mode="hash"``: stable SHA-256-based
    stand-ins that keep links intact; ``"redact"``: empty cells).
    ``max_rows``: rows per file before splitting into ``_part1``, ``_part2``…; default: the target's limit.

    >>> # export("crm.sqlite", "salesforce", "sf", mask=["email", "phone"], max_rows=10_000)
    """
    key = str(target).strip().lower()
    if key not in TARGETS:
        raise CrmkitError(f"unknown export target {target!r}",
                          hint=f"valid targets are: {', '.join(TARGETS)}")
    check_max_rows(max_rows)
    limit = max_rows if max_rows is not None else DEFAULT_MAX_ROWS[key]
    prep: Prepared = prepare(store_or_tables, segments=segments, tags=tags, mask=mask, mask_mode=mask_mode)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = ExportResult(target=key, out_dir=out, masked=prep.masked)
    if key in ("csv", "xlsx"):
        text = generic.write(prep, out, limit, result.files, result.rows, fmt=key)
    else:
        module = {"hubspot": hubspot, "salesforce": salesforce, "odoo": odoo}[key]
        text = module.write(prep, out, limit, result.files, result.rows)
    write_readme(out, text, result.files)
    result.counts = {"contacts": len(prep.contacts), "companies": len(prep.companies),
                     "deals": len(prep.deals)}
    if key in ("csv", "xlsx"):
        result.counts["orders"] = len(prep.orders)
    result.warnings = list(prep.warnings)
    return result
