"""Fixtures for the trust suite: a throwaway PostgreSQL server and fresh databases on it."""
from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _pg import PostgresUnavailable, create_database, throwaway_postgres  # noqa: E402

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a PostgreSQL server for this test session.

    ``CRMKIT_TEST_POSTGRES_URL`` uses an existing server (tests create and drop their own databases
    on it); otherwise a private server is started with initdb/pg_ctl on 127.0.0.1 and a free port and
    stopped at the end. Skips, with the reason, when neither is possible.
    """
    given = os.environ.get("CRMKIT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")


@pytest.fixture()
def pg_db(postgres_url) -> str:
    """A fresh, empty database on the session's server (a postgresql:// URL)."""
    return create_database(postgres_url, f"crmkit_t{os.getpid()}_{next(_counter)}")


def pytest_terminal_summary(terminalreporter):
    import _counts

    if _counts.COUNTS:
        total = sum(_counts.COUNTS.values())
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(_counts.COUNTS.items()))
        terminalreporter.write_line(f"trust fuzz cases run: {total} ({parts})")
