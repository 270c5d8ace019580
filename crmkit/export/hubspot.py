"""HubSpot: ``companies.csv``, ``contacts.csv``, ``deals.csv`` for HubSpot's import tool.

Headers are the labels of HubSpot's default properties, so the import tool maps them by itself.
Every file carries a "crmkit ID" column per object (a custom single-line text property with
"require unique values" switched on): it identifies the record, so a second import updates it instead
of creating a duplicate, and it is the common column that associates records across files.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from crmkit.export._common import (Prepared, country_name, umap, deal_titles, files_list, first_filled, iso_date,
                                   map_stages, number, readme_common, split_tags, stage_table,
                                   write_csv_parts)

NAME = "hubspot"
# HubSpot: "files can have up to 1,048,576 rows (the header counts) and be up to 512 MB".
DEFAULT_MAX_ROWS = 1_048_575
MAX_FILE_BYTES = 512 * 1024 * 1024

# crmkit stage -> internal name of the stage in HubSpot's default "Sales Pipeline" (pipeline id "default").
STAGES = {
    "lead": "appointmentscheduled",
    "qualified": "qualifiedtobuy",
    "proposal": "presentationscheduled",
    "negotiation": "contractsent",
    "won": "closedwon",
    "lost": "closedlost",
}
STAGE_LABELS = {
    "appointmentscheduled": "Appointment Scheduled", "qualifiedtobuy": "Qualified To Buy",
    "presentationscheduled": "Presentation Scheduled", "decisionmakerboughtin": "Decision Maker Bought-In",
    "contractsent": "Contract Sent", "closedwon": "Closed Won", "closedlost": "Closed Lost",
}

CONTACT_ID, COMPANY_ID, DEAL_ID = "Contact crmkit ID", "Company crmkit ID", "Deal crmkit ID"


def contacts_frame(prep: Prepared) -> pd.DataFrame:
    c = prep.contacts
    domains = dict(zip(prep.companies["company_id"], prep.companies["domain"]))
    return pd.DataFrame({
        CONTACT_ID: c["contact_id"],
        "First Name": c["first_name"],
        "Last Name": first_filled(c["last_name"], c["full_name"].where(c["first_name"].isna())),
        "Salutation": c["salutation"],
        "Email": c["email"],
        "Phone Number": c["phone"],
        "Mobile Phone Number": c["mobile"],
        "Company Name": c["company"],
        "Job Title": c["job_title"],
        "Street Address": c["street"],
        "City": c["city"],
        "State/Region": c["region"],
        "Postal Code": c["postcode"],
        "Country/Region": umap(c["country"], country_name),
        "Website URL": c["website"],
        "Contact owner": c["owner"],
        # association with the company (both files carry the same column)
        COMPANY_ID: c["company_id"],
        "Company Domain Name": c["company_id"].map(domains).astype(object),
        # no default property: map to a custom property or choose "Don't import"
        "crmkit Phone Extension": c["phone_ext"],
        "crmkit Tags": c["tags"],
        "crmkit Notes": c["notes"],
        "crmkit Created At": iso_date(c["created_at"]),
    })


def companies_frame(prep: Prepared) -> pd.DataFrame:
    co = prep.companies
    return pd.DataFrame({
        COMPANY_ID: co["company_id"],
        "Company name": co["name"],
        "Company Domain Name": co["domain"],
        "Website URL": co["website"],
        "Phone Number": co["phone"],
        "Street Address": co["street"],
        "City": co["city"],
        "State/Region": co["region"],
        "Postal Code": co["postcode"],
        "Country/Region": umap(co["country"], country_name),
        "Company owner": co["owner"],
    })


def deals_frame(prep: Prepared) -> pd.DataFrame:
    d = prep.deals
    emails = dict(zip(prep.contacts["contact_id"], prep.contacts["email"]))
    domains = dict(zip(prep.companies["company_id"], prep.companies["domain"]))
    return pd.DataFrame({
        DEAL_ID: d["deal_id"],
        "Deal Name": deal_titles(d),
        "Pipeline": "default",
        "Deal Stage": map_stages(d["stage"], STAGES, STAGES["lead"], prep.warnings, "HubSpot"),
        "Amount": number(d["amount"]),
        "Currency": d["currency"],
        "Close Date": iso_date(d["close_date"]),
        "Deal owner": d["owner"],
        "crmkit Notes": d["notes"],
        # associations: the contact and the company of the deal
        CONTACT_ID: d["contact_id"],
        "Email": d["contact_id"].map(emails).astype(object).where(d["contact_id"].notna(), d["contact_email"]),
        COMPANY_ID: d["company_id"],
        "Company Domain Name": d["company_id"].map(domains).astype(object),
    }).astype(object)


def write(prep: Prepared, out_dir: Path, max_rows: int | None, written: list[Path],
          rows: dict[str, int]) -> str:
    """Write the three files; returns the README text."""
    frames = {"companies": companies_frame(prep), "contacts": contacts_frame(prep), "deals": deals_frame(prep)}
    names = write_csv_parts(frames, out_dir, max_rows, written, rows)
    for p in written:
        if p.suffix == ".csv" and p.stat().st_size > MAX_FILE_BYTES:
            prep.warnings.append(f"{p.name} is larger than HubSpot's 512 MB per file: "
                                 "export again with a smaller max_rows")
    return readme(prep, names, max_rows)


def readme(prep: Prepared, names: dict[str, list[str]], max_rows: int | None) -> str:
    n_tags = sum(1 for v in prep.contacts["tags"] if split_tags(v))
    stage_rows = {k: f"`{v}` ({STAGE_LABELS[v]})" for k, v in STAGES.items()}
    return f"""# HubSpot import

