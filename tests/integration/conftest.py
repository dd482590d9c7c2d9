"""Fixtures shared by the web and API integration tests: a real share folder, crawled."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from elasticsearch import Elasticsearch

from crawler.smb import ShareLocation, SmbShare
from devstack.stack import LocalStack
from foi_core.accounts import create_user
from foi_core.audit_seal import load_audit_seal
from foi_core.db import build_engine, session_factory, transaction
from foi_core.migrate import upgrade
from foi_core.settings import Settings
from foi_core.sources import add_source
from indexer.documents import file_doc_id
from indexer.extract import ExtractOptions, TikaExtractor
from indexer.lifecycle import IndexNames, drop_all
from indexer.migration import ensure_index
from ingest.pipeline import CrawlPipeline
from ingest.processor import FileProcessor

PASSWORD = "correct horse battery staple"
CLERK_SID = "S-1-5-21-77-88-99-4444"
PUBLIC_ID = file_doc_id("hr", "Public/Parking permits – notice.txt")
SECRET_ID = file_doc_id("hr", "Private/Disciplinary hearing.txt")
HOSTILE_ID = file_doc_id("hr", "Public/Hostile.txt")
# Document content is hostile input: it must render inert everywhere.
HOSTILE_TEXT = 'Quarterly tarmac report <script>alert(1)</script> "><img src=x onerror=alert(2)>\n'


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A folder with a public and a private file, crawled into a fresh index and database."""
    settings = Settings.from_env()
    stack = LocalStack(settings)
    if not all(s.healthy for s in stack.status()):
        pytest.fail("services down — run `foi stack up`", pytrace=False)
    tmp = tmp_path_factory.mktemp("docs")
    prefix = f"test-docs-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        **{
            **settings.__dict__,
            "state_dir": tmp,
            "index_prefix": prefix,
            "database_url": f"sqlite:///{tmp / 'app.db'}",
            "secure_cookies": False,
        }
    )
    folder = f"docs-{uuid.uuid4().hex[:8]}"
    local = stack.samba.share_path("test") / folder
    owner = shutil.chown
    (local / "Public").mkdir(parents=True)
    (local / "Private").mkdir(parents=True)
    public = local / "Public" / "Parking permits – notice.txt"
    public.write_text("Residents parking permits scheme consultation zebra notice.\n" * 50)
    secret = local / "Private" / "Disciplinary hearing.txt"
    secret.write_text("Confidential disciplinary hearing outcome zebra memorandum.\n")
    hostile = local / "Public" / "Hostile.txt"
    hostile.write_text(HOSTILE_TEXT)
    for path in [local, local / "Public", local / "Private", public, secret, hostile]:
        owner(path, stack.samba.user, stack.samba.user)
    public.chmod(0o664)  # "other" may read: Samba grants Everyone (S-1-1-0)
    secret.chmod(0o660)  # no Everyone ACE: only the owner and group SIDs
    (local / "Private").chmod(0o770)

    engine = build_engine(settings)
    upgrade(engine)
    sessions = session_factory(engine, load_audit_seal(settings))
    secret_file = stack.paths.secrets / "samba_password"
    with transaction(sessions) as session:
        add_source(
            session,
            name="hr",
            server="127.0.0.1",
            port=stack.samba.port,
            share="test",
            root=folder,
            username=stack.samba.user,
            credential_ref=f"file:{secret_file}",
        )
        create_user(session, "clerk", "front_office", PASSWORD, [CLERK_SID])
        create_user(session, "olive", "foi_officer", PASSWORD)
    es = Elasticsearch(settings.elasticsearch_url)
    names = IndexNames(prefix)
    ensure_index(es, names)
    share = SmbShare(
        ShareLocation("127.0.0.1", stack.samba.port, "test", folder),
        stack.samba.user,
        stack.samba.password,
    )
    processor = FileProcessor(
        source="hr",
        share=share,
        es=es,
        names=names,
        extractor=TikaExtractor(settings.tika_url, ExtractOptions(60, 100_000, False)),
        sessions=sessions,
        max_file_bytes=10 * 1024 * 1024,
    )
    counts = CrawlPipeline(processor=processor, sessions=sessions).run()
    assert counts.by_status == {"ok": 3}
    es.indices.refresh(index=names.read_alias)
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (public, secret)}
    yield settings, hashes
    drop_all(es, names)
    for path in local.rglob("*"):
        path.chmod(0o770 if path.is_dir() else 0o660)
    shutil.rmtree(local)


@pytest.fixture
def broker_url(settings: Settings, stack: LocalStack) -> Iterator[str]:
    """A Redis database of the stack's server that this test alone uses, emptied afterwards."""
    base = settings.redis_url.rsplit("/", 1)[0]
    claim = f"foi-test-claim-{uuid.uuid4().hex}"
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(f"{base}/{db}")
        # Claimed atomically, and only while empty: a concurrent test takes another number.
        if client.dbsize() == 0 and client.set("foi-test-claim", claim, nx=True):
            break
        client.close()
    else:
        pytest.fail("no empty Redis database to use as a private broker")
    try:
        yield f"{base}/{db}"
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def postgres_url(stack: LocalStack) -> Iterator[str]:
    """A throwaway database on the stack's PostgreSQL (dropped even while workers hold it)."""
    base = stack.postgres.url
    name = f"test_{uuid.uuid4().hex[:10]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
