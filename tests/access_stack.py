"""The web app over a private folder of the `test` share, crawled into a private index and
database by the production pipeline: for tests of who may see what (permission changes,
identical copies, downloads, holds), as a front-office clerk, an FOI officer and a records
manager, through the pages and the API.

Nothing here is a mock: files are written over SMB, permissions are changed as a Windows
client or an administrator on the server would change them, and the crawl reads them back.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from elasticsearch import Elasticsearch
from flask import Flask
from flask.testing import FlaskClient
from smbclient._io import SMBFileTransaction, SMBRawIO
from smbprotocol.file_info import InfoType
from smbprotocol.open import InfoAdditionalInformation, SMB2SetInfoRequest
from smbprotocol.security_descriptor import AccessMask

from crawler.acl import read_acl
from devstack.stack import LocalStack
from foi_core.accounts import create_user
from foi_core.audit_seal import load_audit_seal
from foi_core.db import build_engine, session_factory, transaction
from foi_core.migrate import upgrade
from foi_core.settings import Settings
from foi_core.sources import add_source
from foi_core.tokens import create_token
from indexer.extract import ExtractOptions
from indexer.lifecycle import drop_all
from ingest.pipeline import CrawlCounts
from search_app import create_app
from tests.fixtures import CrawlHarness, ShareWorkspace

PASSWORD = "correct horse battery staple"
CLERK_SID = "S-1-5-21-77-88-99-4444"  # the front-office clerk's own SID (no file grants it yet)
EVERYONE = "S-1-1-0"
FULL_CONTROL = 0x001F01FF
READ_AND_EXECUTE = 0x001200A9
OBJECT_AND_CONTAINER_INHERIT = 0x03
INHERITED = 0x10
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class AccessStack:
    """Accounts: `clerk` (front office, CLERK_SID), `olive` (FOI officer), `rita` (records
    manager). The source's name is the workspace's."""

    settings: Settings
    workspace: ShareWorkspace
    harness: CrawlHarness
    app: Flask

    @property
    def source(self) -> str:
        return self.harness.source

    def crawl(self, *, full: bool = False) -> CrawlCounts:
        return self.harness.crawl(full=full)

    def doc_id(self, path: str) -> str:
        return self.harness.doc_id(path)

    def signed_in(self, username: str) -> FlaskClient:
        client = self.app.test_client()
        token = _CSRF.search(client.get("/login").get_data(as_text=True))
        assert token
        response = client.post(
            "/login",
            data={"csrf_token": token.group(1), "username": username, "password": PASSWORD},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    def api_headers(self, username: str) -> dict[str, str]:
        with transaction(self.app.extensions["foi"].sessions) as session:
            return {"Authorization": f"Bearer {create_token(session, username, 'test')}"}

    def disk(self, rel_path: str) -> Path:
        return self.workspace.disk(rel_path)

    # Permissions as a Windows client sets them (SMB SET_INFO with a new DACL).

    def owner_sid(self, rel_path: str) -> str:
        owner = read_acl(self.workspace.source(), rel_path).owner
        assert owner
        return owner

    def set_dacl(self, rel_path: str, aces: Sequence[tuple[str, int, int]]) -> None:
        """Replace the DACL of a file or folder with allow ACEs (sid, mask, ACE flags)."""
        unc = self.workspace.location.unc(rel_path)
        raw = SMBRawIO(
            unc,
            mode="r",
            share_access="rwd",
            desired_access=AccessMask.WRITE_DACL | AccessMask.READ_CONTROL,
            **self.workspace.smb_kwargs,
        )
        transaction_ = SMBFileTransaction(raw)
        request = SMB2SetInfoRequest()
        request["info_type"] = InfoType.SMB2_0_INFO_SECURITY
        request["additional_information"] = InfoAdditionalInformation.DACL_SECURITY_INFORMATION
        request["file_id"] = raw.fd.file_id
        request["buffer"] = _descriptor_with_dacl(aces)
        transaction_ += (request, lambda sent: raw.fd.connection.receive(sent))
        transaction_.commit()

    def set_folder_dacl(self, folder: str, grants: Sequence[tuple[str, int]]) -> None:
        """Give a folder inheritable allow ACEs and propagate them to everything below it,
        as Windows does when a folder's permissions change (each child's descriptor is
        rewritten with the ACEs marked inherited; no file's times change)."""
        self.set_dacl(folder, [(sid, mask, OBJECT_AND_CONTAINER_INHERIT) for sid, mask in grants])
        for child in sorted(self.disk(folder).rglob("*")):
            rel = child.relative_to(self.workspace.root).as_posix()
            flags = INHERITED | (OBJECT_AND_CONTAINER_INHERIT if child.is_dir() else 0)
            self.set_dacl(rel, [(sid, mask, flags) for sid, mask in grants])

    def write(self, rel_path: str, data: bytes) -> None:
        self.workspace.write(rel_path, data)


