"""The `foi` command: the composition root that wires settings into every part."""

from __future__ import annotations

import click

from foi_cli.stack import stack_group
from foi_core.settings import Settings, SettingsError


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """FOI records discovery: crawl council file shares, search, hold and export records."""
    try:
        ctx.obj = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


cli.add_command(stack_group)


def main() -> None:
    cli(prog_name="foi")
