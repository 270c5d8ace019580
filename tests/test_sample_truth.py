"""The sample files and their hidden truth agree with each other (no crmkit code involved).

The truth in tests/data/sample_truth/ is what accuracy tests score crmkit against, so it must
point at the right rows: these tests re-read the committed files with csv/openpyxl directly.
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
TRUTH = ROOT / "tests" / "data" / "sample_truth"
GENERATOR = SAMPLE / "make_sample_data.py"

# file -> (encoding, delimiter, email column)
CSV_FILES = {
    "tradeshow_leads_2023.csv": ("utf-8-sig", ";", "E-Mail"),
    "newsletter_signups.csv": ("utf-8", ",", "Email"),
    "china_customers.csv": ("gbk", ",", "邮箱"),
    "orders_2022_2024.csv": ("cp1252", ",", "Customer Email"),
    "contacts_unicode_export.txt": ("utf-16", "\t", "Email"),
}
# (file, sheet) -> email column
XLSX_SHEETS = {
    ("old_crm_export.xlsx", "Contacts"): "E-mail Address",
    ("old_crm_export.xlsx", "Deals"): "Contact Email",
    ("sales_pipeline.xlsx", "Pipeline 2024"): "Contact E-mail",
}
TRUTH_FILES = ["rows.csv", "people.csv", "README.md"]


def _read_truth(name: str) -> list[dict[str, str]]:
    with open(TRUTH / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return _read_truth("rows.csv")


@pytest.fixture(scope="module")
def people() -> list[dict[str, str]]:
    return _read_truth("people.csv")


def _csv_records(name: str) -> dict[int, dict[str, str]]:
    """Data records keyed by the physical line each starts on (header line = 1)."""
    encoding, delimiter, _ = CSV_FILES[name]
    text = (SAMPLE / name).read_bytes().decode(encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    out = {}
    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        assert len(rec) == len(header), (name, start, rec)
        out[start] = dict(zip(header, rec))
    return out


def _xlsx_records(name: str, sheet: str) -> dict[int, dict[str, object]]:
    from openpyxl import load_workbook

    ws = load_workbook(SAMPLE / name)[sheet]
    values = {r: [c.value for c in row] for r, row in enumerate(ws.iter_rows(), 1)}
    header_row = next(r for r, v in values.items() if v[0] in ("First Name", "Deal Name", "Opportunity"))
    header = values[header_row]
    out = {}
    for r, v in values.items():
        if r <= header_row or all(x is None for x in v):
            continue
        if isinstance(v[0], str) and v[0].startswith("Total:"):
            assert v[0] == f"Total: {len(out)} contacts"
            continue
        out[r] = dict(zip(header, v))
    return out


def _norm_email(raw: object) -> str:
    s = unicodedata.normalize("NFKC", str(raw or "")).strip()
    m = re.search(r"<([^>]+)>", s)
    s = (m.group(1) if m else s).removeprefix("mailto:").strip().lower()
    return s


def test_generator_is_byte_identical(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)], check=True, capture_output=True)
    made = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    committed = sorted(p.name for p in SAMPLE.iterdir() if p.is_file() and p.suffix != ".py")
    assert made == committed
    for name in made:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    for name in TRUTH_FILES:
        assert (tmp_path / "sample_truth" / name).read_bytes() == (TRUTH / name).read_bytes(), name


def test_truth_rows_are_exactly_the_data_rows(rows: list[dict[str, str]]) -> None:
    by_source: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        by_source.setdefault((r["source_file"], r["source_sheet"]), []).append(int(r["source_row"]))
    expected = {(f, ""): _csv_records(f) for f in CSV_FILES}
    expected.update({key: _xlsx_records(*key) for key in XLSX_SHEETS})
    assert set(by_source) == set(expected)
    for key, recs in expected.items():
        assert sorted(by_source[key]) == sorted(recs), key  # same count, same rows, no duplicates


def test_email_truth_matches_the_cells(rows: list[dict[str, str]]) -> None:
    """Spot-checks that every source_row points at the right record."""
    recs = {(f, ""): (_csv_records(f), CSV_FILES[f][2]) for f in CSV_FILES}
    recs.update({key: (_xlsx_records(*key), col) for key, col in XLSX_SHEETS.items()})
    checked = 0
    for r in rows:
        if not r["email_truth"]:
            continue
        records, col = recs[(r["source_file"], r["source_sheet"])]
        assert _norm_email(records[int(r["source_row"])][col]) == r["email_truth"], r
        checked += 1
    assert checked > 0.8 * len(rows)


def test_people_are_consistent(rows: list[dict[str, str]], people: list[dict[str, str]]) -> None:
    ids = [p["person_id"] for p in people]
    assert len(ids) == len(set(ids))
    known = set(ids)
    assert all(r["person_id"] in known for r in rows)
    files: dict[str, set[str]] = {}
    for r in rows:
        files.setdefault(r["person_id"], set()).add(r["source_file"])
    for p in people:
        assert set(p["files"].split(";")) == files[p["person_id"]], p["person_id"]
        assert int(p["n_files"]) == len(files[p["person_id"]])
    groups: dict[str, list[str]] = {}
    for p in people:
        if p["hard_negative_group"]:
            groups.setdefault(p["hard_negative_group"], []).append(p["person_id"])
    assert groups and all(len(members) >= 2 for members in groups.values())


def test_truth_values_are_well_formed(rows: list[dict[str, str]]) -> None:
    e164 = re.compile(r"^\+[1-9]\d{6,14}$")
    email = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")
    phones = set()
    for r in rows:
        assert r["entity"] in ("contact", "deal", "order")
        assert not r["email_truth"] or email.match(r["email_truth"]), r
        for col in ("phone_truth", "mobile_truth"):
            assert not r[col] or e164.match(r[col]), r
            phones.add(r[col])
        if r["entity"] == "deal":
            assert r["stage_truth"] in ("lead", "qualified", "proposal", "negotiation", "won", "lost")
        if r["entity"] == "order":
            assert r["order_id"] and r["order_date_truth"] and r["amount_truth"]
    phonenumbers = pytest.importorskip("phonenumbers")
    invalid = [p for p in phones - {""} if not phonenumbers.is_valid_number(phonenumbers.parse(p))]
    assert not invalid
