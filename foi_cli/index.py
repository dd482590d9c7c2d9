"""`foi index`: the search index's schema version, and the migration to a new one.

Migrating is the only way the index moves to a new schema version (crawls and workers refuse
an outdated index, they never migrate it); every migration, and every refused one, is audited
under the operator.
"""

from __future__ import annotations

import json
from datetime import timedelta

import click
from elasticsearch import ApiError, TransportError
from sqlalchemy import select

from foi_cli.runtime import operator, record_refusal
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import CrawlRun, as_utc
from foi_core.settings import Settings
from indexer.lifecycle import alias_state
from indexer.mapping import SCHEMA_VERSION
from indexer.migration import MigrationFailed, MigrationReport, index_status, migrate
from indexer.migration_lock import STALE_AFTER, MigrationLocked, MigrationLockLost, MigrationRefused
from services import Services


@click.group("index")
def index_group() -> None:
    """The search index: its schema version and migrations."""


@index_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
def index_status_command(settings: Settings, as_json: bool) -> None:
    """Show the index searches read and writes go to, its schema version, and whether a
    migration is needed, running or unfinished."""
    services = Services(settings)
    status = index_status(services.es, services.names)
    holder = status.holder.describe() if status.holder else None
    if as_json:
        fields = {
            "read_index": status.read_index,
            "write_index": status.write_index,
            "schema_version": status.schema_version,
            "needed_version": status.needed_version,
            "documents": status.documents,
            "state": status.state,
            "migration_lock": holder,
        }
        click.echo(json.dumps(fields, indent=2))
        return
    click.echo(f"searches read:   {status.read_index or '-'}")
    click.echo(f"writes go to:    {status.write_index or '-'}")
    click.echo(
        f"schema version:  {status.schema_version if status.schema_version else '-'} "
        f"(this version of foi needs {status.needed_version})"
    )
    if status.documents is not None:
        click.echo(f"documents:       {status.documents}")
    click.echo(f"state:           {status.state}")
    if holder:
        click.echo(f"migration lock:  held by {holder}")


@index_group.command("migrate")
@click.option(
    "--take-over-stale",
    is_flag=True,
    help="Take over the lock of a migration whose heartbeat is older than --stale-minutes "
    "(its process died); it is refused while the holder is alive.",
)
@click.option(
    "--stale-minutes",
    type=click.IntRange(min=1),
    default=int(STALE_AFTER.total_seconds() // 60),
    show_default=True,
    help="How old a lock's heartbeat must be for --take-over-stale.",
)
@click.option(
    "--during-crawl",
    is_flag=True,
    help="Migrate although crawl runs are marked running (only when those runs are dead).",
)
@click.option(
    "--keep-previous",
    is_flag=True,
    help="Keep the previous index (read-only, without aliases) for rollback. It keeps the "
    "text of records destroyed later, so delete it as soon as the migration is verified.",
)
@click.pass_obj
def index_migrate(
    settings: Settings,
    take_over_stale: bool,
    stale_minutes: int,
    during_crawl: bool,
    keep_previous: bool,
) -> None:
    """Migrate the index to this version's schema: copy every document into a new index
    behind the aliases (writes move first), then swap searches over. Running it again
    finishes a migration that stopped."""
    services = Services(settings)
    actor, target = operator(), services.names.concrete()
    if not during_crawl:
        running = _running_crawls(services)
        if running:
            reason = (
                f"crawls are running ({running}): a crawl reads back what it writes, which a "
                "migration delays; wait for them, or pass --during-crawl if they are dead"
            )
            record_refusal(
                services, actor=actor, action="index.migrate", target=target, reason=reason
            )
            raise click.ClickException(reason)
    try:
        report = migrate(
            services.es,
            services.names,
            owner=actor,
            take_over_stale=take_over_stale,
            stale_after=timedelta(minutes=stale_minutes),
            progress=_progress,
        )
    except (MigrationLocked, MigrationRefused) as exc:
        record_refusal(
            services, actor=actor, action="index.migrate", target=target, reason=str(exc)
        )
        raise click.ClickException(str(exc)) from None
    except (MigrationFailed, MigrationLockLost, ApiError, TransportError) as exc:
        # Stopped part-way: running it again resumes (indexer.migration).
        with transaction(services.sessions) as session:
            audit.record(
                session,
                actor=actor,
                action="index.migrate",
                target=target,
                outcome=audit.Outcome.FAILED,
                details={"error": str(exc)},
            )
        raise click.ClickException(str(exc)) from None
    if report.action == "current":
        click.echo(f"nothing to do: {report.target} is at schema version {SCHEMA_VERSION}")
        return
    previous_deleted = not keep_previous and _delete_previous(services, report)
    with transaction(services.sessions) as session:
        audit.record(
            session,
            actor=actor,
            action="index.migrate",
            target=report.target,
            details={**report.as_dict(), "previous_index_deleted": previous_deleted},
        )
    if report.action == "created":
        click.echo(f"there was no index: created {report.target}")
        return
    click.echo("", err=True)
    if report.took_over:
        click.echo(f"took over the stale lock of {report.took_over}")
    click.echo(
        f"{'finished the migration' if report.resumed else 'migrated'} from {report.source} "
        f"to {report.target}: {report.copied} documents copied, {report.kept_newer} already "
        f"newer in the target, {report.deleted} deleted during the migration, in "
        f"{report.seconds:.1f} s"
    )
    _say_what_became_of_previous(report, previous_deleted)


def _delete_previous(services: Services, report: MigrationReport) -> bool:
    """Delete the index migrated from, once no alias points at it. Disposal never reaches an
    index without aliases: kept, it would hold the text of every record destroyed from now on."""
    if report.action != "migrated" or not report.source:
        return False
    state = alias_state(services.es, services.names)
    if report.source in (state.read, state.write):
        return False
    services.es.options(ignore_status=404).indices.delete(index=report.source)
    return True


def _say_what_became_of_previous(report: MigrationReport, deleted: bool) -> None:
    if deleted:
        click.echo(f"deleted the previous index {report.source}")
    elif report.action == "migrated":
        click.echo(
            f"kept the previous index {report.source} (read-only): delete it once the migration "
            "is verified, since records destroyed from now on stay in it"
        )


def _progress(done: int) -> None:
    click.echo(f"\rcopying: {done} documents", nl=False, err=True)


def _running_crawls(services: Services) -> str:
    with services.sessions() as session:
        runs = session.execute(select(CrawlRun).where(CrawlRun.status == "running")).scalars()
        return ", ".join(
            f"{run.source_name} since {as_utc(run.started_at):%Y-%m-%d %H:%M} UTC" for run in runs
        )
