"""The whole app in a real headless browser: upload, migrate, move a deal on the board, screenshots.

Runs ``streamlit run app.py`` on a free port with CRMKIT_STORE pointing at a fresh store and drives the
system's Chromium (/usr/bin/chromium, or $CRMKIT_CHROMIUM) with Playwright. Skipped, with the reason, only
when Playwright or Chromium is not installed. Screenshots go to docs/screenshots/.

    pytest -m browser tests/app/test_browser.py
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from crmkit.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CRMKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
UPLOAD = ["old_crm_export.xlsx", "tradeshow_leads_2023.csv", "newsletter_signups.csv", "sales_pipeline.xlsx",
          "orders_2022_2024.csv"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("streamlit did not become healthy in time")


@pytest.fixture()
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install 'crmkit[browser]')")
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip(f"no Chromium browser at {CHROMIUM} or on PATH (apt install chromium)")
    return path


@pytest.fixture()
def server(tmp_path):
    """streamlit run app.py on a free port, with a fresh store; always terminated."""
    store = tmp_path / "browser.sqlite"
    port = _free_port()
    env = dict(os.environ, CRMKIT_STORE=str(store), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, store
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _idle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script (no 'running' status widget)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    page.wait_for_timeout(300)


def _shot(page, name: str, max_height: int = 1600) -> None:
    """Screenshot of the whole page content: Streamlit scrolls inside its main container, so the window is
    made as tall as the content (up to ``max_height``) instead of relying on full_page."""
    height = page.evaluate("""() => Math.max(...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
        '[data-testid="stMainBlockContainer"]'].map(s => document.querySelector(s)).filter(Boolean)
        .map(e => e.scrollHeight))""")
    page.set_viewport_size({"width": 1600, "height": max(1000, min(int(height) + 40, max_height))})
    page.wait_for_timeout(600)  # charts re-draw at the new size
    page.screenshot(path=str(SHOTS / name))
    page.set_viewport_size({"width": 1600, "height": 1000})


def test_upload_migrate_move_deal_and_screenshots(server, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    url, store_path = server
    t0 = time.monotonic()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(30_000)

            # -- Import: upload sample files, run the migration
            page.goto(url + "/import_files")
            expect(page.get_by_role("heading", name="Import")).to_be_visible()
            page.locator("input[type=file]").first.set_input_files([str(SAMPLE / f) for f in UPLOAD])
            run = page.get_by_role("button", name="Run migration into the open store")
            expect(run).to_be_visible(timeout=60_000)
            _idle(page)
            run.click()
            expect(page.get_by_text("Migration finished")).to_be_visible(timeout=90_000)
            store = Store(store_path)
            assert len(store.read_table("contacts")) > 0
            deals = store.read_table("deals")
            assert len(deals) > 0

            # -- Pipeline: move the first deal card to another stage with its stage box
            page.goto(url + "/pipeline")
            expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
            card = page.locator("div[class*='st-key-pipe_card_']").first
            expect(card).to_be_visible()
            deal_id = re.search(r"st-key-pipe_card_(\S+)", card.get_attribute("class")).group(1)
            before = deals.set_index("deal_id").loc[deal_id, "stage"]
            target = "won" if str(before).lower() != "won" else "lost"
            _idle(page)
            card.locator("[data-testid='stSelectbox']").click()
            page.get_by_role("option", name=target, exact=True).click()
            expect(page.get_by_text(re.compile(r"^Moved “"))).to_be_visible(timeout=30_000)
            _idle(page)
            after = Store(store_path)
            assert after.read_table("deals").set_index("deal_id").loc[deal_id, "stage"] == target
            hist = after.read_table("deal_stage_history")
            assert hist[["deal_id", "to_stage"]].values.tolist()[-1] == [deal_id, target]
            page.mouse.move(0, 0)
            _shot(page, "board.png", max_height=1500)

            # -- Duplicates and Segments: screenshots of the real pages
            page.goto(url + "/duplicates")
            expect(page.get_by_role("heading", name="Duplicates")).to_be_visible()
            _idle(page)
            page.wait_for_timeout(800)  # charts draw after the script finishes
            _shot(page, "duplicates.png", max_height=1100)

            page.goto(url + "/segments")
            expect(page.get_by_role("heading", name="Segments")).to_be_visible()
            _idle(page)
            expect(page.get_by_role("heading", name="Customers in a segment")).to_be_visible()
            page.wait_for_function("() => document.body.textContent.includes('Champions')")
            page.wait_for_timeout(800)
            _shot(page, "segments.png", max_height=1500)

            # -- Export: HubSpot files as a zip, with the README the export writes
            page.goto(url + "/export")
            expect(page.get_by_role("heading", name="Export")).to_be_visible()
            _idle(page)
            page.get_by_role("button", name="Run export").click()
            expect(page.get_by_text(re.compile(r"^Export for HubSpot written"))).to_be_visible(timeout=60_000)
            _idle(page)
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download all files (zip)").click()
            assert dl.value.suggested_filename.endswith(".zip")
            expect(page.locator("div[class*='st-key-exp_readme']")).to_contain_text("contacts")
            _shot(page, "export.png", max_height=1400)

            errors = page.locator("[data-testid='stException']")
            assert errors.count() == 0
        finally:
            browser.close()
    for name in ("board.png", "duplicates.png", "segments.png", "export.png"):
        assert (SHOTS / name).stat().st_size > 10_000
    assert time.monotonic() - t0 < 150
