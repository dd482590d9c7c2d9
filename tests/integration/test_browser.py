"""A member of staff in a real browser (Debian's headless Chromium driven by Playwright) against
the real app and stack, plus axe-core accessibility scans of the search and document pages."""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from foi_core.settings import Settings
from search_app import create_app
from tests.integration.conftest import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Chromium on a machine with no network: no background fetches, no first-run work.
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def base_url(crawled: tuple[Settings, dict[str, str]]) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_app(crawled[0]), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium missing: run `foi stack up --test-tools`", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    yield context.new_page()
    context.close()


def _sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


def _axe(page: Page) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail("axe-core missing: run `make install` (npm install)", pytrace=False)
    # Evaluated through the DevTools protocol, so the page's strict CSP still holds for it.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_officer_finds_refines_opens_downloads_and_signs_out(
    page: Page, base_url: str, crawled: tuple[Settings, dict[str, str]]
) -> None:
    _sign_in(page, base_url, "olive")
    page.get_by_label('Words or a "quoted phrase"').fill('"disciplinary hearing"')
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert "1 result" in page.locator("#results-heading").inner_text()

    page.locator(
        "section[aria-labelledby='facet-folder'] a.facet__link", has_text="Private"
    ).click()
    page.locator("section[aria-labelledby='facet-type'] a.facet__link", has_text="txt").click()
    chosen = page.locator(".facets__chosen").inner_text()
    assert "Private" in chosen and "txt" in chosen.lower()
    assert "1 result" in page.locator("#results-heading").inner_text()
    assert page.locator("mark").first.inner_text().lower() in {
        "disciplinary",
        "hearing",
        "disciplinary hearing",
    }

    page.locator(".result__title a").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Disciplinary hearing.txt"
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the original").click()
    download = info.value
    assert download.suggested_filename == "Disciplinary hearing.txt"
    saved = Path(download.path())
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == crawled[1]["Disciplinary hearing.txt"]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    page.goto(f"{base_url}/")
    assert "/login" in page.url


def test_search_and_document_pages_pass_axe(page: Page, base_url: str) -> None:
    _sign_in(page, base_url, "olive")
    page.goto(f"{base_url}/?q=zebra")
    assert _axe(page) == []
    page.locator(".result__title a").first.click()
    page.wait_for_load_state()
    assert _axe(page) == []
    page.goto(f"{base_url}/?q=%22unclosed")
    assert _axe(page) == []
