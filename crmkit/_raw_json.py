"""Every row of a read sheet as the JSON text ``source_rows.raw`` keeps (its original cells, by header).

The text is what pandas writes per line (``to_json(orient="records", lines=True, force_ascii=False)``)
and it must stay so byte for byte: the source record ids hash it, and a store made by an earlier
version recognises its rows on re-import by those ids. pandas builds it value by value (~3.4 s at
1M rows × 12 columns); :func:`raw_json_array` builds the same text with pyarrow's string kernels,
column by column, where every cell is text or None (what :mod:`crmkit.read` gives), and asks pandas
otherwise. The escaping is pandas' own, learnt from pandas once per process (:func:`_escapes`), and
the fast path is used only when it agrees with pandas on every character that pandas could escape.
tests/test_raw_json.py compares both on generated text.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd


def pandas_raw_json(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row (the original cells, by header), as pandas writes them.

    The same text as ``to_json(orient="records", lines=True)`` gives per line, without its slow
    line splitting: the records array is cut at ``},{"``, where every record starts. A key or value
    ending in ``},{`` holds it too, so the cut is kept only when it gives one piece per row (a value
    can only add pieces); else the lines are split as pandas does. Never split at newlines: JSON
    escapes those inside values, but not U+2028/U+2029/U+0085, which ``str.splitlines`` would split on.
    """
    if frame.empty:
        return []
    if len(frame.columns):
        text = frame.to_json(orient="records", force_ascii=False)
        parts = text[2:-2].split('},{"')  # '[{"a":1},{"a":2}]' -> ['"a":1', 'a":2']
        if len(parts) == len(frame):
            return ["{" + parts[0] + "}"] + ['{"' + p + "}" for p in parts[1:]]
    text = frame.to_json(orient="records", lines=True, force_ascii=False)
    return text.rstrip("\n").split("\n")


def raw_json_array(frame: pd.DataFrame):
    """:func:`pandas_raw_json` of ``frame`` as a text array (pandas' ``str`` dtype), built by pyarrow
    when :func:`_arrow_raw_json` can, else by pandas."""
    dtype = pd.Series(["a"]).dtype
    if len(frame) and len(frame.columns):
        built = _arrow_raw_json(frame)
        if built is not None:
            return pd.array(built, dtype=dtype)  # (the Arrow array itself, not copied)
    return pd.array(pandas_raw_json(frame), dtype=dtype)


def _arrow_raw_json(frame: pd.DataFrame):
    """:func:`pandas_raw_json` as a pyarrow large_string array, or None when this path does not apply: a
    column that is not of object dtype or holds anything but str and None, column names pandas would not
    write as one key each (not unique), or escaping pandas does differently (:func:`_escapes`).

    One join of the columns (their values escaped) with the texts between them (``",KEY:"``); a missing
    value joins as a NUL character, whose quotes then make ``null``. No other NUL is left by then: values
    hold NUL only escaped (``\\u0000``), and so do the keys.
    """
    escapes = _escapes()
    if escapes is None or not frame.columns.is_unique:
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover
        return None

    def text(value: str):
        return pa.scalar(value, pa.large_string())

    columns, seps = [], []
    for j, name in enumerate(frame.columns):
        column = frame.iloc[:, j]
        key = _key_text(name) if column.dtype == object else None
        if key is None:
            return None
        columns.append(column.to_numpy())
        seps.append(text(('{' if j == 0 else '",') + key + ':"'))
    blocks = []
    for lo in range(0, len(frame), _BLOCK_ROWS):  # (a block's buffers are reused by the next: less fresh memory)
        parts = []
        for sep, values in zip(seps, columns):
            try:  # str and None only (a float NaN, a number, a lone surrogate: pandas decides)
                block = pa.array(values[lo:lo + _BLOCK_ROWS], type=pa.large_string(), from_pandas=False)
            except (pa.ArrowException, UnicodeError, ValueError, TypeError, OverflowError):
                return None
            parts += [sep, _escaped(block, escapes)]
        joined = pc.binary_join_element_wise(*parts, text('"}'), text(""),
                                             null_handling="replace", null_replacement="\x00")
        blocks.append(pc.replace_substring(joined, '"\x00"', "null"))
    return blocks[0] if len(blocks) == 1 else pa.concat_arrays(blocks)


_BLOCK_ROWS = 1 << 16  # rows turned into JSON at a time


def _key_text(name) -> str | None:
    """A column name as pandas writes it as a key (quoted and escaped), learnt from pandas itself."""
    text = pd.DataFrame({0: [None]}).set_axis([name], axis=1).to_json(orient="records", force_ascii=False)
    if not (text.startswith('[{"') and text.endswith('":null}]')):  # pragma: no cover - defensive
        return None
    return text[2:-len(":null}]")]


# the characters pandas may escape in a string (the others it writes as they are): every one below 0x20,
# the quote, the backslash and the slash, and a probe of others it could escape (HTML characters, DEL,
# the C1 controls, the JavaScript line ends, a byte-order mark, a character outside the BMP)
_ESCAPED = [chr(c) for c in range(0x20)] + ['"', "\\", "/"]
_UNESCAPED_PROBE = "<>&'\x7f" + "".join(chr(c) for c in range(0x80, 0x100)) + "\u2028\u2029\ufeff\U0001f600 azAZ09"


@functools.cache
def _escapes() -> dict[str, str] | None:
    """Each character pandas escapes in JSON text (``force_ascii=False``) and its escape, learnt from pandas;
    None when pandas escapes anything else too (then :func:`pandas_raw_json` does all the work)."""
    def written(text: str) -> str:
        return pd.Series([text], dtype=object).to_json(orient="values", force_ascii=False)[2:-2]

    found = {c: written(c) for c in _ESCAPED}
    if written(_UNESCAPED_PROBE) != _UNESCAPED_PROBE:
        return None
    if any(not e.startswith("\\") for e in found.values()) or found["\\"] != "\\\\":
        return None  # pragma: no cover - the backslash must be escaped first, and by doubling
    return found


def _escaped(values, escapes: dict[str, str]):
    """``values`` with every character of ``escapes`` escaped (nulls stay null). Only the values holding one
    are rewritten; the backslash goes first, as every escape adds one."""
    import pyarrow.compute as pc

    if len(values) >= 1024:  # most columns hold none of those characters: one look at their bytes tells
        data = np.frombuffer(values.buffers()[2] or b"", dtype=np.uint8)
        if not (data < 0x20).any() and not any((data == ord(c)).any() for c in escapes if c >= " "):
            return values
    special = "[" + "".join(f"\\x{ord(c):02x}" for c in escapes) + "]"  # (RE2 reads the \xNN escapes)
    mask = pc.fill_null(pc.match_substring_regex(values, special), False)
    hits = pc.sum(mask).as_py() or 0
    if not hits:
        return values
    sub = values if hits == len(values) else pc.filter(values, mask)
    controls = [c for c in escapes if c < " "]
    others = ["\\", *(c for c in escapes if c >= " " and c != "\\")]
    has_control = pc.any(pc.match_substring_regex(sub, "[" + "".join(f"\\x{ord(c):02x}" for c in controls) + "]"))
    for char in others + (controls if has_control.as_py() else []):
        if pc.any(pc.match_substring(sub, char)).as_py():
            sub = pc.replace_substring(sub, char, escapes[char])
    return sub if hits == len(values) else pc.replace_with_mask(values, mask, sub)
