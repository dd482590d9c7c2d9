"""Permission changes reach the index on the next incremental crawl (issue 12, item 1).

A DACL change touches no time a listing shows (Samba reports the change time as the last-write
time), so before this an incremental crawl said "0 changed" and front-office staff kept
finding, opening and downloading a file its owner had just restricted, until a `--full` crawl.
Each test changes permissions as they change in practice (an administrator's chmod on the
server; a Windows client's new DACL on a folder, propagated to everything below it) and checks
every route a front-office clerk has: search, document page, download, and the API.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.access_stack import (
    CLERK_SID,
    FULL_CONTROL,
    READ_AND_EXECUTE,
    AccessStack,
    access_stack,
    found_ids,
)

NOTICE = "Notices/parking.txt"
# Each file of the folder, and a word that finds it (a zip is found by its name).
TEAM_FILES = {
    "Team/rota.txt": "rota",
    "Team/Archive/minutes.txt": "minutes",
    "Team/bundle.zip": "bundle",
}


def _zip(name: str, text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, text)
    return out.getvalue()


@pytest.fixture
def access(tmp_path: Path, es: Elasticsearch) -> Iterator[AccessStack]:
    with access_stack(tmp_path, es, "perm") as built:
        built.write(NOTICE, b"Residents parking quokka permits notice.\n")
        built.write("Team/rota.txt", b"Team wallaby rota for December.\n")
        built.write("Team/Archive/minutes.txt", b"Archived wallaby minutes.\n")
        built.write("Team/bundle.zip", _zip("inner.txt", "Zipped wallaby appendix.\n"))
        yield built


def _clerk_reaches(access: AccessStack, path: str, word: str) -> dict[str, bool]:
    """Whether the clerk finds, opens and downloads the file, by every route."""
    doc_id = access.doc_id(path)
    clerk = access.signed_in("clerk")
    api = access.app.test_client()
    headers = access.api_headers("clerk")
    page = clerk.get("/", query_string={"q": word}).get_data(as_text=True)
    return {
        "search": f"/documents/{doc_id}" in page,
        "page": clerk.get(f"/documents/{doc_id}").status_code == 200,
        "download": clerk.get(f"/documents/{doc_id}/download").status_code == 200,
        "api search": doc_id in found_ids(api, word, headers),
        "api document": api.get(f"/api/v1/documents/{doc_id}", headers=headers).status_code == 200,
        "api content": api.get(f"/api/v1/documents/{doc_id}/content", headers=headers).status_code
        == 200,
    }


def _all(value: bool) -> dict[str, bool]:
    return dict.fromkeys(
        ("search", "page", "download", "api search", "api document", "api content"), value
    )


def test_tightened_and_loosened_permissions_reach_the_index_on_an_incremental_crawl(
    access: AccessStack,
) -> None:
    first = access.crawl()
    assert first.new == 4
    assert _clerk_reaches(access, NOTICE, "quokka") == _all(True)
    mtime_before = access.harness.state(NOTICE).mtime_ns  # type: ignore[union-attr]

    # The file's owner restricts it on the server: "other" (Everyone) loses read.
    access.disk(NOTICE).chmod(0o660)
    tightened = access.crawl()
    assert (tightened.changed, tightened.new, tightened.unchanged) == (0, 0, 4)
    assert access.harness.state(NOTICE).mtime_ns == mtime_before  # type: ignore[union-attr]
    assert _clerk_reaches(access, NOTICE, "quokka") == _all(False)
    doc = access.harness.doc(NOTICE)
    assert "S-1-1-0" not in doc["acl_allow"] and "quokka" in doc["content"]
    assert access.harness.extractor.calls == 0  # nothing re-read or re-extracted
    assert tightened.permissions == 1
    officer = access.signed_in("olive")
    assert officer.get(f"/documents/{access.doc_id(NOTICE)}").status_code == 200

    # Nothing changed since: the next crawl writes nothing.
    assert access.crawl().permissions == 0

    access.disk(NOTICE).chmod(0o664)
    loosened = access.crawl()
    assert loosened.changed == 0
    assert _clerk_reaches(access, NOTICE, "quokka") == _all(True)
    assert "S-1-1-0" in access.harness.doc(NOTICE)["acl_allow"]
    assert loosened.permissions == 1


def test_a_folder_permission_change_inherited_by_its_children_reaches_them(
    access: AccessStack,
) -> None:
    owner = access.owner_sid("Team")
    # The folder is the owner's alone, inherited by everything in it.
    access.set_folder_dacl("Team", [(owner, FULL_CONTROL)])
    access.crawl()
    embedded = access.harness.children("Team/bundle.zip")
    assert [child["filename"] for child in embedded] == ["inner.txt"]
    for path, word in TEAM_FILES.items():
        assert _clerk_reaches(access, path, word) == _all(False), path

    # The clerk's SID is granted read on the folder; Windows writes the inherited ACE into
    # every descriptor below it, and no file's times change.
    access.set_folder_dacl("Team", [(owner, FULL_CONTROL), (CLERK_SID, READ_AND_EXECUTE)])
    granted = access.crawl()
    assert granted.changed == 0
    for path, word in TEAM_FILES.items():
        assert _clerk_reaches(access, path, word) == _all(True), path
    assert access.harness.extractor.calls == 0
    assert granted.permissions == len(TEAM_FILES)
    inner = access.harness.children("Team/bundle.zip")[0]
    assert CLERK_SID in inner["acl_allow"]
    api = access.app.test_client()
    assert inner["doc_id"] in found_ids(api, "appendix", access.api_headers("clerk"))
    clerk = access.signed_in("clerk")
    assert clerk.get(f"/documents/{inner['doc_id']}").status_code == 200
    assert _clerk_reaches(access, NOTICE, "quokka") == _all(True)  # untouched: still public

    # Taken away again on the folder: gone from every child, the embedded file included.
    access.set_folder_dacl("Team", [(owner, FULL_CONTROL)])
    revoked = access.crawl()
    assert revoked.changed == 0
    for path, word in TEAM_FILES.items():
        assert _clerk_reaches(access, path, word) == _all(False), path
    assert revoked.permissions == len(TEAM_FILES)
    assert clerk.get(f"/documents/{inner['doc_id']}").status_code == 404
    assert inner["doc_id"] not in found_ids(api, "appendix", access.api_headers("clerk"))


def test_a_download_checks_the_permissions_the_share_has_now(access: AccessStack) -> None:
    """Between a tightening at source and the next crawl the index still lets the clerk find
    the file, but a download reads the share now, so the share's permissions now decide."""
    access.crawl()
    doc_id = access.doc_id(NOTICE)
    clerk = access.signed_in("clerk")
    assert clerk.get(f"/documents/{doc_id}/download").status_code == 200
    access.disk(NOTICE).chmod(0o660)
    access.disk(NOTICE).write_bytes(b"Redundancy list: confidential.\n")
    refused = clerk.get(f"/documents/{doc_id}/download")
    assert refused.status_code == 403 and b"Redundancy" not in refused.get_data()
    api = access.app.test_client()
    content = api.get(f"/api/v1/documents/{doc_id}/content", headers=access.api_headers("clerk"))
    assert content.status_code == 403
    # Staff who see everything still download it (audited as an override).
    assert access.signed_in("olive").get(f"/documents/{doc_id}/download").status_code == 200
