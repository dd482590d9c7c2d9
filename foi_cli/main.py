"""The `foi` command: the composition root that wires settings into every part."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from foi_cli.admin import audit_group, db_group, groups_group, tokens_group, users_group
from foi_cli.cases import cases_group
from foi_cli.crawl import crawl_command, sources_group
from foi_cli.deadline import deadline_command
from foi_cli.demo import demo_command, serve_command
from foi_cli.index import index_group
from foi_cli.retention import holds_group, retention_group
from foi_cli.stack import stack_group
from foi_cli.worker import beat_command, worker_command
from foi_core.private_files import PRIVATE_UMASK
from foi_core.settings import Settings, SettingsError
from indexer.lifecycle import IndexOutdated


class _Commands(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IndexOutdated as exc:
            # Any command that needs the index says what to run, not a traceback.
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Commands)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """FOI records discovery: crawl council file shares, search, hold and export records."""
    try:
        ctx.obj = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


for command in (
    stack_group,
    db_group,
    users_group,
    groups_group,
    tokens_group,
    audit_group,
    index_group,
    sources_group,
    crawl_command,
    worker_command,
    beat_command,
    demo_command,
    serve_command,
    deadline_command,
    holds_group,
    retention_group,
    cases_group,
):
    cli.add_command(command)


def main() -> None:
    # Everything `foi` creates is private to its account (see foi_core.private_files), except
    # the local stack's folders, which its services' own account must be able to reach.
    if sys.argv[1:2] not in (["stack"], ["demo"]):
        os.umask(PRIVATE_UMASK)
    cli(prog_name="foi")
