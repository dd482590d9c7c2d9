"""`Services`: the one place where a process builds its clients and long-lived services.

Invariants:
- each client (database engine, Elasticsearch, Tika, Celery) is built at most once per
  `Services`, on first use, from `Settings`; callers receive them, they never build their own;
- nothing here creates or migrates the index: the crawl checks it is current
  (`indexer.lifecycle.require_index`) and only `foi index migrate` migrates it;
- a process that forks (Celery's prefork pool) builds a new `Services` in the child, never
  sharing its parent's sockets (foi_cli.worker.WorkerProcessors).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from celery import Celery
from elasticsearch import Elasticsearch
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.export import ExportSettings
from cases.export_jobs import Exporter
from crawler.shares import ShareProvider
from crawler.smb import ShareLocation, SmbShare
from foi_core.audit_seal import AuditSeal, load_audit_seal
from foi_core.clients import build_elasticsearch
from foi_core.credentials import resolve
from foi_core.db import build_engine, session_factory
from foi_core.models import Source
from foi_core.settings import Settings
from indexer.extract import ExtractOptions, TikaExtractor
from indexer.lifecycle import IndexNames, require_index
from ingest.distributed import CeleryDispatch
from ingest.pipeline import CrawlPipeline, FileDispatch
from ingest.processor import FileProcessor
from ingest.tasks import TaskLimits, build_celery_app
from retention.context import Records
from retention.keeping import RecordKeeper
from retention.preservation import Preserver
from retention.store import PreservationStore


@dataclass
class Services:
    settings: Settings
    # An Elasticsearch client given by the caller (tests, benchmarks) instead of one built here.
    given_es: Elasticsearch | None = None

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
        return build_elasticsearch(self.settings) if self.given_es is None else self.given_es

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
        """What records management (retention/, cases/) works with."""
        return Records(
            sessions=self.sessions,
            es=self.es,
            names=self.names,
            store=PreservationStore(self.settings.effective_preservation_dir),
            shares=self.shares.share,
            approvals_needed=self.settings.disposal_approvals,
            organisation=self.settings.organisation,
        )

    def indexed_records(self) -> Records:
        """`records`, once the index exists: created on a fresh install (a records command may
        come before the first crawl), refused when outdated (`IndexOutdated`); never migrated."""
        require_index(self.es, self.names)
        return self.records

    @cached_property
    def preserver(self) -> Preserver:
        """Copy-on-hold, run off the request: placing a hold answers at once, copies follow."""
        return Preserver(self.records)

    @cached_property
    def exporter(self) -> Exporter:
        """Disclosure bundles, written off the request (the case page shows progress)."""
        return Exporter(self.records, ExportSettings.from_settings(self.settings))

    def share(self, source: Source) -> SmbShare:
        location = ShareLocation(source.server, source.port, source.share, source.root)
        return SmbShare(
            location,
            source.username,
            resolve(source.credential_ref),
            read_bytes=self.settings.smb_read_bytes,
        )

    def processor(self, source: Source) -> FileProcessor:
        require_index(self.es, self.names)
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
