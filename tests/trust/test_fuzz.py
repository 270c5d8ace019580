"""Fuzz and property tests: bad input never crashes, hangs or silently loses rows.

For every file handed to ``crmkit.read.read``: either a ``CrmkitError`` whose message names the file,
or a successful read that keeps every data row (or lists it in ``RawSheet.skipped`` with a reason) and
keeps the RawSheet contract. Every cleaner: no exception on any text, output aligned with the input,
and a non-empty input value is never turned into nothing without a problem.

The number of cases run is printed at the end of the session (see ``conftest.py``).
"""
from __future__ import annotations

import csv
import importlib
import io
import random
import signal
import string
import zipfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crmkit.errors import CrmkitError

import _counts  # noqa: E402  (tests/trust is on sys.path via conftest.py)

try:  # the module, not the crmkit.read function the public API binds over it
    read_mod = importlib.import_module("crmkit.read")
except ImportError:  # being written by another engineer; the cleaner tests still run
    read_mod = None

CASE_SECONDS = 15  # one file or one cleaner call taking longer than this counts as a hang


# -- guards ---------------------------------------------------------------------------------------

class Hang(Exception):
    pass


@contextmanager
def guard(seconds: float = CASE_SECONDS, what: str = ""):
    """Fail with Hang instead of waiting forever (SIGALRM: main thread, POSIX)."""
    def on_alarm(signum, frame):
        raise Hang(f"no result after {seconds}s: {what}")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])


def _norm(v) -> str | None:
    if v is None:
        return None
    # XML (xlsx) turns a bare CR into LF on the way in: not crmkit's doing, so compare line breaks loosely
    v = str(v).replace("\r\n", "\n").replace("\r", "\n").strip()
    return v or None


def _row_key(values) -> tuple:
    return tuple(v for v in (_norm(x) for x in values) if v is not None)


def check_read(path: Path, expected_rows: list[list[str]] | None = None, *, exact: bool = True):
    """Read ``path`` under the contract; return the sheets or None when a CrmkitError was raised."""
    if read_mod is None:
        pytest.skip("crmkit/read.py is not there yet")
    _counts.bump("read")
    try:
        with guard(what=str(path.name)):
            sheets = read_mod.read(path)
    except CrmkitError as err:
        assert path.name in str(err), f"the error does not name the file: {err!r}"
        return None
    for s in sheets:
        _check_sheet(s, path)
    if expected_rows is not None:
        _check_rows(sheets, expected_rows, path, exact=exact)
    return sheets


def _check_sheet(s, path: Path) -> None:
    f = s.frame
    assert s.source_file == path.name
    assert list(f.columns) == list(dict.fromkeys(f.columns)), "duplicate column names"
    assert all(isinstance(c, str) and c.strip() for c in f.columns), f"blank/non-text header in {list(f.columns)!r}"
    assert f.index.is_unique, "source_row repeats"
    assert all(isinstance(i, int) and i >= 1 for i in f.index.tolist()), "source_row not a 1-based int"
    for c in f.columns:
        bad = [v for v in f[c].tolist() if v is not None and not isinstance(v, str)]
        assert not bad, f"column {c!r} holds non-text values {bad[:3]!r}"
    assert s.kinds.shape == f.shape and list(s.kinds.columns) == list(f.columns)
    assert list(s.kinds.index) == list(f.index)


def _check_rows(sheets, expected_rows, path, *, exact: bool) -> None:
    """Every written data row is read (compared on its non-empty trimmed values) or listed as skipped."""
    want = Counter(k for k in (_row_key(r) for r in expected_rows) if k)
    got = Counter()
    skipped = 0
    for s in sheets:
        got.update(k for k in (_row_key(r) for r in s.frame.itertuples(index=False)) if k)
        skipped += sum(1 for _row, reason in s.skipped if "blank" not in str(reason).lower())
    if exact:
        missing = want - got
        assert sum(missing.values()) <= skipped, (
            f"{path.name}: rows lost without a trace: {list(missing.items())[:3]!r}; "
            f"skipped={[x for s in sheets for x in s.skipped][:5]!r}")
    n_got = sum(len(s.frame) for s in sheets)
    assert n_got + skipped >= sum(want.values()), (
        f"{path.name}: wrote {sum(want.values())} data rows, read {n_got} (+{skipped} skipped)")