def _sid_bytes(sid: str) -> bytes:
    _, revision, authority, *subs = sid.split("-")
    return (
        struct.pack("<BB", int(revision), len(subs))
        + int(authority).to_bytes(6, "big")
        + struct.pack(f"<{len(subs)}I", *map(int, subs))
    )


def _descriptor_with_dacl(aces: Sequence[tuple[str, int, int]]) -> bytes:
    """A self-relative security descriptor (MS-DTYP 2.4.6) holding only a DACL."""
    body = b""
    for sid, mask, flags in aces:
        raw_sid = _sid_bytes(sid)
        body += struct.pack("<BBHI", 0, flags, 8 + len(raw_sid), mask) + raw_sid  # allow ACE
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body
    control = 0x8000 | 0x0400 | 0x0004  # self-relative, DACL auto-inherited, DACL present
    return struct.pack("<BBHIIII", 1, 0, control, 0, 0, 0, 20) + acl


@contextmanager
def access_stack(
    tmp: Path, es: Elasticsearch, prefix: str, *, max_extracted_chars: int = 100_000
) -> Iterator[AccessStack]:
    """A fresh database, index, share folder, accounts and app; crawl it to begin."""
    settings = Settings.from_env()
    stack = LocalStack(settings)
    if not all(s.healthy for s in stack.status()):
        raise RuntimeError("services down — run `foi stack up`")
    index_prefix = f"test-{prefix}-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        **{
            **settings.__dict__,
            "state_dir": tmp,
            "index_prefix": index_prefix,
            "database_url": f"sqlite:///{tmp / 'app.db'}",
            "secure_cookies": False,
            "preservation_dir": tmp / "preservation",
        }
    )
    engine = build_engine(settings)
    upgrade(engine)
    sessions = session_factory(engine, load_audit_seal(settings))
    workspace = ShareWorkspace(stack.samba, prefix)
    harness: CrawlHarness | None = None
    try:
        harness = CrawlHarness.build(
            workspace=workspace,
            es=es,
            index_prefix=index_prefix,
            sessions=sessions,
            tika_url=settings.tika_url,
            options=ExtractOptions(120, max_extracted_chars, False),
        )
        with transaction(sessions) as session:
            add_source(
                session,
                name=workspace.name,
                server="127.0.0.1",
                port=stack.samba.port,
                share="test",
                root=workspace.name,
                username=stack.samba.user,
                credential_ref=f"file:{stack.paths.secrets / 'samba_password'}",
            )
            create_user(session, "clerk", "front_office", PASSWORD, [CLERK_SID])
            create_user(session, "olive", "foi_officer", PASSWORD)
            create_user(session, "rita", "records_manager", PASSWORD)
        yield AccessStack(settings, workspace, harness, create_app(settings, es=es))
    finally:
        if harness is not None:
            drop_all(es, harness.names)
        workspace.cleanup()
        engine.dispose()


def found_ids(client: FlaskClient, query: str, headers: dict[str, str] | None = None) -> set[str]:
    """The doc ids the API search finds for `query` (every copy listed)."""
    response = client.get(
        "/api/v1/search", query_string={"q": query, "copies": "all"}, headers=headers or {}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {hit["doc_id"] for hit in response.get_json()["hits"]}
