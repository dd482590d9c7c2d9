"""The audit log's periodic checkpoint on Celery (distributed mode): the committed head is
anchored outside the database every hour, so a rewrite of history is caught by a checkpoint
at most an hour old. In-process deployments get the same from `foi audit checkpoint` (cron),
and every crawl, `foi db upgrade` and `foi audit verify` anchor one too.

Point FOI_AUDIT_ANCHOR_FILE at storage every worker shares and database administrators
cannot write; a checkpoint is one appended line, so running it twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.schedules import crontab

from foi_core import audit
from retention.context import Records

CHECKPOINT = "foi.audit.checkpoint"
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "audit-checkpoint-hourly": {"task": CHECKPOINT, "schedule": crontab(minute=5)},
}


def register_audit_tasks(app: Celery, records: Callable[[], Records]) -> None:
    """Register the checkpoint job on `app`; `records` builds this process's Records."""

    @app.task(name=CHECKPOINT, acks_late=True, soft_time_limit=60, time_limit=120)  # type: ignore[untyped-decorator]
    def checkpoint_audit_log() -> int:
        return audit.checkpoint(records().sessions).entry_id

    app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