# -- strategies -----------------------------------------------------------------------------------

TRICKY = [
    "", " ", "\t", "n/a", "NULL", "#N/A", "-", "0", "-0", "007", "1e400", "-1e400", "NaN", "inf", "1,234.56",
    "1.234,56", "€ 1.000", "¥12,000", "١٢٣", "１２３", "9999-99-99", "0000-00-00", "31/02/2024", "99999-01-01",
    "1900-02-29", "-1", "2958466", "1e10", "=1+1", "=cmd|' /C calc'!A0", "@SUM(1)", "+1-1", "\x00", "\x1b[31m",
    "a\u2028b", "a\x85b", "\ufeffx", "\u202eevil", "a\r\nb", "\"quoted\"", "semi;colon", "x" * 5000,
    "Robert'); DROP TABLE contacts;--", "张伟", "Müller", "o'brien@example.com", "mailto:a@b.de", "+86 138 0013 8000",
    "(415) 555-0123 ext. 7", "Closed Won", "50%", "150%", "USD", "Deutschland", "N/A", "TRUE", "\\N",
]
any_text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(TRICKY),
    st.text(string.printable, max_size=30),
)
cell_text = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=25),
                      st.sampled_from(TRICKY))
header_text = st.builds(lambda w, i: f"{w} {i}", st.sampled_from(
    ["Name", "Email", "Phone", "Company", "City", "Notes", "Amount", "Date", "Stage", "Country", "Tags"]),
    st.integers(0, 999))
table = st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(header_text, min_size=n, max_size=n, unique=True),
    st.lists(st.lists(cell_text, min_size=n, max_size=n), max_size=25)))


def _write_csv(path: Path, headers, rows, encoding: str, delimiter: str) -> list[list[str]]:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(headers)
    kept = []
    for r in rows:
        r = [c.replace("\x00", "") for c in r]  # NUL cannot be in a text CSV the csv module reads back
        w.writerow(r)
        kept.append(r)
    data = buf.getvalue().encode(encoding, errors="replace")
    path.write_bytes(data)
    if encoding.startswith("utf"):
        return kept
    return [[c.encode(encoding, errors="replace").decode(encoding) for c in r] for r in kept]


def _write_xlsx(path: Path, headers, rows, **cells) -> list[list[str]]:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    kept = []
    for r in rows:
        r = [ILLEGAL_CHARACTERS_RE.sub("", c) for c in r]
        ws.append(r)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text: not a formula ("=...") nor an error value ("#N/A")
        kept.append(r)
    wb.save(path)
    return kept


# -- read: structured files ------------------------------------------------------------------------

@FUZZ
@given(table, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "gb18030"]),
       st.sampled_from([",", ";", "\t", "|"]), st.sampled_from([".csv", ".txt", ".tsv"]))
def test_csv_tables_keep_every_row(tmp_path_factory, tbl, encoding, delimiter, ext):
    headers, rows = tbl
    path = tmp_path_factory.mktemp("csv") / f"fuzz{ext}"
    kept = _write_csv(path, headers, rows, encoding, delimiter)
    # replacement characters from encoding can change values; the row count must hold all the same
    check_read(path, kept, exact=encoding.startswith("utf"))


@settings(FUZZ, max_examples=80)
@given(table)
def test_xlsx_tables_keep_every_row(tmp_path_factory, tbl):
    headers, rows = tbl
    path = tmp_path_factory.mktemp("xlsx") / "fuzz.xlsx"
    kept = _write_xlsx(path, headers, rows)
    check_read(path, kept)


# -- read: random and corrupt bytes ----------------------------------------------------------------

