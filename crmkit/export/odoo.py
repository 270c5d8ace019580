"""Odoo: ``res_partner.csv`` (companies, then their contacts) and ``crm_lead.csv`` (opportunities).

Headers are Odoo field names, which the import screen maps by itself. The ``id`` column holds an
external ID (``crmkit.contact_<id>``, ``crmkit.company_<id>``, ``crmkit.deal_<id>``): importing the
file again updates those records; ``parent_id/id`` and ``partner_id/id`` link by external ID.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from crmkit.export._common import (Prepared, umap, deal_titles, files_list, first_filled, iso_date, map_stages,
                                   number, readme_common, split_tags, stage_table, write_csv_parts)

NAME = "odoo"
DEFAULT_MAX_ROWS = None  # Odoo's import has no row limit (large files are better split for speed)

# crmkit stage -> Odoo CRM default stage (New, Qualified, Proposition, Won); lost -> archived (active=False)
STAGES = {
    "lead": "New",
    "qualified": "Qualified",
    "proposal": "Proposition",
    "negotiation": "Proposition",
    "won": "Won",
    "lost": "New",
}


def xml_id(kind: str, value: object) -> str | None:
    """``crmkit.<kind>_<id>`` with characters Odoo does not like in external IDs replaced by ``_``."""
    if not isinstance(value, str):
        return None
    return f"crmkit.{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', value)}"


def country_xml_id(code: object) -> str | None:
    """Odoo's external ID of a country: ``base.<alpha-2 lower case>``, except ``base.uk`` for GB."""
    if not isinstance(code, str) or len(code) != 2:
        return None
    code = code.lower()
    return "base.uk" if code == "gb" else f"base.{code}"


def _tags(value: object) -> str | None:
    # Odoo separates many2many names by commas, so a comma inside a tag would split it
    parts = [t.replace(",", " ") for t in split_tags(value)]
    return ",".join(parts) or None


def _comment(notes: pd.Series, ext: pd.Series) -> pd.Series:
    # Odoo has no phone-extension field: keep it in the internal notes
    return pd.Series([n if e is None else "\n".join(filter(None, [n, f"Phone extension: {e}"]))
                      for n, e in zip(notes, ext)], index=notes.index, dtype=object)


def partners_frame(prep: Prepared) -> pd.DataFrame:
    co, c = prep.companies, prep.contacts
    companies = pd.DataFrame({
        "id": co["company_id"].map(lambda v: xml_id("company", v)),
        "name": first_filled(co["name"], co["company_id"]),
        "is_company": "True",
        "parent_id/id": None,
        "email": None,
        "phone": co["phone"],
        "mobile": None,
        "function": None,
        "street": co["street"],
        "zip": co["postcode"],
        "city": co["city"],
        "country_id/id": umap(co["country"], country_xml_id),
        "website": first_filled(co["website"], co["domain"]),
        "category_id": None,
        "comment": None,
    })
    joined = (c["first_name"].fillna("") + " " + c["last_name"].fillna("")).str.strip()
    names = first_filled(c["full_name"], joined.map(lambda v: v or None), c["email"]).fillna("Unknown")
    people = pd.DataFrame({
        "id": c["contact_id"].map(lambda v: xml_id("contact", v)),
        "name": names,
        "is_company": "False",
        "parent_id/id": umap(c["company_id"], lambda v: xml_id("company", v)),
        "email": c["email"],
        "phone": c["phone"],
        "mobile": c["mobile"],
        "function": c["job_title"],
        "street": c["street"],
        "zip": c["postcode"],
        "city": c["city"],
        "country_id/id": umap(c["country"], country_xml_id),
        "website": c["website"],
        "category_id": umap(c["tags"], _tags),
        "comment": _comment(c["notes"], c["phone_ext"]),
    })
    # companies first: Odoo resolves parent_id/id against rows created earlier in the same file
    return pd.concat([companies, people], ignore_index=True).astype(object)


def leads_frame(prep: Prepared) -> pd.DataFrame:
    d = prep.deals
    lost = umap(d["stage"], lambda v: v.strip().lower() == "lost").fillna(False).astype(bool)
    partner = first_filled(d["contact_id"].map(lambda v: xml_id("contact", v)),
                           d["company_id"].map(lambda v: xml_id("company", v)))
    probability = number(d["probability"], scale=100, decimals=2).where(~lost, "0")
    return pd.DataFrame({
        "id": d["deal_id"].map(lambda v: xml_id("deal", v)),
        "name": deal_titles(d),
        "type": "opportunity",
        "partner_id/id": partner,
        "email_from": d["contact_email"],
        "stage_id": map_stages(d["stage"], STAGES, STAGES["lead"], prep.warnings, "Odoo"),
        "expected_revenue": number(d["amount"]),
        "probability": probability,
        "date_deadline": iso_date(d["close_date"]),
        "user_id": d["owner"],
        "description": d["notes"],
        "active": lost.map({True: "False", False: "True"}),
    }).astype(object)


def write(prep: Prepared, out_dir: Path, max_rows: int | None, written: list[Path],
          rows: dict[str, int]) -> str:
    frames = {"res_partner": partners_frame(prep), "crm_lead": leads_frame(prep)}
    names = write_csv_parts(frames, out_dir, max_rows, written, rows)
    return readme(prep, names, max_rows)


def readme(prep: Prepared, names: dict[str, list[str]], max_rows: int | None) -> str:
    currencies = sorted(set(prep.deals["currency"].dropna()))
    return f"""# Odoo import

Files: {files_list(names)}.

## Import order: companies → contacts → opportunities
1. **res_partner.csv** into *Contacts* (model `res.partner`): Favorites › Import records › upload.
   The first {len(prep.companies)} rows are the companies (`is_company` = True), then the
   {len(prep.contacts)} people, each linked to its company through `parent_id/id`. Keep that order: Odoo
   resolves a parent by external ID only if it was created earlier (in this file or a previous import).
2. **crm_lead.csv** into *CRM › Pipeline* (model `crm.lead`); `partner_id/id` links the opportunity to its
   contact (or to its company when the deal had no contact).

## External IDs and re-imports
`id` is an external ID in the `crmkit` namespace: `crmkit.company_CO_…`, `crmkit.contact_…`,
`crmkit.deal_…`. Importing a newer export again updates these records instead of duplicating them.
Countries use Odoo's own external IDs in `country_id/id`: `base.de`, `base.us`, `base.cn` … (the ISO code in
lower case; the United Kingdom is `base.uk`), which work whatever the database language.

## Columns to check by hand
- `category_id` (contact tags, comma-separated names): tick *Create if doesn't exist* for this column
  in the import options, or create the tags first.
- `user_id` (salesperson) holds the owner's name: it must match an Odoo user's name, otherwise leave the
  column out (Odoo then assigns no salesperson).
- Phone extensions (Odoo has no field for them) are appended to `comment` as `Phone extension: N`.
- `stage_id` holds stage names of the default pipeline; if your stages are renamed or translated, edit the
  column or map the values.
- Odoo opportunities have no own currency: `expected_revenue` is taken as the company currency
  (currencies in this export: {', '.join(currencies) or 'none'}).

## Stages
{stage_table(STAGES, "Odoo stage_id", {"lost (also)": "`active` = False, `probability` = 0 (Odoo's *Lost*: archived)"})}
Odoo's default pipeline has no negotiation stage, so negotiation goes to *Proposition*. Deals without a
stage go to *New*. `probability` is 0–100 (crmkit stores 0–1); `type` is always `opportunity`.

{readme_common(prep, max_rows)}"""
