"""A records manager in a real browser places a hold on a folder and sees its files, and the
hold and retention pages pass axe-core's serious and critical checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from devstack.stack import LocalStack
from foi_core.settings import Settings
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.integration.test_browser import _ARGS, CHROMIUM, _axe
from tests.records import PASSWORD, RecordsBed

pytestmark = pytest.mark.browser

FILES = {
    "Cases/Smith/letter to Mrs O'Brien.txt": b"Dear Mrs O'Brien, about your housing repair.\n",
    "Cases/Smith/Notes/site visit.txt": b"Site visit: damp in the kitchen.\n",
    "Cases/Jones/letter.txt": b"Dear Mr Jones, about your parking permit.\n",
}


@pytest.fixture
def base_url(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[str]:
    workspace = ShareWorkspace(stack.samba, "web-browser")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    for path, data in FILES.items():
        bed.write(path, data)
    bed.crawl()
    server = make_server("127.0.0.1", 0, create_app(bed.settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    workspace.cleanup()


@pytest.fixture
def page(base_url: str) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium missing: run `foi stack up --test-tools`", pytrace=False)
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        context = browser.new_context()
        yield context.new_page()
        context.close()
        browser.close()


def test_records_manager_holds_a_folder_and_sees_its_files(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")

    page.get_by_role("link", name="Holds", exact=True).click()
    page.wait_for_url(f"{base_url}/holds")
    assert _axe(page) == []
    # A missing name is reported in an error summary that passes axe too.
    page.get_by_role("button", name="Create the hold").click()
    expect(page.locator(".error-summary")).to_contain_text("A hold name is required")
    assert _axe(page) == []

    page.get_by_label("Name").fill("Smith housing claim")
    page.get_by_label("Reason").fill("Disrepair claim 2026/77")
    page.get_by_label("Case reference (optional)").fill("HC-77")
    page.get_by_role("button", name="Create the hold").click()
    expect(page.locator("h1")).to_have_text("Smith housing claim")

    page.get_by_label("Folder path").fill("Cases/Smith")
    page.get_by_role("button", name="Hold this folder").click()
    expect(page.locator(".notice")).to_contain_text("2 files joined the hold")
    members = page.locator("#members + table")
    expect(members).to_contain_text("letter to Mrs O'Brien.txt")
    expect(members).to_contain_text("Notes/site visit.txt")
    assert "Cases/Jones" not in members.inner_text()
    # Copies are made in the background; the page shows them once made.
    for _ in range(40):
        if members.locator(".status--preserved").count() == 2:
            break
        page.wait_for_timeout(250)
        page.reload()
    assert members.locator(".status--preserved").count() == 2
    assert _axe(page) == []

    page.get_by_role("link", name="Retention", exact=True).click()
    expect(page.locator("h1")).to_have_text("Retention and disposal")
    assert _axe(page) == []
    page.get_by_role("link", name="View or change the schedule").click()
    expect(page.get_by_label("Schedule (YAML)")).to_be_visible()
    assert _axe(page) == []
