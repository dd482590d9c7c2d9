"""Cases' periodic jobs on Celery (distributed mode): the daily deadline reminders, the purge
of expired disclosure bundles, and bundles left queued or interrupted (a web process stopped).
In-process deployments run `foi cases remind`, `foi cases purge-exports` and
`foi cases export-pending` from cron instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from celery import Celery
from celery.schedules import crontab

from cases.export import ExportSettings, purge_expired
from cases.export_jobs import STALE_AFTER, run_queued
from cases.reminders import due_reminders, send_reminders
from cases.service import working_calendar
from cases.upkeep import reminder_cases
from foi_core.settings import Settings
from retention.context import Records

REMIND = "foi.cases.remind"
PURGE_EXPORTS = "foi.cases.purge_exports"
PENDING_EXPORTS = "foi.cases.pending_exports"
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Before the working day starts, so officers read them first thing.
    "deadline-reminders": {"task": REMIND, "schedule": crontab(hour=6, minute=30)},
    "purge-expired-bundles": {"task": PURGE_EXPORTS, "schedule": crontab(hour=3, minute=0)},
    "pending-bundles": {"task": PENDING_EXPORTS, "schedule": crontab(minute="*/5")},
}


def register_case_tasks(app: Celery, settings: Settings, records: Callable[[], Records]) -> None:
    @app.task(name=REMIND, acks_late=True, soft_time_limit=600, time_limit=900)  # type: ignore[untyped-decorator]
    def remind() -> int:
        if not settings.smtp_url:
            return 0
        context = records()
        with context.sessions() as session:
            reminders = due_reminders(
                reminder_cases(session, settings.internal_target_days),
                date.today(),
                working_calendar(session),
            )
        return send_reminders(reminders, settings.smtp_url, settings.mail_from)

    @app.task(name=PURGE_EXPORTS, acks_late=True, soft_time_limit=600, time_limit=900)  # type: ignore[untyped-decorator]
    def purge() -> int:
        return purge_expired(records())

    @app.task(name=PENDING_EXPORTS, acks_late=True)  # type: ignore[untyped-decorator]
    def pending_exports() -> int:
        # No time limit: a bundle takes as long as its originals take to re-read; an interrupted
        # one is found by its heartbeat, not by Celery.
        written = run_queued(records(), ExportSettings.from_settings(settings), waited=STALE_AFTER)
        return len(written)

    app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
