"""A file's identity is its SMB file id and its creation time, and a held version of a file is
never more visible than the ACL its content had.

On Samba the file id is the inode, which the file system gives the next new file once a file
is deleted. A reviewer reproduced the harm on the real stack: a held, case-collected
contract in a restricted folder was deleted at source, the next new file in a public folder
got its inode, and the crawl took it for the contract moved and changed, so the holds, the
case and the old links followed the canteen menu, and the contract's held version took the
menu's ACL: a front-office clerk found "signed contract" and opened it. These tests reproduce
that on the real share, and check that a genuine move into a public folder, or a loosened
permission, shows no held version to anyone its ACL kept out.

Restricted files here are mode 0660 on the server (Samba maps "other" to Everyone, S-1-1-0,
the only SID of ours a front-office clerk has); public ones 0664.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from cases.collection import collect
from cases.service import create_case
from devstack.stack import LocalStack
from foi_core.db import transaction
from foi_core.models import CaseDocument, DocumentMove, FileState, HeldDocument, SourceChange
from foi_core.settings import Settings
from foi_core.tokens import create_token
from retention.holds import add_scope, create_hold, holds_by_root
from retention.preservation import run_pending
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.integration.test_holds import _sign_in
from tests.records import RecordsBed

CONTRACT = "Cases/Smith/contract.txt"
CONTRACT_TEXT = b"Signed contract between the council and Smith Builders: fee 48,000.\n"
SECRET_WORDS = "signed contract"
README = "Public/readme.txt"
EVERYONE = "S-1-1-0"
RESTRICTED, PUBLIC = 0o660, 0o664


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "inode")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    bed.write(CONTRACT, CONTRACT_TEXT)
    bed.workspace.disk(CONTRACT).chmod(RESTRICTED)
    bed.write(README, b"Public folder: notices for residents.\n")
    bed.crawl()
    assert EVERYONE not in bed.doc(bed.doc_id(CONTRACT))["acl_allow"]
    assert EVERYONE in bed.doc(bed.doc_id(README))["acl_allow"]
    yield bed
    workspace.cleanup()


def _client(bed: RecordsBed, username: str) -> FlaskClient:
    client = create_app(bed.settings).test_client()
    _sign_in(client, username)
    return client


def _api_found(bed: RecordsBed, username: str, query: str) -> set[str]:
    with transaction(bed.runtime.sessions) as session:
        token = create_token(session, username, "test")
    response = (
        create_app(bed.settings)
        .test_client()
        .get(
            "/api/v1/search",
            query_string={"q": query, "copies": "all"},
            headers={"Authorization": f"Bearer {token}"},
        )
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {hit["doc_id"] for hit in response.get_json()["hits"]}


def _reaches(bed: RecordsBed, username: str, doc_id: str, query: str) -> dict[str, bool]:
    """Whether the user finds, opens and downloads the document, by the pages and the API."""
    client = _client(bed, username)
    page = client.get("/", query_string={"q": query}).get_data(as_text=True)
    return {
        "search": f"/documents/{doc_id}" in page,
        "page": client.get(f"/documents/{doc_id}").status_code == 200,
        "download": client.get(f"/documents/{doc_id}/download").status_code == 200,
        "api search": doc_id in _api_found(bed, username, query),
    }


def _nowhere(bed: RecordsBed, doc_id: str, query: str) -> None:
    """The clerk cannot reach the document, and no document they can reach has the words."""
    assert _reaches(bed, "clerk", doc_id, query) == dict.fromkeys(
        ("search", "page", "download", "api search"), False
    )
    assert _api_found(bed, "clerk", query) == set()


def _hold_and_collect(bed: RecordsBed) -> tuple[int, int]:
    records = bed.records
    hold = create_hold(records, name="Smith claim", reason="Claim", owner="rita", actor="rita")
    add_scope(records, hold, kind="item", doc_id=bed.doc_id(CONTRACT), actor="rita")
    case = create_case(
        bed.runtime.sessions,
        regime="FOIA",
        received=dt.date(2026, 1, 5),
        title="Smith contract",
        request_text="The Smith Builders contract.",
        requester_name="A. Journalist",
        actor="olive",
        prefix_spec="FOIA=FOI,EIR=EIR,SAR=SAR",
        target_days=20,
    )
    collect(records, case.id, [bed.doc_id(CONTRACT)], actor="olive")
    assert run_pending(records).failed == 0
    return hold, case.id


def _created_ns(bed: RecordsBed, path: str) -> int:
    parent = path.rpartition("/")[0]
    [facts] = [f for f in bed.workspace.source().list_dir(parent).entries if f.path == path]
    return facts.created_ns


def test_a_new_file_given_a_deleted_held_files_inode_takes_nothing_of_it(bed: RecordsBed) -> None:
    hold, case_id = _hold_and_collect(bed)
    contract_id = bed.doc_id(CONTRACT)
    with bed.runtime.sessions() as session:
        holds = set(holds_by_root(session, [contract_id])[contract_id])
    assert hold in holds and len(holds) == 2  # the item hold and the case's
    inode = bed.workspace.disk(CONTRACT).stat().st_ino
    created = _created_ns(bed, CONTRACT)

    bed.workspace.remove(CONTRACT)
    menus: list[str] = []
    for attempt in range(100):
        menu = f"Public/Canteen menu {attempt}.txt"
        bed.write(menu, f"Canteen menu {attempt}: soup, sandwiches, cake.\n".encode())
        menus.append(menu)
        if bed.workspace.disk(menu).stat().st_ino == inode:
            break
    else:
        pytest.skip("the file system gave none of 100 new files the deleted file's inode")
    assert _created_ns(bed, menu) != created  # the one fact that tells them apart
    counts = bed.crawl()
    assert (counts.deleted, counts.renamed, counts.new) == (1, 0, len(menus))

    menu_id = bed.doc_id(menu)
    with bed.runtime.sessions() as session:
        assert holds_by_root(session, [contract_id, menu_id]) == {contract_id: sorted(holds)}
        members = session.execute(select(HeldDocument.root_id)).scalars().all()
        assert set(members) == {contract_id}
        [row] = session.execute(
            select(CaseDocument).where(CaseDocument.case_id == case_id)
        ).scalars()
        assert (row.doc_id, row.root_id, row.removed) == (contract_id, contract_id, False)
        assert session.execute(select(DocumentMove)).scalars().all() == []
        changes = session.execute(select(SourceChange)).scalars().all()
        assert [(c.root_id, c.change, c.preserved) for c in changes] == [
            (contract_id, "deleted", True)
        ]
        state = session.execute(select(FileState).where(FileState.path == CONTRACT)).scalar_one()
        assert state.deleted

    contract = bed.doc(contract_id)
    assert contract["deleted"] is True and contract["held"] is True
    assert "Smith Builders" in contract["content"]
    assert EVERYONE not in contract["acl_allow"]
    canteen = bed.doc(menu_id)
    assert canteen["held"] is False and "Canteen menu" in canteen["content"]
    assert EVERYONE in canteen["acl_allow"]
    assert not bed.runtime.es.search(
        index=bed.runtime.names.read_alias, query={"exists": {"field": "version_of"}}
    )["hits"]["hits"]

    # The officer still finds the contract, deleted at source and held, at its own address.
    officer = _client(bed, "olive")
    results = officer.get("/", query_string={"q": SECRET_WORDS}).get_data(as_text=True)
    assert f"/documents/{contract_id}" in results and "Deleted at source" in results
    assert f"/documents/{menu_id}" not in results
    assert officer.get(f"/documents/{contract_id}").status_code == 200
    # The clerk finds the menu, and nothing of the contract anywhere.
    assert _reaches(bed, "clerk", menu_id, "canteen soup")["search"]
    _nowhere(bed, contract_id, SECRET_WORDS)
    _nowhere(bed, contract_id, "Smith Builders")


def test_a_held_file_renamed_into_a_public_folder_and_edited_keeps_its_versions_acl(
    bed: RecordsBed,
) -> None:
    hold, _ = _hold_and_collect(bed)
    old_id = bed.doc_id(CONTRACT)
    inode, created = bed.workspace.disk(CONTRACT).stat().st_ino, _created_ns(bed, CONTRACT)

    moved = "Public/contract summary.txt"
    bed.workspace.move(CONTRACT, moved)
    bed.write(moved, b"Contract summary for publication: building works agreed.\n")
    bed.workspace.disk(moved).chmod(PUBLIC)
    assert bed.workspace.disk(moved).stat().st_ino == inode  # the same file, renamed
    assert _created_ns(bed, moved) == created
    counts = bed.crawl()
    assert (counts.deleted, counts.changed) == (0, 1)

    new_id = bed.doc_id(moved)
    current = bed.doc(new_id)
    assert current["held"] is True and EVERYONE in current["acl_allow"]
    with bed.runtime.sessions() as session:
        changed = session.execute(
            select(SourceChange).where(SourceChange.change == "changed")
        ).scalar_one()
        assert changed.root_id == new_id and hold in holds_by_root(session, [new_id])[new_id]
    version_id = changed.version_doc_id
    version = bed.doc(version_id)
    assert version["version_of"] == new_id and "Smith Builders" in version["content"]
    assert EVERYONE not in version["acl_allow"]

    # The new content follows its new ACL; the old content keeps the restricted one.
    assert _reaches(bed, "clerk", new_id, "publication summary") == dict.fromkeys(
        ("search", "page", "download", "api search"), True
    )
    _nowhere(bed, version_id, SECRET_WORDS)
    assert _client(bed, "clerk").get(f"/documents/{old_id}").status_code in (302, 404)
    officer = _client(bed, "olive")
    assert officer.get(f"/documents/{version_id}").status_code == 200
    results = officer.get("/", query_string={"q": SECRET_WORDS}).get_data(as_text=True)
    assert f"/documents/{version_id}" in results


def test_loosening_a_held_files_permissions_shows_none_of_its_held_versions(
    bed: RecordsBed,
) -> None:
    _hold_and_collect(bed)
    contract_id = bed.doc_id(CONTRACT)
    bed.write(CONTRACT, b"Contract variation: the fee is now 52,000.\n")
    bed.crawl()
    [version] = _versions(bed, contract_id)
    assert EVERYONE not in version["acl_allow"]

    # Its owner makes the file readable by everyone: no content change, only the ACL.
    bed.workspace.disk(CONTRACT).chmod(PUBLIC)
    counts = bed.crawl()
    assert (counts.changed, counts.permissions) == (0, 1)
    assert _reaches(bed, "clerk", contract_id, "variation")["page"]
    [version] = _versions(bed, contract_id)
    assert EVERYONE not in version["acl_allow"]
    _nowhere(bed, version["doc_id"], SECRET_WORDS)

    # Restricted again, and edited in the same crawl: the public content of the meantime,
    # kept as a held version, is narrowed by the new ACL too.
    bed.write(CONTRACT, b"Contract variation two: the fee is now 55,000.\n")
    bed.workspace.disk(CONTRACT).chmod(RESTRICTED)
    counts = bed.crawl()
    assert counts.changed == 1
    versions = _versions(bed, contract_id)
    assert len(versions) == 2
    assert all(EVERYONE not in v["acl_allow"] for v in versions)
    for v in versions:
        _nowhere(bed, v["doc_id"], "fee")
    _nowhere(bed, contract_id, "fee")
    assert _client(bed, "olive").get(f"/documents/{versions[0]['doc_id']}").status_code == 200


def _versions(bed: RecordsBed, root_id: str) -> list[dict[str, Any]]:
    es, names = bed.runtime.es, bed.runtime.names
    es.indices.refresh(index=names.read_alias)
    hits = es.search(index=names.read_alias, query={"term": {"version_of": root_id}}, size=100)[
        "hits"
    ]["hits"]
    return [dict(hit["_source"]) for hit in hits]


def test_files_crawled_before_creation_times_were_kept_still_move(bed: RecordsBed) -> None:
    """A state row from before creation times were recorded gets one on the next crawl that
    sees the file unchanged, so a later rename of a held file still carries its hold."""
    records = bed.records
    hold = create_hold(records, name="Smith", reason="claim", owner="rita", actor="rita")
    add_scope(records, hold, kind="item", doc_id=bed.doc_id(CONTRACT), actor="rita")
    with transaction(bed.runtime.sessions) as session:
        state = session.execute(select(FileState).where(FileState.path == CONTRACT)).scalar_one()
        state.created_ns = None  # as an upgraded database has it
    bed.crawl()
    with bed.runtime.sessions() as session:
        state = session.execute(select(FileState).where(FileState.path == CONTRACT)).scalar_one()
        assert state.created_ns
    bed.workspace.move(CONTRACT, "Cases/Smith/contract (signed).txt")
    counts = bed.crawl()
    assert (counts.renamed, counts.deleted) == (1, 0)
    moved = bed.doc_id("Cases/Smith/contract (signed).txt")
    with bed.runtime.sessions() as session:
        assert holds_by_root(session, [moved]) == {moved: [hold]}
