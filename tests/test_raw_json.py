"""source_rows.raw is hashed into the source record ids, so crmkit._raw_json.raw_json_array (pyarrow) must give
exactly the text pandas writes per row (pandas_raw_json, the text of earlier versions), for any cell and header,
and the source record ids (crmkit._link_tables._hash_ids) exactly pandas' hashes of that text."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit import _raw_json
from crmkit._link_tables import _hash_ids
from crmkit._raw_json import _arrow_raw_json, pandas_raw_json, raw_json_array

# characters pandas escapes or could trip on: JSON's specials, every control character, the line ends
# str.splitlines knows, HTML characters, DEL, non-ASCII up to outside the BMP, and the record separator
NASTY = [chr(c) for c in range(0x20)] + list('"\\/{},:[]<>&\' ') + ["\x7f", "\x85", "\xa0", "é", "ß", "\u2028",
                                                                   "\u2029", "\ufeff", "中", "😀", "},{\"", "a", "Z"]
nasty_text = st.lists(st.sampled_from(NASTY), max_size=8).map("".join)
cells = st.one_of(st.none(), nasty_text, st.text(max_size=6))  # (hypothesis' text: any code point but surrogates)


def _frame(draw_columns: list[str], rows: list[list]) -> pd.DataFrame:
    return pd.DataFrame({c: [r[j] for r in rows] for j, c in enumerate(draw_columns)}, columns=draw_columns,
                        dtype=object)


@st.composite
def frames(draw) -> pd.DataFrame:
    names = draw(st.lists(st.one_of(nasty_text, st.text(max_size=5)), min_size=1, max_size=5, unique=True))
    n = draw(st.integers(1, 12))
    rows = [[draw(cells) for _ in names] for _ in range(n)]
    return _frame(names, rows)


def _same(frame: pd.DataFrame) -> None:
    want = pd.array(pandas_raw_json(frame), dtype=pd.Series(["a"]).dtype)
    built = _arrow_raw_json(frame)
    assert built is not None  # (text and None only: the fast path takes it)
    got = raw_json_array(frame)
    assert got.dtype == want.dtype
    assert list(got) == list(want)
    assert [type(v) for v in got] == [type(v) for v in want]


@settings(max_examples=400, deadline=None)
@given(frames())
def test_arrow_text_is_pandas_text(frame):
    _same(frame)


def test_every_escaped_character_in_long_columns(monkeypatch):
    """Columns of 1,024 values or more are first looked at byte by byte: every character pandas escapes,
    alone, among others, at the start and the end of a value, with missing values around; the rows are
    made in blocks (here of 1,000 rows), then put together."""
    monkeypatch.setattr(_raw_json, "_BLOCK_ROWS", 1000)
    values = []
    for c in NASTY:
        values += [c, "x" + c, c + "y", f"a{c}b{c}c", None, ""]
    values = (values * (2048 // len(values) + 1))[:2048]
    plain = [f"v{i}" if i % 5 else None for i in range(len(values))]
    frame = pd.DataFrame({"k": values, "p": plain, "q/\"\\": values[::-1]}, dtype=object)
    _same(frame)
    _same(frame[["p"]])  # a column with nothing to escape


def test_other_cells_go_to_pandas():
    """Numbers, floats, missing values that are not None, headers that are not text, duplicate headers and
    lone surrogates are pandas' to write: the same text (or the same error) as before."""
    for frame in (pd.DataFrame({"a": ["x", 1]}, dtype=object), pd.DataFrame({"a": ["x", np.nan]}, dtype=object),
                  pd.DataFrame({"a": [1.5, 2.0]}), pd.DataFrame({"a": ["x", pd.NA]}, dtype=object),
                  pd.DataFrame({1: ["x"], "b": [None]}, dtype=object)):
        assert list(raw_json_array(frame)) == pandas_raw_json(frame)
    with pytest.raises(ValueError, match="unique"):  # pandas refuses duplicate headers, as before
        raw_json_array(pd.DataFrame([["x", "y"]], columns=["a", "a"], dtype=object))
    with pytest.raises(UnicodeEncodeError):  # (a str pyarrow cannot take: pandas' path, which fails as before)
        raw_json_array(pd.DataFrame({"a": ["\ud800"]}, dtype=object))
    assert len(raw_json_array(pd.DataFrame({"a": []}, dtype=object))) == 0
    assert list(raw_json_array(pd.DataFrame(index=range(2)))) == pandas_raw_json(pd.DataFrame(index=range(2)))


def test_escapes_are_learnt_from_pandas(monkeypatch):
    """When pandas escapes a character the probe holds (here: as if it escaped '<'), the fast path stands aside."""
    real = pd.Series.to_json

    def html_escaping(self, *args, **kw):
        return real(self, *args, **kw).replace("<", "\\u003c")

    _raw_json._escapes.cache_clear()
    monkeypatch.setattr(pd.Series, "to_json", html_escaping)
    try:
        assert _raw_json._escapes() is None
        assert _arrow_raw_json(pd.DataFrame({"a": ["<"]}, dtype=object)) is None
    finally:
        monkeypatch.undo()
        _raw_json._escapes.cache_clear()
    assert _raw_json._escapes() is not None


def _pandas_ids(prefix: str, frame: pd.DataFrame) -> list[str]:
    """The ids of earlier versions: pandas' hash of the frame as text, as 16 hex digits after the prefix."""
    h = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return [prefix + format(int(v), "016x") for v in h]


@settings(max_examples=200, deadline=None)
@given(frames(), st.sampled_from(["R", "D", "X", "Ü"]))
def test_ids_are_pandas_hashes(frame, prefix):
    rows = frame.assign(source_row=np.arange(2, len(frame) + 2, dtype=np.int64))
    rows["raw"] = raw_json_array(frame)
    got = _hash_ids(prefix, rows)
    assert got.tolist() == _pandas_ids(prefix, rows)
    assert got.dtype == pd.Series(["a"]).dtype and got.index.equals(rows.index)


@pytest.mark.parametrize("block", [3, 1 << 17])
def test_ids_of_other_columns_are_pandas_hashes(block, monkeypatch):
    """Columns with missing values, numbers in text columns, floats, pandas' "string" dtype: hashed as pandas
    does (the columns without one by their bytes, combined with the others in order), also in blocks of rows."""
    import crmkit._link_tables as link_tables

    monkeypatch.setattr(link_tables, "_HASH_BLOCK_ROWS", block)
    frame = pd.DataFrame({
        "a": ["x", None, "z", "é"], "b": [1, -2, 3, 10**12], "c": pd.array(["p", pd.NA, "é", ""], dtype="string"),
        "d": [1.5, np.nan, 2.0, -0.0], "e": np.array(["q", 3, None, "r"], dtype=object),
        "f": pd.Series(["u", "v", "w", "😀"], dtype="str"), "g": [True, False, True, True],
        "h": np.array([b"ab", "x", "y", "z"], dtype=object)})
    for cols in [["a"], ["b"], ["c"], ["d"], ["e"], ["f"], ["g"], ["h"], list(frame.columns), ["f", "b", "a"]]:
        assert _hash_ids("X", frame[cols]).tolist() == _pandas_ids("X", frame[cols])
    empty = frame.iloc[:0]
    assert _hash_ids("X", empty).tolist() == []
