"""Shared plumbing for the cleaners: the result type, text normalisation, unique-value mapping.

Every cleaner follows the same pattern: factorize the input Series, clean each
distinct value once in Python, then broadcast the results back with one numpy
``take``. On typical CRM columns (1M rows, ~100k distinct values) this keeps the
Python work proportional to the distinct values, not the rows.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd


class CleanResult(NamedTuple):
    """What every cleaner returns.

    ``values`` is a Series or DataFrame with the input's index; ``problems`` is a
    Series with the same index holding ``None`` where the value was fine and a
    short problem text otherwise.
    """

    values: pd.Series | pd.DataFrame
    problems: pd.Series


# Placeholders that mean "no value". Compared after normalisation and lower-casing.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "n/a", "n.a.", "n.a", "n/v", "-", "--", "---", "—", "–", "none", "null", "nil", "nan",
        "unknown", "#n/a", "#na", "#value!", "#ref!", "?", "??", "???", "(blank)", "(empty)", "(none)",
        "blank", "empty", "tbd", "k.a.", "k. a.", "keine angabe", "unbekannt", "inconnu", "inconnue",
        "n/d", "desconocido", "sin datos", "无", "無", "未知", "暂无", "不详", "-/-", ".",
    }
)

# One translate table: full-width ASCII -> half-width, odd spaces -> space,
# control and zero-width characters removed (tab/newline become a space).
_TRANSLATE: dict[int, int | None] = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_TRANSLATE.update({c: 0x20 for c in (0x3000, 0x00A0, 0x2007, 0x2009, 0x202F, 0x2002, 0x2003, 0x205F)})
_TRANSLATE.update({c: 0x20 for c in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029)})
_TRANSLATE.update({c: None for c in range(0x00, 0x20) if c not in (0x09, 0x0A, 0x0B, 0x0C, 0x0D)})
_TRANSLATE.update({c: None for c in range(0x7F, 0xA0) if c != 0x85})
_TRANSLATE.update({c: None for c in (0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0x00AD)})

_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


# whether pandas copies on write (always from pandas 3, an option before): then a frame may hold columns it
# was given without copying them, and a kept frame sees no later change of the caller's
COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3 or pd.get_option("mode.copy_on_write") is True


def normalize_text(text: Any) -> str | None:
    """Trim, collapse whitespace, full-width ASCII -> half-width, drop control characters.

    CJK ideographs are never touched. Returns None for missing or blank values.

    >>> normalize_text("  ＡＢＣ\\u3000 １２３ ")
    'ABC 123'
    """
    if text is None or (isinstance(text, float) and text != text) or text is pd.NA:
        return None
    if not isinstance(text, str):
        text = str(text)
    if text.isascii() and text.isprintable():  # nothing to translate; spaces are the only whitespace
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            text = " ".join(text.split())
        return text or None
    text = " ".join(text.translate(_TRANSLATE).split())
    return text or None


def is_placeholder(text: str | None, extra: frozenset[str] | set[str] = frozenset()) -> bool:
    """True when ``text`` (already normalised) is an empty-value placeholder such as 'n/a'."""
    if text is None:
        return True
    low = text.lower()
    return low in PLACEHOLDERS or low in extra


def has_cjk(text: str) -> bool:
    """True when ``text`` contains a Chinese, Japanese or Korean character."""
    return _CJK_RE.search(text) is not None


def fold_accents(text: str) -> str:
    """'Müller-Lüdenscheidt' -> 'Muller-Ludenscheidt'; CJK left as is."""
    if text.isascii():
        return text
    text = text.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("œ", "oe")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def as_series(values: pd.Series | Sequence | None, index: pd.Index | None = None) -> pd.Series:
    """Coerce a list/array/None into a Series (object dtype) aligned with ``index``."""
    if values is None:
        n = 0 if index is None else len(index)
        return pd.Series([None] * n, index=index, dtype=object)
    if isinstance(values, pd.Series):
        return values
    return pd.Series(list(values), index=index, dtype=object)


def factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """codes (-1 for missing) and the distinct non-missing values of ``values`` (in order of appearance).

    A long column of text with many distinct values is encoded by pyarrow (faster than pandas' hash table
    of Python objects there); anything else, or text pyarrow cannot take, by ``pd.factorize``: the same
    codes and values either way.
    """
    if len(values) >= _ARROW_MIN_ROWS:
        found = _factorize_text(values)
        if found is not None:
            return found
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


_ARROW_MIN_ROWS = 50_000
_SAMPLE_ROWS = 20_000


def arrow_text(values, *, large: bool = False, from_pandas: bool = False):
    """``values`` (str, and missing values with ``from_pandas``) as a pyarrow string array; None without
    pyarrow, or for values it cannot take (not text, lone surrogates): the caller then takes its Python path."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow comes with pandas' optional stack here
        return None
    try:
        text = pa.array(values, type=pa.large_string() if large else pa.string(), from_pandas=from_pandas)
    except (pa.ArrowException, UnicodeError, ValueError, TypeError, ArithmeticError):
        return None
    return text if isinstance(text, pa.Array) else None


def fixed_width_text(rows: np.ndarray):
    """The rows of a 2-D uint8 array, each the UTF-8 bytes of one text and all of one width (at least one byte),
    as a pyarrow large_string array built from that one buffer (no Python str per value)."""
    import pyarrow as pa

    n, width = rows.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(rows)))


