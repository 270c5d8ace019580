"""Read customer files into raw text frames that remember where every value came from.

First stage of the pipeline (read → map → clean → match → merge). Supported: CSV, TSV, TXT
(encoding and delimiter detected), XLSX, XLSM and ODS (via python-calamine). Every value
becomes text (or None when empty) with a *kind* beside it; the header row is found even when
titles, notes or blank rows sit above it; blank, footer ("Total: 45") and repeated header rows
are left out and listed in ``skipped``.

>>> sheets = read("customers.xlsx")                        # doctest: +SKIP
>>> sheets[0].header_row, sheets[0].frame.loc[5, "Email"]  # doctest: +SKIP
(3, 'ann@example.com')
>>> raws, errors = read_paths(["inbox/"])                  # doctest: +SKIP
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crmkit.clean._base import COPY_ON_WRITE
from crmkit.errors import CrmkitError, ReadError
from crmkit.schema import ENTITIES, ISSUE_COLUMNS

__all__ = ["RawSheet", "read", "read_paths", "SUPPORTED_EXTENSIONS"]

TEXT_EXTENSIONS = frozenset({".csv", ".tsv", ".txt"})
WORKBOOK_EXTENSIONS = frozenset({".xlsx", ".xlsm", ".ods"})
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | WORKBOOK_EXTENSIONS

_HEADER_SCAN_ROWS = 30  # non-empty rows looked at when searching for the header
_FOOTER_SCAN_ROWS = 20  # non-blank rows at the end of the data looked at for totals
_DELIMITERS = (",", ";", "\t", "|")
_WIDTH_SAMPLE_BYTES = 1 << 20  # bytes whose records set the first guess of the column count


@dataclass(repr=False)
class RawSheet:
    """One sheet (or one CSV file) as text, with its provenance. See docs/internals.md."""

    path: Path
    sheet: str
    header_row: int
    frame: pd.DataFrame
    kinds: pd.DataFrame
    encoding: str | None = None
    delimiter: str | None = None
    skipped: list[tuple[int, str]] = field(default_factory=list)
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS))
    skipped_text: dict[int, str] = field(default_factory=dict)  # row -> its cells ("a | b"), non-blank skipped rows

    @property
    def skipped_issues(self) -> pd.DataFrame:
        """Rows left out that held something (titles, repeated headers, totals) as issue rows.

        Blank rows are not listed. ``problem`` reads ``skipped: footer/total row``; ``value`` holds the row's
        cells, so nothing the file held disappears without a trace.

        >>> # pd.concat([raw.issues, raw.skipped_issues])
        """
        rows = [(r, why) for r, why in self.skipped if why != "blank row"]
        return pd.DataFrame({
            "source_file": [self.source_file] * len(rows), "source_sheet": [self.sheet] * len(rows),
            "source_row": [r for r, _ in rows], "column": [None] * len(rows),
            "value": [self.skipped_text.get(r) for r, _ in rows],
            "problem": [f"skipped: {why}" for _, why in rows],
        }, columns=ISSUE_COLUMNS)

    @property
    def source_file(self) -> str:
        return self.path.name

    def __repr__(self) -> str:
        where = f"{self.source_file}" + (f" [{self.sheet}]" if self.sheet else "")
        return (f"RawSheet({where}: header row {self.header_row}, {len(self.frame)} rows × "
                f"{self.frame.shape[1]} columns, {len(self.skipped)} skipped, {len(self.issues)} issues)")


# ----------------------------------------------------------------------------- public API


def read(
    path: str | Path,
    *,
    sheets: str | int | Sequence[str | int] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
) -> list[RawSheet]:
    """Read one file into one RawSheet per non-empty sheet (one for a CSV/TSV/TXT).

    ``sheets`` picks workbook sheets by name or 0-based position (default: all);
    ``encoding``/``delimiter`` override detection for text files; ``header_row`` (1-based,
    as a spreadsheet app shows it) overrides header detection. Raises :class:`ReadError`
    when the file cannot be read at all.

    >>> read("contacts.csv")[0].frame.columns.tolist()   # doctest: +SKIP
    ['Name', 'Email', 'Phone']
    """
    path = Path(path)
    ext = path.suffix.lower()
    if not path.exists():
        raise ReadError("file not found", file=path, hint="check the folder and the spelling of the file name")
    if path.is_dir():
        raise ReadError("is a folder, not a file", file=path, hint="use read_paths() to read every file in a folder")
    if ext == ".xls":
        raise ReadError("legacy Excel 97-2003 (.xls) files are not supported", file=path,
                        hint="open it in Excel and save it as .xlsx (File > Save As > Excel Workbook)")
    if ext not in SUPPORTED_EXTENSIONS:
        raise ReadError(f"unsupported file type {ext or '(no extension)'!r}", file=path,
                        hint="save it as .xlsx or .csv; supported: " + ", ".join(sorted(SUPPORTED_EXTENSIONS)))
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise ReadError(f"header_row must be a row number ≥ 1, got {header_row!r}", file=path)
    try:
        if ext in TEXT_EXTENSIONS:
            return [_read_text(path, encoding=encoding, delimiter=delimiter, header_row=header_row)]
        return _read_workbook(path, sheets=sheets, header_row=header_row)
    except CrmkitError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # never let a parser traceback reach the user
        raise ReadError(f"could not be read ({type(exc).__name__}: {exc})", file=path,
                        hint="open it in a spreadsheet app and save a fresh copy as .xlsx or .csv") from exc


def read_paths(paths: str | Path | Iterable[str | Path], **kw) -> tuple[list[RawSheet], list[CrmkitError]]:
    """Read files and folders (walked recursively); a bad file becomes an error, the rest go on.

    Folders contribute their .csv .tsv .txt .xlsx .xlsm .ods files in sorted order, skipping
    hidden files and editor temp files (``~$book.xlsx``, ``.~lock...#``). ``kw`` goes to :func:`read`.

    >>> raws, errors = read_paths(["exports/", "extra.csv"])   # doctest: +SKIP
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    sheets: list[RawSheet] = []
    errors: list[CrmkitError] = []
    for path in _expand_paths(paths):
        try:
            sheets.extend(read(path, **kw))
        except CrmkitError as err:
            errors.append(err)
    return sheets, errors


def _expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        given = Path(given)
        if not given.is_dir():
            files.append(given)  # missing/unsupported files are reported by read()
            continue
        found = [
            p for p in given.rglob("*")
            if p.is_file()
            and p.suffix.lower() in SUPPORTED_EXTENSIONS
            and not any(_is_hidden_or_temp(part) for part in p.relative_to(given).parts)
        ]
        files.extend(sorted(found, key=lambda p: p.relative_to(given).as_posix().lower()))
    return files


def _is_hidden_or_temp(name: str) -> bool:
    return name.startswith((".", "~$", "~")) or name.endswith(("~", ".tmp", "#"))


# ----------------------------------------------------------------------------- text files


def _read_text(path: Path, *, encoding: str | None, delimiter: str | None, header_row: int | None) -> RawSheet:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"could not open the file ({exc.strerror or exc})", file=path,
                        hint="check that it is not locked by another program and that you may read it") from exc
    if not data:
        raise ReadError("file is empty (0 bytes)", file=path, hint="export the data again")
    _reject_binary_signature(data, path)
    parsed = _read_utf8_fast(data, path, encoding=encoding, delimiter=delimiter)
    if parsed is not None:
        (cells, line_numbers, nonempty), delimiter = parsed
        used_encoding, fallback_lines = "utf-8", []
    else:
        text, used_encoding, fallback_lines = _decode_lines(data, encoding, path)
        if "\x00" in text or _control_ratio(text) > 0.01:
            raise ReadError("is not a text/CSV file (it contains binary data)", file=path,
                            hint="export the data as CSV or .xlsx; if it is a CSV, pass encoding= explicitly")
        if delimiter is None:
            delimiter = _detect_delimiter(text, path.suffix.lower())
        elif len(delimiter) != 1:
            raise ReadError(f"delimiter must be one character, got {delimiter!r}", file=path)
        cells, line_numbers, nonempty = _parse_delimited(text, delimiter)
    sheet = _build_sheet(
        path, "", cells, None, line_numbers,
        column_label=lambda j: f"Column {j + 1}", header_row=header_row, merged=(), ragged_issues=True,
        nonempty=nonempty,
    )
    if sheet is None:
        raise ReadError("has no data (only blank lines)", file=path, hint="export the data again")
    sheet.encoding = used_encoding
    sheet.delimiter = delimiter
    if fallback_lines:
        sheet.issues = _concat_issues(sheet.issues, _encoding_issues(sheet, fallback_lines, used_encoding))
    return sheet


