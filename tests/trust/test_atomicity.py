"""Atomicity under SIGKILL: a migration killed at any moment leaves the previous store exactly as it was,
and a killed migration into a new path leaves no store there at all.

The big input has ``CRMKIT_KILL_ROWS`` rows (default 200,000); ``CRMKIT_KILL_SEED`` fixes the kill times.
"""
from __future__ import annotations

import os
import random
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

pytestmark = pytest.mark.slow

ROWS = int(os.environ.get("CRMKIT_KILL_ROWS", "200000"))
SEED = int(os.environ.get("CRMKIT_KILL_SEED", str(random.randrange(10**6))))
ROOT = Path(__file__).resolve().parents[2]
CHILD = ("import sys, crmkit; crmkit.migrate([sys.argv[1]], sys.argv[2], dedupe=sys.argv[3] == '1')")


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


def _start(src: Path, out: Path, dedupe: bool) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(src), str(out), "1" if dedupe else "0"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(cond, proc: subprocess.Popen, timeout: float) -> float | None:
    """Poll ``cond()`` every 5 ms; the time it became true, or None when the child ended first."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if cond():
            return time.perf_counter()
        if proc.poll() is not None:
            return None
        time.sleep(0.005)
    pytest.fail(f"nothing happened within {timeout}s")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


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


@pytest.fixture(scope="module")
def timing(big_csv, small_store, tmp_path_factory) -> dict:
    """One uninterrupted run into a copy of the store: when the write starts and when it ends."""
    import shutil

    target = tmp_path_factory.mktemp("timing") / "crm.sqlite"
    shutil.copy(small_store, target)
    journal = Path(f"{target}-journal")
    t0 = time.perf_counter()
    proc = _start(big_csv, target, dedupe=False)
    t_write = _wait_for(journal.exists, proc, timeout=900)
    err = proc.communicate(timeout=900)[1]
    t_end = time.perf_counter()
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    after = _snapshot(target)
    assert after["source_rows"] == _snapshot(small_store)["source_rows"] + ROWS
    info = {"write_starts": (t_write or t_end) - t0, "ends": t_end - t0}
    print(f"\nuninterrupted migration of {ROWS:,} rows: write starts at {info['write_starts']:.1f}s, "
          f"ends at {info['ends']:.1f}s (kill seed {SEED})")
    return info


def test_kill_during_migration_keeps_the_previous_store(big_csv, small_store, timing, tmp_path):
    import shutil

    rng = random.Random(SEED)
    before = _snapshot(small_store)
    # one kill while reading/cleaning, three while writing (the journal exists), at random moments
    moments = [("before write", rng.uniform(0.2, 0.9) * timing["write_starts"])]
    write_span = max(timing["ends"] - timing["write_starts"], 0.05)
    moments += [("during write", rng.uniform(0.0, 0.95) * write_span) for _ in range(3)]
    for i, (phase, delay) in enumerate(moments):
        target = tmp_path / f"run{i}" / "crm.sqlite"
        target.parent.mkdir()
        shutil.copy(small_store, target)
        journal = Path(f"{target}-journal")
        proc = _start(big_csv, target, dedupe=False)
        try:
            if phase == "during write":
                if _wait_for(journal.exists, proc, timeout=900) is None:
                    pytest.fail(f"the migration ended before its write was seen: {proc.stderr.read()[-500:]!r}")
            time.sleep(delay)
            finished = proc.poll() is not None
        finally:
            _kill(proc)
        # the first thing to open the killed store is a backup: it must see (and copy) the old content
        copy = backup(target, target.parent / "after-kill-backup.sqlite")
        after = _snapshot(target)
        if finished:  # ran to the end before the kill: then it must be complete
            assert after["source_rows"] == before["source_rows"] + ROWS
            continue
        _assert_same(before, after)
        _assert_same(before, _snapshot(copy))
        assert not _is_hot(journal), "the hot journal was not rolled back when the store was opened"


def test_kill_during_migration_into_a_new_path_leaves_no_store(big_csv, timing, tmp_path):
    rng = random.Random(SEED + 1)
    target = tmp_path / "new" / "crm.sqlite"
    target.parent.mkdir()
    proc = _start(big_csv, target, dedupe=False)
    try:
        tmp_seen = _wait_for(lambda: any(p.name.startswith(".crm.sqlite.tmp") for p in target.parent.iterdir()),
                             proc, timeout=900)
        assert tmp_seen is not None, "the new store was not written under a temporary name"
        time.sleep(rng.uniform(0.0, 0.9) * max(timing["ends"] - timing["write_starts"], 0.05))
        finished = proc.poll() is not None
    finally:
        _kill(proc)
    if finished:
        assert _snapshot(target)["source_rows"] == ROWS
        return
    assert not target.exists(), "a half-written store was left at the target path"
    assert not Store(target).exists()
    leftovers = [p.name for p in target.parent.iterdir()]
    # a killed process cannot clean up after itself: its temp file stays, hidden, and is never the store
    assert all(name.startswith(".crm.sqlite.tmp-") for name in leftovers), leftovers


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