@FUZZ
@given(st.binary(max_size=3000), st.sampled_from([".csv", ".txt", ".xlsx", ".tsv", ".xlsm"]))
@example(b"", ".csv")
@example(b"", ".xlsx")
@example(b"\x00" * 100, ".csv")
@example(b"PK\x03\x04" + b"\x00" * 60, ".xlsx")
@example(b"\xff\xfe\x00\x00", ".txt")
def test_random_bytes(tmp_path_factory, data, ext):
    path = tmp_path_factory.mktemp("bytes") / f"random{ext}"
    path.write_bytes(data)
    check_read(path)


def _valid_xlsx_bytes(rows: int = 30) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Name", "Email", "Phone", "Signed up"])
    for i in range(rows):
        ws.append([f"Person {i}", f"p{i}@example.com", f"+1 415 555 {i:04d}", f"2024-01-{i % 28 + 1:02d}"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


VALID_XLSX = _valid_xlsx_bytes()


@FUZZ
@given(st.integers(0, len(VALID_XLSX) - 1))
def test_truncated_xlsx(tmp_path_factory, cut):
    path = tmp_path_factory.mktemp("trunc") / "truncated.xlsx"
    path.write_bytes(VALID_XLSX[:cut])
    sheets = check_read(path)
    if sheets is not None:  # a truncated file that still reads must not invent or lose rows silently
        assert sum(len(s.frame) for s in sheets) <= 30


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_XLSX) - 1), st.integers(1, 255)), min_size=1, max_size=20))
def test_xlsx_with_flipped_bytes(tmp_path_factory, flips):
    data = bytearray(VALID_XLSX)
    for pos, mask in flips:
        data[pos] ^= mask
    path = tmp_path_factory.mktemp("flip") / "flipped.xlsx"
    path.write_bytes(bytes(data))
    check_read(path)


@settings(FUZZ, max_examples=40)
@given(st.binary(min_size=1, max_size=2000), st.sampled_from(["xl/worksheets/sheet1.xml", "xl/workbook.xml",
                                                             "xl/sharedStrings.xml", "xl/styles.xml",
                                                             "[Content_Types].xml"]))
def test_xlsx_with_garbage_member(tmp_path_factory, garbage, member):
    """A well-formed zip whose one XML member is garbage: the zip layer is fine, the XML is not."""
    src = zipfile.ZipFile(io.BytesIO(VALID_XLSX))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, garbage if info.filename == member else src.read(info.filename))
    path = tmp_path_factory.mktemp("garb") / "garbage.xlsx"
    path.write_bytes(buf.getvalue())
    check_read(path)


# -- read: fixed cases -----------------------------------------------------------------------------