def _read_utf8_fast(data: bytes, path: Path, *, encoding: str | None, delimiter: str | None):
    """The cells of a long UTF-8 file (no BOM) as :func:`_parse_arrow` splits them, and the delimiter, without
    decoding the whole file to text first (pyarrow checks that every cell is UTF-8, and every byte outside
    the cells is a delimiter, quote or line break): what the usual path gives for such a file. None when
    it does not apply, or the checks of the usual path would find something: it then runs."""
    if encoding is not None or len(data) < _ARROW_MIN_BYTES or (delimiter is not None and len(delimiter) != 1):
        return None
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) \
            or _sniff_utf16_without_bom(data) or b"\x00" in data:
        return None
    # the text's first 100,000 characters or more (for the binary-data check and the delimiter guess)
    cut = min(len(data), 4 * 100_000 + 4)
    while 0 < cut < len(data) and data[cut] & 0xC0 == 0x80:  # not inside a character
        cut -= 1
    try:
        head = data[:cut].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _control_ratio(head) > 0.01:
        return None
    if delimiter is None:
        delimiter = _detect_delimiter(head, path.suffix.lower())  # (the file is longer than its sample)
    parsed = _parse_arrow(data, delimiter)
    if parsed is None:
        return None
    return _cells_frame(*parsed), delimiter


def _decode_lines(data: bytes, encoding: str | None, path: Path) -> tuple[str, str, list[int]]:
    """Like :func:`_decode`, but a file mixing UTF-8 lines with lines in another encoding is decoded line by
    line (UTF-8 where a line is valid UTF-8) instead of garbling its UTF-8 lines. Returns the text, the
    encoding(s) used and the line numbers (1-based) that were not UTF-8."""
    text, used = _decode(data, encoding, path)
    if encoding is not None or used in ("utf-8", "utf-8-sig") or used.startswith(("utf-16", "utf-32")):
        return text, used, []
    lines = data.split(b"\n")
    good, bad = [], []
    for i, line in enumerate(lines):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good.append(i)
        except UnicodeDecodeError:
            bad.append(i)
    if not good or not bad:
        return text, used, []
    out, codecs = [], Counter()
    bad_set = set(bad)
    for i, line in enumerate(lines):
        if i in bad_set:
            decoded, codec = _decode_legacy_line(line, used)
            codecs[codec] += 1
            out.append(decoded)
        else:
            out.append(line.decode("utf-8"))
    label = "utf-8 + " + " + ".join(c for c, _ in codecs.most_common())
    return "\n".join(out), label, [i + 1 for i in bad]


def _decode_legacy_line(line: bytes, first_choice: str) -> tuple[str, str]:
    a = np.frombuffer(line, dtype=np.uint8)
    high = a >= 0x80
    paired = high & (np.r_[high[1:], False] | np.r_[False, high[:-1]])
    cjk = high.any() and paired.sum() / high.sum() >= 0.7
    for codec in (["gb18030", "cp1252"] if cjk else ["cp1252", "gb18030"]):
        try:
            return line.decode(codec), codec
        except UnicodeDecodeError:
            continue
    try:
        return line.decode(first_choice), first_choice
    except (UnicodeDecodeError, LookupError):
        return line.decode("latin-1"), "latin-1"


def _encoding_issues(sheet: RawSheet, lines: list[int], used: str) -> pd.DataFrame:
    """One issue per record holding a line that was not UTF-8 (the header line counts as the header row)."""
    starts = np.asarray(sorted(set(sheet.frame.index.tolist()) | {sheet.header_row}), dtype=np.int64)
    rows = []
    for line in lines:
        k = int(np.searchsorted(starts, line, side="right")) - 1
        if k < 0:
            continue
        r = int(starts[k])
        if rows and rows[-1] == r:
            continue
        rows.append(r)
    values = [" | ".join(v for v in sheet.frame.loc[r].tolist() if v is not None) if r in sheet.frame.index
              else None for r in rows]
    return pd.DataFrame({
        "source_file": sheet.source_file, "source_sheet": sheet.sheet, "source_row": rows, "column": None,
        "value": values,
        "problem": f"encoding: this line is not UTF-8 like the rest of the file; read as "
                   f"{used.split(' + ', 1)[-1]}: check its accents and characters",
    }, columns=ISSUE_COLUMNS)


