"""export(): input forms, errors, filters, derived companies, masking, splitting, stable ids."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from crmkit.errors import CrmkitError
from crmkit.export import TARGETS, export
from crmkit.clean._free_mail import is_free_mail
from crmkit.export._common import company_id, derive_companies, load_tables, pseudonym


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_unknown_target_lists_valid_ones(tables, tmp_path):
    with pytest.raises(CrmkitError) as err:
        export(tables, "pipedrive", tmp_path)
    for name in TARGETS:
        assert name in str(err.value)


@pytest.mark.parametrize("contacts", [None, pd.DataFrame(columns=["contact_id", "email"])])
def test_store_without_contacts_is_a_clear_error(contacts, tables, tmp_path):
    given = {"deals": tables["deals"]} if contacts is None else {"contacts": contacts}
    with pytest.raises(CrmkitError, match="no contacts"):
        export(given, "hubspot", tmp_path)


def test_bad_options_are_errors(tables, tmp_path):
    with pytest.raises(CrmkitError, match="mask_mode"):
        export(tables, "csv", tmp_path, mask=["email"], mask_mode="scramble")
    with pytest.raises(CrmkitError, match="unknown column"):
        export(tables, "csv", tmp_path, mask=["shoe_size"])
    with pytest.raises(CrmkitError, match="id columns"):
        export(tables, "csv", tmp_path, mask=["contact_id"])
    with pytest.raises(CrmkitError, match="max_rows"):
        export(tables, "csv", tmp_path, max_rows=0)
    with pytest.raises(CrmkitError, match="tags in this store"):
        export(tables, "csv", tmp_path, tags=["no-such-tag"])


def test_store_and_path_inputs(tables, tmp_path):
    from crmkit.store import Store

    db = tmp_path / "crm.sqlite"
    Store(db).write(replace=tables)
    by_path = export(db, "csv", tmp_path / "a")
    by_store = export(Store(db), "csv", tmp_path / "b")
    assert by_path.counts == by_store.counts == {"contacts": 6, "companies": 4, "deals": 6, "orders": 2}


def test_three_contacts_make_one_company(tables):
    t = load_tables(tables)
    companies, contacts, deals = derive_companies(t["contacts"], t["deals"])
    mueller = companies[companies["company_key"] == "muller maschinenbau"]
    assert len(mueller) == 1
    row = mueller.iloc[0]
    assert row["company_id"] == company_id("muller maschinenbau")
    assert row["name"] == "Müller Maschinenbau GmbH"  # 2 of 3 spell it so
    assert row["domain"] == "mueller-maschinenbau.de"  # gmx.de is free mail
    assert (row["city"], row["country"], row["n_contacts"]) == ("Berlin", "DE", 3)
    assert row["phone"] == "+493012345600"  # shared by two contacts
    linked = contacts.loc[contacts["company_id"] == row["company_id"], "contact_id"]
    assert sorted(linked) == ["C0001", "C0002", "C0003"]
    # a deal that names only a company creates it; a deal with a contact inherits its company
    assert "globex" in set(companies["company_key"])
    assert deals.set_index("deal_id").loc["D004", "company_id"] == company_id("globex")
    # CJK company: domain from the work address, not qq.com
    cn = companies.set_index("company_key").loc["华信科技"]
    assert cn["domain"] == "huaxin-tech.cn" and cn["name"] == "华信科技有限公司"


def test_free_mail():
    assert all(map(is_free_mail, ["gmail.com", "gmx.de", "gmx.net", "qq.com", "163.com", "web.de",
                                  "yahoo.co.uk", "outlook.de", "hotmail.com"]))
    assert not is_free_mail("mueller-maschinenbau.de")


def test_deal_linked_by_contact_email(tables, tmp_path):
    res = export(tables, "csv", tmp_path)
    deals = {r["deal_id"]: r for r in read(tmp_path / "deals.csv")}
    assert deals["D006"]["contact_id"] == "C0003"
    assert deals["D006"]["company_id"] == company_id("muller maschinenbau")
    assert deals["D004"]["contact_id"] == ""
    assert res.counts["deals"] == 6


@pytest.mark.parametrize("kw, expected", [
    ({"segments": ["Champions"]}, {"C0001", "C0004"}),
    ({"segments": "rfm:Champions"}, {"C0001", "C0004"}),
    ({"tags": ["rfm:champions", "newsletter"]}, {"C0001", "C0003", "C0004"}),
    ({"segments": ["Loyal"], "tags": ["VIP"]}, {"C0001", "C0005"}),
])
def test_segment_and_tag_filters(tables, tmp_path, kw, expected):
    res = export(tables, "csv", tmp_path, **kw)
    assert {r["contact_id"] for r in read(tmp_path / "contacts.csv")} == expected
    kept_deals = {r["deal_id"] for r in read(tmp_path / "deals.csv")}
    contact_of = {"D001": "C0001", "D002": "C0004", "D003": "C0005", "D005": "C0002", "D006": "C0003"}
    assert kept_deals == {d for d, c in contact_of.items() if c in expected}
    companies = {r["company_id"] for r in read(tmp_path / "companies.csv")}
    contacts_companies = {r["company_id"] for r in read(tmp_path / "contacts.csv") if r["company_id"]}
    assert companies == contacts_companies
    assert res.counts["contacts"] == len(expected)


def test_hash_mask_is_stable_and_keeps_links(tables, tmp_path):
    mask = ["email", "phone", "last_name", "company"]
    a = export(tables, "hubspot", tmp_path / "a", mask=mask)
    export(tables, "hubspot", tmp_path / "b", mask=mask)
    for name in ("contacts.csv", "companies.csv", "deals.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    contacts = read(tmp_path / "a" / "contacts.csv")
    text = (tmp_path / "a" / "contacts.csv").read_text(encoding="utf-8-sig")
    for secret in ("anna.schmidt", "Schmidt", "+493012345678", "Müller", "mueller-maschinenbau", "王"):
        assert secret not in text
    anna = contacts[0]
    assert anna["Email"] == pseudonym("anna.schmidt@mueller-maschinenbau.de", "email")
    assert anna["Email"].startswith("h_") and anna["Email"].endswith("@example.invalid")
    assert anna["Phone Number"].startswith("+999") and anna["Phone Number"][1:].isdigit()
    assert anna["First Name"] == "Anna"  # not masked
    assert anna["Contact crmkit ID"] == "C0001"  # ids never masked
    # the deal's association email is masked the same way as the contact's email
    deals = {r["Deal crmkit ID"]: r for r in read(tmp_path / "a" / "deals.csv")}
    assert deals["D001"]["Email"] == anna["Email"]
    assert "Schmidt" not in (tmp_path / "a" / "deals.csv").read_text(encoding="utf-8-sig")
    companies = read(tmp_path / "a" / "companies.csv")
    assert all(c["Company name"].startswith("h_") for c in companies)
    assert set(a.masked) >= {"email", "emails", "contact_email", "domain", "full_name", "company"}
    assert "Test import" in a.readme.read_text(encoding="utf-8")


def test_redact_mask_empties(tables, tmp_path):
    export(tables, "salesforce", tmp_path, mask=["email", "mobile"], mask_mode="redact")
    contacts = read(tmp_path / "Contact.csv")
    assert all(r["Email"] == "" and r["MobilePhone"] == "" for r in contacts)
    assert contacts[0]["Phone"] == "+493012345678"


def test_split_into_parts(tables, tmp_path):
    res = export(tables, "hubspot", tmp_path, max_rows=4)
    names = [p.name for p in res.files]
    assert names == ["companies.csv", "contacts_part1.csv", "contacts_part2.csv", "deals_part1.csv",
                     "deals_part2.csv", "README.md"]
    assert res.rows == {"companies.csv": 4, "contacts_part1.csv": 4, "contacts_part2.csv": 2,
                        "deals_part1.csv": 4, "deals_part2.csv": 2}
    ids = [r["Contact crmkit ID"] for n in ("contacts_part1.csv", "contacts_part2.csv") for r in read(tmp_path / n)]
    assert ids == ["C0001", "C0002", "C0003", "C0004", "C0005", "C0006"]
    assert all(read(tmp_path / n)[0].keys() == read(tmp_path / "contacts_part1.csv")[0].keys()
               for n in ("contacts_part2.csv",))
    assert "parts of at most 4 rows" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_default_limits():
    from crmkit.export import DEFAULT_MAX_ROWS

    assert DEFAULT_MAX_ROWS["salesforce"] == 50_000
    assert DEFAULT_MAX_ROWS["hubspot"] == 1_048_575
    assert DEFAULT_MAX_ROWS["odoo"] is None


def test_xlsx_parts_and_round_trip(tables, tmp_path):
    from python_calamine import CalamineWorkbook

    res = export(tables, "xlsx", tmp_path, max_rows=5)
    assert [p.name for p in res.files] == ["crm_export_part1.xlsx", "crm_export_part2.xlsx", "README.md"]
    wb = CalamineWorkbook.from_path(str(tmp_path / "crm_export_part1.xlsx"))
    assert wb.sheet_names == ["Contacts", "Companies", "Deals", "Orders"]
    rows = wb.get_sheet_by_name("Contacts").to_python()
    assert len(rows) == 6 and rows[4][rows[0].index("full_name")] == "王伟"
    notes = rows[1][rows[0].index("notes")]
    assert notes.startswith("=HYPERLINK")  # a text cell in xlsx, never a formula
    assert res.rows["crm_export_part2.xlsx:Contacts"] == 1


def test_ids_stable_across_exports(tables, tmp_path):
    export(tables, "odoo", tmp_path / "one")
    shuffled = {k: v.iloc[::-1].reset_index(drop=True) for k, v in tables.items()}
    export(shuffled, "odoo", tmp_path / "two")
    ids = [sorted(r["id"] for r in read(tmp_path / d / "res_partner.csv")) for d in ("one", "two")]
    assert ids[0] == ids[1]
    assert "crmkit.company_" + company_id("acme").replace("-", "_") in ids[0]
