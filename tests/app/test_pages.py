"""Every page of the Streamlit app, driven with streamlit.testing.v1.AppTest (no browser)."""
from __future__ import annotations

from pathlib import Path

import pytest

from crmkit.store import Store

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["overview", "import_files", "duplicates", "contacts", "pipeline", "segments", "export"]


def app_on(store: Path, page: str | None = None) -> AppTest:
    """The app with ``store`` open (passed via session state, as the sidebar does), on ``page``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["store_path"] = str(store)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# --------------------------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_demo_store(demo_store, page):
    if page == "import_files":
        pytest.importorskip("crmkit.read")
    at = app_on(demo_store, page)
    no_errors(at)
    assert at.title and at.title[0].value


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_sample_store(sample_copy, page):
    at = app_on(sample_copy, page)
    no_errors(at)


def test_store_from_environment(demo_store, monkeypatch):
    monkeypatch.setenv("CRMKIT_STORE", str(demo_store))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert at.session_state["store_path"] == str(demo_store)
    assert at.metric[0].value == "6"       # contacts on the Overview
    no_errors(at)


def test_new_store_from_environment_is_created_empty(tmp_path, monkeypatch):
    target = tmp_path / "new" / "fresh.sqlite"
    monkeypatch.setenv("CRMKIT_STORE", str(target))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    no_errors(at)
    assert Store(target).exists()
    assert any("empty" in i.value for i in at.info)


def test_sidebar_rejects_bad_store_path(demo_store):
    at = app_on(demo_store)
    at.sidebar.text_input(key="app_open_target").set_value(str(demo_store.with_suffix(".txt"))).run()
    at.sidebar.button(key="app_open_btn").click().run()
    assert not at.exception
    assert any(".sqlite" in e.value for e in at.sidebar.error)
    assert at.session_state["store_path"] == str(demo_store)   # the open store stays open


# --------------------------------------------------------------------------------------------- pipeline
def _column_heads(at: AppTest) -> dict[str, int]:
    heads = {}
    for m in at.markdown:
        v = m.value
        if v.startswith("##### "):
            stage, count = v[6:].rsplit(" · ", 1)
            heads[stage.lower()] = int(count)
    return heads


def test_move_deal_updates_store_history_and_board(demo_store):
    at = app_on(demo_store, "pipeline")
    no_errors(at)
    assert _column_heads(at)["lead"] == 1 and _column_heads(at)["qualified"] == 1
    open_before = at.metric[0].value

    at.selectbox(key="pipe_stage_D3").set_value("qualified").run()
    no_errors(at)
    store = Store(demo_store)
    deals = store.read_table("deals").set_index("deal_id")
    assert deals.loc["D3", "stage"] == "qualified"
    hist = store.read_table("deal_stage_history")
    assert hist[["deal_id", "from_stage", "to_stage"]].values.tolist() == [["D3", "lead", "qualified"]]
    heads = _column_heads(at)
    assert heads["lead"] == 0 and heads["qualified"] == 2
    assert any("Moved" in s.value for s in at.success)
    assert at.metric[0].value == open_before          # still open

    at.selectbox(key="pipe_stage_D3").set_value("won").run()
    no_errors(at)
    assert _column_heads(at)["won"] == 2
    assert int(at.metric[0].value) == int(open_before) - 1
    assert len(Store(demo_store).read_table("deal_stage_history")) == 2


def test_pipeline_owner_filter(demo_store):
    at = app_on(demo_store, "pipeline")
    at.multiselect(key="pipe_owner").set_value(["Ana"]).run()
    no_errors(at)
    assert sum(_column_heads(at).values()) == 2


# --------------------------------------------------------------------------------------------- contacts
def test_contacts_search_and_detail(demo_store):
    at = app_on(demo_store, "contacts")
    no_errors(at)
    assert len(at.dataframe[0].value) == 6
    at.text_input(key="contacts_q").set_value("smith").run()
    no_errors(at)
    names = at.dataframe[0].value["full_name"].tolist()
    assert sorted(names) == ["Jon Smith", "Jonathan Smith"]
    at.text_input(key="contacts_q").set_value("30 1234567").run()   # phone digits, any formatting
    assert at.dataframe[0].value["contact_id"].tolist() == ["C1", "C2"]
    at.text_input(key="contacts_q").set_value("").run()
    at.multiselect(key="contacts_country").set_value(["US"]).run()
    assert set(at.dataframe[0].value["contact_id"]) == {"C3", "C4"}
    at.multiselect(key="contacts_country").set_value([]).run()
    at.multiselect(key="contacts_tags").set_value(["vip"]).run()
    assert at.dataframe[0].value["contact_id"].tolist() == ["C1"]

    at.selectbox(key="contacts_pick").set_value("C1").run()
    no_errors(at)
    assert at.subheader[0].value == "Anna Müller"
    assert any("anna.mueller@example.de" in str(df.value.to_dict()) for df in at.dataframe)


def _expected_segments(path: Path) -> dict[str, set[str]]:
    """contact ids per RFM segment, straight from crmkit.analytics.rfm as of the day after the latest order."""
    import datetime as dt

    from crmkit.analytics import rfm

    store = Store(path)
    orders = store.read_table("orders")
    as_of = dt.date.fromisoformat(max(orders["order_date"])) + dt.timedelta(days=1)
    scores = rfm(orders, as_of=as_of)
    out = scores.groupby(scores["segment"].astype(str))["contact_id"].agg(set).to_dict()
    everyone = set(store.read_table("contacts")["contact_id"])
    out["No orders"] = everyone - set(scores["contact_id"])
    assert out["No orders"] == {"C2", "C4"}          # the demo store's contacts without orders
    return out


def test_contacts_filter_by_rfm_segment(demo_store):
    expected = _expected_segments(demo_store)
    at = app_on(demo_store, "contacts")
    no_errors(at)
    seg = at.multiselect(key="contacts_segment")
    assert set(seg.options) == {f"{s} ({len(ids)})" for s, ids in expected.items()}
    table = at.dataframe[0].value.set_index("contact_id")["segment"]
    assert {s: set(table.index[table == s]) for s in set(table)} == expected     # the column shows it
    for segment, ids in expected.items():
        at.multiselect(key="contacts_segment").set_value([segment]).run()
        no_errors(at)
        shown = at.dataframe[0].value
        assert set(shown["contact_id"]) == ids, segment
        assert set(shown["segment"]) == {segment}
    two = sorted(expected)[:2]
    at.multiselect(key="contacts_segment").set_value(two).run()
    assert set(at.dataframe[0].value["contact_id"]) == expected[two[0]] | expected[two[1]]
    at.multiselect(key="contacts_country").set_value(["DE"]).run()     # combines with the other filters
    assert set(at.dataframe[0].value["contact_id"]) == (expected[two[0]] | expected[two[1]]) & {"C1", "C2"}


def _history_table(at: AppTest):
    tables = [df.value for df in at.dataframe if list(df.value.columns) == ["at", "action", "actor", "details"]]
    return tables[0] if tables else None


def test_contacts_edit_appears_in_history(demo_store):
    from crmkit import curate

    curate.merge_contacts(demo_store, ["C1", "C2"], actor="bob")   # an earlier merge, by the library
    at = app_on(demo_store, "contacts")
    at.session_state["app_actor"] = "ann"
    at.selectbox(key="contacts_pick").set_value("C1").run()
    no_errors(at)
    before = _history_table(at)
    assert before is not None and before["action"].tolist() == ["merge"]
    assert "R1" in before["details"].iloc[0] and "R2" in before["details"].iloc[0]

    at.selectbox(key="contacts_edit_field").set_value("city").run()
    at.text_input(key="contacts_edit_value_C1_city").set_value("Potsdam").run()
    at.button(key="contacts_edit_save").click().run()
    no_errors(at)
    assert Store(demo_store).read_table("contacts").set_index("contact_id").loc["C1", "city"] == "Potsdam"
    hist = _history_table(at)
    assert hist["action"].tolist() == ["edit", "merge"]                  # newest first, no audit duplicate
    assert "city" in hist["details"].iloc[0] and "Potsdam" in hist["details"].iloc[0]
    assert hist["actor"].iloc[0] == "ann"


# --------------------------------------------------------------------------------------------- segments
def test_segments_show_segment_names(demo_store):
    at = app_on(demo_store, "segments")
    no_errors(at)
    segs = at.dataframe[0].value["segment"].tolist()
    assert "Champions" in segs and "Hibernating" in segs
    assert at.selectbox(key="seg_pick").value in segs


def test_segments_tag_contacts(demo_store):
    at = app_on(demo_store, "segments")
    at.button(key="seg_tag").click().run()
    no_errors(at)
    tags = Store(demo_store).read_table("contacts").set_index("contact_id")["tags"]
    assert tags["C1"].startswith("vip; rfm:")


# --------------------------------------------------------------------------------------------- duplicates
def test_threshold_preview_moves_pairs(demo_store):
    at = app_on(demo_store, "duplicates")
    no_errors(at)
    at.slider(key="dup_thresholds").set_value((0.5, 0.8)).run()
    no_errors(at)
    moved = [m for m in at.metric if m.label == "Pairs that would move"][0]
    assert moved.value == "1"          # the 0.88 pair would now auto-merge
    bands = {m.label: m.value for m in at.metric}
    assert (bands["Auto-merge"], bands["Review"], bands["No match"]) == ("1", "1", "1")
    at.slider(key="dup_thresholds").set_value((0.01, 0.95)).run()    # the 0.02 pair would now be reviewed
    no_errors(at)
    bands = {m.label: m.value for m in at.metric}
    assert (bands["Auto-merge"], bands["Review"], bands["No match"], bands["Pairs that would move"]) == \
        ("0", "3", "0", "1")
    assert Store(demo_store).read_table("match_pairs")["decision"].tolist() == ["review", "review", "no"]  # preview


def test_skip_keeps_pair_in_queue(demo_store):
    at = app_on(demo_store, "duplicates")
    at.button(key="dup_skip").click().run()
    no_errors(at)
    assert [m.value for m in at.metric][:2] == ["2", "1"]
    assert Store(demo_store).read_table("decisions").empty


@pytest.fixture()
def review_store(tmp_path, sample_copy) -> Path:
    """A migrated store with at least one open review pair: the sample store when it has some."""
    store = Store(sample_copy)
    rq = store.read_table("review_queue")
    if (rq["status"] == "open").any():
        return sample_copy
    import crmkit
    from appdata import write_small_inputs

    out = tmp_path / "small.sqlite"
    crmkit.migrate([write_small_inputs(tmp_path / "in")], out)
    if not (Store(out).read_table("review_queue")["status"] == "open").any():
        pytest.skip("neither the sample data nor the small inputs leave a pair for review")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("accept", [True, False])
def test_decision_is_saved(review_store, accept):
    store = Store(review_store)
    before = store.read_table("review_queue")
    n_open = int((before["status"] == "open").sum())
    at = app_on(review_store, "duplicates")
    no_errors(at)
    assert at.metric[0].value == f"{n_open:,}"
    at.button(key="dup_accept" if accept else "dup_reject").click().run()
    no_errors(at)
    decisions = Store(review_store).read_table("decisions")
    assert len(decisions) == 1
    assert decisions["kind"].iloc[0] == ("merge" if accept else "never")
    after = Store(review_store).read_table("review_queue")
    assert int((after["status"] == "open").sum()) < n_open
    assert at.metric[0].value == f"{int((after['status'] == 'open').sum()):,}"


# --------------------------------------------------------------------------------------------- import
@pytest.mark.slow
def test_import_upload_preview_and_migrate(tmp_path):
    pytest.importorskip("crmkit.read")
    from crmkit.app_support import open_or_create

    target = tmp_path / "imported.sqlite"
    open_or_create(target, create=True)
    at = app_on(target, "import_files")
    no_errors(at)
    sample = ROOT / "sample_data"
    at.file_uploader(key="imp_files").set_value([
        ("tradeshow_leads_2023.csv", (sample / "tradeshow_leads_2023.csv").read_bytes(), "text/csv"),
        ("sales_pipeline.xlsx", (sample / "sales_pipeline.xlsx").read_bytes(), "application/octet-stream"),
        ("broken.xlsx", b"this is not a workbook", "application/octet-stream"),
    ]).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("broken.xlsx")     # named, the rest go on
    ents = {s.key: s.value for s in at.selectbox if s.key and s.key.startswith("imp_ent_")}
    assert "contact" in ents.values() and "deal" in ents.values()
    assert at.download_button(key="imp_mapping_json")
    assert len(at.dataframe) >= 2                                        # cleaned previews

    at.button(key="imp_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Migration finished" in s.value for s in at.success)
    store = Store(target)
    assert len(store.read_table("contacts")) > 0
    assert len(store.read_table("deals")) > 0
    assert "tradeshow_leads_2023.csv" in store.read_table("batches")["mapping"].iloc[-1]


def test_import_page_without_files(demo_store):
    at = app_on(demo_store, "import_files")
    assert not at.exception
    assert any("Drop files" in i.value for i in at.info) or \
        any("not available" in e.value for e in at.error)   # graceful when crmkit.read is missing


@pytest.mark.slow
def test_first_start_builds_the_sample_store(tmp_path, monkeypatch):
    """Without --store/CRMKIT_STORE the app builds sample_data/ into a cache folder and opens it."""
    monkeypatch.delenv("CRMKIT_STORE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    no_errors(at)
    opened = Path(at.session_state["store_path"])
    assert opened.parent == tmp_path / "cache" / "crmkit" and Store(opened).exists()
    assert int(at.metric[0].value.replace(",", "")) > 0          # contacts on the Overview


# --------------------------------------------------------------------------------------------- import: header row
GROUPED_CSV = ("Kunde,Kontakt,Telefon\nName,E-Mail,Nummer\n"
               "Anna Müller,anna@example.de,+49 30 1234567\nBen Lee,ben@example.com,+1 415 555 0101\n")


@pytest.mark.slow
def test_import_header_row_override(tmp_path):
    """Detection takes the group row 1 as the header; the user sets row 2, the mapping and the migration
    follow it, and source rows keep the file's own row numbers."""
    pytest.importorskip("crmkit.read")
    from crmkit.app_support import open_or_create

    target = tmp_path / "hdr.sqlite"
    open_or_create(target, create=True)
    at = app_on(target, "import_files")
    at.file_uploader(key="imp_files").set_value([("grouped.csv", GROUPED_CSV.encode(), "text/csv")]).run()
    no_errors(at)
    hdr = [n for n in at.number_input if n.key.startswith("imp_hdr_")]
    assert len(hdr) == 1 and hdr[0].value == 1
    assert "Kunde" in [s.label for s in at.selectbox]

    hdr[0].set_value(2).run()
    no_errors(at)
    labels = {s.label: s.value for s in at.selectbox}
    assert "Kunde" not in labels and labels["E-Mail"] == "email"
    assert any("set by hand to 2" in i.value for i in at.info)
    mapping = at.download_button(key="imp_mapping_json")
    assert mapping

    at.button(key="imp_run").click().run()
    no_errors(at)
    assert any("Migration finished" in s.value for s in at.success)
    store = Store(target)
    assert sorted(store.read_table("contacts")["email"]) == ["anna@example.de", "ben@example.com"]
    assert sorted(store.read_table("source_rows")["source_row"].astype(int)) == [3, 4]
    assert '"header_row": 2' in store.read_table("batches")["mapping"].iloc[-1]


