"""Work done in a forked second process while this one does other work: the package's one way to use a second core
in a stage (the matcher, linking and merging; cleaning forks its phone numbers through
:class:`crmkit.clean._base.Forked`, on which this builds; the store's bulk load has its own loaders).

Large runs (``PARALLEL_MIN_ROWS`` records or more) compute an independent part in a child when the package's
fork rules allow it (:class:`~crmkit.clean._base.Forked`: ``os.fork``, two or more CPUs, no other thread
running — the Streamlit app migrates in a thread —, ``CRMKIT_WORKERS`` not ``0``, the serial path for tests
and comparisons) and the machine has the memory a child needs (:func:`crmkit.store._memory_available`). The
result travels back pickled and is the same as the serial path's, bit for bit. A child that fails makes the
work run here instead, so its error is raised in this process as the serial path raises it; a child is always
waited for (no zombie, no temp file), and a child never forks again.

>>> with Beside(lambda: 6 * 7, n=10) as job:   # few records: runs here, when asked for
...     job.result()
42
"""
from __future__ import annotations

import os
from typing import Any, Callable

PARALLEL_MIN_ROWS = 50_000  # records of a run from which parts are computed in a forked child
_CHILD_MEMORY = 1 << 30     # bytes the machine must have free for such a child (~0.5 GB at 1M records)
_in_child = False           # set in a child: it never forks again


def fork_ok(n: int) -> bool:
    """Whether a run over ``n`` records may compute a part in a forked child (see the module docstring)."""
    if _in_child or n < PARALLEL_MIN_ROWS or not hasattr(os, "fork") or os.environ.get("CRMKIT_WORKERS") == "0":
        return False
    from crmkit.store import _memory_available

    return _memory_available() >= _CHILD_MEMORY


class Beside:
    """``func()`` computed in a forked child (when :func:`fork_ok` for ``n`` records) while the caller goes on;
    :meth:`result` returns it. Use as a context manager: a child whose result is never asked for (an error
    meanwhile) is let go and waited for on leaving the block."""

    def __init__(self, func: Callable[[], Any], n: int):
        self._func = func
        self._forked = None
        if fork_ok(n):
            from crmkit.clean._base import Forked

            def in_child() -> Any:
                global _in_child
                _in_child = True
                return func()

            self._forked = Forked(in_child)
            if self._forked.pid is None:  # Forked declined (threads, one CPU): run here when asked
                self._forked = None
            else:
                self._forked.func = func  # should the child fail, the work runs here as itself

    @property
    def forked(self) -> bool:
        return self._forked is not None

    def result(self) -> Any:
        if self._forked is None:
            return self._func()
        try:
            return self._forked.result()
        finally:
            self._forked = None

    def close(self) -> None:
        if self._forked is not None:
            self._forked.__del__()  # closes the pipe (a child still writing stops) and waits for the child
            self._forked = None

    def __enter__(self) -> Beside:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
