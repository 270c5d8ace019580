"""The canonical workbook: formatting, formula safety and reading back into the same tables."""
from __future__ import annotations

import csv

import openpyxl
import pandas as pd

from crmkit.workbook import neutralise, read_workbook, write_csv, write_workbook

RISKY = ["=1+1", "+49 30 1234567x", "-cmd", "@SUM(A1:A2)", "\t=2", "=HYPERLINK(\"http://x\",\"y\")"]


def _tables():
    contacts = pd.DataFrame({
        "contact_id": [f"C{i}" for i in range(len(RISKY) + 2)],
        "full_name": RISKY + ["张伟", "Zoë Müller"],
        "phone": ["+14155550123"] * (len(RISKY) + 2),
        "postcode": ["01067"] * (len(RISKY) + 2),
        "n_sources": [1] * (len(RISKY) + 2),
    })
    deals = pd.DataFrame({"deal_id": ["D1"], "name": ["Renewal"], "amount": [1234.5], "probability": [0.25]})
    return {"contacts": contacts, "deals": deals, "orders": pd.DataFrame(columns=["order_id"])}


def test_workbook_has_no_formula_cells_and_reads_back(tmp_path):
    path = write_workbook(_tables(), tmp_path / "crm.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["Contacts", "Deals", "Orders"]
    ws = wb["Contacts"]
    assert ws.freeze_panes == "A2"
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    assert [c.value for c in ws["B"]][1:7] == RISKY
    back = read_workbook(path)
    pd.testing.assert_series_equal(back["contacts"]["full_name"], _tables()["contacts"]["full_name"],
                                   check_dtype=False)
    assert back["contacts"]["postcode"].tolist()[0] == "01067"  # leading zero kept
    assert back["deals"]["amount"].tolist() == [1234.5]


def test_csv_output_is_neutralised_but_numbers_are_not(tmp_path):
    df = pd.DataFrame({"v": RISKY + ["-12.5", "+3", "plain"]})
    write_csv(df, tmp_path / "x.csv")
    with open(tmp_path / "x.csv", encoding="utf-8-sig", newline="") as fh:
        values = [r[0] for r in csv.reader(fh)][1:]
    assert all(v.startswith("'") for v in values[: len(RISKY)])
    assert values[len(RISKY):] == ["-12.5", "+3", "plain"]
    assert neutralise(12) == 12
