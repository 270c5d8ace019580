"""Salesforce: ``Account.csv``, ``Contact.csv``, ``Opportunity.csv`` with API field names.

Headers are the standard fields' API names, which Data Loader and the Data Import Wizard map by
themselves. Each object gets an ``External_Id__c`` (a custom Text field marked *External ID* and
*Unique*) so an upsert updates instead of duplicating; contacts and opportunities reference their
account through ``Account.External_Id__c`` (the relationship-by-external-id column Data Loader and the
Bulk API understand).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from crmkit.export._common import (Prepared, country_name, umap, deal_titles, files_list, first_filled, iso_date,
                                   map_stages, number, readme_common, stage_table, write_csv_parts)

NAME = "salesforce"
# Data Import Wizard: up to 50,000 records per import (Data Loader: up to 5 million).
DEFAULT_MAX_ROWS = 50_000
CLOSE_DATE_DAYS = 30

STAGES = {
    "lead": "Prospecting",
    "qualified": "Qualification",
    "proposal": "Proposal/Price Quote",
    "negotiation": "Negotiation/Review",
    "won": "Closed Won",
    "lost": "Closed Lost",
}
ACCOUNT_REF = "Account.External_Id__c"


def _country(s: pd.Series) -> pd.Series:
    # the ISO English name is what the State and Country/Territory picklists accept
    return umap(s, lambda v: country_name(v, official=True))


def accounts_frame(prep: Prepared) -> pd.DataFrame:
    co = prep.companies
    return pd.DataFrame({
        "External_Id__c": co["company_id"],
        "Name": first_filled(co["name"], co["company_id"]),
        "Website": first_filled(co["website"], co["domain"]),
        "Phone": co["phone"],
        "BillingStreet": co["street"],
        "BillingCity": co["city"],
        "BillingState": co["region"],
        "BillingPostalCode": co["postcode"],
        "BillingCountry": _country(co["country"]),
        "OwnerName": co["owner"],
    })


def contacts_frame(prep: Prepared) -> pd.DataFrame:
    c = prep.contacts
    # LastName is required: last name, else the full name (then FirstName stays empty), else "Unknown"
    last = first_filled(c["last_name"], c["full_name"], c["first_name"]).fillna("Unknown")
    first = c["first_name"].where(c["last_name"].notna(), None)
    return pd.DataFrame({
        "External_Id__c": c["contact_id"],
        "Salutation": c["salutation"],
        "FirstName": first.astype(object),
        "LastName": last.astype(object),
        "Email": c["email"],
        "Phone": c["phone"],
        "Phone_Extension__c": c["phone_ext"],
        "MobilePhone": c["mobile"],
        "Title": c["job_title"],
        "MailingStreet": c["street"],
        "MailingCity": c["city"],
        "MailingState": c["region"],
        "MailingPostalCode": c["postcode"],
        "MailingCountry": _country(c["country"]),
        ACCOUNT_REF: c["company_id"],
        "Account Name": c["company"],
        "Description": c["notes"],
        "Tags__c": c["tags"],
        "OwnerName": c["owner"],
    })


def opportunities_frame(prep: Prepared) -> pd.DataFrame:
    d = prep.deals
    close = iso_date(d["close_date"])
    created = pd.to_datetime(iso_date(d["created_at"]), errors="coerce", format="%Y-%m-%d")
    from_created = (created + pd.Timedelta(days=CLOSE_DATE_DAYS)).dt.strftime("%Y-%m-%d").astype(object)
    from_created = from_created.where(created.notna(), None)
    n_created = int((close.isna() & from_created.notna()).sum())
    close = first_filled(close, from_created)
    n_today = int(close.isna().sum())
    close = close.fillna(prep.today.isoformat()).astype(object)
    if n_created or n_today:
        prep.warnings.append(f"Salesforce: {n_created + n_today} opportunities had no close date: "
                             f"{n_created} got created date + {CLOSE_DATE_DAYS} days, {n_today} got the export "
                             f"date ({prep.today.isoformat()}); CloseDate is required")
    return pd.DataFrame({
        "External_Id__c": d["deal_id"],
        "Name": deal_titles(d),
        "StageName": map_stages(d["stage"], STAGES, STAGES["lead"], prep.warnings, "Salesforce"),
        "Amount": number(d["amount"]),
        "CurrencyIsoCode": d["currency"],
        "CloseDate": close,
        "Probability": number(d["probability"], scale=100, decimals=0),
        ACCOUNT_REF: d["company_id"],
        "Contact External Id": d["contact_id"],
        "Description": d["notes"],
        "OwnerName": d["owner"],
    }).astype(object)


def write(prep: Prepared, out_dir: Path, max_rows: int | None, written: list[Path],
          rows: dict[str, int]) -> str:
    frames = {"Account": accounts_frame(prep), "Contact": contacts_frame(prep),
              "Opportunity": opportunities_frame(prep)}
    names = write_csv_parts(frames, out_dir, max_rows, written, rows)
    return readme(prep, names, max_rows)


def readme(prep: Prepared, names: dict[str, list[str]], max_rows: int | None) -> str:
    return f"""# Salesforce import

