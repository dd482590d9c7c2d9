"""Builds the process's clients once from Settings, for the commands that need them."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from functools import cached_property

from celery import Celery
from elasticsearch import Elasticsearch
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crawler.shares import ShareProvider
from crawler.smb import ShareLocation, SmbShare
from foi_core import audit
from foi_core.audit_seal import AuditSeal, load_audit_seal
from foi_core.clients import build_elasticsearch
from foi_core.credentials import resolve
from foi_core.db import build_engine, session_factory, transaction
from foi_core.models import Source
from foi_core.settings import Settings
from indexer.distributed import CeleryDispatch
from indexer.extract import ExtractOptions, TikaExtractor
from indexer.lifecycle import IndexNames, ensure_index
from indexer.pipeline import CrawlPipeline, FileDispatch
from indexer.processor import FileProcessor
from indexer.tasks import TaskLimits, build_celery_app
from retention.context import Records
from retention.keeping import RecordKeeper
from retention.store import PreservationStore


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return build_engine(self.settings)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine, self.audit_seal)

    @cached_property
    def audit_seal(self) -> AuditSeal:
        return load_audit_seal(self.settings)

    @cached_property
    def es(self) -> Elasticsearch:
        return build_elasticsearch(self.settings)

    @cached_property
    def names(self) -> IndexNames:
        return IndexNames(self.settings.index_prefix)

    @cached_property
    def extractor(self) -> TikaExtractor:
        return TikaExtractor(
            self.settings.tika_url,
            ExtractOptions(
                timeout_s=self.settings.tika_timeout_s,
                max_chars=self.settings.max_extracted_chars,
                ocr=self.settings.ocr_enabled,
            ),
        )

    @cached_property
    def shares(self) -> ShareProvider:
        return ShareProvider(self.sessions, read_bytes=self.settings.smb_read_bytes)

    @cached_property
    def records(self) -> Records:
        ensure_index(self.es, self.names)
        return Records(
            sessions=self.sessions,
            es=self.es,
            names=self.names,
            store=PreservationStore(self.settings.effective_preservation_dir),
            shares=self.shares.share,
            approvals_needed=self.settings.disposal_approvals,
            organisation=self.settings.organisation,
        )

    def share(self, source: Source) -> SmbShare:
        location = ShareLocation(source.server, source.port, source.share, source.root)
        return SmbShare(
            location,
            source.username,
            resolve(source.credential_ref),
            read_bytes=self.settings.smb_read_bytes,
        )

    def processor(self, source: Source) -> FileProcessor:
        ensure_index(self.es, self.names)
        return FileProcessor(
            source=source.name,
            share=self.share(source),
            es=self.es,
            names=self.names,
            extractor=self.extractor,
            sessions=self.sessions,
            max_file_bytes=self.settings.max_file_bytes,
            keeping=RecordKeeper(self.records, source.name),
        )

    @cached_property
    def celery(self) -> Celery:
        """The Celery app of the distributed crawl (sends tasks; `foi worker` builds its own)."""
        return build_celery_app(self.settings)

    def dispatch(self) -> FileDispatch | None:
        """Celery workers when a broker is configured; None means the in-process thread pool."""
        if not self.settings.broker_url:
            return None
        return CeleryDispatch(
            self.celery,
            index_prefix=self.settings.index_prefix,
            batch_files=self.settings.task_batch_files,
            stall_timeout_s=TaskLimits.from_settings(self.settings).stall_timeout_s,
        )

    def pipeline(self, source: Source) -> CrawlPipeline:
        return CrawlPipeline(
            processor=self.processor(source),
            sessions=self.sessions,
            include=tuple(source.include),
            exclude=tuple(source.exclude),
            workers=self.settings.crawl_workers,
            dispatch=self.dispatch(),
        )


def operator() -> str:
    """Who runs an administrative command without `--as`: the operating-system account, so
    the audit log names a person rather than "cli"."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        name = f"uid {os.getuid()}"
    return f"{name} (command line)"


def record_refusal(runtime: Runtime, *, actor: str, action: str, target: str, reason: str) -> None:
    """Audit a refused command as a refused web action is audited: in its own transaction,
    since the refused work rolled back."""
    with transaction(runtime.sessions) as session:
        audit.record(
            session,
            actor=actor,
            action=action,
            target=target,
            outcome=audit.Outcome.DENIED,
            details={"reason": reason},
        )
