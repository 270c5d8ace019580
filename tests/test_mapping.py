"""Header mapping: synonyms in five languages, fuzzy near-misses, entity detection, JSON round trip."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crmkit.errors import MappingError
from crmkit.mapping import Mapping, apply_mapping, infer_mapping, map_sheets
from crmkit.read import RawSheet
from crmkit.schema import ISSUE_COLUMNS


def _raw(headers, rows=None, name="file.csv", sheet=""):
    rows = rows or [["x"] * len(headers)]
    frame = pd.DataFrame(rows, columns=headers, dtype=object, index=range(2, 2 + len(rows)))
    kinds = frame.map(lambda v: "s" if v else "")
    return RawSheet(path=Path(name), sheet=sheet, header_row=1, frame=frame, kinds=kinds, encoding="utf-8",
                    delimiter=",", skipped=[], issues=pd.DataFrame(columns=ISSUE_COLUMNS))


@pytest.mark.parametrize("headers, expected", [
    (["E-mail Address", "First Name", "Last Name", "Mobile #", "Company"],
     {"E-mail Address": "email", "First Name": "first_name", "Last Name": "last_name", "Mobile #": "mobile",
      "Company": "company"}),
    (["Vorname", "Nachname", "E-Mail", "Telefon", "Firma", "Ort", "Land"],
     {"Vorname": "first_name", "Nachname": "last_name", "E-Mail": "email", "Telefon": "phone",
      "Firma": "company", "Ort": "city", "Land": "country"}),
    (["姓名", "手机", "邮箱", "公司", "城市"],
     {"姓名": "full_name", "手机": "mobile", "邮箱": "email", "公司": "company", "城市": "city"}),
    (["Courriel", "Prénom", "Nom de famille", "Société"],
     {"Courriel": "email", "Prénom": "first_name", "Nom de famille": "last_name", "Société": "company"}),
    (["Correo electrónico", "Nombre", "Apellidos", "Teléfono"],
     {"Correo electrónico": "email", "Nombre": "first_name", "Apellidos": "last_name", "Teléfono": "phone"}),
])
def test_contact_headers_in_five_languages(headers, expected):
    m = infer_mapping(_raw(headers))
    assert m.entity == "contact"
    assert m.mapped == expected


def test_fuzzy_near_misses_and_unmapped_columns_are_kept():
    m = infer_mapping(_raw(["Emial Adress", "Frist Name", "Lead Source", "Telephone"]))
    assert m.columns["Emial Adress"] == "email"
    assert m.columns["Frist Name"] == "first_name"
    assert m.columns["Lead Source"] is None
    assert m.scores["Emial Adress"] < 100
    mapped = apply_mapping(_raw(["Emial Adress", "Lead Source"], [["a@b.co", "Fair"]]), m)
    assert mapped.extras.columns.tolist() == ["Lead Source"]
    assert mapped.frame["source_row"].tolist() == [2]


def test_entity_detection_for_deals_and_orders():
    deals = infer_mapping(_raw(["Deal Name", "Account Name", "Stage", "Amount", "Probability (%)", "Close Date"]))
    assert deals.entity == "deal"
    assert deals.mapped["Stage"] == "stage" and deals.mapped["Account Name"] == "company"
    orders = infer_mapping(_raw(["Order No", "Order Date", "Customer Email", "Total", "Currency"]))
    assert orders.entity == "order"
    assert orders.mapped == {"Order No": "order_id", "Order Date": "order_date", "Customer Email": "customer_email",
                             "Total": "amount", "Currency": "currency"}
    pipeline = infer_mapping(_raw(["Opportunity", "Company", "Contact", "Contact E-mail", "Phase", "Value (€)",
                                   "Expected close", "Owner"]))
    assert pipeline.entity == "deal"
    assert pipeline.mapped["Value (€)"] == "amount" and pipeline.mapped["Phase"] == "stage"


def test_a_sheet_that_is_not_customer_data_is_not_guessed():
    assert infer_mapping(_raw(["SKU", "Warehouse", "Bin"])).entity is None


def test_mapping_round_trips_through_json_and_is_applied(tmp_path):
    raw = _raw(["Mail", "Name", "Extra"], name="leads.csv")
    m = map_sheets([raw])
    m.sheets[0].columns["Extra"] = "notes"  # a user's edit
    path = tmp_path / "mapping.json"
    m.save(path)
    again = map_sheets([raw], Mapping.load(path))
    assert again.sheets[0].columns == {"Mail": "email", "Name": "full_name", "Extra": "notes"}
    assert Mapping.from_json(m.to_json()).to_json() == m.to_json()


def test_bad_mappings_say_what_to_fix(tmp_path):
    with pytest.raises(MappingError, match="not valid JSON"):
        Mapping.from_json("{nope")
    with pytest.raises(MappingError, match="unknown contact field 'e_mail'.*valid fields"):
        Mapping.from_json('{"sheets": [{"file": "a.csv", "entity": "contact", "columns": {"Mail": "e_mail"}}]}')
    m = Mapping.from_json('{"sheets": [{"file": "a.csv", "entity": "contact", "columns": {"Gone": "email"}}]}')
    with pytest.raises(MappingError, match="a.csv.*'Gone'"):
        map_sheets([_raw(["Mail"], name="a.csv")], m)


def test_a_saved_header_row_is_replayed_by_migrate(tmp_path):
    """A mapping that pins the header row (the app's override) makes migrate read the sheet from there."""
    import crmkit
    from crmkit.read import read

    path = tmp_path / "leads.csv"
    # a group-heading row that looks like a header: detection takes row 1, the user pins row 2
    path.write_text("Kunde,Kontakt,Adresse\nVorname,Nachname,E-Mail\nAnna,Schmidt,anna@example.de\n"
                    "Jürgen,Weiß,JUERGEN@EXAMPLE.DE\n", encoding="utf-8")
    assert read(path)[0].header_row == 1
    pinned = infer_mapping(read(path, header_row=2)[0])
    assert pinned.header_row == 2 and pinned.columns["E-Mail"] == "email"
    mapping_path = tmp_path / "mapping.json"
    Mapping([pinned]).save(mapping_path)

    crmkit.migrate([path], tmp_path / "crm.sqlite", mapping=mapping_path)
    tables = crmkit.read_store(tmp_path / "crm.sqlite")
    assert sorted(tables["contacts"]["email"]) == ["anna@example.de", "juergen@example.de"]
    rows = tables["source_rows"].sort_values("source_row")
    assert list(rows["source_row"]) == [3, 4]  # the file's own row numbers, header on line 2
