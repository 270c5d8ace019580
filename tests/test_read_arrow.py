"""Long text files are split by pyarrow's CSV reader (crmkit.read._parse_arrow) and, when they are UTF-8, read
without decoding the whole file first (_read_utf8_fast): the sheets must be exactly those of the pandas path."""
from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from crmkit.errors import ReadError

read_module = importlib.import_module("crmkit.read")  # (crmkit.read is also the function's name)
ROOT = Path(__file__).resolve().parents[1]
TEXT_FILES = sorted(p for d in (ROOT / "tests" / "data", ROOT / "sample_data") for p in d.rglob("*")
                    if p.suffix.lower() in read_module.TEXT_EXTENSIONS)


def _state(sheets) -> list:
    out = []
    for s in sheets:
        out.append((s.frame, s.kinds, s.header_row, s.skipped, s.issues, s.skipped_issues, s.encoding, s.delimiter,
                    s.skipped_text))
    return out


def _assert_same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if isinstance(u, pd.DataFrame):
                assert_frame_equal(u, v, check_exact=True)
                for c in u.columns:  # None stays None (not NaN), text stays text
                    assert [type(t) for t in u[c]] == [type(t) for t in v[c]]
            else:
                assert u == v


def _read_both(path: Path, monkeypatch, **kw):
    """(sheets or error text) read by the pandas path and by the arrow paths (forced for any length)."""
    def attempt():
        try:
            return _state(read_module.read(path, **kw))
        except ReadError as exc:
            return str(exc)

    with monkeypatch.context() as m:
        m.setattr(read_module, "_ARROW_MIN_BYTES", 1 << 62)
        plain = attempt()
    with monkeypatch.context() as m:
        m.setattr(read_module, "_ARROW_MIN_BYTES", 0)
        m.setattr(read_module, "_THREAD_MIN_ROWS", 0)  # (columns stripped by the helper thread, as long ones are)
        m.setattr(read_module, "_OVERLAP_MIN_BYTES", 0)  # (records found by a helper thread meanwhile, as in long files)
        used = []
        original = read_module._parse_arrow

        def spy(raw, delimiter):
            found = original(raw, delimiter)
            used.append(found is not None)
            return found

        m.setattr(read_module, "_parse_arrow", spy)
        arrow = attempt()
    return plain, arrow, any(used)


def test_whitespace_is_what_str_strip_removes():
    assert read_module._WHITESPACE == "".join(chr(i) for i in range(0x110000) if chr(i).isspace())


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: p.name)
def test_test_and_sample_files_read_the_same(path, monkeypatch):
    plain, arrow, _ = _read_both(path, monkeypatch)
    if isinstance(plain, str):
        assert arrow == plain
    else:
        _assert_same(plain, arrow)


def test_the_arrow_path_is_taken_for_regular_files(tmp_path, monkeypatch):
    path = tmp_path / "plain.csv"
    path.write_text("Name,Email\n Ann ,a@x.com\n\n\u3000Bob,\"b@y.com\"\n\"x\ny\",\n", encoding="utf-8")
    plain, arrow, used = _read_both(path, monkeypatch)
    assert used
    _assert_same(plain, arrow)
    assert plain[0][0]["Name"].tolist() == ["Ann", "Bob", "x\ny"]


CELLS = st.text(alphabet=list('ab ",;\n\r\t\u3000\x1céx'), max_size=6)


def _split_both(text: str, delimiter: str, monkeypatch):
    """_parse_delimited by the pandas path (or the csv module where pandas gives up) and by pyarrow's reader;
    None for the second when the arrow path hands back."""
    with monkeypatch.context() as m:
        m.setattr(read_module, "_ARROW_MIN_BYTES", 1 << 62)
        plain = read_module._parse_delimited(text, delimiter)
    arrow = read_module._parse_arrow(text.encode("utf-8"), delimiter)
    return plain, arrow


def _assert_split_same(plain, arrow) -> None:
    cells, lines, _ = plain
    columns, arrow_lines, nonempty = arrow
    assert arrow_lines.tolist() == lines.tolist()
    assert sorted(columns) == list(cells.columns)
    for j in columns:
        want = cells[j].tolist()
        assert columns[j].tolist() == want
        assert nonempty[:, j].tolist() == [v is not None for v in want]


CELLS = st.text(alphabet=list('ab ",;\n\r\t\u3000\x1céx'), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=8), st.sampled_from([",", ";"]),
       st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_random_delimited_text_splits_the_same(rows, delimiter, quote_all, newline):
    def cell(v):
        return '"' + v.replace('"', '""') + '"' if quote_all or any(c in v for c in '",;\n\r') else v

    text = newline.join(delimiter.join(cell(v) for v in row) for row in rows)
    with pytest.MonkeyPatch.context() as m:
        plain, arrow = _split_both(text, delimiter, m)
    if arrow is not None:
        _assert_split_same(plain, arrow)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=list('ab ",;\n\r'), max_size=40), st.sampled_from([",", ";"]))
