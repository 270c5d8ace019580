"""The same migration into PostgreSQL and into SQLite gives the same store; re-imports are no-ops on both."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import crmkit
from crmkit.backup import backup, restore
from crmkit.store import TABLE_COLUMNS, Store

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
# columns that differ between two runs by design (times, batch ids, json holding them)
VOLATILE = {"batch_id", "updated_at", "started_at", "finished_at", "at", "decided_at", "summary", "detail",
            "source_path", "inputs"}


def _norm(df: pd.DataFrame) -> pd.DataFrame:
    df = df.drop(columns=[c for c in df.columns if c in VOLATILE])
    df = df.astype(object).where(df.notna(), None)
    df = df.map(lambda v: round(v, 9) if isinstance(v, float) else v)
    return df.sort_values(list(df.columns), key=lambda s: s.astype(str)).reset_index(drop=True)


def _assert_same_store(a: Store, b: Store, *, skip=("batches", "audit_log", "meta")) -> None:
    for name in TABLE_COLUMNS:
        ta, tb = a.read_table(name), b.read_table(name)
        assert len(ta) == len(tb), f"{name}: {len(ta)} rows in {a.url.split(':')[0]}, {len(tb)} in the other"
        if name not in skip:
            pd.testing.assert_frame_equal(_norm(ta), _norm(tb), check_dtype=False, obj=name)


@pytest.fixture()
def both(pg_db, tmp_path):
    pg, lite = Store(pg_db), Store(tmp_path / "crm.sqlite")
    yield pg, lite
    pg.close()
    lite.close()


def test_sample_data_same_in_postgres_and_sqlite(both):
    pg, lite = both
    r_pg = crmkit.migrate([SAMPLE], pg.target)
    r_lite = crmkit.migrate([SAMPLE], lite.target)
    assert r_pg.summary["rows_read"] == r_lite.summary["rows_read"]
    assert sorted(pg.tables()) == sorted(lite.tables()) == sorted(TABLE_COLUMNS)
    _assert_same_store(pg, lite)
    contacts = pg.read_table("contacts")
    assert len(contacts) > 100 and contacts["contact_id"].is_unique
    assert pg.read_table("contacts", where={"contact_id": contacts["contact_id"].iloc[0]}).shape[0] == 1

    # incremental re-import of the same files: nothing new on either
    counters = (pg.change_counter(), lite.change_counter())
    before = {name: len(pg.read_table(name)) for name in TABLE_COLUMNS}
    content = {s.url: {n: _norm(s.read_table(n)) for n in TABLE_COLUMNS} for s in (pg, lite)}
    again_pg, again_lite = crmkit.migrate([SAMPLE], pg.target), crmkit.migrate([SAMPLE], lite.target)
    for again in (again_pg, again_lite):
        assert again.summary["rows_skipped_existing"] == sum(r_pg.summary["rows_read"].values())
        assert sum(again.summary["rows_read"].values()) == 0
    for name in TABLE_COLUMNS:
        grown = {"batches": 1, "audit_log": 1}.get(name, 0)
        assert len(pg.read_table(name)) == before[name] + grown, name
    assert (pg.change_counter(), lite.change_counter()) == (counters[0] + 1, counters[1] + 1)
    changed = [f"{s.url.split(':')[0]}: {n}" for s in (pg, lite) for n in TABLE_COLUMNS
               if n not in ("batches", "audit_log", "meta") and not content[s.url][n].equals(_norm(s.read_table(n)))]
    assert not changed, f"a no-op re-import changed table content: {changed}"
    _assert_same_store(pg, lite)


def test_postgres_backup_round_trip_of_a_migrated_store(both, tmp_path):
    pg, lite = both
    crmkit.migrate([SAMPLE], pg.target)
    dest = backup(pg, tmp_path / "pg-backup.sqlite")
    _assert_same_store(pg, Store(dest), skip=())
    restored = restore(dest, tmp_path / "restored.sqlite")
    _assert_same_store(pg, restored, skip=())


HOSTILE = [
    ("control characters", "Name", "Bob\x01\x1b[31m\x7f"),
    ("1 MB note", "Notes", "n" * 1_000_000),
    ("10 kB email", "Email", "a" * 10_000 + "@example.com"),
    ("10 kB company", "Company", "ACME " * 2_000),
    ("10 kB phone", "Phone", "+1 415 " + "5" * 10_000),
    ("10 kB name", "Name", "Ann " * 2_500),
    ("emoji and CJK", "Name", "张伟 🙂 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"),
    ("SQL", "Name", "Robert'); DROP TABLE contacts;--"),
]


@pytest.mark.parametrize("label,column,value", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_values_reach_postgres_like_sqlite(label, column, value, both, tmp_path):
    """Values SQLite takes must not make a PostgreSQL migration fail (index-size limits, encodings...)."""
    pg, lite = both
    src = tmp_path / "hostile.csv"
    n = 300  # enough ordinary rows that a few control characters do not make the file look binary
    rows = pd.DataFrame({"Name": [f"Person {i}" for i in range(n)],
                         "Email": [f"p{i}@example.com" for i in range(n)],
                         "Phone": [f"+1 415 555 {i:04d}" for i in range(n)], "Company": ["ACME"] * n,
                         "Notes": [""] * n})
    rows.loc[0, column] = value
    rows.to_csv(src, index=False)
    crmkit.migrate([src], lite.target)
    crmkit.migrate([src], pg.target)
    _assert_same_store(pg, lite)
    assert len(pg.read_table("source_rows")) == n


def test_nul_characters_do_not_break_postgres(both):
    """NUL cannot be in a PostgreSQL text value. SQLite stores it; PostgreSQL must store the value too
    (e.g. with NUL replaced) or refuse with a StoreError that says why, never a raw driver error."""
    from crmkit.errors import StoreError

    pg, lite = both
    tables = {"contacts": pd.DataFrame({"contact_id": ["C1"], "full_name": ["Ann\x00Lee"]})}
    lite.write(replace=tables)
    try:
        pg.write(replace=tables)
    except StoreError as err:
        assert "NUL" in str(err) or "0x00" in str(err)
        return
    assert pg.read_table("contacts")["full_name"].iloc[0] in ("Ann\ufffdLee", "AnnLee")


def test_reads_fall_back_to_the_cursor_when_pyarrow_refuses_the_copy(both, monkeypatch):
    """Whole tables come from PostgreSQL through COPY parsed by pyarrow; when pyarrow refuses the data (a value
    longer than its parse block), Store._read and Store.import_state fetch the same rows through the cursor."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pg, _ = both
    crmkit.migrate([SAMPLE], pg.target)
    names = ["contacts", "contact_records", "source_rows", "match_pairs", "lineage"]
    fast = {n: pg.read_table(n) for n in names}
    fast_ids = pg.import_state().source_record_ids
    calls = []

    def refuse(*args, **kwargs):
        calls.append(1)
        raise pa.ArrowInvalid("CSV parse error: straddling object straddles two block boundaries")

    monkeypatch.setattr(pacsv, "read_csv", refuse)
    for n in names:
        slow = pg.read_table(n)
        assert len(slow) == len(fast[n]) > 0
        pd.testing.assert_frame_equal(_norm(slow), _norm(fast[n]), check_dtype=False, obj=n)
    slow_ids = pg.import_state().source_record_ids
    assert sorted(slow_ids.astype(str)) == sorted(fast_ids.astype(str))
    assert len(calls) == len(names) + 1  # every read tried the COPY path first
