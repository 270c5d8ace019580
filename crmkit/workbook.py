"""The canonical workbook: one .xlsx with a sheet per store table, readable back into the same tables.

Written with XlsxWriter (fast, constant memory, and it writes text that starts with ``=`` as text, never
as a formula); read back with python-calamine.

>>> # crmkit.write_workbook(crmkit.read_store("crm.sqlite"), "crm.xlsx")
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from crmkit.errors import CrmkitError, StoreError
from crmkit.store import TABLE_COLUMNS, _INTEGER, _REAL

# sheet name -> table (order = sheet order in the workbook)
SHEETS = {
    "Contacts": "contacts",
    "Deals": "deals",
    "Orders": "orders",
    "Review": "review_queue",
    "Issues": "issues",
    "Sources": "source_rows",
    "Extra fields": "extra_fields",
    "Lineage": "lineage",
    "Conflicts": "conflicts",
    "Contact values": "contact_values",
    "Records": "contact_records",
    "Decisions": "decisions",
    "Stage history": "deal_stage_history",
    "Batches": "batches",
}
EXCEL_MAX_ROWS = 1_048_575
EXCEL_MAX_CELL = 32_767
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def neutralise(value: object) -> object:
    """Prefix text a spreadsheet app would run as a formula with an apostrophe (for CSV output).

    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("-12.5")
    '-12.5'
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value.strip()):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are safe to open in a spreadsheet app (CSV exports)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            s = out[c]
            risky = s.astype("string").str.match(r"^[=+\-@\t\r]", na=False)
            if risky.any():
                out[c] = s.astype(object)
                out.loc[risky, c] = [neutralise(v) for v in s[risky]]
    return out


def write_csv(df: pd.DataFrame, path: str | Path, **kw) -> Path:
    """Write a DataFrame as UTF-8 CSV (with BOM so Excel detects it), formula-safe."""
    path = Path(path)
    neutralise_frame(df).to_csv(path, index=False, encoding=kw.pop("encoding", "utf-8-sig"), **kw)
    return path


def write_workbook(tables: dict[str, pd.DataFrame], path: str | Path, *, sheets: dict[str, str] | None = None) -> Path:
    """Write store tables to a formatted .xlsx (frozen header row, widths, number formats).

    Text cells are always written as text, so a value such as ``=cmd|' /C calc'!A0`` is shown, never run.
    """
    import xlsxwriter

    path = Path(path)
    sheets = sheets or SHEETS
    for sheet, table in sheets.items():
        df = tables.get(table)
        if df is not None and len(df) > EXCEL_MAX_ROWS:
            raise StoreError(f"{table} has {len(df):,} rows, more than an Excel sheet holds ({EXCEL_MAX_ROWS:,})",
                             file=path, hint="write a SQLite store instead: --out crm.sqlite")
    tmp = path.with_name(f".{path.name}.tmp")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False,
                                        "nan_inf_to_errors": False})
    header = wb.add_format({"bold": True, "bg_color": "#DDE4EE", "bottom": 1})
    money = wb.add_format({"num_format": "#,##0.00"})
    pct = wb.add_format({"num_format": "0%"})
    try:
        for sheet, table in sheets.items():
            df = tables.get(table)
            if df is None:
                continue
            cols = list(df.columns) or TABLE_COLUMNS.get(table, [])
            ws = wb.add_worksheet(sheet)
            ws.freeze_panes(1, 0)
            for j, c in enumerate(cols):
                sample = df[c].dropna().astype(str).head(200) if c in df.columns else pd.Series([], dtype=str)
                width = min(max([len(str(c))] + [len(v) for v in sample]) + 2, 50)
                fmt = pct if c == "probability" else money if c in _REAL else None
                ws.set_column(j, j, width, fmt)
            ws.write_row(0, 0, cols, header)
            columns = []
            for c in cols:
                s = df[c]
                if c in _REAL or c in _INTEGER:
                    vals = pd.to_numeric(s, errors="coerce").astype("float64").tolist()
                    columns.append([None if v != v else v for v in vals])
                else:
                    mask = s.isna().tolist()
                    vals = s.astype(object).tolist()
                    columns.append([None if m else _fit(str(v)) for v, m in zip(vals, mask)])
            for i, row in enumerate(zip(*columns), start=1):
                ws.write_row(i, 0, row)
            if len(df):
                ws.autofilter(0, 0, len(df), max(len(cols) - 1, 0))
        wb.close()
        tmp.replace(path)
    except BaseException:
        try:
            wb.close()
        except Exception:
            pass
        tmp.unlink(missing_ok=True)
        raise
    return path


def _fit(text: str) -> str:
    if len(text) <= EXCEL_MAX_CELL:
        return text
    note = f" …[truncated: {len(text):,} characters; the full value is in the SQLite store]"
    return text[: EXCEL_MAX_CELL - len(note)] + note


def read_workbook(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read a canonical workbook back into store tables (the inverse of :func:`write_workbook`)."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several private error types
        raise CrmkitError(f"cannot open the workbook: {exc}", file=path,
                          hint="is it a crmkit workbook written by `crmkit migrate --out FILE.xlsx`?") from None
    out: dict[str, pd.DataFrame] = {}
    for sheet, table in SHEETS.items():
        if sheet not in wb.sheet_names:
            continue
        rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        if not rows:
            out[table] = pd.DataFrame(columns=TABLE_COLUMNS.get(table, []))
            continue
        cols = [str(c) for c in rows[0]]
        data = [[None if v == "" else v for v in r] for r in rows[1:]]
        df = pd.DataFrame(data, columns=cols, dtype=object)
        for c in cols:
            if c in _REAL:
                df[c] = pd.to_numeric(df[c], errors="coerce")
            elif c in _INTEGER:
                df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
            else:
                df[c] = df[c].map(lambda v: None if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
        out[table] = df
    if "contacts" not in out:
        raise CrmkitError("this workbook has no 'Contacts' sheet", file=path,
                          hint="read_store() reads workbooks written by crmkit")
    return out
