"""A throwaway PostgreSQL server for tests and benchmarks: initdb + pg_ctl on 127.0.0.1 and a free port.

>>> # with throwaway_postgres() as url: ...        # url = postgresql://postgres@127.0.0.1:PORT/postgres
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class PostgresUnavailable(RuntimeError):
    """No server binaries (or no driver) on this machine: the reason is the message."""


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: $PG_BIN, PATH, then Debian's /usr/lib/postgresql/*/bin."""
    candidates = [os.environ.get("PG_BIN")] if os.environ.get("PG_BIN") else []
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        candidates.append(str(Path(shutil.which("initdb")).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                         if Path(p).parent.name.isdigit() else 0, reverse=True)
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    # PostgreSQL refuses to run as root: drop to the postgres user when we are root
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a private server in a temp data dir; yield its URL; stop it and delete the data at the end."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise PostgresUnavailable("psycopg is not installed (pip install 'crmkit[postgres]')") from exc
    bindir = find_bin_dir()
    if bindir is None:
        raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                                  "install Debian's `postgresql` or set PG_BIN")
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        try:
            import pwd

            pw = pwd.getpwnam(user)
        except KeyError as exc:
            raise PostgresUnavailable("running as root and there is no `postgres` user to run the server") from exc
        if not shutil.which("runuser"):
            raise PostgresUnavailable("running as root and `runuser` is missing")
    root = Path(tempfile.mkdtemp(prefix="crmkit-pg-"))
    data, log = root / "data", root / "server.log"
    if user:
        os.chown(root, pw.pw_uid, pw.pw_gid)
    started = False
    try:
        subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                 "-E", "UTF8", "--locale=C", "--no-sync"], user),
                       check=True, capture_output=True, timeout=120)
        for attempt in range(3):  # the port may be taken between choosing and binding it
            port = _free_port()
            opts = f"-h 127.0.0.1 -p {port} -k {data} -F -c max_connections=50 -c shared_buffers=128MB"
            r = subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts,
                                         "-w", "-t", "60", "start"], user), capture_output=True, timeout=90)
            if r.returncode == 0:
                started = True
                break
        if not started:
            text = log.read_text(errors="replace") if log.exists() else r.stderr.decode(errors="replace")
            raise PostgresUnavailable(f"pg_ctl could not start a server: {text[-800:]}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    except subprocess.CalledProcessError as exc:
        raise PostgresUnavailable(f"initdb failed: {exc.stderr.decode(errors='replace')[-800:]}") from exc
    finally:
        if started:
            subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                                    user), capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server; returns its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name
