"""`foi sources ...` and `foi crawl`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import click

from crawler.smb import SourceError
from foi_cli.runtime import operator, record_refusal
from foi_core import audit
from foi_core.audit import Outcome
from foi_core.credentials import CredentialError
from foi_core.db import transaction
from foi_core.models import CrawlRun
from foi_core.settings import Settings
from foi_core.sources import SourceConfigError, add_source, get_source, list_sources, remove_source
from indexer.lifecycle import IndexOutdated
from ingest.distributed import workers_consuming
from ingest.pipeline import CrawlCounts
from services import Services


@click.group("sources")
def sources_group() -> None:
    """SMB shares to crawl. Credentials are references: env:VAR or file:/path."""


@sources_group.command("add")
@click.argument("name")
@click.option("--server", required=True)
@click.option("--port", default=445, show_default=True, type=int)
@click.option("--share", required=True)
@click.option("--root", default="", help="Folder inside the share to start from.")
@click.option("--user", "username", required=True)
@click.option(
    "--credential",
    "credential_ref",
    required=True,
    help="env:VARIABLE or file:/path/to/secret (never the password itself).",
)
@click.option("--include", multiple=True, help="Glob of paths to include (repeatable).")
@click.option("--exclude", multiple=True, help="Glob of paths to exclude (repeatable).")
@click.pass_obj
def sources_add(
    settings: Settings,
    name: str,
    server: str,
    port: int,
    share: str,
    root: str,
    username: str,
    credential_ref: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Register a share."""
    services = Services(settings)
    try:
        with transaction(services.sessions) as session:
            add_source(
                session,
                name=name,
                server=server,
                port=port,
                share=share,
                username=username,
                credential_ref=credential_ref,
                root=root,
                include=include,
                exclude=exclude,
            )
            audit.record(
                session,
                actor=operator(),
                action="source.add",
                target=name,
                details={"server": server, "port": port, "share": share},
            )
    except SourceConfigError as exc:
        record_refusal(
            services, actor=operator(), action="source.add", target=name, reason=str(exc)
        )
        raise click.ClickException(str(exc)) from None
    click.echo(f"added source {name}: \\\\{server}\\{share} (port {port})")


@sources_group.command("list")
@click.pass_obj
def sources_list(settings: Settings) -> None:
    with Services(settings).sessions() as session:
        for source in list_sources(session):
            click.echo(
                f"{source.name:<16}\\\\{source.server}\\{source.share}\\{source.root}"
                f"  port {source.port}  user {source.username}  "
                f"credential {source.credential_ref.split(':', 1)[0]}:…"
            )


@sources_group.command("remove")
@click.argument("name")
@click.pass_obj
def sources_remove(settings: Settings, name: str) -> None:
    services = Services(settings)
    try:
        with transaction(services.sessions) as session:
            remove_source(session, name)
            audit.record(session, actor=operator(), action="source.remove", target=name)
    except SourceConfigError as exc:
        record_refusal(
            services, actor=operator(), action="source.remove", target=name, reason=str(exc)
        )
        raise click.ClickException(str(exc)) from None
    click.echo(f"removed source {name}")


@sources_group.command("test")
@click.argument("name")
@click.pass_obj
def sources_test(settings: Settings, name: str) -> None:
    """Connect and list the root; report exactly what is wrong if that fails."""
    services = Services(settings)
    with services.sessions() as session:
        source = get_source(session, name)
    if source is None:
        raise click.ClickException(f"no source named {name!r}")
    try:
        services.share(source).test()
    except (SourceError, CredentialError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"ok: connected to \\\\{source.server}\\{source.share} and listed its root")


