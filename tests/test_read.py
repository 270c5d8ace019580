"""Tests for crmkit.read: messy inputs in tests/data/read/ (made by make_files.py) plus tmp files."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import importlib

read_module = importlib.import_module("crmkit.read")
from crmkit.errors import ReadError
from crmkit.read import RawSheet, read, read_paths
from crmkit.schema import ISSUE_COLUMNS

DATA = Path(__file__).parent / "data" / "read"


def expected_frame(rows: dict[int, list], columns: list[str]) -> pd.DataFrame:
    index = pd.Index(list(rows), dtype=np.int64, name="source_row")
    return pd.DataFrame(list(rows.values()), index=index, columns=columns, dtype=object)


def only(path: Path, **kw) -> RawSheet:
    sheets = read(path, **kw)
    assert len(sheets) == 1
    return sheets[0]


def assert_contract(raw: RawSheet) -> None:
    """Shape rules every RawSheet follows (docs/internals.md)."""
    assert raw.frame.shape == raw.kinds.shape
    assert list(raw.frame.columns) == list(raw.kinds.columns)
    assert raw.frame.index.equals(raw.kinds.index)
    assert raw.frame.index.name == "source_row"
    assert raw.frame.columns.is_unique and all(raw.frame.columns)
    assert all(dtype == object for dtype in raw.frame.dtypes)
    for col in raw.frame:
        for value, kind in zip(raw.frame[col], raw.kinds[col]):
            assert (value is None and kind == "") or (isinstance(value, str) and value and kind in "sndb")
    assert list(raw.issues.columns) == ISSUE_COLUMNS


# ----------------------------------------------------------------------------- text files


def test_gbk_csv_with_chinese_headers():
    raw = only(DATA / "gbk_chinese.csv")
    assert_contract(raw)
    assert (raw.encoding, raw.delimiter, raw.header_row, raw.sheet) == ("gb18030", ",", 1, "")
    pdt.assert_frame_equal(raw.frame, expected_frame({
        2: ["张伟", "13800138000", "zhangwei@example.cn", "北京星辰科技有限公司"],
        3: ["王芳", "13912345678", "wangfang@example.cn", "上海东方贸易公司"],
        4: ["李娜", None, "lina@example.cn", "广州南方电器"],
    }, ["姓名", "手机", "邮箱", "公司"]))
    assert raw.kinds.loc[4].tolist() == ["s", "", "s", "s"]
    assert raw.source_file == "gbk_chinese.csv"


def test_semicolon_csv_with_bom_keeps_european_numbers_and_dates_as_text():
    raw = only(DATA / "german_semicolon_bom.csv")
    assert (raw.encoding, raw.delimiter) == ("utf-8-sig", ";")
    assert raw.frame.columns[0] == "Vorname"  # no BOM glued to the first header
    assert raw.frame.loc[2].tolist() == ["Jürgen", "Müller", "j.mueller@example.de", "1.234,56", "31.12.2023"]
    assert raw.frame.loc[3, "Umsatz"] == "99,00"


def test_utf16_unicode_text_export():
    raw = only(DATA / "unicode_text_export.txt")
    assert (raw.encoding, raw.delimiter) == ("utf-16-le", "\t")
    assert raw.frame["City"].tolist() == ["Tromsø", "Москва", "深圳"]
    assert raw.frame.index.tolist() == [2, 3, 4]


def test_pipe_delimited_txt():
    raw = only(DATA / "pipe_delimited.txt")
    assert raw.delimiter == "|"
    assert raw.frame.loc[3].tolist() == ["2", "Bob Stone", "bob@example.com", "415.555.0102"]


def test_cp1252_csv():
    raw = only(DATA / "cp1252_western.csv")
    assert raw.encoding == "cp1252"
    assert raw.frame["Name"].tolist() == ["René Dupré", "Jürgen Groß", "Ana Núñez"]
    assert raw.frame.loc[3, "Company"] == "Müller & Söhne GmbH"


def test_fullwidth_text_is_kept_and_ideographic_spaces_trimmed():
    raw = only(DATA / "fullwidth.csv")
    assert raw.frame.loc[2].tolist() == ["李雷", "１３８００１３８０００", "ｌｉｌｅｉ＠ｅｘａｍｐｌｅ．ｃｎ"]


def test_quoted_newlines_and_ragged_rows():
    raw = only(DATA / "quoted_ragged.csv")
    assert_contract(raw)
    # line numbers are where each record starts, even after a quoted newline
    pdt.assert_frame_equal(raw.frame, expected_frame({
        2: ["Ann", "ann@example.com", "first line\nsecond line", None, None],
        4: ["Bob", "bob@example.com", "short", "EXTRA", "MORE"],
        5: ["Cy", "cy@example.com", None, None, None],
        6: ["Dee, Jr.", "dee@example.com", 'said "hi"', None, None],
    }, ["Name", "Email", "Notes", "Column 4", "Column 5"]))
    assert raw.issues[["source_file", "source_row", "column", "value"]].values.tolist() == [
        ["quoted_ragged.csv", 4, "Column 4", "EXTRA"],
        ["quoted_ragged.csv", 4, "Column 5", "MORE"],
    ]
    assert "more cells than the header" in raw.issues["problem"].iloc[0]


def test_title_blank_repeated_header_footer_and_duplicate_names():
    raw = only(DATA / "titles_footer.csv")
    assert_contract(raw)
    assert raw.header_row == 3
    # the blank-headed empty column is dropped; the duplicate Email gets " (2)"
    pdt.assert_frame_equal(raw.frame, expected_frame({
        4: ["Ann", "ann@example.com", "ann@work.com", "10"],
        7: ["Bob", "bob@example.com", None, "20"],
    }, ["Name", "Email", "Email (2)", "Amount"]))
    assert raw.skipped == [
        (1, "above the header row (title or notes)"), (2, "blank row"), (5, "blank row"),
        (6, "repeated header row"), (8, "footer/total row"),
    ]


def test_header_only_file_gives_empty_frame():
    raw = only(DATA / "header_only.csv")
    assert list(raw.frame.columns) == ["Name", "Email", "Phone"]
    assert raw.frame.empty and raw.kinds.empty and raw.header_row == 1


def test_blank_header_with_data_is_named_by_position(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("Name,,Email\nAnn,x,ann@example.com\n", encoding="utf-8")
    assert list(only(path).frame.columns) == ["Name", "Column 2", "Email"]


def test_header_row_override(tmp_path):
    path = tmp_path / "override.csv"
    path.write_text("a,b\nName,Email\nAnn,ann@example.com\n", encoding="utf-8")
    raw = only(path, header_row=2)
    assert raw.header_row == 2 and raw.frame.loc[3].tolist() == ["Ann", "ann@example.com"]
    assert raw.skipped == [(1, "above the header row (title or notes)")]
    with pytest.raises(ReadError, match="header_row 9"):
        read(path, header_row=9)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_numbers_with_any_line_ending(tmp_path, newline):
    path = tmp_path / "endings.csv"
    text = newline.join(["Name,Notes", 'Ann,"two', 'lines"', "", "Bob,x", ""])
    path.write_bytes(text.encode())
    raw = only(path)
    assert raw.frame.index.tolist() == [2, 5]
    assert raw.frame.loc[2, "Notes"] == f"two{newline}lines"
    assert raw.skipped == [(4, "blank row")]


def test_stray_quote_falls_back_to_csv_module(tmp_path):
    path = tmp_path / "stray.csv"
    path.write_text('Product,Size\nTV,55" screen\nRadio,"small"\nLamp,big\n', encoding="utf-8")
    raw = only(path)
    assert raw.frame.loc[2, "Size"] == '55" screen'
    assert raw.frame.index.tolist() == [2, 3, 4]


def test_ragged_row_after_the_width_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(read_module, "_WIDTH_SAMPLE_BYTES", 16)
    path = tmp_path / "late.csv"
    path.write_text("Name,Email\n" + "".join(f"P{i},p{i}@x.com\n" for i in range(50)) + "Z,z@x.com,late\n")
    raw = only(path)
    assert raw.frame.loc[52].tolist() == ["Z", "z@x.com", "late"]
    assert raw.issues["source_row"].tolist() == [52]


def test_semicolon_wins_over_decimal_commas(tmp_path):
    path = tmp_path / "amounts.csv"
    path.write_text("Name;Amount;Paid\nA;1,5;2,25\nB;3;4,0\nC;7,25;1\n", encoding="utf-8")
    raw = only(path)
    assert raw.delimiter == ";" and raw.frame.loc[2].tolist() == ["A", "1,5", "2,25"]


def test_company_called_total_is_not_a_footer(tmp_path):
    path = tmp_path / "total.csv"
    path.write_text("Company,Phone\nAcme,123\nTotal SA,+33 1 47 44 45 46\n", encoding="utf-8")
    assert only(path).frame["Company"].tolist() == ["Acme", "Total SA"]


def test_explicit_encoding_and_delimiter(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Name|City\nJosé|Bogotá\n".encode("latin-1"))
    raw = only(path, encoding="latin-1", delimiter="|")
    assert raw.frame.loc[2].tolist() == ["José", "Bogotá"]
    with pytest.raises(ReadError, match="not valid utf-8"):
        read(path, encoding="utf-8")


# ----------------------------------------------------------------------------- workbooks


def test_messy_xlsx_customers_sheet():
    sheets = read(DATA / "messy.xlsx")
    assert [s.sheet for s in sheets] == ["Customers", "Deals"]  # the empty sheet is left out
    raw = sheets[0]
    assert_contract(raw)
    assert raw.header_row == 5 and raw.encoding is None and raw.delimiter is None
    pdt.assert_frame_equal(raw.frame, expected_frame({
        6: ["Globex Ltd", "Ann Lee", "4155550123", "ann@globex.com", "2023-03-05", "45000", "TRUE"],
        7: ["Globex Ltd", "Bob Stone", "4155550124", "bob@globex.com", "2023-03-06T14:30:00", "45001.5", "FALSE"],
        8: ["Globex Ltd", "Cy Young", "13800138000", "cy@globex.com", "2023-03-07", "45002", None],
        9: ["Initech", "Dee Ray", "2.5", "dee@initech.com", None, None, "TRUE"],
    }, ["Company", "Name", "Phone", "Email", "Signed up", "Serial date", "Active"]))
    pdt.assert_frame_equal(raw.kinds, expected_frame({
        6: ["s", "s", "n", "s", "d", "n", "b"],
        7: ["s", "s", "n", "s", "d", "n", "b"],
        8: ["s", "s", "n", "s", "d", "n", ""],
        9: ["s", "s", "n", "s", "", "", "b"],
    }, list(raw.frame.columns)))
    assert raw.skipped == [
        (2, "above the header row (title or notes)"), (3, "above the header row (title or notes)"),
        (4, "blank row"), (10, "blank row"), (11, "footer/total row"),
    ]
    assert raw.issues.empty


def test_messy_xlsx_second_sheet_and_sheet_selection():
    deals = only(DATA / "messy.xlsx", sheets="Deals")
    assert deals.header_row == 1
    assert deals.frame["Amount"].tolist() == ["1200", "99.99"]
    assert only(DATA / "messy.xlsx", sheets=[1]).sheet == "Deals"
    with pytest.raises(ReadError, match="has no sheet 'Nope'.*'Customers', 'Deals', 'Empty'"):
        read(DATA / "messy.xlsx", sheets="Nope")
    with pytest.raises(ReadError, match="no data in the chosen sheets"):
        read(DATA / "messy.xlsx", sheets="Empty")


def test_xlsx_row_numbers_when_data_starts_far_from_a1(tmp_path):
    from openpyxl import Workbook, load_workbook

    path = tmp_path / "offset.xlsx"
    wb = Workbook()
    ws = wb.active
    ws["D10"], ws["E10"], ws["G10"] = "Name", "Email", None
    ws["D11"], ws["E11"], ws["G11"] = "Ann", "ann@example.com", "note"
    ws["D13"], ws["E13"] = "Bob", "bob@example.com"
    wb.save(path)
    raw = only(path)
    assert raw.header_row == 10
    assert list(raw.frame.columns) == ["Name", "Email", "Column G"]  # letter of the real column
    check = load_workbook(path).active
    for row in raw.frame.index:
        assert raw.frame.loc[row, "Name"] == check[f"D{row}"].value
    assert raw.skipped == [(12, "blank row")]


def test_ods_workbook(tmp_path):
    path = tmp_path / "contacts.ods"
    df = pd.DataFrame({"Name": ["Ann"], "Phone": [4155550123.0], "Since": [pd.Timestamp("2024-01-02")]})
    with pd.ExcelWriter(path, engine="odf") as writer:
        df.to_excel(writer, index=False, startrow=2)
    raw = only(path)
    assert raw.header_row == 3
    assert raw.frame.loc[4].tolist() == ["Ann", "4155550123", "2024-01-02"]
    assert raw.kinds.loc[4].tolist() == ["s", "n", "d"]


def test_cell_conversion():
    convert = read_module._CONVERTERS
    assert convert[float](4155550123.0) == ("4155550123", "n")
    assert convert[float](0.1) == ("0.1", "n")
    assert convert[dt.datetime](dt.datetime(2024, 3, 5, 0, 0)) == ("2024-03-05", "d")
    assert convert[dt.datetime](dt.datetime(2024, 3, 5, 14, 30)) == ("2024-03-05T14:30:00", "d")
    assert convert[bool](False) == ("FALSE", "b")
    assert convert[str]("  ") == (None, "")


# ----------------------------------------------------------------------------- errors and folders


@pytest.mark.parametrize("name, message", [
    ("empty.csv", "file is empty"),
    ("image.csv", "PNG image"),
    ("corrupt_truncated.xlsx", "damaged or incomplete"),
    ("missing.csv", "file not found"),
])
def test_unreadable_files_raise_read_error_naming_the_file(name, message):
    with pytest.raises(ReadError, match=message) as info:
        read(DATA / name)
    assert name in str(info.value) and info.value.hint


@pytest.mark.parametrize("name, data, message, hint", [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "legacy Excel", "save it as .xlsx"),
    ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100) + "EncryptedPackage".encode("utf-16-le"),
     "password-protected", "remove the password"),
    ("renamed.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "legacy Excel", "save it as .xlsx"),
    ("text.xlsx", b"Name,Email\nAnn,a@x.com\n", "not a valid workbook", "rename it to .csv"),
    ("binary.csv", bytes(range(256)) * 8, "binary data", "export"),
    ("notes.docx", b"PK\x03\x04", "unsupported file type", ".xlsx"),
])
def test_wrong_kinds_of_file(tmp_path, name, data, message, hint):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ReadError, match=message) as info:
        read(path)
    assert name in str(info.value) and hint in info.value.hint


def test_read_paths_walks_folders_and_collects_errors(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.csv").write_text("Name\nAnn\n")
    (tmp_path / "b" / "c.txt").write_text("Name|Email\nBob|b@x.com\n")
    (tmp_path / "b" / "bad.csv").write_bytes(b"")
    (tmp_path / "~$open.xlsx").write_bytes(b"lock")
    (tmp_path / ".hidden.csv").write_text("Name\nX\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    sheets, errors = read_paths(tmp_path, delimiter=None)
    assert [s.source_file for s in sheets] == ["a.csv", "c.txt"]
    assert len(errors) == 1 and "bad.csv" in str(errors[0])
    sheets, errors = read_paths([DATA / "gbk_chinese.csv", tmp_path / "gone.csv"])
    assert len(sheets) == 1 and "gone.csv" in str(errors[0])


def test_skipped_rows_that_held_something_become_issue_rows():
    raw = only(DATA / "titles_footer.csv")
    issues = raw.skipped_issues
    assert list(issues.columns) == ISSUE_COLUMNS
    # blank rows are not listed; titles, repeated headers and totals are, with what they held
    assert issues["source_row"].tolist() == [1, 6, 8]
    assert issues["problem"].tolist() == ["skipped: above the header row (title or notes)",
                                          "skipped: repeated header row", "skipped: footer/total row"]
    assert issues["value"].notna().all() and issues["source_file"].eq("titles_footer.csv").all()


def test_raw_json_of_read_rows_is_what_pandas_writes_per_line():
    """migrate's source_rows.raw (hashed into the record ids) must stay byte-identical to pandas'
    ``to_json(orient="records", lines=True)`` lines, also for keys and values holding '},{"'."""
    import random

    from crmkit.migrate import _raw_json

    rng = random.Random(1)
    alpha = ["}", "{", ",", '"', "\\", "/", "\n", "\u2028", "\u0085", "a", "é", "😀", ":", "[", "]", "\x00",
             "\x1f", " "]

    def text(k: int) -> str:
        return "".join(rng.choice(alpha) for _ in range(rng.randint(0, k)))

    for _ in range(300):
        n = rng.randint(1, 20)
        frame = pd.DataFrame({rng.choice(["},{", ""]) + text(4) + str(j): [None if rng.random() < .2 else text(8)
                                                                        for _ in range(n)]
                              for j in range(rng.randint(1, 4))}, dtype=object)
        want = frame.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n").split("\n")
        assert _raw_json(type("Sheet", (), {"frame": frame})) == want
