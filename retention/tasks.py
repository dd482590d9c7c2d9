"""Records management's periodic jobs on Celery (distributed mode): building disposal batches
daily, and retrying owed preservation copies (mailing records managers about new failures when
FOI_SMTP_URL is set). In-process deployments run the same functions from `foi retention run`,
`foi holds preserve` and `foi holds alert` (e.g. from cron).

Both jobs are idempotent: a batch is only built from eligible files not already in an open
batch, and preservation only works off tasks that are still owed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from celery import Celery
from celery.schedules import crontab

from foi_core.mail import MailError
from foi_core.settings import Settings
from retention.alerts import send_alerts
from retention.classify import current_schedule, reclassify
from retention.context import Records
from retention.disposal import build_batch
from retention.preservation import run_pending

log = logging.getLogger(__name__)

BUILD_BATCH = "foi.retention.build_batch"
PRESERVE = "foi.holds.preserve"
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Early morning: the batch waits for review when records managers start work.
    "disposal-batch-daily": {"task": BUILD_BATCH, "schedule": crontab(hour=2, minute=15)},
    "preservation-retry": {"task": PRESERVE, "schedule": crontab(minute="*/15")},
}


def register_retention_tasks(
    app: Celery, settings: Settings, records: Callable[[], Records]
) -> None:
    """Register the jobs on `app`; `records` builds (or returns) this process's Records."""

    @app.task(name=BUILD_BATCH, acks_late=True, soft_time_limit=3000, time_limit=3600)  # type: ignore[untyped-decorator]
    def build_disposal_batch() -> int | None:
        context = records()
        with context.sessions() as session:
            schedule = current_schedule(session)
        # Triggers move on (a case closes): classify afresh before choosing what is due.
        reclassify(context, schedule)
        return build_batch(context, actor="retention-schedule", today=date.today())

    @app.task(name=PRESERVE, acks_late=True, soft_time_limit=3000, time_limit=3600)  # type: ignore[untyped-decorator]
    def preserve_owed() -> dict[str, int]:
        context = records()
        report = run_pending(context, actor="preservation-retry")
        alerted = 0
        if settings.smtp_url:
            try:
                alerted = send_alerts(
                    context, settings.smtp_url, settings.mail_from, settings.organisation
                )
            except MailError as exc:  # tried again on the next run: nothing was marked mailed
                log.error("preservation failures not mailed: %s", exc)
        return {"preserved": report.preserved, "failed": report.failed, "alerted": alerted}

    app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