Files: {files_list(names)}.

## Before the first import (once)
Create a custom property **crmkit ID** (single-line text, *Require unique values* on) on **Contacts**,
**Companies** and **Deals** (Settings › Properties). It is the key that makes a second import update the
records of the first one instead of duplicating them, and the column that links the files.

## Import order: companies → contacts → deals
1. **Companies** — `companies*.csv`, single object import (Companies), *create and update*.
   Map `{COMPANY_ID}` to Company › crmkit ID. The other headers are HubSpot's default labels
   (Company name, Company Domain Name, Phone Number, City, Country/Region, Company owner …) and map by themselves.
2. **Contacts** — `contacts*.csv`, *multiple objects, one file* with **Contacts** and **Companies**.
   Map `{CONTACT_ID}` to Contact › crmkit ID and `{COMPANY_ID}` to Company › crmkit ID: each row then updates the
   contact and associates it with the company imported in step 1. Map `Company Name` to the **contact**
   property *Company Name*; `Company Domain Name` is only needed if you skip the crmkit ID property
   (then map it to Company › Company Domain Name, HubSpot's own company identifier).
3. **Deals** — `deals*.csv`, *multiple objects, one file* with **Deals**, **Contacts** and **Companies**.
   Map `{DEAL_ID}` to Deal › crmkit ID, `{CONTACT_ID}` to Contact › crmkit ID, `{COMPANY_ID}` to Company › crmkit ID.
   `Email` (the contact's email) and `Company Domain Name` are fallback identifiers if you do not use crmkit ID.
   A deal without a contact or company leaves those cells empty and is imported on its own.

## Columns to map by hand
- The three crmkit ID columns (above).
- `crmkit Tags` ({n_tags} contacts have tags, `; `-separated), `crmkit Phone Extension`, `crmkit Notes`,
  `crmkit Created At`: HubSpot has
  no default property for them; create custom properties (e.g. a multiple-checkbox *Tags* property — HubSpot
  separates multiple values by `;`) or choose *Don't import column*.
- `Contact owner`, `Company owner`, `Deal owner` hold the owner's name as it was in the source; HubSpot
  matches users by name or email. Unknown owners are left empty by the import.
- `Currency` (deal currency code) only applies with multi-currency switched on; otherwise do not import it.

## Deal stages (pipeline `default` = *Sales Pipeline*)
{stage_table(stage_rows, "HubSpot Deal Stage (internal name)")}
`decisionmakerboughtin` (Decision Maker Bought-In) is not used: crmkit has no stage between proposal and
negotiation. Deals without a stage go to `appointmentscheduled`. Deal probability follows the stage in
HubSpot, so crmkit's probability is not exported. Country/Region holds the English country name.

{readme_common(prep, max_rows)}"""