def _factorize_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`factorize` of a column of str (and missing values) with pyarrow; None for anything else."""
    if isinstance(values, pd.Series):
        if values.dtype != object:
            return None
        values = values.to_numpy()
    arr = values
    if not isinstance(arr, np.ndarray) or arr.dtype != object or pd.api.types.infer_dtype(arr, skipna=True) != "string":
        return None
    if len(pd.unique(arr[:_SAMPLE_ROWS])) < _SAMPLE_ROWS // 50:
        return None  # few distinct values: pandas' hash table is as fast, without the conversion
    text = arrow_text(arr, large=True, from_pandas=True)
    if text is None:
        return None
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(text)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.intp)
    return codes, encoded.dictionary.to_numpy(zero_copy_only=False).astype(object, copy=False)


def take(results: Sequence[Hashable] | np.ndarray, codes: np.ndarray, fill: Any = None,
         dtype: Any = object) -> np.ndarray:
    """Broadcast per-unique ``results`` back to rows via ``codes`` (-1 -> ``fill``)."""
    if fill is None and dtype is object and isinstance(results, list) and results.count(None) == len(results):
        return np.full(len(codes), None, dtype=object)  # nothing but None (a column without problems)
    arr = np.empty(len(results) + 1, dtype=dtype)
    if len(results):
        arr[:-1] = results
    arr[-1] = fill
    return arr[codes]


def map_unique(values: pd.Series, func: Callable[[Any], tuple], n_out: int,
               fills: Sequence[Any] | None = None) -> list[np.ndarray]:
    """Apply ``func`` (returning an ``n_out`` tuple) to each distinct non-missing value.

    Returns ``n_out`` row-aligned object arrays; missing inputs get ``fills``.
    """
    codes, uniques = factorize(values)
    outs = [func(v) for v in uniques]
    fills = fills if fills is not None else [None] * n_out
    cols = []
    for i in range(n_out):
        col = np.empty(len(outs), dtype=object)
        col[:] = [o[i] for o in outs] if outs else []
        cols.append(take(col, codes, fills[i]))
    return cols


def problems_series(arr: np.ndarray | Sequence, index: pd.Index) -> pd.Series:
    """Problems as an object Series (None where fine)."""
    return pd.Series(arr, index=index, dtype=object, copy=not isinstance(arr, np.ndarray))


# Frames at least this long clean some columns in a forked process while this one cleans the others.
PARALLEL_MIN_ROWS = 50_000
_CHILD_MEMORY = 1 << 30  # bytes the machine must have free to fork such a process (~0.5 GB at 1M rows)


def _memory_for_child() -> bool:
    from crmkit.store import _memory_available

    return _memory_available() >= _CHILD_MEMORY


class Forked:
    """``func()`` run in a forked child process; :meth:`result` returns its (pickled) value.

    Without ``os.fork`` (Windows), on one CPU, with ``CRMKIT_WORKERS=0``, or when the child fails,
    :meth:`result` runs ``func()`` here instead, so the outcome never depends on the child.

    >>> Forked(lambda: 6 * 7).result()
    42
    """

    def __init__(self, func: Callable[[], Any]):
        import os

        self.func = func
        self.pid = None
        import threading

        # never fork a process that runs other threads (the Streamlit app, a web server): a lock another
        # thread holds at that moment would stay locked in the child for ever; nor without the memory the
        # child needs (the pages of the objects it reads are copied)
        if (not hasattr(os, "fork") or (os.cpu_count() or 1) < 2 or os.environ.get("CRMKIT_WORKERS") == "0"
                or threading.active_count() > 1 or not _memory_for_child()):
            return
        import gc

        read, write = os.pipe()
        gc.freeze()  # the child's garbage collector then never touches (copies) this process's objects
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:
                gc.unfreeze()
        if pid == 0:  # pragma: no cover - runs in the child
            import pickle

            os.close(read)
            try:
                data = pickle.dumps(func(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                code = 0
            except BaseException:
                code = 1
            os._exit(code)
        os.close(write)
        self.pid, self.read = pid, read

    def result(self) -> Any:
        import os
        import pickle

        if self.pid is None:
            return self.func()
        # unpickled straight from the pipe, frame by frame, rather than from a copy of all its bytes (at 1M rows
        # the results are tens to hundreds of MB: the copy cost the main process a third of the load)
        try:
            with os.fdopen(self.read, "rb") as pipe:
                try:
                    value, complete = pickle.load(pipe), True
                except (EOFError, pickle.UnpicklingError):
                    # the child failed before writing (nothing came) or while writing (a part came): its exit
                    # code, below, is not 0, and func() runs here instead
                    value, complete = None, False
        finally:  # (waited for whatever happened: a child still writing got EPIPE when the pipe closed)
            _, status = os.waitpid(self.pid, 0)
            self.pid = None
        if os.waitstatus_to_exitcode(status) != 0 or not complete:
            return self.func()
        return value

    def __del__(self) -> None:  # result() never asked for (an error meanwhile): let the child go
        import os

        if getattr(self, "pid", None) is not None:
            try:
                os.close(self.read)  # a child still writing gets EPIPE and exits
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = None