def _concat_issues(a: pd.DataFrame | None, b: pd.DataFrame) -> pd.DataFrame:
    parts = [x for x in (a, b) if x is not None and len(x)]
    if not parts:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return pd.concat(parts, ignore_index=True).sort_values("source_row", kind="stable").reset_index(drop=True)


_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"\x89PNG", "is a PNG image, not a spreadsheet", "pick the exported data file instead"),
    (b"\xff\xd8\xff", "is a JPEG image, not a spreadsheet", "pick the exported data file instead"),
    (b"GIF8", "is a GIF image, not a spreadsheet", "pick the exported data file instead"),
    (b"%PDF", "is a PDF document, not a spreadsheet", "export the data from its source as CSV or .xlsx"),
    (b"PK\x03\x04", "is a ZIP archive (perhaps an Excel workbook), not a text file",
     "if it is an Excel workbook, rename it to .xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "is a legacy Office file (e.g. Excel .xls), not a text file",
     "open it in Excel and save it as .xlsx or CSV"),
]


def _reject_binary_signature(data: bytes, path: Path) -> None:
    for magic, message, hint in _SIGNATURES:
        if data.startswith(magic):
            raise ReadError(message, file=path, hint=hint)


def _control_ratio(text: str) -> float:
    sample = text[:100_000]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f\v")
    return bad / len(sample)


_CJK_CODECS = {"gb2312", "gbk", "gb18030", "hz", "big5", "big5hkscs", "cp950", "euc_kr", "cp949", "johab",
               "iso2022_kr", "cp936"}
_WESTERN_CODECS = {"cp1252", "latin_1", "iso8859_15", "iso8859_1", "cp1250", "iso8859_2", "mac_roman",
                   "cp850", "cp437", "mac_latin2", "iso8859_9", "cp1254", "ascii", "utf_8"}


def _decode(data: bytes, encoding: str | None, path: Path) -> tuple[str, str]:
    """Return (text, encoding used). BOM first, then strict UTF-8, then a CJK/western guess."""
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except LookupError as exc:
            raise ReadError(f"unknown encoding {encoding!r}", file=path,
                            hint="use a Python codec name such as 'utf-8', 'gb18030' or 'cp1252'") from exc
        except UnicodeDecodeError as exc:
            raise ReadError(f"is not valid {encoding} (byte {exc.start})", file=path,
                            hint="leave encoding unset to detect it, or try 'utf-8', 'gb18030' or 'cp1252'") from exc
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return data.decode("utf-32"), "utf-32"
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace"), codec
    utf16 = _sniff_utf16_without_bom(data)
    if utf16:
        return data.decode(utf16, errors="replace"), utf16
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for codec in _legacy_encoding_candidates(data):
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1"), "latin-1"  # never fails; every byte maps to one character


def _sniff_utf16_without_bom(data: bytes) -> str | None:
    head = np.frombuffer(data[: 4096 - (min(len(data), 4096) % 2)], dtype=np.uint8)
    if head.size < 4:
        return None
    even_zero = float(np.mean(head[0::2] == 0))
    odd_zero = float(np.mean(head[1::2] == 0))
    if odd_zero > 0.3 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.3 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def _legacy_encoding_candidates(data: bytes) -> list[str]:
    """Order codecs to try for non-UTF-8 bytes.

    Chinese text (GBK/GB18030) has its non-ASCII bytes in pairs; western text (cp1252)
    has isolated accented letters. charset-normalizer breaks the tie for other scripts.
    """
    a = np.frombuffer(data, dtype=np.uint8)
    high = a >= 0x80
    n_high = int(high.sum())
    paired = high & (np.r_[high[1:], False] | np.r_[False, high[:-1]])
    pair_ratio = int(paired.sum()) / n_high if n_high else 0.0
    guess = _charset_normalizer_guess(data, int(np.argmax(high)) if n_high else 0)
    if pair_ratio >= 0.7:
        if guess and guess not in _CJK_CODECS and guess not in _WESTERN_CODECS:
            return [guess, "gb18030", "cp1252"]  # e.g. cp1251 Cyrillic, shift_jis
        return ["gb18030", "cp1252"] + ([guess] if guess else [])
    if guess and guess not in _CJK_CODECS and guess not in _WESTERN_CODECS:
        return ["cp1252", guess]
    return ["cp1252"] + ([guess] if guess else []) + ["gb18030"]


def _charset_normalizer_guess(data: bytes, first_high: int) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - it is a core dependency
        return None
    start = max(0, data.rfind(b"\n", 0, first_high) + 1)
    sample = data[start:start + 65536]
    best = from_bytes(sample).best()
    return best.encoding if best is not None else None


def _detect_delimiter(text: str, ext: str) -> str:
    """Pick the delimiter that splits the first lines into the most consistent number of cells."""
    sample = text[:65536]
    truncated = len(text) > len(sample)
    order = ("\t",) + tuple(d for d in _DELIMITERS if d != "\t") if ext == ".tsv" else _DELIMITERS
    best, best_key = order[0] if ext == ".tsv" else ",", None
    for rank, delim in enumerate(order):
        if delim not in sample:
            continue
        rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delim))
        if truncated and len(rows) > 1:
            rows = rows[:-1]
        counts = [len(r) for r in rows[:300] if any(c.strip() for c in r)]
        if not counts:
            continue
        tally = Counter(counts)
        mode, freq = max(tally.items(), key=lambda kv: (kv[1], kv[0]))
        if mode < 2:
            continue
        key = (round(freq / len(counts), 1), mode, -rank)
        if best_key is None or key > best_key:
            best, best_key = delim, key
    return best


