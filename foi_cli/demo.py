"""`foi demo` (the README's run command) and `foi serve`."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import click
from sqlalchemy import select

from demo.seed import seed_share
from devstack.base import MissingPrerequisite, ServiceFailed
from devstack.stack import LocalStack
from foi_core import audit
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import User
from foi_core.private_files import PRIVATE_UMASK
from foi_core.settings import Settings
from foi_core.sources import add_source, get_source
from retention.classify import current_schedule, save_schedule
from retention.schedule import seed_schedule_text
from services import Services

DEMO_SOURCE = "demo"


def _ensure_admin(services: Services) -> None:
    settings = services.settings
    with transaction(services.sessions) as session:
        if session.execute(select(User).where(User.username == "admin")).scalar_one_or_none():
            click.echo("  admin account exists (password unchanged)")
            return
        password = settings.admin_password or secrets.token_urlsafe(15)
        create_user(session, "admin", "admin", password)
        audit.record(
            session, actor="demo", action="user.create", target="admin", details={"role": "admin"}
        )
    if settings.admin_password:
        click.echo("  created admin account with the password from FOI_ADMIN_PASSWORD")
    else:
        click.echo(f"  created admin account; password (shown once): {password}")


@click.command("demo")
@click.option("--serve/--no-serve", default=True, help="Serve the web app when done.")
@click.option("--port", default=5000, show_default=True)
@click.pass_obj
def demo_command(settings: Settings, serve: bool, port: int) -> None:
    """Bring the stack up, migrate, create the admin, fill and crawl the demo share, serve."""
    stack = LocalStack(settings)
    click.echo("starting the local stack")
    try:
        stack.up(report=lambda line: click.echo(f"  {line}"))
    except (MissingPrerequisite, ServiceFailed) as exc:
        raise click.ClickException(str(exc)) from None
    # The stack is up: from here on everything this process creates is private.
    os.umask(PRIVATE_UMASK)
    services = Services(settings)
    upgrade(services.engine)
    try:
        audit.checkpoint(services.sessions)
    except audit.AnchorMissing as exc:
        click.echo(f"warning: audit log not anchored: {exc}", err=True)
    click.echo("database migrated")
    _ensure_admin(services)
    samba = stack.samba
    secret_file = stack.paths.secrets / "samba_password"
    with transaction(services.sessions) as session:
        if get_source(session, DEMO_SOURCE) is None:
            add_source(
                session,
                name=DEMO_SOURCE,
                server="127.0.0.1",
                port=samba.port,
                share="demo",
                username=samba.user,
                credential_ref=f"file:{secret_file}",
            )
    documents = seed_share("127.0.0.1", samba.port, "demo", samba.user, samba.password)
    click.echo(f"demo share \\\\127.0.0.1\\demo holds {len(documents)} sample documents")
    with services.sessions() as session:
        source = get_source(session, DEMO_SOURCE)
    assert source is not None
    counts = services.pipeline(source).run()
    with transaction(services.sessions) as session:
        audit.record(
            session, actor="demo", action="crawl", target=DEMO_SOURCE, details=counts.as_dict()
        )
    click.echo(
        f"crawled: {counts.seen} files, {counts.extracted} extracted, statuses {counts.by_status}"
    )
    with services.sessions() as session:
        has_schedule = current_schedule(session) is not None
    if not has_schedule:
        schedule = save_schedule(services.indexed_records(), seed_schedule_text(), actor="demo")
        click.echo(
            f"loaded the seed retention schedule ({len(schedule.classes)} classes; it needs the "
            "council's own sign-off before any disposal)"
        )
    click.echo(
        "holds and disposal decisions need a records manager: "
        "foi users add NAME --role records_manager"
    )
    if serve:
        _serve(port)


def _serve(port: int) -> None:
    # Next to this interpreter first: the venv's bin folder is often not on PATH.
    beside = Path(sys.executable).with_name("gunicorn")
    gunicorn = str(beside) if beside.exists() else shutil.which("gunicorn")
    if gunicorn is None:
        raise click.ClickException("gunicorn not found: reinstall with `make install`")
    click.echo(f"serving on http://127.0.0.1:{port} (Ctrl-C stops)")
    # Replace this process with the server (argv is fixed, no shell involved).
    os.execv(  # noqa: S606
        gunicorn,
        [
            gunicorn,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--config",
            "python:search_app.gunicorn_conf",
            "search_app:create_app()",
        ],
    )


@click.command("serve")
@click.option("--port", default=5000, show_default=True)
def serve_command(port: int) -> None:
    """Serve the web app with gunicorn on 127.0.0.1."""
    _serve(port)