def _xlsx_from(write) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    write(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fixed_cases() -> dict[str, tuple[bytes, list[list[str]] | None]]:
    """name -> (bytes, expected data rows or None when only 'no crash, error names the file' applies)."""
    rows3 = [["Ann Lee", "ann@example.com"], ["Bob Ray", "bob@example.com"], ["Cé Ðoe", "ce@example.com"]]
    csv3 = ("Name,Email\r\n" + "".join(f"{a},{b}\r\n" for a, b in rows3)).encode()
    wide_headers = [f"c{i}" for i in range(10_000)]
    wide_rows = [[f"r{r}v{i}" for i in range(10_000)] for r in range(3)]
    big = "x" * 1_000_000
    cases: dict[str, tuple[bytes, list | None]] = {
        "empty.csv": (b"", []),
        "empty.txt": (b"", []),
        "empty.xlsx": (b"", []),
        "only_bom.csv": (b"\xef\xbb\xbf", []),
        "only_newlines.csv": (b"\r\n\n\n", []),
        "header_only.csv": (b"Name,Email,Phone\r\n", []),
        "header_only.xlsx": (_xlsx_from(lambda wb: wb.active.append(["Name", "Email"])), []),
        "empty_sheet.xlsx": (_xlsx_from(lambda wb: None), []),
        "wide_10000_columns.csv": ((",".join(wide_headers) + "\n" + "".join(",".join(r) + "\n" for r in wide_rows))
                                   .encode(), wide_rows),
        "cell_1mb.csv": (f"Name,Notes\nAnn,{big}\nBob,short\n".encode(), [["Ann", big], ["Bob", "short"]]),
        "control_chars.csv": ("Name,Notes\nAnn,a\x01b\x02c\x1b[0m\nBob,\x7f\x08\x0c\nCy,\u2028x\u2029y\x85z\n"
                              .encode(), [["Ann", "a\x01b\x02c\x1b[0m"], ["Bob", "\x7f\x08\x0c"],
                                          ["Cy", "\u2028x\u2029y\x85z"]]),
        "nul_bytes.csv": (b"Name,Email\nAnn\x00,ann@example.com\nBob,b\x00ob@example.com\n", None),
        "mixed_encodings.csv": ("Name,City\nJürgen,München\n".encode("utf-8") + "Zoë,Köln\n".encode("cp1252")
                                + "张伟,北京\n".encode("gb18030") + "Ann,Paris\n".encode(), None),
        "utf16_no_bom.csv": ("Name,Email\nAnn,ann@example.com\n".encode("utf-16-le"), None),
        "xlsx_named.csv": (VALID_XLSX, None),
        "csv_named.xlsx": (csv3, None),
        "csv_named.xlsm": (csv3, None),
        "png_named.csv": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, None),
        "gzip_named.csv": (b"\x1f\x8b\x08\x00" + bytes(range(256)), None),
        "zip_not_xlsx.xlsx": (_zip({"hello.txt": b"hi"}), None),
        "xls_ole_header.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, None),
        "html_named.xlsx": (b"<html><table><tr><td>Name</td></tr><tr><td>Ann</td></tr></table></html>", None),
        "all_empty_columns.csv": (b"Name,,Email,,\nAnn,,ann@example.com,,\nBob,,,,\n",
                                  [["Ann", "ann@example.com"], ["Bob"]]),
        "ragged_rows.csv": (b"Name,Email\nAnn,ann@example.com,extra,more\nBob\nCy,cy@example.com\n", None),
        "unterminated_quote.csv": (b'Name,Notes\nAnn,"never closed\nBob,fine\n', None),
        "very_long_line.csv": (b"Name\n" + b"A" * 5_000_000 + b"\n", None),
        "formulas.xlsx": (_xlsx_from(_formulas), None),
        "dates_out_of_range.xlsx": (_xlsx_from(_bad_dates), None),
        "dates_out_of_range.csv": (b"Name,Signed up\nAnn,0000-00-00\nBob,99999-01-01\nCy,31/02/2024\n"
                                   b"Di,1899-12-30\nEd,-1\nFo,2958466\n",
                                   [["Ann", "0000-00-00"], ["Bob", "99999-01-01"], ["Cy", "31/02/2024"],
                                    ["Di", "1899-12-30"], ["Ed", "-1"], ["Fo", "2958466"]]),
        "all_empty_columns.xlsx": (_xlsx_from(_empty_columns), [["Ann", "ann@example.com"], ["Bob", "bob@example.com"]]),
        "duplicate_and_blank_headers.csv": (b"Name,Name,,Email\nAnn,Lee,x,ann@example.com\n",
                                            [["Ann", "Lee", "x", "ann@example.com"]]),
    }
    return cases


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


def _formulas(wb) -> None:
    ws = wb.active
    ws.append(["Name", "Email", "Score"])
    ws.append(["Ann", "ann@example.com", "=1+1"])
    ws.append(["=HYPERLINK(\"http://evil\",\"x\")", "bob@example.com", "=A2&B2"])
    ws.append(["Cy", "=cmd|' /C calc'!A0", "=1/0"])


def _bad_dates(wb) -> None:
    import datetime as dt

    ws = wb.active
    ws.append(["Name", "Signed up", "Renewal"])
    for name, v in [("Ann", 10_000_000), ("Bob", -5), ("Cy", 1e300), ("Di", 2958466), ("Ed", 0), ("Fo", 60)]:
        ws.append([name, v, dt.datetime(1900, 1, 1)])
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
    ws.append(["Gus", dt.datetime(9999, 12, 31, 23, 59, 59), dt.date(1, 1, 1)])


