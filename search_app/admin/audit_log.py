"""Audit log browsing and export (admins, records managers: `permissions.AUDIT_LOG`) and crawl
status (admins: `permissions.ADMINISTRATION`)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, select

from foi_core.audit import CSV_HEADER, Outcome, csv_row, record, verify_chain
from foi_core.csv_safe import csv_cells
from foi_core.db import transaction
from foi_core.models import AuditEvent, CrawlRun, FileState
from foi_core.sources import get_source, list_sources
from search_app import permissions
from search_app.auth import require_role, services, signed_in_user
from search_app.request_input import client_ip

_STARTED_CRAWLS: list[subprocess.Popen[bytes]] = []

bp = Blueprint("admin", __name__)
AUDIT_PAGE = 50
FAILED = ("encrypted", "unsupported_type", "corrupt", "timeout", "too_large", "access_denied")


def _audit_filters() -> tuple[Select[AuditEvent], dict[str, str], str]:
    args = {k: request.args.get(k, "").strip()[:150] for k in ("actor", "action", "since")}
    query = select(AuditEvent)
    error = ""
    if args["actor"]:
        query = query.where(AuditEvent.actor == args["actor"])
    if args["action"]:
        query = query.where(AuditEvent.action == args["action"])
    if args["since"]:
        try:
            since = datetime.combine(date.fromisoformat(args["since"]), time(), UTC)
            query = query.where(AuditEvent.at >= since)
        except ValueError:
            error = "Enter the date as YYYY-MM-DD, for example 2026-01-31."
    return query, args, error


def _audit_self(action: str, details: dict[str, Any]) -> None:
    user = signed_in_user()
    with transaction(services().sessions) as session:
        record(
            session,
            actor=user.username,
            action=action,
            ip=client_ip(),
            outcome=Outcome.OK,
            details=details,
        )


@bp.get("/audit")
@require_role(*permissions.AUDIT_LOG)
def audit_log() -> ResponseReturnValue:
    query, args, error = _audit_filters()
    before = request.args.get("before", "")
    page_query = query.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE)
    # isdecimal, not isdigit: int() refuses "²"; and no id is longer than ten digits.
    if before.isdecimal() and len(before) <= 10:
        page_query = page_query.where(AuditEvent.id < int(before))
    with services().sessions() as session:
        events = [] if error else list(session.execute(page_query).scalars())
        chain = verify_chain(session)
    _audit_self("audit.view", {"filters": args})
    return render_template(
        "audit.html",
        events=events,
        args=args,
        error=error,
        chain=chain,
        next_before=events[-1].id if len(events) == AUDIT_PAGE else None,
    )


@bp.get("/audit.csv")
@require_role(*permissions.AUDIT_LOG)
def audit_export() -> ResponseReturnValue:
    query, args, error = _audit_filters()
    if error:
        flash(error)
        return redirect(url_for("admin.audit_log"))
    _audit_self("audit.export", {"filters": args})
    sessions = services().sessions

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_HEADER)
        last = 0
        while True:
            with sessions() as session:
                batch = list(
                    session.execute(
                        query.where(AuditEvent.id > last).order_by(AuditEvent.id).limit(1000)
                    ).scalars()
                )
            if not batch:
                break
            for event in batch:
                writer.writerow(csv_cells(csv_row(event)))
            last = batch[-1].id
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = Response(rows(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response


def _eta(run: CrawlRun) -> tuple[float | None, float | None]:
    """Files per second and seconds remaining, from the run's recorded progress."""
    counts = run.counts or {}
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    done = int(counts.get("seen", 0))
    rate = done / elapsed if elapsed > 0 and done else None
    expected = int(counts.get("expected", 0))
    if rate and expected > done:
        return rate, (expected - done) / rate
    return rate, None


@bp.get("/crawls")
@require_role(*permissions.ADMINISTRATION)
def crawls() -> ResponseReturnValue:
    with services().sessions() as session:
        rows = []
        for source in list_sources(session):
            runs = list(
                session.execute(
                    select(CrawlRun)
                    .where(CrawlRun.source_name == source.name)
                    .order_by(CrawlRun.id.desc())
                    .limit(5)
                ).scalars()
            )
            failures: dict[str, int] = {
                status: count
                for status, count in session.execute(
                    select(FileState.status, func.count())
                    .where(
                        FileState.source_name == source.name,
                        FileState.status.in_(FAILED),
                        FileState.deleted.is_(False),
                    )
                    .group_by(FileState.status)
                )
            }
            rate, eta = _eta(runs[0]) if runs and runs[0].status == "running" else (None, None)
            rows.append(
                {
                    "source": source,
                    "runs": runs,
                    "failures": failures,
                    "rate": rate,
                    "eta": timedelta(seconds=int(eta)) if eta else None,
                }
            )
    return render_template("crawls.html", rows=rows)


@bp.get("/crawls/<name>/failures/<status>")
@require_role(*permissions.ADMINISTRATION)
def crawl_failures(name: str, status: str) -> ResponseReturnValue:
    if status not in FAILED:
        abort(404)
    with services().sessions() as session:
        files = list(
            session.execute(
                select(FileState)
                .where(
                    FileState.source_name == name,
                    FileState.status == status,
                    FileState.deleted.is_(False),
                )
                .order_by(FileState.path)
                .limit(1000)
            ).scalars()
        )
    return render_template("crawl_failures.html", name=name, status=status, files=files)


@bp.post("/crawls/<name>/run")
@require_role(*permissions.ADMINISTRATION)
def crawl_rerun(name: str) -> ResponseReturnValue:
    with services().sessions() as session:
        source = get_source(session, name)
        running = session.execute(
            select(CrawlRun).where(CrawlRun.source_name == name, CrawlRun.status == "running")
        ).first()
    if source is None:
        abort(404)
    if running is not None:
        flash(f"A crawl of {name} is already running.")
        return redirect(url_for("admin.crawls"))
    log = services().settings.state_dir / "logs" / f"crawl-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        # A separate process: a crawl outlives any one web request and worker.
        process = subprocess.Popen(
            [sys.executable, "-m", "foi_cli", "crawl", name, "--json"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # The child rebuilds exactly this app's settings (database, index, services).
            env={**os.environ, **services().settings.to_env()},
        )
    # Held until it exits (polling reaps it): a dropped Popen of a live child makes Python
    # warn, and an unreaped one stays a zombie for the life of the web worker.
    _STARTED_CRAWLS[:] = [p for p in _STARTED_CRAWLS if p.poll() is None]
    _STARTED_CRAWLS.append(process)
    _audit_self("crawl.start", {"source": name})
    flash(f"Crawl of {name} started.")
    return redirect(url_for("admin.crawls"))