def _parse_delimited(text: str, delimiter: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """Split text into cells (object frame, None for empty), each record's first line number and which cells
    hold something (None: not known yet)."""
    raw = text.encode("utf-8")
    parsed = _parse_arrow(raw, delimiter) if len(raw) >= _ARROW_MIN_BYTES else None
    if parsed is not None:
        return _cells_frame(*parsed)
    parsed = _parse_fast(raw, delimiter)
    if parsed is None:
        parsed = _parse_slow(text, delimiter)
    frame, lines = parsed
    columns = {j: _strip_column(frame[j].to_numpy(dtype=object)) for j in frame.columns}
    return _cells_frame(columns, lines, None)


def _cells_frame(columns: dict, lines: np.ndarray, nonempty: np.ndarray | None):
    # the columns as they are, not copied into one block (copy-on-write keeps them from changing: pandas 3)
    cells = pd.DataFrame(columns, dtype=object, copy=not COPY_ON_WRITE)
    cells.index = lines
    return cells, lines, nonempty


def _strip_column(values: np.ndarray) -> list[str | None]:
    return [(v.strip() or None) if isinstance(v, str) else None for v in values]


# Text files at least this long are split by pyarrow's CSV reader (multi-threaded, and it strips the cells
# without a Python object per cell) when every record has the same number of cells; else by pandas.
_ARROW_MIN_BYTES = 1 << 20
# Every character str.strip() removes (str.isspace(); tests/test_read_arrow.py checks the list).
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
               "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


@functools.cache
def _arrow_strip() -> Callable:
    """str.strip() of every string of a pyarrow array: utf8_trim_whitespace where its whitespace is Python's
    (checked here on the characters where the two could differ; tests/test_read_arrow.py checks them all),
    else utf8_trim with the characters of :data:`_WHITESPACE`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    near = [*range(0x00, 0x21), *range(0x7F, 0xA1), 0x1680, 0x180E, *range(0x2000, 0x2030), *range(0x205F, 0x2070),
            0x3000, 0xFEFF]
    probe = [chr(c) + "a" + chr(c) for c in near]
    if pc.utf8_trim_whitespace(pa.array(probe)).to_pylist() == [p.strip() for p in probe]:
        return pc.utf8_trim_whitespace
    return lambda column: pc.utf8_trim(column, _WHITESPACE)


def _record_lines(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(bytes, quote positions, record ends, each record's first line number), found with numpy (quote-parity
    aware); None when the records cannot be told apart that way (an unbalanced quote)."""
    a = np.frombuffer(raw, dtype=np.uint8)
    newline = 10 if b"\n" in raw else 13
    newlines = np.flatnonzero(a == newline)
    quotes = np.flatnonzero(a == 34)
    if quotes.size % 2:
        return None  # an unbalanced quote: let the csv module decide
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0] if quotes.size else newlines
    if ends.size == 0 or ends[-1] != len(raw) - 1:
        ends = np.r_[ends, len(raw)]  # last record has no line break after it
    starts = np.r_[0, ends[:-1] + 1]
    lines = np.searchsorted(newlines, starts) + 1
    return a, quotes, ends, lines.astype(np.int64)


