"""An FOI officer in a real browser creates a case, runs a scoping search, collects what it
finds (and one more file from the search page) onto the case's hold, sees them held, and exports
the disclosure bundle; every hash in the exported manifest is then checked against the files on
the share. The case, chooser and statistics pages pass axe-core's serious and critical checks."""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
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
    "Contracts/Bus shelters/contract.txt": b"Bus shelter maintenance contract with Acme Ltd.\n",
    "Contracts/Bus shelters/variation.txt": b"Variation to the bus shelter contract, 2024.\n",
    "Contracts/Bus shelters/invoice.txt": b"Invoice: bus shelter cleaning, March.\n",
    "Contracts/Parks/mowing.txt": b"Grass mowing contract for the parks.\n",
    "Contracts/Bus shelters/scan.pdf": b"%PDF-1.4 not really a pdf: bus shelter scan",
}
BUS_SHELTER_FILES = 4  # everything under Bus shelters, the damaged scan by its name
# Collecting and exporting do real work (holds, hashing) before the page answers.
SLOW_MS = 60_000


@dataclass(frozen=True)
class Served:
    url: str
    bed: RecordsBed


@pytest.fixture
def served(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[Served]:
    workspace = ShareWorkspace(stack.samba, "cases-browser")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    for path, data in FILES.items():
        bed.write(path, data)
    bed.crawl()
    server = make_server("127.0.0.1", 0, create_app(bed.settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(f"http://127.0.0.1:{server.server_port}", bed)
    server.shutdown()
    thread.join(timeout=10)
    workspace.cleanup()


@pytest.fixture
def page(served: Served) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium missing: run `foi stack up --test-tools`", pytrace=False)
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        context = browser.new_context(accept_downloads=True)
        yield context.new_page()
        context.close()
        browser.close()


def _sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill("olive")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


def _create_case(page: Page, base_url: str) -> str:
    page.get_by_role("link", name="Cases", exact=True).click()
    page.wait_for_url(f"{base_url}/cases")
    expect(page.locator("h1")).to_have_text("Request cases")
    assert _axe(page) == []
    # A bad date is a message in an error summary (which passes axe too), not a failure.
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2025")
    page.get_by_role("button", name="Create the case").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("must be a real date")
    expect(summary).to_contain_text("Enter a short title")
    assert _axe(page) == []

    page.get_by_label("FOIA (Freedom of Information Act)").check()
    page.get_by_label("Day").fill("18")
    page.get_by_label("Month").fill("12")
    page.get_by_label("Year").fill("2025")
    page.get_by_label("Short title").fill("Bus shelter contracts")
    page.get_by_label("The request").fill("All contracts for bus shelter maintenance since 2020.")
    page.get_by_label("Requester's name").fill("A. Journalist")
    page.get_by_label("Requester's contact details (optional)").fill("journalist@example.org")
    expect(page.get_by_label("Assigned officer")).to_have_value("olive")
    page.get_by_role("button", name="Create the case").click()
    expect(page.locator("h1")).to_have_text("Bus shelter contracts")
    expect(page.locator(".notice")).to_contain_text("Case FOI-2025-0001 created")
    expect(page.locator("#due-date")).to_have_text("Wednesday 21 January 2026")
    return "FOI-2025-0001"


def test_officer_collects_holds_and_exports_a_verified_bundle(page: Page, served: Served) -> None:
    base_url, bed = served.url, served.bed
    _sign_in(page, base_url)
    reference = _create_case(page, base_url)
    case_url = f"{base_url}/cases/{reference}"

    # The day-by-day explanation: excluded days named, tagged by nation.
    page.get_by_text("How the due date was counted, day by day").click()
    count = page.locator("#deadline-count table")
    expect(count).to_contain_text("Christmas Day")
    expect(count.locator("tr", has_text="New Year Holiday")).to_contain_text("SCT")
    assert _axe(page) == []

    page.get_by_label("Run a scoping search").fill("bus shelter")
    page.get_by_role("button", name="Run the scoping search").click()
    expect(page.locator(".notice")).to_contain_text(f"{BUS_SHELTER_FILES} matching documents")
    searches = page.locator("#searches-table")
    expect(searches.locator(".search-hits")).to_have_text(str(BUS_SHELTER_FILES))
    expect(searches).to_contain_text("Damaged: 1")
    expect(page.locator("#adequacy-statement")).to_contain_text('"bus shelter"')

    searches.get_by_role("button", name="Collect every result").click()
    expect(page.locator(".notice")).to_contain_text(
        f"{BUS_SHELTER_FILES} documents collected into {reference}", timeout=SLOW_MS
    )
    expect(page.locator(".notice")).to_contain_text("legal hold")

    # One more, from the search page's "Add every result to a request case".
    page.goto(f"{base_url}/?q=mowing")
    page.get_by_role("link", name="Add every result to a request case").click()
    expect(page.locator("h1")).to_have_text("Add to a request case")
    assert _axe(page) == []
    page.get_by_role("button", name="Add to the case").click()
    expect(page.locator(".error-summary")).to_contain_text("Choose the case")
    page.get_by_label(f"{reference}: Bus shelter contracts").check()
    page.get_by_role("button", name="Add to the case").click()
    page.wait_for_url(f"{case_url}#documents")
    expect(page.locator(".notice")).to_contain_text(f"1 document collected into {reference}")

    # Every collected document is shown held, on the case page and on its own page.
    documents = page.locator("#documents-table")
    expect(page.locator("#documents")).to_have_text("Collected documents (5)")
    expect(documents.locator(".tag--held")).to_have_count(5)
    expect(documents).not_to_contain_text("Not held")
    assert _axe(page) == []
    documents.get_by_role("link", name="mowing.txt").click()
    holds = page.get_by_role("list", name="Holds covering this file")
    expect(holds).to_contain_text(f"Case {reference}")
    expect(page.get_by_role("link", name=reference, exact=True)).to_be_visible()

    page.goto(case_url)
    page.get_by_role("button", name="Export disclosure bundle").click()
    # The bundle is written in the background; the case page shows how far it has got.
    expect(page.locator(".notice")).to_contain_text("is being prepared (5 documents)")
    exports = page.locator("#exports-table")
    deadline = time.monotonic() + SLOW_MS / 1000
    while "5 of 5 included" not in exports.inner_text():
        assert time.monotonic() < deadline, "the bundle was not written in time"
        page.wait_for_timeout(300)
        page.reload()
    expect(exports).to_contain_text("5 of 5 included")
    assert _axe(page) == []
    zip_link = exports.get_by_role("link", name=".zip")
    with page.expect_download() as download_info:
        zip_link.first.click()
    downloaded = Path(download_info.value.path())

    # In Python: the bundle in the export folder, every manifest hash against the share.
    [folder] = (bed.settings.effective_export_dir / reference).iterdir()
    parts = sorted(folder.glob("*.zip"))
    assert parts and downloaded.read_bytes() == parts[0].read_bytes()
    _verify_bundle(bed, parts, folder)

    page.get_by_role("link", name="Statistics", exact=True).click()
    expect(page.locator("#statistics-table")).to_contain_text("2025 Q4")
    expect(page.locator(".chart svg")).to_be_visible()
    assert _axe(page) == []


def _verify_bundle(bed: RecordsBed, parts: list[Path], folder: Path) -> None:
    archives = [zipfile.ZipFile(part) for part in parts]
    try:
        members = {name: archive for archive in archives for name in archive.namelist()}
        for archive in archives:
            assert archive.testzip() is None
        manifest = members["manifest.csv"].read("manifest.csv")
        # The manifest beside the zips is the one inside them.
        assert (folder / f"{folder.name}-manifest.csv").read_bytes() == manifest
        rows = list(csv.DictReader(io.StringIO(manifest.decode("utf-8-sig"))))
        assert len(rows) == len(FILES)
        for row in rows:
            share_path = row["unc"].split(bed.source + "\\", 1)[1].replace("\\", "/")
            on_share = bed.workspace.disk(share_path).read_bytes()
            in_bundle = members[row["archive_path"]].read(row["archive_path"])
            assert row["sha256"] == hashlib.sha256(on_share).hexdigest(), share_path
            assert row["md5"] == hashlib.md5(on_share).hexdigest(), share_path  # noqa: S324
            assert hashlib.sha256(in_bundle).hexdigest() == row["sha256"], share_path
            assert row["hash_matches"] == "True" and not row["error"], row
    finally:
        for archive in archives:
            archive.close()