def test_import_header_row_outside_the_data_is_reported(tmp_path):
    pytest.importorskip("crmkit.read")
    from crmkit.app_support import open_or_create

    target = tmp_path / "hdr.sqlite"
    open_or_create(target, create=True)
    at = app_on(target, "import_files")
    at.file_uploader(key="imp_files").set_value([("grouped.csv", GROUPED_CSV.encode(), "text/csv")]).run()
    [n for n in at.number_input if n.key.startswith("imp_hdr_")][0].set_value(40).run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("grouped.csv")
    assert "Kunde" in [s.label for s in at.selectbox]          # falls back to the detected header


# --------------------------------------------------------------------------------------------- export
def test_export_page_hubspot_zip_and_readme(demo_store):
    import io
    import zipfile

    at = app_on(demo_store, "export")
    no_errors(at)
    assert at.info and "Choose the target" in at.info[0].value
    at.button(key="exp_run").click().run()
    no_errors(at)
    assert any("HubSpot" in s.value for s in at.success)
    files = at.dataframe[0].value
    assert {"contacts.csv", "companies.csv", "deals.csv", "README.md"} <= set(files["file"])
    counts = {m.label: m.value for m in at.main.metric}
    assert counts["Contacts"] == "6" and counts["Deals"] == "5"
    assert any("import" in m.value.lower() and "contacts.csv" in m.value for m in at.markdown)   # the README
    data = at.session_state["exp_result"]["zip"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {"contacts.csv", "README.md"} <= set(zf.namelist())
        assert "anna.mueller@example.de" in zf.read("contacts.csv").decode("utf-8-sig")


def test_export_page_tags_mask_and_split(demo_store):
    import io
    import zipfile

    at = app_on(demo_store, "export")
    at.segmented_control(key="exp_target").set_value("csv").run()
    at.multiselect(key="exp_tags").set_value(["vip", "newsletter"]).run()
    at.multiselect(key="exp_mask").set_value(["email"]).run()
    at.number_input(key="exp_max_rows").set_value(1).run()
    at.button(key="exp_run").click().run()
    no_errors(at)
    assert {m.label: m.value for m in at.main.metric}["Contacts"] == "2"        # C1 (vip) and C3 (newsletter)
    names = set(at.dataframe[0].value["file"])
    assert any("_part2" in n for n in names)                              # split at one row per file
    with zipfile.ZipFile(io.BytesIO(at.session_state["exp_result"]["zip"])) as zf:
        text = "".join(zf.read(n).decode("utf-8-sig") for n in zf.namelist() if n.startswith("contacts"))
    assert "@example.invalid" in text and "anna.mueller@example.de" not in text


def test_export_page_bad_option_is_an_error_not_a_traceback(demo_store, monkeypatch):
    import importlib

    from crmkit.errors import SettingsError

    export_pkg = importlib.import_module("crmkit.export")

    def refuse(*_a, **_k):
        raise SettingsError("unknown mask_mode 'x'", hint="use one of hash, redact")

    monkeypatch.setattr(export_pkg, "export", refuse)
    at = app_on(demo_store, "export")
    at.button(key="exp_run").click().run()
    assert not at.exception
    assert any("mask_mode" in e.value for e in at.error)


# --------------------------------------------------------------------------------------------- PostgreSQL
@pytest.mark.slow
def test_open_and_create_postgresql_store_by_url(demo_store):
    """The sidebar opens (and creates) a PostgreSQL store from a postgresql:// URL."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "trust"))
    try:
        from _pg import PostgresUnavailable, create_database, throwaway_postgres
    finally:
        sys.path.pop(0)
    try:
        server = throwaway_postgres()
        url = server.__enter__()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        db = create_database(url, "crmkit_app_test")
        at = app_on(demo_store)
        at.sidebar.text_input(key="app_open_target").set_value(db).run()
        at.sidebar.button(key="app_open_btn").click().run()      # no store there yet, and not asked to create
        assert not at.exception
        assert any("no crmkit store" in e.value for e in at.sidebar.error)
        at.sidebar.checkbox(key="app_open_create").check().run()
        at.sidebar.button(key="app_open_btn").click().run()
        no_errors(at)
        assert at.session_state["store_path"] == db and Store(db).exists()
        assert any("empty" in i.value for i in at.info)
        Store(db).close()
    finally:
        server.__exit__(None, None, None)


def test_unreachable_database_url_is_an_error_without_the_password(demo_store):
    at = app_on(demo_store)
    at.sidebar.text_input(key="app_open_target").set_value(
        "postgresql://crm:s3cret@127.0.0.1:9/crm").run()
    at.sidebar.checkbox(key="app_open_create").check().run()
    at.sidebar.button(key="app_open_btn").click().run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors and "s3cret" not in " ".join(errors)
    assert at.session_state["store_path"] == str(demo_store)
    at.sidebar.text_input(key="app_open_target").set_value("mysql://crm:s3cret@127.0.0.1:9/crm").run()
    at.sidebar.button(key="app_open_btn").click().run()      # no driver: the message names the URL
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors and "s3cret" not in " ".join(errors)


# --------------------------------------------------------------------------------------------- speed
@pytest.mark.slow
def test_pages_stay_fast_on_a_100k_store(tmp_path_factory):
    """100,000 contacts, 2,000 deals, 150,000 orders: every page renders, and a rerun (the cache warm, as
    after any widget change) stays well under a few seconds. Prints the figures (pytest -s)."""
    import time

    from appdata import build_large_store

    path = tmp_path_factory.mktemp("large") / "large.sqlite"
    build_large_store(path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["store_path"] = str(path)
    at.run()
    no_errors(at)
    for page in PAGES:
        if page == "import_files":
            continue
        t0 = time.perf_counter()
        at.switch_page(f"app_pages/{page}.py").run()
        first = time.perf_counter() - t0
        no_errors(at)
        t0 = time.perf_counter()
        at.run()
        rerun = time.perf_counter() - t0
        print(f"{page:12s} first render {first:5.2f} s   rerun {rerun:5.2f} s")
        assert rerun < 3.0, (page, rerun)
