"""Make the small messy input files that tests/test_read.py reads. Deterministic; run from anywhere:

    python tests/data/read/make_files.py
"""
from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2024, 1, 1)


def write_bytes(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def text_files() -> None:
    write_bytes("gbk_chinese.csv", (
        "姓名,手机,邮箱,公司\r\n"
        "张伟,13800138000,zhangwei@example.cn,北京星辰科技有限公司\r\n"
        "王芳,13912345678,wangfang@example.cn,上海东方贸易公司\r\n"
        "李娜,,lina@example.cn,广州南方电器\r\n"
    ).encode("gbk"))
    write_bytes("german_semicolon_bom.csv", (
        "Vorname;Nachname;E-Mail;Umsatz;Erstellt am\r\n"
        "Jürgen;Müller;j.mueller@example.de;1.234,56;31.12.2023\r\n"
        "Anna;Schäfer;anna@example.de;99,00;01.02.2024\r\n"
    ).encode("utf-8-sig"))
    write_bytes("unicode_text_export.txt", "\ufeff".encode("utf-16-le") + (
        "Name\tEmail\tCity\r\n"
        "Zoë Ödegaard\tzoe@example.no\tTromsø\r\n"
        "Иван Петров\tivan@example.ru\tМосква\r\n"
        "陈静\tchen@example.cn\t深圳\r\n"
    ).encode("utf-16-le"))
    write_bytes("pipe_delimited.txt", (
        "id|name|email|phone\n"
        "1|Ann Lee|ann@example.com|(415) 555-0101\n"
        "2|Bob Stone|bob@example.com|415.555.0102\n"
    ).encode("ascii"))
    write_bytes("quoted_ragged.csv", (
        'Name,Email,Notes\n'
        'Ann,ann@example.com,"first line\nsecond line"\n'
        'Bob,bob@example.com,short,EXTRA,MORE\n'
        'Cy,cy@example.com\n'
        '"Dee, Jr.",dee@example.com,"said ""hi"""\n'
    ).encode("utf-8"))
    write_bytes("cp1252_western.csv", (
        "Name,Company,City\r\n"
        "René Dupré,Café Crème SARL,Paris\r\n"
        "Jürgen Groß,Müller & Söhne GmbH,München\r\n"
        "Ana Núñez,Señor Diseño,Málaga\r\n"
    ).encode("cp1252"))
    write_bytes("fullwidth.csv", (
        "姓名,手机,邮箱\n"
        "\u3000李雷\u3000,１３８００１３８０００,ｌｉｌｅｉ＠ｅｘａｍｐｌｅ．ｃｎ\n"
        "韩梅梅,（０２１）１２３４５６７８,hanmeimei@example.cn\n"
    ).encode("utf-8"))
    write_bytes("titles_footer.csv", (
        "Customer list 2023\n"
        "\n"
        "Name,Email,Email,,Amount\n"
        "Ann,ann@example.com,ann@work.com,,10\n"
        ",,,,\n"
        "Name,Email,Email,,Amount\n"
        "Bob,bob@example.com,,,20\n"
        "Total: 2,,,,30\n"
    ).encode("utf-8"))
    write_bytes("empty.csv", b"")
    write_bytes("header_only.csv", b"Name,Email,Phone\n")
    write_bytes("image.csv", bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)))


def corrupt_xlsx() -> None:
    """A real workbook cut off half way, as an interrupted download or copy leaves it."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Name", "Email"])
    wb.active.append(["Ann", "ann@example.com"])
    tmp = HERE / "_tmp.xlsx"
    wb.save(tmp)
    data = tmp.read_bytes()
    tmp.unlink()
    write_bytes("corrupt_truncated.xlsx", data[: len(data) // 2])


def messy_xlsx() -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Customers"
    # used range starts at B2, so Excel row/column numbers differ from list positions
    ws["B2"] = "ACME Corp — Customer list 2023"
    ws["B2"].font = Font(bold=True, size=14)
    ws.merge_cells("B2:H2")
    ws["B3"] = "Exported from the old CRM"
    # row 4 blank
    header = ["Company", "Name", "Phone", "Email", "Signed up", "Serial date", "Active"]
    for j, h in enumerate(header):
        ws.cell(row=5, column=2 + j, value=h)
    rows = [
        ["Globex Ltd", "Ann Lee", 4155550123.0, "ann@globex.com", dt.date(2023, 3, 5), 45000, True],
        [None, "Bob Stone", 4155550124.0, " bob@globex.com ", dt.datetime(2023, 3, 6, 14, 30), 45001.5, False],
        [None, "Cy Young", 13800138000.0, "cy@globex.com", dt.datetime(2023, 3, 7), 45002, None],
        ["Initech", "Dee Ray", 2.5, "dee@initech.com", None, None, True],
    ]
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            ws.cell(row=6 + i, column=2 + j, value=v)
    ws.merge_cells("B6:B8")  # company name merged down over three contacts
    ws["B11"] = "Total: 3"
    ws["D11"] = 3

    other = wb.create_sheet("Deals")
    other.append(["Deal", "Amount", "Stage"])
    other.append(["Big one", 1200.0, "won"])
    other.append(["Small one", 99.99, "lost"])
    wb.create_sheet("Empty")

    for prop in ("created", "modified"):
        setattr(wb.properties, prop, FIXED_TIME)
    tmp = HERE / "_tmp.xlsx"
    wb.save(tmp)
    _rezip_deterministic(tmp, HERE / "messy.xlsx")
    tmp.unlink()


def _rezip_deterministic(src: Path, dest: Path) -> None:
    """Rewrite a zip with fixed timestamps so re-running the script gives identical bytes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, zin.read(item.filename))


def main() -> None:
    text_files()
    messy_xlsx()
    corrupt_xlsx()
    print("wrote", ", ".join(sorted(p.name for p in HERE.iterdir() if p.suffix != ".py")))


if __name__ == "__main__":
    main()