def _progress_line(counts: CrawlCounts, started: float) -> str:
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = counts.done / elapsed
    # The ETA assumes the share holds about as many files as the last finished crawl saw.
    left = max(counts.expected - counts.done, 0)
    eta = f"  ETA {int(left / rate) // 60}m{int(left / rate) % 60:02d}s" if rate and left else ""
    return (
        f"\rseen {counts.seen}  new {counts.new}  changed {counts.changed}  "
        f"unchanged {counts.unchanged}  extracted {counts.extracted}  failed {counts.failed}"
        f"  {rate:.1f} files/s{eta} "
    )


def _announce_workers(services: Services) -> None:
    queue = services.settings.task_queue
    broker = services.celery.connection_for_write().as_uri()  # password masked
    click.echo(f"dispatching to Celery workers: queue {queue!r} on {broker}", err=True)
    workers = workers_consuming(services.celery, queue)
    if workers:
        click.echo(f"workers on the queue: {', '.join(workers)}", err=True)
    else:
        click.echo(
            "no `foi worker` answered yet: batches wait in the queue until one does", err=True
        )


@click.command("crawl")
@click.argument("source_name", required=False)
@click.option("--full", is_flag=True, help="Re-read every file, not just changed ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def crawl_command(settings: Settings, source_name: str | None, full: bool, as_json: bool) -> None:
    """Crawl one source (or all): in-process, or on `foi worker`s when FOI_BROKER_URL is set."""
    services = Services(settings)
    if settings.broker_url:
        _announce_workers(services)
    with services.sessions() as session:
        sources = list_sources(session)
    if source_name:
        sources = [s for s in sources if s.name == source_name]
        if not sources:
            raise click.ClickException(f"no source named {source_name!r}")
    summaries: dict[str, dict[str, object]] = {}
    failures: list[str] = []
    for source in sources:
        started = time.monotonic()
        show = (
            None
            if as_json
            else lambda c, s=started: click.echo(_progress_line(c, s), nl=False, err=True)
        )
        try:
            counts = services.pipeline(source).run(full=full, progress=show)
        except IndexOutdated as exc:
            # Every source would meet the same index: stop, and say what to run.
            raise click.ClickException(str(exc)) from None
        except (SourceError, CredentialError) as exc:
            # Recorded and audited like any other run, and the other sources still get crawled.
            _record_failed_run(services, source.name, str(exc))
            failures.append(f"{source.name}: {exc}")
            summaries[source.name] = {"status": "failed", "error": str(exc)}
            if not as_json:
                click.echo(f"{source.name}: FAILED: {exc}", err=True)
            continue
        with transaction(services.sessions) as session:
            audit.record(
                session,
                actor=operator(),
                action="crawl",
                target=source.name,
                details=counts.as_dict(),
            )
        summaries[source.name] = {
            **counts.as_dict(),
            "seconds": round(time.monotonic() - started, 2),
        }
        if not as_json:
            click.echo("", err=True)
            click.echo(
                f"{source.name}: {counts.seen} files, {counts.new} new, "
                f"{counts.changed} changed, {counts.renamed} renamed, "
                f"{counts.extracted} extracted, {counts.reused} duplicates reused, "
                f"{counts.failed} not extracted, {counts.deleted} deleted, "
                f"{counts.problems} unreadable folders; statuses {counts.by_status}"
            )
    # Everything the crawls audited is anchored outside the database at once.
    try:
        audit.checkpoint(services.sessions)
    except audit.AnchorMissing as exc:  # the crawl is done; the log's problem is reported
        click.echo(f"warning: audit log not anchored: {exc}", err=True)
    if as_json:
        click.echo(json.dumps(summaries, indent=2))
    if failures:
        raise click.ClickException("crawl failed for " + "; ".join(failures))


def _record_failed_run(services: Services, source: str, error: str) -> None:
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        session.add(
            CrawlRun(
                source_name=source,
                status="failed",
                error=error,
                counts={},
                started_at=now,
                finished_at=now,
            )
        )
        audit.record(
            session,
            actor=operator(),
            action="crawl",
            target=source,
            outcome=Outcome.FAILED,
            details={"error": error},
        )
