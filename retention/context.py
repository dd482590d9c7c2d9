"""What records management works with, built once per process and passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from elasticsearch import Elasticsearch
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from crawler.smb import SmbShare
from foi_core.audit import GENESIS_HASH
from foi_core.models import AuditHead
from indexer.lifecycle import IndexNames
from retention.store import PreservationStore


@dataclass(frozen=True)
class Records:
    sessions: sessionmaker[Session]
    es: Elasticsearch
    names: IndexNames
    store: PreservationStore
    # The SMB share of a source, by name (crawler.shares.ShareProvider.share).
    shares: Callable[[str], SmbShare]
    approvals_needed: int = 1
    organisation: str = ""


def lock_records(session: Session) -> None:
    """Serialise the decisions that must not interleave: a file joining a hold and a file
    being destroyed. Both take this lock first in their transaction, so a destruction always
    sees every hold committed before it, and a hold placed after it finds the stub.

    The audit log's head row is the lock (every such transaction writes an audit entry
    anyway); an UPDATE takes it on every backend (a row lock on PostgreSQL, the database write
    lock on SQLite), where SELECT ... FOR UPDATE would be ignored by SQLite.
    """
    locked = session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_id=AuditHead.last_id)
    )
    if locked.rowcount == 0:  # type: ignore[attr-defined]
        # A fresh database: the row the audit log would create on its first entry.
        session.add(AuditHead(id=1, last_id=0, last_hash=GENESIS_HASH))
        session.flush()
