"""Per target: files and headers, row counts, links to companies, stage mapping, formula safety,
CJK text, README."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crmkit.export import export
from crmkit.export._common import company_id

MUELLER = company_id("muller maschinenbau")


def read(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def assert_readme(out: Path, *words: str) -> str:
    text = (out / "README.md").read_text(encoding="utf-8")
    for w in words:
        assert w in text, w
    return text


def test_hubspot(tables, tmp_path):
    res = export(tables, "hubspot", tmp_path)
    assert [p.name for p in res.files] == ["companies.csv", "contacts.csv", "deals.csv", "README.md"]
    assert res.rows == {"companies.csv": 4, "contacts.csv": 6, "deals.csv": 6}
    contacts, companies, deals = (read(tmp_path / f"{n}.csv") for n in ("contacts", "companies", "deals"))
    assert list(contacts[0])[:6] == ["Contact crmkit ID", "First Name", "Last Name", "Salutation", "Email",
                                     "Phone Number"]
    for col in ("Mobile Phone Number", "Company Name", "Job Title", "City", "Country/Region", "Street Address",
                "Postal Code", "Contact owner", "Company crmkit ID", "Company Domain Name"):
        assert col in contacts[0]
    assert list(companies[0]) == ["Company crmkit ID", "Company name", "Company Domain Name", "Website URL",
                                  "Phone Number", "Street Address", "City", "State/Region", "Postal Code",
                                  "Country/Region", "Company owner"]
    for col in ("Deal crmkit ID", "Deal Name", "Pipeline", "Deal Stage", "Amount", "Close Date", "Deal owner",
                "Contact crmkit ID", "Email", "Company crmkit ID"):
        assert col in deals[0]
    # 3 contacts -> 1 company, linked by the common column
    assert [c["Company crmkit ID"] for c in contacts[:3]] == [MUELLER] * 3
    mueller = next(c for c in companies if c["Company crmkit ID"] == MUELLER)
    assert (mueller["Company name"], mueller["Company Domain Name"], mueller["Country/Region"]) == \
        ("Müller Maschinenbau GmbH", "mueller-maschinenbau.de", "Germany")
    stages = {d["Deal crmkit ID"]: d["Deal Stage"] for d in deals}
    assert stages == {"D001": "contractsent", "D002": "closedwon", "D003": "closedlost",
                      "D004": "appointmentscheduled", "D005": "presentationscheduled", "D006": "qualifiedtobuy"}
    assert {d["Pipeline"] for d in deals} == {"default"}
    d1 = deals[0]
    assert (d1["Amount"], d1["Close Date"]) == ("125000", "2024-09-30")
    assert d1["Email"] == "anna.schmidt@mueller-maschinenbau.de"
    nobody = next(d for d in deals if d["Deal crmkit ID"] == "D004")
    assert nobody["Contact crmkit ID"] == "" and nobody["Deal Name"] == "Globex Corporation deal"
    # phones stay E.164, not neutralised; the extension has its own column
    assert contacts[0]["Phone Number"] == "+493012345678" and contacts[0]["crmkit Phone Extension"] == "12"
    # formula-looking text is neutralised, CJK survives
    assert contacts[0]["crmkit Notes"].startswith("'=HYPERLINK")
    assert contacts[1]["Job Title"] == "'+Geschäftsführer" and contacts[2]["Job Title"] == "'@Technik"
    assert d1["crmkit Notes"] == "'=1+1"
    wang = contacts[3]
    assert (wang["First Name"], wang["Last Name"], wang["Company Name"], wang["City"]) == ("伟", "王", "华信科技有限公司", "上海")
    assert assert_readme(tmp_path, "crmkit ID", "companies → contacts → deals", "contractsent", "closedlost",
                         "Require unique values")


def test_salesforce(tables, tmp_path):
    res = export(tables, "salesforce", tmp_path)
    assert [p.name for p in res.files] == ["Account.csv", "Contact.csv", "Opportunity.csv", "README.md"]
    accounts, contacts, opps = (read(tmp_path / f"{n}.csv") for n in ("Account", "Contact", "Opportunity"))
    assert (len(accounts), len(contacts), len(opps)) == (4, 6, 6)
    for col in ("Name", "BillingStreet", "BillingCity", "BillingPostalCode", "BillingCountry", "Website", "Phone",
                "External_Id__c"):
        assert col in accounts[0]
    for col in ("FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title", "MailingStreet", "MailingCity",
                "MailingPostalCode", "MailingCountry", "Account.External_Id__c", "External_Id__c"):
        assert col in contacts[0]
    for col in ("Name", "StageName", "Amount", "CloseDate", "Probability", "Account.External_Id__c",
                "External_Id__c"):
        assert col in opps[0]
    assert [c["Account.External_Id__c"] for c in contacts[:3]] == [MUELLER] * 3
    assert MUELLER in {a["External_Id__c"] for a in accounts}
    # LastName is required: a contact with only a first name gets it as LastName
    maria = contacts[5]
    assert (maria["FirstName"], maria["LastName"]) == ("", "Maria")
    assert (contacts[3]["FirstName"], contacts[3]["LastName"]) == ("伟", "王")
    by_id = {o["External_Id__c"]: o for o in opps}
    assert {k: o["StageName"] for k, o in by_id.items()} == {
        "D001": "Negotiation/Review", "D002": "Closed Won", "D003": "Closed Lost", "D004": "Prospecting",
        "D005": "Proposal/Price Quote", "D006": "Qualification"}
    assert (by_id["D001"]["Probability"], by_id["D001"]["CloseDate"]) == ("70", "2024-09-30")
    # CloseDate defaults: created_at + 30 days, else the export date
    assert by_id["D003"]["CloseDate"] == "2024-03-02"
    assert by_id["D005"]["CloseDate"] and by_id["D005"]["CloseDate"][:2] == "20"
    assert by_id["D004"]["Account.External_Id__c"] == company_id("globex")
    assert accounts[0]["BillingCountry"] == "United States"
    assert any("close date" in w for w in res.warnings)
    assert_readme(tmp_path, "External_Id__c", "Account → Contact → Opportunity", "Negotiation/Review",
                  "created date + 30 days", "Data Loader")


def test_odoo(tables, tmp_path):
    res = export(tables, "odoo", tmp_path)
    assert [p.name for p in res.files] == ["res_partner.csv", "crm_lead.csv", "README.md"]
    partners, leads = read(tmp_path / "res_partner.csv"), read(tmp_path / "crm_lead.csv")
    assert list(partners[0]) == ["id", "name", "is_company", "parent_id/id", "email", "phone", "mobile", "function",
                                 "street", "zip", "city", "country_id/id", "website", "category_id", "comment"]
    assert list(leads[0])[:10] == ["id", "name", "type", "partner_id/id", "email_from", "stage_id",
                                   "expected_revenue", "probability", "date_deadline", "user_id"]
    assert len(partners) == 4 + 6 and len(leads) == 6
    # companies first, then people pointing at them
    assert [p["is_company"] for p in partners] == ["True"] * 4 + ["False"] * 6
    company_xid = "crmkit.company_" + MUELLER.replace("-", "_")
    assert company_xid in [p["id"] for p in partners[:4]]
    people = {p["id"]: p for p in partners[4:]}
    assert [people[f"crmkit.contact_C000{i}"]["parent_id/id"] for i in (1, 2, 3)] == [company_xid] * 3
    assert people["crmkit.contact_C0004"]["name"] == "王伟"
    assert people["crmkit.contact_C0004"]["country_id/id"] == "base.cn"
    assert people["crmkit.contact_C0001"]["category_id"] == "vip,rfm:Champions"
    assert people["crmkit.contact_C0001"]["comment"].startswith("'=HYPERLINK")
    assert "Phone extension: 12" in people["crmkit.contact_C0001"]["comment"]
    by_id = {x["id"]: x for x in leads}
    assert {k: x["stage_id"] for k, x in by_id.items()} == {
        "crmkit.deal_D001": "Proposition", "crmkit.deal_D002": "Won", "crmkit.deal_D003": "New",
        "crmkit.deal_D004": "New", "crmkit.deal_D005": "Proposition", "crmkit.deal_D006": "Qualified"}
    assert by_id["crmkit.deal_D003"]["active"] == "False" and by_id["crmkit.deal_D003"]["probability"] == "0"
    assert by_id["crmkit.deal_D001"]["probability"] == "70"
    assert by_id["crmkit.deal_D004"]["partner_id/id"] == "crmkit.company_" + company_id("globex").replace("-", "_")
    assert {x["type"] for x in leads} == {"opportunity"}
    assert res.counts == {"contacts": 6, "companies": 4, "deals": 6}
    assert_readme(tmp_path, "res_partner.csv", "base.uk", "Proposition", "parent_id/id")


def test_generic_csv(tables, tmp_path):
    res = export(tables, "csv", tmp_path)
    assert [p.name for p in res.files] == ["contacts.csv", "companies.csv", "deals.csv", "orders.csv", "README.md"]
    contacts = read(tmp_path / "contacts.csv")
    assert list(contacts[0])[:2] == ["contact_id", "first_name"] and "company_id" in contacts[0]
    assert contacts[3]["full_name"] == "王伟"
    assert contacts[0]["notes"].startswith("'=")
    orders = read(tmp_path / "orders.csv")
    assert [o["product"] for o in orders] == ["Fräser", "传感器"]
    assert_readme(tmp_path, "companies → contacts → deals → orders")


@pytest.mark.parametrize("target", ["hubspot", "salesforce", "odoo", "csv", "xlsx"])
def test_every_target_writes_a_readme_and_counts(tables, tmp_path, target):
    res = export(tables, target, tmp_path)
    assert res.files[-1] == res.readme == tmp_path / "README.md"
    assert all(p.exists() for p in res.files)
    assert res.counts["contacts"] == 6 and res.counts["deals"] == 6
    assert not res.warnings or target == "salesforce"
