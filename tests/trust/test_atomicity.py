"""Atomicity under SIGKILL: a migration killed at any moment leaves the previous store exactly as it was,
and a killed migration into a new path leaves no store there at all.

Each test runs a real migration in a child process and kills it with SIGKILL at a deterministic point: the
child wraps ``crmkit.store._insert`` (and the progress callback) to touch a marker file and wait when it gets
there, so the parent kills it mid-read, after the first table is written, or after most tables are written,
with the rollback journal (or the temporary file) on disk. The input has ``CRMKIT_KILL_ROWS`` rows (default
3,000): the points do not depend on timing, so a small input tests the same thing in seconds.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from crmkit.backup import backup
from crmkit.store import TABLE_COLUMNS, Store

from _gen import make_big_csv  # noqa: E402  (tests/trust is on sys.path via conftest.py)

ROWS = int(os.environ.get("CRMKIT_KILL_ROWS", "3000"))
ROOT = Path(__file__).resolve().parents[2]
# the child: a normal migration that stops (touches the marker and sleeps) at the point given
CHILD = r"""
import sys, time
import crmkit
import crmkit.store as store_mod

src, out, point, marker = sys.argv[1:5]
real_insert, inserted = store_mod._insert, []

def stop_here():
    open(marker, "w").close()
    time.sleep(600)

def insert(conn, name, df):
    real_insert(conn, name, df)
    inserted.append(name)
    if point.startswith("insert:") and len(inserted) == int(point.split(":")[1]):
        stop_here()

def progress(step, frac):
    if point == "clean" and step.startswith("cleaning"):
        stop_here()

# a tiny page cache: the write spills into the store file before COMMIT, so the kill finds a hot journal
# and changed pages that the next open must roll back (with the default cache nothing reaches the file)
real_make = store_mod._make_engine

def make_engine(url):
    import sqlalchemy as sa

    engine = real_make(url)
    sa.event.listen(engine, "connect", lambda dbapi_conn, _rec: dbapi_conn.execute("PRAGMA cache_size=8"))
    return engine

store_mod._insert, store_mod._make_engine = insert, make_engine
crmkit.migrate([src], out, dedupe=False, progress=progress)
"""


def _snapshot(path: Path) -> dict:
    store = Store(path)
    try:
        snap = {name: len(store.read_table(name)) for name in TABLE_COLUMNS}
        snap["change_counter"] = store.change_counter()
        snap["contacts"] = store.read_table("contacts").sort_values("contact_id").reset_index(drop=True)
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        snap["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return snap


def _is_hot(journal: Path) -> bool:
    """A rollback journal SQLite would still replay: present and starting with the journal magic.

    A journal killed before its header was finalised starts with zeros: SQLite ignores it (not hot),
    and the next write transaction reuses the file.
    """
    if not journal.exists():
        return False
    with open(journal, "rb") as fh:
        return fh.read(8) == bytes.fromhex("d9d505f920a163d7")


def _assert_same(a: dict, b: dict) -> None:
    assert b["integrity"] == "ok"
    for k in a:
        if k == "contacts":
            pd.testing.assert_frame_equal(a[k], b[k])
        else:
            assert a[k] == b[k], f"{k}: {a[k]} before, {b[k]} after the kill"


def _run_until(src: Path, out: Path, point: str, tmp: Path) -> subprocess.Popen:
    """Start the child and return once it has stopped at ``point`` (still running, ready to be killed)."""
    marker = tmp / f"at-{point.replace(':', '-')}"
    marker.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(src), str(out), point, str(marker)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.perf_counter()
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the child ended before reaching {point}: {proc.stderr.read()[-1500:]!r}")
        if time.perf_counter() - t0 > 300:
            _kill(proc)
            pytest.fail(f"the child did not reach {point} within 300 s")
        time.sleep(0.01)
    return proc


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    return make_big_csv(tmp_path_factory.mktemp("big") / "big_contacts.csv", ROWS)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Path:
    import crmkit

    d = tmp_path_factory.mktemp("small")
    out = d / "crm.sqlite"
    crmkit.migrate([make_big_csv(d / "small_contacts.csv", 300, seed=3)], out)
    return out


# clean: while reading/cleaning; insert:1: the first table written (journal hot); insert:6: most tables written
@pytest.mark.parametrize("point", ["clean", "insert:1", "insert:6"])
def test_kill_during_migration_keeps_the_previous_store(big_csv, small_store, tmp_path, point):
    import shutil

    before = _snapshot(small_store)
    target = tmp_path / "crm.sqlite"
    shutil.copy(small_store, target)
    journal = Path(f"{target}-journal")
    proc = _run_until(big_csv, target, point, tmp_path)
    try:
        if point != "clean":
            assert _is_hot(journal), "the kill should come while the write transaction is open, spilled"
    finally:
        _kill(proc)
    # the first thing to open the killed store is a backup: it must see (and copy) the old content
    copy = backup(target, tmp_path / "after-kill-backup.sqlite")
    after = _snapshot(target)
    _assert_same(before, after)
    _assert_same(before, _snapshot(copy))
    assert not _is_hot(journal), "the hot journal was not rolled back when the store was opened"
    # and the store still takes the migration afterwards
    import crmkit

    crmkit.migrate([big_csv], target, dedupe=False)
    assert _snapshot(target)["source_rows"] == before["source_rows"] + ROWS


def test_kill_during_migration_into_a_new_path_leaves_no_store(big_csv, tmp_path):
    target = tmp_path / "new" / "crm.sqlite"
    target.parent.mkdir()
    proc = _run_until(big_csv, target, "insert:3", tmp_path)
    try:
        temp = [p.name for p in target.parent.iterdir() if p.name.startswith(".crm.sqlite.tmp-")]
        assert temp, "the new store is not written under a temporary name"
    finally:
        _kill(proc)
    assert not target.exists(), "a half-written store was left at the target path"
    leftovers = [p.name for p in target.parent.iterdir()]
    # a killed process cannot clean up after itself: its temp file stays, hidden, and is never the store
    assert leftovers and all(name.startswith(".crm.sqlite.tmp-") for name in leftovers), leftovers
    assert not Store(target).exists()
    # the next open removes the dead process's temp files
    assert [p.name for p in target.parent.iterdir()] == []


def test_concurrent_writer_is_not_overwritten(tmp_path):
    """Two migrations into one store at once (two users, or the app and a batch job): the second to write
    must not silently replace what the first wrote (a lost update). Either both batches are kept, or the
    late writer fails with a StoreError and the store keeps the other batch."""
    import crmkit
    from crmkit.errors import StoreError

    out = tmp_path / "crm.sqlite"
    crmkit.migrate([make_big_csv(tmp_path / "first.csv", 50, seed=1)], out, dedupe=False)
    a, b = make_big_csv(tmp_path / "a.csv", 40, seed=2), make_big_csv(tmp_path / "b.csv", 30, seed=3)
    done = {}

    def progress(step, frac):
        # while A is about to write, B runs start to finish against the same store
        if step.startswith("writing") and "b" not in done:
            done["b"] = crmkit.migrate([b], out, dedupe=False)

    try:
        crmkit.migrate([a], out, dedupe=False, progress=progress)
    except StoreError:
        pass  # refusing the stale write is fine: B's rows are still there, A can be re-run
    files = set(Store(out).read_table("source_rows")["source_file"])
    assert "b.csv" in files, f"B's batch was overwritten by A's stale write; the store holds {sorted(files)}"
