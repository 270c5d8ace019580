"""Shared fixtures: paths to committed test data and the bundled sample data."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory) -> Path:
    """The bundled sample data migrated once into a SQLite store (shared, read-only for tests)."""
    import crmkit

    out = tmp_path_factory.mktemp("sample") / "crm.sqlite"
    crmkit.migrate([SAMPLE], out)
    return out


@pytest.fixture()
def store_copy(sample_store, tmp_path) -> Path:
    """A private copy of the sample store that a test may change."""
    import shutil

    dest = tmp_path / "crm.sqlite"
    shutil.copy(sample_store, dest)
    return dest


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The pids this process forks from now on, with every part of a run forked however small
    (crmkit._fork.PARALLEL_MIN_ROWS = 0, CRMKIT_WORKERS unset)."""
    import os

    import crmkit._fork

    monkeypatch.delenv("CRMKIT_WORKERS", raising=False)
    monkeypatch.setattr(crmkit._fork, "PARALLEL_MIN_ROWS", 0)
    real, pids = os.fork, []

    def counted() -> int:
        pid = real()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counted)
    return pids