def _empty_columns(wb) -> None:
    ws = wb.active
    ws.append(["Name", None, "Email", None, "Notes"])
    ws.append(["Ann", None, "ann@example.com", None, None])
    ws.append(["Bob", None, "bob@example.com", None, None])


FIXED = _fixed_cases()


@pytest.mark.parametrize("name", list(FIXED))
def test_fixed_bad_files(tmp_path, name):
    data, expected = FIXED[name]
    path = tmp_path / name
    path.write_bytes(data)
    sheets = check_read(path, expected)
    if name.startswith(("formulas", "dates_out_of_range")) and sheets is not None:
        n = sum(len(s.frame) for s in sheets)
        assert n == (3 if name.startswith("formulas") else 7 if name.endswith("xlsx") else 6), \
            f"{name}: {n} rows read"


def test_read_paths_reports_bad_files_and_goes_on(tmp_path):
    for name, (data, _) in FIXED.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "good.csv").write_text("Name,Email\nAnn,ann@example.com\n")
    if read_mod is None:
        pytest.skip("crmkit/read.py is not there yet")
    _counts.bump("read", len(FIXED) + 1)
    with guard(120, "read_paths over the fixed cases"):
        sheets, errors = read_mod.read_paths([tmp_path])
    assert any(s.source_file == "good.csv" and len(s.frame) == 1 for s in sheets)
    for err in errors:
        assert isinstance(err, CrmkitError) and err.file and Path(err.file).name in str(err)
    named = {s.source_file for s in sheets} | {Path(e.file).name for e in errors}
    assert named >= {p.name for p in tmp_path.iterdir() if p.stat().st_size > 0 and not p.name.startswith("empty")}


# -- once-known problems in read.py, fixed: mixed encodings, out-of-range date cells -------------------

def test_mixed_encodings_are_not_garbled_silently(tmp_path):
    """UTF-8 lines stay UTF-8; the lines in another encoding are named in issue rows."""
    path = tmp_path / "mixed_encodings.csv"
    path.write_bytes(FIXED["mixed_encodings.csv"][0])
    sheet = check_read(path)[0]
    garbled = [v for v in sheet.frame.to_numpy().ravel() if v and ("Ã" in v or "Â" in v)]
    assert not garbled or len(sheet.issues), f"values changed without an issue: {garbled}"
    assert sheet.frame["City"].tolist() == ["München", "Köln", "北京", "Paris"]
    assert sheet.issues["source_row"].tolist() == [3, 4]
    assert sheet.issues["problem"].str.startswith("encoding:").all()


def test_date_cells_out_of_range_keep_their_value(tmp_path):
    """A negative serial in a date-formatted cell keeps its number and gets an issue row."""
    path = tmp_path / "dates_out_of_range.xlsx"
    path.write_bytes(FIXED["dates_out_of_range.xlsx"][0])
    sheet = check_read(path)[0]
    lost = [(r, v) for r, v in sheet.frame["Signed up"].items() if v == "00:00:00"] + \
           [(r, v) for r, v in sheet.frame["Renewal"].items() if v == "00:00:00"]
    assert not lost or len(sheet.issues), f"date cells turned into midnight: {lost}"
    assert sheet.frame.loc[3, "Signed up"] == "-5" and sheet.frame.loc[8, "Renewal"] == "-693593"
    assert sheet.issues[["source_row", "column", "value"]].values.tolist() == [
        [3, "Signed up", "-5"], [8, "Renewal", "-693593"]]


# -- cleaners --------------------------------------------------------------------------------------

clean_pkg = importlib.import_module("crmkit.clean")  # the package (crmkit.clean is also a function)
from crmkit.clean._base import is_placeholder, normalize_text  # noqa: E402

series_of_text = st.lists(st.one_of(st.none(), any_text), max_size=20).map(lambda v: pd.Series(v, dtype=object))


def _simple_cleaners():
    c = clean_pkg
    return {
        "clean_text": c.clean_text, "clean_tags": c.clean_tags, "clean_emails": c.clean_emails,
        "clean_phones": c.clean_phones, "clean_companies": c.clean_companies, "clean_countries": c.clean_countries,
        "clean_dates": c.clean_dates, "clean_amounts": c.clean_amounts, "clean_currency": c.clean_currency,
        "clean_probabilities": c.clean_probabilities, "clean_stages": c.clean_stages,
    }