def _parse_arrow(raw: bytes, delimiter: str) -> tuple[dict[int, np.ndarray], np.ndarray, np.ndarray] | None:
    """:func:`_parse_fast` with pyarrow's CSV reader, the cells stripped (None for empty) as
    :func:`_strip_column` does. None (the caller falls back) unless every record has as many cells as the
    first, and the reader finds as many records as :func:`_record_lines`: then both parsers give the same
    cells (tests/test_read_arrow.py compares them). Also returns which cells hold something.

    In a long file, pyarrow reads the cells at once, as many per record as the first record holds, while a
    helper thread finds the records and the widest of them (numpy lets it run beside the reader). The
    reader refuses a file whose records are not all as wide as the first, so the table is the one the
    widest width gives; when the two widths differ, the file is read again with the widest."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pyarrow comes with pandas' optional stack here
        return None
    ahead = _first_width(raw, delimiter) if len(raw) >= _OVERLAP_MIN_BYTES and _threads_ok() else None
    if ahead is None:
        checked, table = _checked_records(raw, delimiter), None
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crmkit-read") as pool:
            coming = pool.submit(_checked_records, raw, delimiter)
            table = _arrow_table(raw, delimiter, ahead)
            checked = coming.result()  # (the thread has ended when the pool is left)
    if checked is None:
        return None
    lines, width = checked
    if width != ahead:  # not read yet, or read as narrower than the widest record
        table = _arrow_table(raw, delimiter, width)
    if table is None or table.num_rows != len(lines) or table.num_columns != width:
        return None
    columns = {}
    nonempty = np.empty((table.num_rows, width), dtype=bool)
    empty = pa.scalar(None, pa.string())
    trim = _arrow_strip()

    def stripped(column):  # (pyarrow's kernels, which let other threads run meanwhile)
        text = trim(column)
        filled = pc.not_equal(pc.binary_length(text), 0)
        return filled.to_numpy(zero_copy_only=False), pc.if_else(filled, text, empty)

    # a thread strips the next column while this one makes Python str of the last (which holds the GIL)
    for j, (filled, values) in enumerate(_one_ahead(stripped, table.columns, table.num_rows)):
        nonempty[:, j] = filled
        columns[j] = _objects(values)
    return columns, lines, nonempty


# Text files at least this long are read by pyarrow while a helper thread finds their records (see _parse_arrow).
_OVERLAP_MIN_BYTES = 8 << 20


def _threads_ok() -> bool:
    """Whether a stage may run a short-lived helper thread (two CPUs or more, ``CRMKIT_WORKERS`` not ``0``)."""
    return (os.cpu_count() or 1) >= 2 and os.environ.get("CRMKIT_WORKERS") != "0"


def _checked_records(raw: bytes, delimiter: str) -> tuple[np.ndarray, int] | None:
    """Each record's first line number and the most cells in one record (what :func:`_parse_fast` would take);
    None when the records cannot be told apart by quote parity as a CSV parser tells them apart."""
    found = _record_lines(raw)
    if found is None:
        return None
    a, quotes, ends, lines = found
    if not _plainly_quoted(a, quotes, delimiter):
        return None
    return lines, _max_fields(a, quotes, ends, delimiter)


def _first_width(raw: bytes, delimiter: str) -> int | None:
    """The cells of the first record (as :func:`_max_fields` counts them over :func:`_record_lines`' records),
    found in the file's first bytes; None when the first record does not end there."""
    newline = b"\n" if b"\n" in raw else b"\r"
    head = raw[:_WIDTH_SAMPLE_BYTES]
    end = head.find(newline)
    quotes = head.count(b'"', 0, end) if end >= 0 else 0
    while end >= 0 and quotes % 2:  # a line break inside quotes: the record goes on
        after = head.find(newline, end + 1)
        quotes += head.count(b'"', end, after) if after >= 0 else 0
        end = after
    if end < 0:
        return None
    a = np.frombuffer(head, dtype=np.uint8, count=end + 1)
    return _max_fields(a, np.flatnonzero(a == 34), np.array([end]), delimiter)


def _arrow_table(raw: bytes, delimiter: str, width: int):
    """The cells of every record by pyarrow's CSV reader, as ``width`` text columns; None when it refuses the file."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        return pcsv.read_csv(
            pa.BufferReader(raw),
            read_options=pcsv.ReadOptions(column_names=[str(j) for j in range(width)]),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
                                            newlines_in_values=b'"' in raw,  # (only quoted values hold one)
                                            ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types={str(j): pa.string() for j in range(width)},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        # a record with more or fewer cells than the first, bytes that are not UTF-8, a record longer than the
        # reader's block: the caller parses the file with _parse_fast or the csv module instead, which read
        # any such file cell by cell (nothing is dropped here)
        return None


_THREAD_MIN_ROWS = 50_000  # columns at least this long are stripped by a helper thread (see _one_ahead)


def _one_ahead(func: Callable, items: list, rows: int):
    """``func`` of each item, in order; for long columns (``rows``) on a machine with two CPUs or more, the
    next item's is made by a helper thread while the caller uses the last (one at a time: no more than two
    results are held). The thread has ended when the generator is exhausted or closed, so helper processes
    may be forked later (see crmkit.clean._base.Forked); ``CRMKIT_WORKERS=0``: all in this thread."""
    if rows < _THREAD_MIN_ROWS or not _threads_ok():
        yield from map(func, items)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crmkit-read") as pool:
        coming = None
        for item in items:
            made, coming = coming, pool.submit(func, item)
            if made is not None:
                yield made.result()
        if coming is not None:
            yield coming.result()


def _objects(values) -> np.ndarray:
    """The strings of a pyarrow column as an object array (None for null). A long column with few distinct
    values makes one str per distinct value, which its equal cells share (less work and memory here, and
    the cleaners' hashing of the column is faster)."""
    import pyarrow.compute as pc

    if len(values) >= 50_000:
        sample = values.slice(0, 20_000)
        if pc.count_distinct(sample, mode="all").as_py() <= len(sample) // 4:
            encoded = pc.dictionary_encode(values.combine_chunks() if hasattr(values, "combine_chunks") else values)
            distinct = encoded.dictionary.to_numpy(zero_copy_only=False)
            table = np.empty(len(distinct) + 1, dtype=object)
            table[:-1] = distinct
            table[-1] = None
            return table[pc.fill_null(encoded.indices, len(distinct)).to_numpy(zero_copy_only=False)]
    return values.to_numpy(zero_copy_only=False)


def _plainly_quoted(a: np.ndarray, quotes: np.ndarray, delimiter: str) -> bool:
    """Whether the records :func:`_record_lines` tells apart by quote parity are the records a CSV parser
    finds: every opening quote starts a cell (or doubles the quote before it), every closing quote ends one
    (or is doubled), and every carriage return ends a line (is followed by a line feed, or the file has no
    line feed). A stray quote inside a cell, or a lone carriage return, leaves the file to the other paths."""
    if quotes.size:
        bounds = np.array([ord(delimiter), 10, 13, 34], dtype=np.uint8)
        before = a[np.maximum(quotes[0::2] - 1, 0)]
        after = a[np.minimum(quotes[1::2] + 1, a.size - 1)]
        if not ((np.isin(before, bounds) | (quotes[0::2] == 0)).all()
                and (np.isin(after, bounds) | (quotes[1::2] == a.size - 1)).all()):
            return False
    returns = np.flatnonzero(a == 13)
    if returns.size and 10 in a:
        if returns[-1] == a.size - 1 or not (a[returns + 1] == 10).all():
            return False
    return True


def _parse_fast(raw: bytes, delimiter: str) -> tuple[pd.DataFrame, np.ndarray] | None:
    """pandas' C parser for the cells; numpy for record line numbers (quote-parity aware).

    Returns None when the record count cannot be trusted (stray quotes), so the caller
    falls back to the csv module.
    """
    found = _record_lines(raw)
    if found is None:
        return None
    a, quotes, ends, lines = found
    # the widest record decides the number of columns; count the first MB, recount all if pandas disagrees
    head_ends = ends[ends < _WIDTH_SAMPLE_BYTES]
    width = _max_fields(a, quotes, head_ends if head_ends.size else ends[:1], delimiter)
    for attempt in range(2):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                frame = pd.read_csv(
                    io.BytesIO(raw), sep=delimiter, header=None, names=range(width), dtype=object,
                    na_filter=False, skip_blank_lines=False, engine="c", encoding="utf-8", index_col=False,
                    quotechar='"', doublequote=True,
                )
            if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
                return None  # pandas dropped cells of a record wider than ``width`` (stray quotes): the csv module
            break
        except pd.errors.ParserError:
            if attempt:
                return None
            width = _max_fields(a, quotes, ends, delimiter)
        except (pd.errors.EmptyDataError, ValueError):
            return None
    if len(frame) != len(lines):
        return None
    return frame, lines


def _max_fields(a: np.ndarray, quotes: np.ndarray, ends: np.ndarray, delimiter: str) -> int:
    """Most cells in one record, over the records ending at ``ends`` (delimiters inside quotes ignored)."""
    last = int(ends[-1]) + 1 if ends.size else a.size
    delims = np.flatnonzero(a[:last] == ord(delimiter))
    if quotes.size and delims.size:
        delims = delims[np.searchsorted(quotes, delims) % 2 == 0]
    counts = np.diff(np.r_[0, np.searchsorted(delims, ends)]) + 1
    return int(counts.max()) if counts.size else 1


def _parse_slow(text: str, delimiter: str) -> tuple[pd.DataFrame, np.ndarray]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    line = 1
    for row in reader:
        rows.append(row)
        lines.append(line)
        line = reader.line_num + 1
    width = max((len(r) for r in rows), default=1) or 1
    rows = [r if len(r) == width else r + [""] * (width - len(r)) for r in rows]
    frame = pd.DataFrame(rows, columns=range(width), dtype=object) if rows else pd.DataFrame(columns=range(width))
    return frame, np.asarray(lines, dtype=np.int64)


# ----------------------------------------------------------------------------- workbooks

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


def _check_workbook_signature(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if head.startswith(_OLE_MAGIC):
                encrypted = _ENCRYPTED_MARK in head + fh.read()
    except OSError as exc:
        raise ReadError(f"could not open the file ({exc.strerror or exc})", file=path,
                        hint="check that it is not locked by another program and that you may read it") from exc
    if not head:
        raise ReadError("file is empty (0 bytes)", file=path, hint="save the workbook again from Excel")
    if head.startswith(_OLE_MAGIC):
        if encrypted:
            raise ReadError("workbook is password-protected (encrypted)", file=path,
                            hint="open it in Excel, remove the password (File > Info > Protect Workbook), save, "
                                 "and try again")
        raise ReadError("is a legacy Excel 97-2003 (.xls) file with a new-style name", file=path,
                        hint="open it in Excel and save it as .xlsx (File > Save As > Excel Workbook)")
    if not head.startswith(b"PK"):
        for magic, message, hint in _SIGNATURES:
            if head.startswith(magic):
                raise ReadError(message, file=path, hint=hint)
        raise ReadError("is not a valid workbook (it is not a ZIP-based Office file)", file=path,
                        hint="if it is a text export, rename it to .csv; otherwise save it again as .xlsx")


def _read_workbook(path: Path, *, sheets, header_row: int | None) -> list[RawSheet]:
    _check_workbook_signature(path)
    import python_calamine as calamine

    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # ZipError, XmlError, PasswordError, ...
        raise ReadError(f"workbook is damaged or incomplete ({_short(exc)})", file=path,
                        hint="open it in Excel (it may offer to repair it) and save a fresh copy") from exc
    with workbook:
        names = [m.name for m in workbook.sheets_metadata
                 if m.typ == calamine.SheetTypeEnum.WorkSheet]
        wanted = _select_sheets(names, sheets, path)
        out: list[RawSheet] = []
        for name in wanted:
            try:
                sheet = workbook.get_sheet_by_name(name)
                rows = sheet.to_python(skip_empty_area=True)
                start = sheet.start
                merged = sheet.merged_cell_ranges or []
            except Exception as exc:
                raise ReadError(f"sheet could not be read ({_short(exc)})", file=path, sheet=name,
                                hint="open it in Excel and save a fresh copy") from exc
            if not rows or start is None:
                continue  # an empty sheet is not an error
            raw = _sheet_from_rows(path, name, rows, start, merged, header_row)
            if raw is not None:
                out.append(raw)
    if not out:
        raise ReadError("workbook has no data in " + ("the chosen sheets" if sheets is not None else "any sheet"),
                        file=path, hint="check that you picked the right file and sheets")
    return out


def _select_sheets(names: list[str], sheets, path: Path) -> list[str]:
    if sheets is None:
        return names
    if isinstance(sheets, (str, int)):
        sheets = [sheets]
    chosen = []
    for s in sheets:
        if isinstance(s, int) and 0 <= s < len(names):
            chosen.append(names[s])
        elif isinstance(s, str) and s in names:
            chosen.append(s)
        else:
            raise ReadError(f"has no sheet {s!r}", file=path, hint="its sheets are: " + ", ".join(map(repr, names)))
    return chosen


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _sheet_from_rows(path, name, rows, start, merged, header_row) -> RawSheet | None:
    row0, col0 = start
    columns = list(zip(*rows))
    texts: dict[int, list] = {}
    kinds: dict[int, list] = {}
    for j, col in enumerate(columns):
        if set(map(type, col)) == {str}:  # fast path: a text column
            texts[j] = [v.strip() or None for v in col]
            kinds[j] = ["s" if v is not None else "" for v in texts[j]]
            continue
        converted = [_CONVERTERS.get(v.__class__, _convert_other)(v) for v in col]
        texts[j] = [t for t, _ in converted]
        kinds[j] = [k for _, k in converted]
    index = np.arange(row0 + 1, row0 + 1 + len(rows), dtype=np.int64)
    bad_dates = _out_of_range_dates(path, name, columns, row0, col0, texts, kinds)
    cells = pd.DataFrame(texts, dtype=object, index=index)
    kind_frame = pd.DataFrame(kinds, dtype=object, index=index)
    relative = [((r1 - row0, c1 - col0), (r2 - row0, c2 - col0)) for (r1, c1), (r2, c2) in merged]
    raw = _build_sheet(
        path, name, cells, kind_frame, index,
        column_label=lambda j: f"Column {_column_letter(col0 + j)}", header_row=header_row,
        merged=relative, ragged_issues=False,
    )
    if raw is not None and bad_dates:
        names = dict(zip(range(len(columns)), [None] * len(columns)))
        for j, label in zip(_frame_positions(raw, cells), raw.frame.columns):
            names[j] = label
        issues = pd.DataFrame([{
            "source_file": path.name, "source_sheet": name, "source_row": r, "column": names.get(j),
            "value": value, "problem": "date out of range: the cell is formatted as a date but holds the serial "
                                       f"number {value}, which is no valid date (kept as the number)"}
            for r, j, value in bad_dates if r in raw.frame.index and names.get(j) is not None],
            columns=ISSUE_COLUMNS)
        raw.issues = _concat_issues(raw.issues, issues)
    return raw


def _frame_positions(raw: RawSheet, cells: pd.DataFrame) -> list[int]:
    """The grid column of each frame column (frame columns keep the grid's order)."""
    header = cells.loc[raw.header_row].tolist()
    used = cells.loc[raw.frame.index].notna().to_numpy().any(axis=0) if len(raw.frame) else \
        np.zeros(len(header), dtype=bool)
    return [j for j, v in enumerate(header) if v is not None or used[j]]


def _out_of_range_dates(path: Path, sheet: str, columns, row0: int, col0: int, texts, kinds) -> list:
    """Date-formatted cells with a negative serial: calamine gives a time of day ('00:00:00') and the value is
    lost. Read those cells' stored numbers from the sheet XML, put them back as numbers, and list them
    (row, column position, value) for issue rows."""
    spots = [(i, j) for j, col in enumerate(columns) for i, v in enumerate(col) if isinstance(v, dt.time)]
    if not spots or path.suffix.lower() not in (".xlsx", ".xlsm"):
        return []
    refs = {f"{_column_letter(col0 + j)}{row0 + i + 1}": (i, j) for i, j in spots}
    try:
        stored = _stored_numbers(path, sheet, set(refs))
    except Exception:  # a damaged member: keep what calamine gave
        return []
    out = []
    for ref, (i, j) in refs.items():
        value = stored.get(ref)
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if number >= 0:
            continue  # 0 <= serial < 1 is a real time of day
        text = _convert_float(number)[0]
        texts[j][i], kinds[j][i] = text, "n"
        out.append((row0 + i + 1, j, text))
    return out


def _stored_numbers(path: Path, sheet: str, refs: set[str]) -> dict[str, str]:
    """The raw ``<v>`` text of some cells (by A1 reference) of one worksheet of an .xlsx file."""
    import posixpath
    import xml.etree.ElementTree as ET
    import zipfile

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rid = next((el.get(f"{ns_rel}id") for el in book.iter(f"{ns_main}sheet") if el.get("name") == sheet), None)
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = next((el.get("Target") for el in rels if el.get("Id") == rid), None)
        if target is None:
            return {}
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        found: dict[str, str] = {}
        with z.open(member) as fh:
            for _event, el in ET.iterparse(fh):
                if el.tag == f"{ns_main}c":
                    if el.get("r") in refs:
                        v = el.find(f"{ns_main}v")
                        found[el.get("r")] = v.text if v is not None else None
                    el.clear()
        return found


def _column_letter(j: int) -> str:
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _convert_str(v: str):
    v = v.strip()
    return (v, "s") if v else (None, "")


def _convert_float(v: float):
    if v != v or v in (math.inf, -math.inf):
        return None, ""
    if v.is_integer():
        return str(int(v)), "n"
    return repr(v), "n"


def _convert_datetime(v: dt.datetime):
    if v.hour == v.minute == v.second == v.microsecond == 0:
        return v.date().isoformat(), "d"
    return v.isoformat(timespec="microseconds" if v.microsecond else "seconds"), "d"


def _convert_timedelta(v: dt.timedelta):
    seconds = int(v.total_seconds())
    sign = "-" if seconds < 0 else ""
    h, rem = divmod(abs(seconds), 3600)
    return f"{sign}{h}:{rem // 60:02d}:{rem % 60:02d}", "s"


def _convert_other(v):
    if v is None:
        return None, ""
    return _convert_str(str(v))


_CONVERTERS: dict[type, Callable] = {
    str: _convert_str,
    float: _convert_float,
    int: lambda v: (str(v), "n"),
    bool: lambda v: ("TRUE" if v else "FALSE", "b"),
    dt.datetime: _convert_datetime,
    dt.date: lambda v: (v.isoformat(), "d"),
    dt.time: lambda v: (v.isoformat(), "d"),
    dt.timedelta: _convert_timedelta,
}


# ----------------------------------------------------------------------------- header, skipping, naming


def _header_words() -> frozenset[str]:
    words = set()
    for entity in ENTITIES.values():
        for f in entity.fields:
            words.add(f.name.replace("_", " "))
            words.update(s.lower() for s in f.synonyms)
    return frozenset(words)


_HEADER_WORDS = _header_words()
_NUMBER_RE = re.compile(r"^[+\-−(]?\s*[$€£¥₹]?\s*\d[\d\s.,'’]*%?\)?$")
_DATE_RE = re.compile(r"^\d{1,4}[./\-年]\d{1,2}[./\-月]\d{1,4}日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_FOOTER_RE = re.compile(
    r"^(?:grand\s*totals?|sub-?\s*totals?|totals?|sum|summe|gesamt(?:summe|betrag)?|zwischensumme|insgesamt|"
    r"somme|total\s+g[ée]n[ée]ral|totale|suma|合计|合計|总计|總計|小计|小計|共计|总数|итого)"
    r"\s*[:：]?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)


def _norm_header(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("_", " ")).strip(" :*#").lower()


def _is_headerish(value: str, kind: str) -> bool:
    return (kind in ("s", "")
            and len(value) <= 60
            and "@" not in value
            and not _NUMBER_RE.match(value)
            and not _DATE_RE.match(value)
            and not value.lower().startswith(("http://", "https://", "www.")))


def _is_numberish(value: str) -> bool:
    return bool(_NUMBER_RE.match(value))


def _detect_header(cells: pd.DataFrame, kinds: pd.DataFrame | None, candidates: np.ndarray) -> int:
    """Return the position (in ``cells``) of the most header-like row among the first non-empty rows.

    A header has many distinct, short, non-numeric text cells (bonus for known header words),
    and the rows below it are filled; a title has one cell. Ties go to the earliest row.
    """
    scan = candidates[: _HEADER_SCAN_ROWS + 6]
    values = cells.iloc[scan].to_numpy(dtype=object)
    kind_values = kinds.iloc[scan].to_numpy(dtype=object) if kinds is not None else None
    filled = [int(sum(v is not None for v in row)) for row in values]
    widest = max(filled) if filled else 0
    scores = []
    for i in range(min(len(scan), _HEADER_SCAN_ROWS)):
        row = values[i]
        present = [(j, v) for j, v in enumerate(row) if v is not None]
        good = {v for j, v in present if _is_headerish(v, kind_values[i][j] if kind_values is not None else "s")}
        known = sum(1 for v in good if _norm_header(v) in _HEADER_WORDS)
        score = len(good) - 0.5 * (len(present) - len(good)) + 1.5 * known
        if len(present) <= 1 and widest > 1:
            score = min(score, 0.25)  # a title or a note
        below = filled[i + 1: i + 6]
        need = max(2, math.ceil(len(present) / 2)) if len(present) > 1 else 1
        frac = sum(n >= need for n in below) / len(below) if below else 1.0
        scores.append(score * (0.5 + 0.5 * frac))
    best = max(scores)
    if best <= 0:
        return int(scan[0])
    for i, s in enumerate(scores):
        if s >= 0.8 * best:
            return int(scan[i])
    return int(scan[0])  # pragma: no cover


def _build_sheet(
    path: Path,
    sheet: str,
    cells: pd.DataFrame,
    kinds: pd.DataFrame | None,
    rows: np.ndarray,
    *,
    column_label: Callable[[int], str],
    header_row: int | None,
    merged: Sequence,
    ragged_issues: bool,
    nonempty: np.ndarray | None = None,
) -> RawSheet | None:
    """Turn a grid of stripped text cells (None = empty) into a RawSheet (``nonempty``: ``cells.notna()``
    when known already)."""
    if nonempty is None:
        nonempty = cells.notna().to_numpy()
    row_filled = nonempty.any(axis=1)
    candidates = np.flatnonzero(row_filled)
    if candidates.size == 0:
        return None
    if header_row is not None:
        pos = np.flatnonzero(rows == header_row)
        if pos.size == 0 or not row_filled[pos[0]]:
            raise ReadError(f"header_row {header_row} is empty or outside the data", file=path, sheet=sheet or None,
                            hint=f"the first non-empty row is {int(rows[candidates[0]])}")
        h = int(pos[0])
    else:
        h = _detect_header(cells, kinds, candidates)

    skipped: list[tuple[int, str]] = []
    for p in range(h):
        skipped.append((int(rows[p]), "above the header row (title or notes)" if row_filled[p] else "blank row"))

    header_cells = cells.iloc[h].tolist()
    body = cells.iloc[h + 1:]
    body_kinds = kinds.iloc[h + 1:] if kinds is not None else None
    body_mask = nonempty[h + 1:]
    body_filled = row_filled[h + 1:]
    if merged and len(body):
        body, body_kinds = body.copy(), body_kinds.copy() if body_kinds is not None else None
        body_mask = body_mask.copy()
        _fill_merged_down(body, body_kinds, body_mask, body_filled, merged, first=h + 1)

    blank = ~body_filled
    repeated = _repeated_header_rows(body, header_cells) & ~blank
    footer = _footer_rows(body, ~blank & ~repeated)
    drop = blank | repeated | footer
    if drop.any():
        body_rows = rows[h + 1:]
        for r, is_blank, is_repeated in zip(body_rows[drop], blank[drop], repeated[drop]):
            why = "blank row" if is_blank else "repeated header row" if is_repeated else "footer/total row"
            skipped.append((int(r), why))
        keep = ~drop
        body, body_mask = body.loc[keep], body_mask[keep]
        body_kinds = body_kinds.loc[keep] if body_kinds is not None else None
    skipped.sort()
    skipped_text = {}
    if skipped:
        position = {int(r): i for i, r in enumerate(rows.tolist())}
        for r, why in skipped:
            if why != "blank row" and r in position:
                skipped_text[r] = " | ".join(v for v in cells.iloc[position[r]].tolist() if v is not None)

    # name the columns; drop columns with neither a header nor any value
    used = body_mask.any(axis=0)
    header_width = max((j + 1 for j, v in enumerate(header_cells) if v is not None), default=0)
    names: list[str] = []
    positions: list[int] = []
    for j, value in enumerate(header_cells):
        if value is None and not used[j]:
            continue
        names.append(re.sub(r"\s+", " ", value) if value is not None else column_label(j))
        positions.append(j)
    names = _dedupe(names)
    index = pd.Index(body.index.to_numpy(dtype=np.int64), name="source_row")
    frame = body.iloc[:, positions].set_axis(names, axis=1).set_axis(index, axis=0)
    if body_kinds is not None:
        kind_frame = body_kinds.iloc[:, positions].set_axis(names, axis=1).set_axis(index, axis=0)
    else:
        codes = _TEXT_KINDS[body_mask[:, positions].astype(np.intp)]
        kind_frame = pd.DataFrame(codes, index=index, columns=names, dtype=object)

    issues = _ragged_issues(path, sheet, frame, positions, names, header_width) if ragged_issues else None
    return RawSheet(
        path=path, sheet=sheet, header_row=int(rows[h]), frame=frame, kinds=kind_frame,
        skipped=skipped, issues=issues if issues is not None else pd.DataFrame(columns=ISSUE_COLUMNS),
        skipped_text=skipped_text,
    )


_TEXT_KINDS = np.array(["", "s"], dtype=object)


def _fill_merged_down(body, body_kinds, body_mask, body_filled, merged, first: int) -> None:
    """Copy a vertically merged cell's value into every (non-blank) row of its range, same column."""
    n = len(body)
    for (r1, c1), (r2, _c2) in merged:
        top, bottom = r1 - first, min(r2 - first, n - 1)
        if r2 <= r1 or top < 0 or top >= n or c1 >= body.shape[1]:
            continue  # horizontal merges and merges starting in/above the header are left as they are
        value = body.iat[top, c1]
        if value is None:
            continue
        for p in range(top + 1, bottom + 1):
            if body_filled[p] and body.iat[p, c1] is None:
                body.iat[p, c1] = value
                body_mask[p, c1] = True
                if body_kinds is not None:
                    body_kinds.iat[p, c1] = body_kinds.iat[top, c1]


def _repeated_header_rows(body: pd.DataFrame, header_cells: list) -> np.ndarray:
    named = [(j, v) for j, v in enumerate(header_cells) if v is not None]
    if not named or not len(body):
        return np.zeros(len(body), dtype=bool)
    need = max(1, math.ceil(0.8 * len(named))) if len(named) < 3 else max(2, math.ceil(0.6 * len(named)))
    columns = [body.iloc[:, j].to_numpy(dtype=object) for j, _ in named]
    # a row with ``need`` header cells has one among any len(named) - need + 1 of the named columns
    candidate = np.zeros(len(body), dtype=bool)
    for (_, v), column in zip(named[:len(named) - need + 1], columns):
        candidate |= column == v
    rows = np.flatnonzero(candidate)
    equal = np.zeros(len(rows), dtype=np.int64)
    for (_, v), column in zip(named, columns):
        equal += column[rows] == v
    out = np.zeros(len(body), dtype=bool)
    out[rows] = equal >= need
    return out


def _footer_rows(body: pd.DataFrame, candidate: np.ndarray) -> np.ndarray:
    """Total/summary rows among the last non-blank rows: a total label, then only numbers."""
    footer = np.zeros(len(body), dtype=bool)
    tail = np.flatnonzero(candidate)[-_FOOTER_SCAN_ROWS:]
    values = body.iloc[tail].to_numpy(dtype=object) if tail.size else []
    for p, row in zip(tail, values):
        present = [v for v in row if v is not None]
        m = _FOOTER_RE.match(present[0]) if present else None
        if not m:
            continue
        rest = m.group("rest").strip()
        if rest and not rest[0].isdigit():
            continue  # "Total SA" is a company, not a total
        if all(_is_numberish(v) for v in present[1:]):
            footer[p] = True
    return footer


def _dedupe(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    counts: Counter = Counter()
    for name in names:
        counts[name] += 1
        candidate = name if counts[name] == 1 else f"{name} ({counts[name]})"
        while candidate in seen:
            counts[name] += 1
            candidate = f"{name} ({counts[name]})"
        seen.add(candidate)
        out.append(candidate)
    return out


def _ragged_issues(path, sheet, frame, positions, names, header_width) -> pd.DataFrame | None:
    extra = [name for j, name in zip(positions, names) if j >= header_width]
    if not extra or not len(frame):
        return None
    parts = []
    for name in extra:
        col = frame[name]
        hit = col[col.notna()]
        if hit.empty:
            continue
        parts.append(pd.DataFrame({
            "source_file": path.name, "source_sheet": sheet, "source_row": hit.index.to_numpy(dtype=np.int64),
            "column": name, "value": hit.to_numpy(dtype=object),
            "problem": f"row has more cells than the header; extra value kept under {name!r}",
        }))
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True).sort_values("source_row", kind="stable").reset_index(drop=True)
