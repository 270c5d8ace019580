"""`crmkit migrate` lets the garbage collector skip the objects left when the process exits (crmkit.cli._ending):
the store is written as before, the exit code is 0, and the objects are frozen only at exit."""
from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import atexit, gc, sys
# registered before the command's own hook, so it runs after it (atexit runs the last registered first)
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))
from crmkit.cli import main
sys.argv = ["crmkit", *sys.argv[1:]]
try:
    main()
finally:
    print("frozen before exit:", gc.get_freeze_count() > 0, flush=True)
"""


def test_migrate_freezes_the_collector_only_at_exit(tmp_path):
    out = tmp_path / "crm.sqlite"
    done = subprocess.run([sys.executable, "-c", _PROBE, "migrate", str(ROOT / "sample_data"), "--out", str(out),
                           "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "frozen before exit: False" in done.stdout and "frozen at exit: True" in done.stdout
    with sqlite3.connect(out) as conn:
        assert conn.execute("select count(*) from contacts").fetchone()[0] > 0


def test_the_exit_hook_is_registered_once(monkeypatch):
    import atexit

    from crmkit import cli

    hooks = []
    monkeypatch.setattr(atexit, "register", hooks.append)
    cli._ending.cache_clear()
    try:
        cli._ending()
        cli._ending()
        assert len(hooks) == 1
        gc.unfreeze()
        hooks[0]()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        cli._ending.cache_clear()
