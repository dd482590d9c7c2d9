"""`foi stack up | down | status`."""

from __future__ import annotations

import click

from devstack.base import MissingPrerequisite, ServiceFailed, ServiceStatus
from devstack.stack import LocalStack
from foi_core.settings import Settings


def _print_status(statuses: list[ServiceStatus]) -> None:
    for status in statuses:
        mark = "healthy" if status.healthy else "DOWN"
        pid = f"pid {status.pid}" if status.pid else "not started by us"
        click.echo(f"{status.name:<14}{mark:<9}{status.address:<42}{pid:<20}{status.detail}")


@click.group("stack")
def stack_group() -> None:
    """Install and run the local services (Elasticsearch, Tika, Samba, Redis, PostgreSQL)."""


@stack_group.command("up")
@click.option("--test-tools", is_flag=True, help="Also install headless Chromium for tests.")
@click.pass_obj
def up(settings: Settings, test_tools: bool) -> None:
    """Install what is missing and start every service on loopback (idempotent)."""
    try:
        statuses = LocalStack(settings).up(
            report=lambda line: click.echo(f"  {line}"), test_tools=test_tools
        )
    except MissingPrerequisite as exc:
        raise click.ClickException(str(exc)) from None
    except ServiceFailed as exc:
        raise click.ClickException(str(exc)) from None
    _print_status(statuses)
    if not all(status.healthy for status in statuses):
        raise click.ClickException("some services are not healthy")


@stack_group.command("down")
@click.pass_obj
def down(settings: Settings) -> None:
    """Stop the processes `foi stack up` started (and nothing else)."""
    LocalStack(settings).down(report=lambda line: click.echo(f"  {line}"))


@stack_group.command("status")
@click.pass_obj
def status(settings: Settings) -> None:
    """Each service with its address, pid and health; exits 1 when any is down."""
    statuses = LocalStack(settings).status()
    _print_status(statuses)
    if not all(s.healthy for s in statuses):
        raise SystemExit(1)