def _own_placeholders(name: str) -> frozenset[str]:
    """Values a cleaner documents as 'empty' beyond the shared placeholders (e.g. phone '0')."""
    if name == "clean_phones":
        from crmkit.clean.phones import _PHONE_PLACEHOLDERS

        return frozenset(_PHONE_PLACEHOLDERS)
    return frozenset()


def _check_result(name, values: pd.Series, res) -> None:
    assert res.values.index.equals(values.index), f"{name}: values index differs"
    assert res.problems.index.equals(values.index), f"{name}: problems index differs"
    out = res.values if isinstance(res.values, pd.Series) else res.values.iloc[:, 0]
    for i, raw in values.items():
        text = normalize_text(raw)
        if text is None or is_placeholder(text) or text.lower() in _own_placeholders(name):
            continue
        value, problem = out.loc[i], res.problems.loc[i]
        assert not (pd.isna(value) if not isinstance(value, (list, tuple)) else False) or problem is not None, (
            f"{name}: {raw!r} became empty without a problem")


@pytest.mark.parametrize("name", list(_simple_cleaners()))
@settings(FUZZ, max_examples=150)
@given(values=series_of_text, shift=st.integers(0, 5))
def test_cleaner_never_raises_or_drops(name, values, shift):
    values.index = values.index + shift * 10  # non-default index must be kept
    before = values.copy()
    _counts.bump("cleaner")
    with guard(what=f"{name}({values.tolist()!r:.200})"):
        res = _simple_cleaners()[name](values)
    pd.testing.assert_series_equal(values, before)  # pure: input not mutated
    _check_result(name, values, res)


@settings(FUZZ, max_examples=60)
@given(first=series_of_text, last=series_of_text, full=series_of_text)
def test_clean_names_never_raises(first, last, full):
    n = min(len(first), len(last), len(full))
    first, last, full = (s.iloc[:n].reset_index(drop=True) for s in (first, last, full))
    _counts.bump("cleaner")
    with guard(what="clean_names"):
        res = clean_pkg.clean_names(first, last, full)
    assert res.values.index.equals(first.index)
    has_any = [any(normalize_text(x) and not is_placeholder(normalize_text(x)) for x in t)
               for t in zip(first, last, full)]
    for i, keep in enumerate(has_any):
        if keep:
            assert pd.notna(res.values["full_name"].iloc[i]) or res.problems.iloc[i] is not None, \
                f"name parts {first[i]!r} {last[i]!r} {full[i]!r} lost"


@settings(FUZZ, max_examples=50)
@given(entity=st.sampled_from(["contact", "deal", "order"]), data=st.data())
def test_clean_whole_frames(entity, data):
    from crmkit.schema import ENTITIES

    fields = data.draw(st.lists(st.sampled_from(ENTITIES[entity].field_names), unique=True, max_size=8))
    n = data.draw(st.integers(0, 12))
    df = pd.DataFrame({f: data.draw(st.lists(st.one_of(st.none(), any_text), min_size=n, max_size=n))
                       for f in fields}, dtype=object)
    df = df.reindex(range(n)) if not fields else df
    df["source_file"], df["source_sheet"], df["source_row"] = "f.csv", "", range(2, n + 2)
    df.index = df.index + 2
    kinds = pd.DataFrame({f: data.draw(st.lists(st.sampled_from(["s", "n", "d", "b", ""]), min_size=n, max_size=n))
                          for f in fields}, index=df.index, dtype=object)
    before = df.copy()
    _counts.bump("cleaner")
    with guard(what=f"clean({entity})"):
        cleaned, issues = clean_pkg.clean(df, entity, kinds=kinds)
    pd.testing.assert_frame_equal(df, before)
    assert cleaned.index.equals(df.index)
    assert list(cleaned["source_row"]) == list(df["source_row"])
    assert {"source_file", "source_sheet", "source_row", "column", "value", "problem"} <= set(issues.columns)
