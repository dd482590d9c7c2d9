"""A records-management test bed on the real stack: a workspace on the `test` share registered
as a source, a private database, index and preservation store, and the product's own wiring
(`services.Services`), so crawls run with holds and retention exactly as `foi crawl` does.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devstack.stack import LocalStack
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import DisposalItem, HeldDocument, Hold, Source, as_utc
from foi_core.settings import Settings
from foi_core.sources import add_source, get_source
from indexer.documents import file_doc_id
from ingest.pipeline import CrawlCounts
from retention.context import Records
from services import Services
from tests.fixtures import ShareWorkspace

PASSWORD = "correct horse battery staple"


@dataclass
class RecordsBed:
    stack: LocalStack
    workspace: ShareWorkspace
    settings: Settings

    @classmethod
    def build(
        cls, stack: LocalStack, workspace: ShareWorkspace, base: Settings, tmp: Path, prefix: str
    ) -> RecordsBed:
        settings = replace(
            base,
            state_dir=tmp,
            index_prefix=prefix,
            database_url=f"sqlite:///{tmp / 'records.db'}",
            preservation_dir=tmp / "preservation",
            secure_cookies=False,
        )
        bed = cls(stack, workspace, settings)
        upgrade(bed.runtime.engine)
        with transaction(bed.runtime.sessions) as session:
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
            for name, role in (
                ("rita", "records_manager"),
                ("rob", "records_manager"),
                ("olive", "foi_officer"),
                ("clerk", "front_office"),
            ):
                create_user(session, name, role, PASSWORD, [])
        return bed

    @cached_property
    def runtime(self) -> Services:
        return Services(self.settings)

    @property
    def records(self) -> Records:
        return self.runtime.records

    @property
    def source(self) -> str:
        return self.workspace.name

    def crawl(self) -> CrawlCounts:
        with self.runtime.sessions() as session:
            source = get_source(session, self.source)
            assert isinstance(source, Source)
            session.expunge(source)
        counts = self.runtime.pipeline(source).run()
        self.runtime.es.indices.refresh(index=self.runtime.names.read_alias)
        return counts

    def write(self, path: str, data: bytes, *, modified: datetime | None = None) -> str:
        """Write over SMB (optionally back-dating it on disk); returns the content's hash."""
        self.workspace.write(path, data)
        if modified is not None:
            stamp = modified.timestamp()
            os.utime(self.workspace.disk(path), (stamp, stamp))
        return hashlib.sha256(data).hexdigest()

    def doc_id(self, path: str) -> str:
        return file_doc_id(self.source, path)

    def doc(self, doc_id: str) -> dict[str, Any]:
        es, names = self.runtime.es, self.runtime.names
        es.indices.refresh(index=names.read_alias)
        return dict(es.get(index=names.read_alias, id=doc_id)["_source"])

    def on_share(self, path: str) -> bool:
        return self.workspace.disk(path).exists()


def destroyed_items(session: Session) -> list[DisposalItem]:
    """Every batch item recorded destroyed."""
    query = select(DisposalItem).where(DisposalItem.outcome == "destroyed")
    return list(session.execute(query).scalars())


def assert_not_destroyed_while_held(session: Session, item: DisposalItem) -> None:
    """No hold covered the item's file at the moment it was destroyed (a hold covers a file
    from its membership until the hold's release)."""
    assert item.done_at is not None
    done = as_utc(item.done_at)
    covering = session.execute(
        select(HeldDocument, Hold)
        .join(Hold, Hold.id == HeldDocument.hold_id)
        .where(HeldDocument.root_id == item.doc_id)
    ).all()
    for member, hold in covering:
        released = as_utc(hold.released_at) if hold.released_at else None
        assert not (as_utc(member.added_at) <= done and (released is None or released > done)), (
            f"{item.path} destroyed at {done} while hold {hold.id} covered it"
        )
