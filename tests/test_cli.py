"""The CLI mirrors the library: every command documented with an example, errors as one clean line."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crmkit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, full + " ")
        else:
            out.append(full)
    return out


@pytest.mark.parametrize("command", _commands(main))
def test_every_command_has_help_with_an_example_and_is_in_the_readme(command):
    runner = CliRunner()
    result = runner.invoke(main, command.split() + ["--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"crmkit {command}" in README.read_text(encoding="utf-8"), f"README does not show `crmkit {command}`"


def test_migrate_prints_a_summary_and_what_to_open_next(tmp_path, sample_dir):
    out = tmp_path / "crm.sqlite"
    result = CliRunner().invoke(main, ["migrate", str(sample_dir), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Read 7 file\(s\), 8 sheet\(s\)", result.output)
    assert "Contacts written:" in result.output and "pairs for review" in result.output
    assert "crmkit issues" in result.output
    with sqlite3.connect(out) as db:
        assert db.execute("select count(*) from source_rows").fetchone()[0] == 1215
        stored = json.loads(db.execute("select summary from batches").fetchone()[0])
    # the time printed is the whole run, write included; the stored summary was written before the write ended
    printed = float(re.search(r"Wrote .* in ([0-9.]+) s\.", result.output).group(1))
    assert "seconds_total" not in stored and printed > stored["seconds"] > 0


def test_migrate_json_and_reimport_is_a_no_op(tmp_path, sample_dir):
    out = tmp_path / "crm.sqlite"
    runner = CliRunner()
    first = json.loads(runner.invoke(main, ["migrate", str(sample_dir), "--out", str(out), "--json"]).output)
    second = json.loads(runner.invoke(main, ["migrate", str(sample_dir), "--out", str(out), "--json"]).output)
    assert second["rows_skipped_existing"] == 1215
    assert second["contacts"] == first["contacts"]
    assert sum(second["rows_read"].values()) == 0


def test_bad_input_is_one_clean_error_line(tmp_path):
    bad = tmp_path / "photo.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    result = CliRunner().invoke(main, ["migrate", str(bad), "--out", str(tmp_path / "x.sqlite")])
    assert result.exit_code == 1
    assert "\nError: " in "\n" + result.output and "photo.csv" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["issues", str(tmp_path / "missing.sqlite")])
    assert result.exit_code == 1 and "crmkit migrate" in result.output


def test_one_bad_file_does_not_stop_the_others(tmp_path, sample_dir):
    import shutil

    shutil.copy(sample_dir / "newsletter_signups.csv", tmp_path)
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    result = CliRunner().invoke(main, ["migrate", str(tmp_path), "--out", str(tmp_path / "crm.sqlite"), "-q"])
    assert result.exit_code == 0, result.output
    assert "1 file(s) could not be read" in result.output and "broken.xlsx" in result.output


def test_map_save_edit_and_pass_back(tmp_path, sample_dir):
    mapping = tmp_path / "mapping.json"
    runner = CliRunner()
    src = sample_dir / "tradeshow_leads_2023.csv"
    result = runner.invoke(main, ["map", str(src), "--save", str(mapping)])
    assert result.exit_code == 0 and "Vorname" in result.output and "first_name" in result.output
    data = json.loads(mapping.read_text(encoding="utf-8"))
    data["sheets"][0]["columns"]["Notiz"] = None  # keep the notes as an extra field instead
    mapping.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "crm.sqlite"
    result = runner.invoke(main, ["migrate", str(src), "--mapping", str(mapping), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(out) as db:
        assert db.execute("select count(*) from extra_fields where field='Notiz'").fetchone()[0] > 0


def test_curation_commands_round_trip(store_copy):
    runner = CliRunner()
    with sqlite3.connect(store_copy) as db:
        cid = db.execute("select contact_id from contacts order by n_records desc limit 1").fetchone()[0]
        n_before = db.execute("select count(*) from contacts").fetchone()[0]
    result = runner.invoke(main, ["unmerge", str(store_copy), cid])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(store_copy) as db:
        assert db.execute("select count(*) from contacts").fetchone()[0] > n_before
        assert db.execute("select count(*) from decisions where kind='never'").fetchone()[0] >= 1
    for args in (["review", "list", str(store_copy)], ["batches", str(store_copy)], ["issues", str(store_copy)],
                 ["pipeline", str(store_copy)], ["rfm", str(store_copy)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)


def test_backup_and_restore_round_trip(tmp_path, store_copy):
    runner = CliRunner()
    dest = tmp_path / "backups" / "crm-backup.sqlite"
    result = runner.invoke(main, ["backup", str(store_copy), "--out", str(dest)])
    assert result.exit_code == 0, result.output
    assert dest.exists() and "crmkit restore" in result.output
    # the same name again: refused with a clean error, replaced with --force
    again = runner.invoke(main, ["backup", str(store_copy), "--out", str(dest)])
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output
    assert "Traceback" not in again.output
    assert runner.invoke(main, ["backup", str(store_copy), "--out", str(dest), "--force"]).exit_code == 0
    # a folder as --out: the file is named after the store
    folder = tmp_path / "folder"
    folder.mkdir()
    assert runner.invoke(main, ["backup", str(store_copy), "--out", str(folder)]).exit_code == 0
    assert [p.name.startswith("crm-") for p in folder.iterdir()] == [True]

    target = tmp_path / "restored.sqlite"
    result = runner.invoke(main, ["restore", str(dest), "--to", str(target)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as a, sqlite3.connect(store_copy) as b:
        for table in ("contacts", "source_rows", "issues", "audit_log"):
            assert a.execute(f"select count(*) from {table}").fetchone() == \
                b.execute(f"select count(*) from {table}").fetchone()
    # restoring over a store that holds data needs --force
    refused = runner.invoke(main, ["restore", str(dest), "--to", str(target)])
    assert refused.exit_code == 1 and "--force" in refused.output and "Traceback" not in refused.output
    assert runner.invoke(main, ["restore", str(dest), "--to", str(target), "--force"]).exit_code == 0


def test_backup_and_restore_errors_are_one_clean_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["backup", str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "b.sqlite")])
    assert result.exit_code == 1 and "no crmkit store here" in result.output and "Traceback" not in result.output
    not_a_backup = tmp_path / "notes.sqlite"
    not_a_backup.write_text("hello")
    result = runner.invoke(main, ["restore", str(not_a_backup), "--to", str(tmp_path / "crm.sqlite")])
    assert result.exit_code == 1 and "notes.sqlite" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, ["restore", str(tmp_path / "nope.sqlite"), "--to", str(tmp_path / "crm.sqlite")])
    assert result.exit_code == 1 and "no backup file here" in result.output