Files: {files_list(names)}.

## Before the first import (once)
On **Account**, **Contact** and **Opportunity** create a custom field **External_Id__c** (Text(64), tick
*External ID* and *Unique*). It carries crmkit's ids: upserting on it updates records imported before instead
of duplicating them, and it links the files.

## Import order: Account → Contact → Opportunity
1. **Account.csv** — Data Loader *Upsert* on Account, matching field `External_Id__c`
   (or Data Import Wizard › Accounts and Contacts › *Add new and update existing*, match Account by External ID).
2. **Contact.csv** — Data Loader *Upsert* on Contact, matching field `External_Id__c`. Map
   `{ACCOUNT_REF}` to the **Account** lookup *by External_Id__c* (Data Loader lists it as
   `Account:External_Id__c` in the relationship step); this links each contact to its account.
   In the Data Import Wizard use `Account Name` to link instead (it matches accounts by name).
3. **Opportunity.csv** — **Data Loader only** (the Data Import Wizard does not import opportunities):
   *Upsert* on Opportunity, matching `External_Id__c`, with `{ACCOUNT_REF}` mapped to the Account lookup.
   Opportunities without a company leave it empty.

## Columns to map by hand (or leave unmapped)
- `OwnerName` (all files): the owner's name from the source. Salesforce needs a User Id in `OwnerId`:
  replace the names with user ids, or leave the column unmapped and every record is owned by the importing user.
- `Tags__c` (Contact): `; `-separated tags; create a Long Text Area field or leave unmapped.
- `Phone_Extension__c` (Contact): the phone's extension; create a Text field or leave unmapped.
- `Account Name` (Contact): only for the Data Import Wizard.
- `Contact External Id` (Opportunity): the deal's contact; import an OpportunityContactRole file
  (OpportunityId, ContactId) after looking up the new ids, or leave unmapped.
- `CurrencyIsoCode`: only in multi-currency orgs.
- `Salutation` is a picklist (Mr., Ms., Mrs., Dr., Prof.): values outside it need the picklist extended.

## Opportunity stages (default Sales Process)
{stage_table(STAGES, "Salesforce StageName")}
Opportunities without a stage get *Prospecting*. `Probability` is 0–100 (crmkit stores 0–1); empty means
Salesforce fills in the stage's default. `CloseDate` is required: where the deal had none it is the deal's
created date + {CLOSE_DATE_DAYS} days, else the export date ({prep.today.isoformat()}).
`LastName` is required: where the contact had no last name it is the full name (first name left empty),
else `Unknown`. Billing/Mailing country is the ISO English country name (what the State and Country/Territory
picklists accept).

{readme_common(prep, max_rows)}"""