def test_random_text_splits_the_same_or_hands_back(text, delimiter):
    with pytest.MonkeyPatch.context() as m:
        plain, arrow = _split_both(text, delimiter, m)
    if arrow is not None:
        _assert_split_same(plain, arrow)


def test_regular_text_takes_the_arrow_path(monkeypatch):
    for text in ("a,b\n1,2\n", 'a,b\r\n"x\ny", 2 \r\n\r\n', "a;b\n\u3000;\x1c\n"):
        plain, arrow = _split_both(text, "," if "," in text else ";", monkeypatch)
        assert arrow is not None
        _assert_split_same(plain, arrow)


def _long_csv(tmp_path: Path, name: str, tail: bytes = b"", rows: int = 40_000) -> Path:
    body = "".join(f"Anna {i},anna{i}@example.com, Müller ,+49 30 {i:07d}\n" for i in range(rows))
    path = tmp_path / name
    path.write_bytes(b"First name,Email,Last name,Phone\n" + body.encode("utf-8") + tail)
    assert path.stat().st_size > read_module._ARROW_MIN_BYTES
    return path


def test_long_utf8_file_is_read_without_decoding_it_first(tmp_path, monkeypatch):
    path = _long_csv(tmp_path, "long.csv")
    decoded = []
    original = read_module._decode_lines
    monkeypatch.setattr(read_module, "_decode_lines", lambda *a: decoded.append(1) or original(*a))
    sheet = read_module.read(path)[0]
    assert not decoded and sheet.encoding == "utf-8" and sheet.delimiter == ","
    assert sheet.frame["Last name"].iloc[0] == "Müller" and len(sheet.frame) == 40_000
    monkeypatch.undo()
    plain, arrow, used = _read_both(path, monkeypatch)
    assert used
    _assert_same(plain, arrow)


@pytest.mark.parametrize("tail, expected", [
    ("Zoë,z@x.com,Strauß,1\n".encode("cp1252"), "utf-8 + cp1252"),  # a line not UTF-8 far down: decoded
    (b"x,y,z,\x00\n", ReadError),  # binary data after the start
    (b"only one cell\n", "utf-8"),  # a ragged row: the pandas path
])
def test_long_files_the_fast_path_hands_back(tmp_path, monkeypatch, tail, expected):
    path = _long_csv(tmp_path, "tail.csv", tail)
    plain, arrow, _ = _read_both(path, monkeypatch)
    if expected is ReadError:
        assert isinstance(plain, str) and arrow == plain
        return
    _assert_same(plain, arrow)
    assert plain[0][6] == expected
    with monkeypatch.context() as m:  # and read() as it is
        m.setattr(read_module, "_ARROW_MIN_BYTES", 1 << 62)
        _assert_same(_state(read_module.read(path)), plain)


def test_arrow_strip_is_str_strip_for_every_character():
    import pyarrow as pa

    chars = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF]
    values = [c + "a" + c for c in chars]
    strip = read_module._arrow_strip()
    assert strip(pa.array(values)).to_pylist() == [v.strip() for v in values]


def test_columns_with_few_distinct_values_share_their_strings(tmp_path, monkeypatch):
    import pyarrow as pa

    values = pa.chunked_array([pa.array(["Berlin", None, "Paris"] * 30_000), pa.array(["Köln", "Berlin"] * 10_000)])
    objects = read_module._objects(values)
    assert objects.tolist() == values.to_pylist() and objects[0] is objects[3]
    assert read_module._objects(values.slice(0, 100)).tolist() == values.to_pylist()[:100]
    path = _long_csv(tmp_path, "cities.csv", rows=60_000)
    path.write_bytes(path.read_bytes() + b"".join(b"x,y, Paris ,%d\n" % (i % 7) for i in range(60_000)))
    plain, arrow, used = _read_both(path, monkeypatch)
    assert used
    _assert_same(plain, arrow)


def test_stray_quotes_lose_no_cell(tmp_path):
    """A record whose quotes pair up across a delimiter ('a",b"') is wider than quote parity counts: pandas
    would drop its last cells (ParserWarning), so the csv module splits the file."""
    path = tmp_path / "stray.csv"
    path.write_text('x",y",z""\nName,Note\nAnn,b\n', encoding="utf-8")  # (quote parity: 2 cells in line 1)
    sheet = read_module.read(path)[0]
    assert sheet.header_row == 2 and sheet.frame.values.tolist() == [["Ann", "b"]]
    assert sheet.skipped_text == {1: 'x" | y" | z""'}  # (pandas alone dropped 'z""')
    assert read_module._parse_fast(b'a",a"', ",") is None


