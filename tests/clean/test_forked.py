"""crmkit.clean._base.Forked: a forked child when allowed, this process otherwise; never a different outcome."""
from __future__ import annotations

import os

import pytest

from crmkit.clean import _base
from crmkit.clean._base import Forked


def _forks() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


@pytest.mark.skipif(not _forks(), reason="needs os.fork and two CPUs")
def test_runs_in_a_child_when_allowed(monkeypatch):
    monkeypatch.delenv("CRMKIT_WORKERS", raising=False)
    monkeypatch.setattr(_base, "_memory_for_child", lambda: True)
    assert Forked(os.getpid).result() != os.getpid()


@pytest.mark.parametrize("block", ["env", "memory"])
def test_runs_here_when_not_allowed(block, monkeypatch):
    if block == "env":
        monkeypatch.setenv("CRMKIT_WORKERS", "0")
    else:
        monkeypatch.setattr(_base, "_memory_for_child", lambda: False)
    job = Forked(os.getpid)
    assert job.pid is None
    assert job.result() == os.getpid()


def test_an_error_in_the_child_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(_base, "_memory_for_child", lambda: True)

    def fail():
        raise ValueError("bad value 42")

    job = Forked(fail)
    with pytest.raises(ValueError, match="bad value 42"):
        job.result()
    assert job.pid is None  # the child was waited for: no zombie


def test_a_result_never_asked_for_leaves_no_zombie(monkeypatch):
    monkeypatch.setattr(_base, "_memory_for_child", lambda: True)
    job = Forked(lambda: list(range(10)))
    pid = job.pid
    del job
    if pid is not None:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)



@pytest.mark.skipif(not _forks(), reason="needs os.fork and two CPUs")
def test_a_child_that_dies_mid_write_falls_back_to_this_process(monkeypatch):
    import pickle

    monkeypatch.delenv("CRMKIT_WORKERS", raising=False)
    monkeypatch.setattr(_base, "_memory_for_child", lambda: True)
    pipes, real_pipe, parent = [], os.pipe, os.getpid()

    def pipe():
        pipes.append(real_pipe())
        return pipes[-1]

    def half_a_result_then_die():
        if os.getpid() == parent:
            return "ran here"
        data = pickle.dumps(list(range(200_000)), protocol=pickle.HIGHEST_PROTOCOL)
        os.write(pipes[-1][1], data[: len(data) // 2])  # the parent reads a pickle cut off mid-frame
        os._exit(1)

    monkeypatch.setattr(os, "pipe", pipe)
    job = Forked(half_a_result_then_die)
    assert job.pid is not None
    assert job.result() == "ran here"
    assert job.pid is None  # waited for: no zombie


@pytest.mark.skipif(not _forks(), reason="needs os.fork and two CPUs")
def test_a_large_result_comes_back_whole(monkeypatch):
    import numpy as np

    monkeypatch.delenv("CRMKIT_WORKERS", raising=False)
    monkeypatch.setattr(_base, "_memory_for_child", lambda: True)
    job = Forked(lambda: (os.getpid(), np.arange(3_000_000), ["x" * 100] * 10_000))
    pid, numbers, texts = job.result()
    assert pid != os.getpid() and job.pid is None
    assert np.array_equal(numbers, np.arange(3_000_000)) and texts == ["x" * 100] * 10_000