def test_the_helper_thread_is_gone_after_reading(tmp_path, monkeypatch):
    """Long columns are stripped by a helper thread (read._column_pool), the same cells as without it, and the
    thread has ended when read() returns: forking helper processes needs a process without other threads."""
    import threading

    path = tmp_path / "long.csv"
    path.write_text("Name,Email,Note\n" + "".join(f" N{i} ,n{i}@x.com,{'' if i % 3 else ' x '}\n"
                                                    for i in range(3000)), encoding="utf-8")
    before = threading.active_count()
    with monkeypatch.context() as m:
        m.setattr(read_module, "_ARROW_MIN_BYTES", 0)
        m.setattr(read_module, "_THREAD_MIN_ROWS", 0)
        threaded = _state(read_module.read(path))
        assert threading.active_count() == before
        m.setenv("CRMKIT_WORKERS", "0")
        alone = _state(read_module.read(path))
    _assert_same(alone, threaded)
    assert threaded[0][0]["Name"].iloc[:2].tolist() == ["N0", "N1"]


def _parse_arrow_both(raw: bytes, delimiter: str):
    """_parse_arrow with the records found first, then with pyarrow reading while a helper thread finds them."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(read_module, "_OVERLAP_MIN_BYTES", 1 << 62)
        alone = read_module._parse_arrow(raw, delimiter)
        m.setattr(read_module, "_OVERLAP_MIN_BYTES", 0)
        overlapped = read_module._parse_arrow(raw, delimiter)
    return alone, overlapped


def _assert_parsed_same(a, b) -> None:
    assert (a is None) == (b is None)
    if a is not None:
        assert sorted(a[0]) == sorted(b[0]) and all(a[0][j].tolist() == b[0][j].tolist() for j in a[0])
        assert a[1].tolist() == b[1].tolist() and a[2].tolist() == b[2].tolist()


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=list('ab ",;\n\r'), max_size=40), st.sampled_from([",", ";"]))
def test_reading_while_the_records_are_found_splits_the_same(text, delimiter):
    _assert_parsed_same(*_parse_arrow_both(text.encode("utf-8"), delimiter))


@pytest.mark.parametrize("text, widths", [
    ("a,b\n1,2\n3,4", [2]),  # as wide as the first record: read once
    ('"x\ny",b\r\n1,2\r\n', [2]),  # a line break inside the first record's quotes
    ("a\nb,c,d\ne,f,g\n", [1, 3]),  # a wider record later: read again with its width (and refused)
    ("a,b,c\nd\n", [3]),  # a narrower one: refused
    ("a,b", None),  # no line break: the records are found first
])
def test_the_first_records_width_is_read_at_once(text, widths, monkeypatch):
    import pyarrow.csv as pcsv

    seen = []
    original = pcsv.read_csv
    monkeypatch.setattr(pcsv, "read_csv", lambda *a, **k: seen.append(len(k["read_options"].column_names))
                        or original(*a, **k))
    monkeypatch.setattr(read_module, "_OVERLAP_MIN_BYTES", 0)
    read_module._parse_arrow(text.encode("utf-8"), ",")
    if widths is not None:
        assert seen == widths
        assert read_module._first_width(text.encode("utf-8"), ",") == widths[0]
    else:
        assert read_module._first_width(text.encode("utf-8"), ",") is None
    monkeypatch.undo()
    _assert_parsed_same(*_parse_arrow_both(text.encode("utf-8"), ","))


def test_a_first_record_longer_than_the_sample_is_found_first(monkeypatch):
    monkeypatch.setattr(read_module, "_WIDTH_SAMPLE_BYTES", 8)
    raw = b'"a long first cell",b\n1,2\n'
    assert read_module._first_width(raw, ",") is None
    _assert_parsed_same(*_parse_arrow_both(raw, ","))


def test_no_thread_is_left_after_reading_a_long_file(tmp_path, monkeypatch):
    import threading

    path = _long_csv(tmp_path, "long.csv")
    monkeypatch.setattr(read_module, "_OVERLAP_MIN_BYTES", 0)
    before = threading.active_count()
    overlapped = _state(read_module.read(path))
    assert threading.active_count() == before
    monkeypatch.setenv("CRMKIT_WORKERS", "0")  # (no helper thread at all)
    _assert_same(_state(read_module.read(path)), overlapped)
