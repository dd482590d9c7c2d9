"""E-mail to records managers about held information at risk: held files that could not be
copied into the preservation store, and held files changed or deleted at source.

Why: until its copy is made, a held file can still be changed or deleted at source, and losing
held information once a request has been made is what s.77 FOIA is about. Failures are shown on
the hold and document pages and retried every 15 minutes, and changes at source are recorded
and audited by the crawl, but nobody may be looking; this tells the people who can act (fix the
share's permissions, free space in the store, ask why a held file was edited or deleted).

Invariants:
- A failure is mailed once: the gist of the error mailed (its numbers left out, so "12 MiB
  free" then "9 MiB free" is not news) is kept on the task (`alerted_error`), so a failure that
  persists is not mailed again until what it says changes. A change at source (a held file
  changed or deleted; moves lose nothing and are not mailed) is mailed once (`alerted_at`).
  Both are claimed before the mail goes, so two runs at once never both mail one.
- A relay that accepts no message leaves nothing marked mailed: the next run tries again. One
  that refuses some addresses but delivers to others marks the news mailed (or everyone
  else would get it every 15 minutes) and records the refused addresses, audited.
- With no records manager address configured, nothing is marked mailed and a warning is logged.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from foi_core import audit
from foi_core.db import transaction
from foi_core.mail import MailError, send_mail
from foi_core.models import (
    HeldDocument,
    Hold,
    PreservationStatus,
    PreservationTask,
    Role,
    SourceChange,
    User,
    as_utc,
)
from retention.context import Records

log = logging.getLogger(__name__)

# One message lists at most this many files (the hold pages list them all).
MAX_LISTED = 50
_NUMBER = re.compile(r"\d[\d,.]*")


@dataclass(frozen=True)
class Alert:
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class Failure:
    task_id: int
    source: str
    path: str
    error: str
    attempts: int
    holds: tuple[str, ...]


def gist(error: str) -> str:
    """What an error says, without its changing numbers ("12 MiB free" and "9 MiB free" are
    the same news): compared with, and kept as, the error last mailed."""
    return _NUMBER.sub("#", error)


def unalerted(session: Session) -> list[Failure]:
    """Failed copies whose current error has not been mailed, oldest first."""
    tasks = (
        session.execute(
            select(PreservationTask)
            .where(PreservationTask.status == PreservationStatus.FAILED)
            .order_by(PreservationTask.id)
        )
        .scalars()
        .all()
    )
    news = [t for t in tasks if t.alerted_error != gist(t.error)]
    holds = _hold_names(session, [t.root_id for t in news])
    return [
        Failure(t.id, t.source_name, t.path, t.error, t.attempts, holds.get(t.root_id, ()))
        for t in news
    ]


def compose(
    failures: Sequence[Failure], recipients: Sequence[str], organisation: str
) -> list[Alert]:
    """The same message to each records manager. Pure."""
    count = len(failures)
    files = _held_files(count)
    subject = f"Action needed: {files} could not be preserved"
    lines = [
        f"{_service(organisation)} could not copy {files} into the preservation store.",
        "",
        "Until a file is copied, a change or deletion at source could lose held information. "
        "The service retries every 15 minutes; the hold pages show each file's state.",
        "",
    ]
    for failure in failures[:MAX_LISTED]:
        lines.append(f"- {failure.source}: {' '.join(failure.path.split())}")
        lines.append(f"  Error: {' '.join(failure.error.split())}")
        if failure.holds:
            lines.append(f"  Holds: {', '.join(failure.holds)}")
        lines.append(f"  Attempts so far: {failure.attempts}")
    if count > MAX_LISTED:
        lines.append(f"... and {count - MAX_LISTED:,} more (see the hold pages).")
    lines += [
        "",
        "Usual causes: the service account cannot read the file (check the share's "
        "permissions), or the preservation store is full (FOI_PRESERVATION_DIR).",
    ]
    body = "\n".join(lines) + "\n"
    return [Alert(to, subject, body) for to in recipients]


@dataclass(frozen=True)
class ChangeNotice:
    change_id: int
    change: str  # changed | deleted
    source: str
    path: str
    detected_at: datetime
    preserved: bool
    holds: tuple[str, ...]


# What a crawl records about held files that is news for records managers.
MAILED_CHANGES = ("changed", "deleted")


def unmailed_changes(session: Session) -> list[ChangeNotice]:
    """Held files changed or deleted at source that have not been mailed, oldest first."""
    rows = (
        session.execute(
            select(SourceChange)
            .where(SourceChange.alerted_at.is_(None), SourceChange.change.in_(MAILED_CHANGES))
            .order_by(SourceChange.id)
        )
        .scalars()
        .all()
    )
    holds = _hold_names(session, [row.root_id for row in rows])
    return [
        ChangeNotice(
            row.id,
            row.change,
            row.source_name,
            row.path,
            as_utc(row.detected_at),
            row.preserved,
            holds.get(row.root_id, ()),
        )
        for row in rows
    ]


def compose_changes(
    changes: Sequence[ChangeNotice], recipients: Sequence[str], organisation: str
) -> list[Alert]:
    """The same message to each records manager. Pure."""
    count = len(changes)
    files = _held_files(count)
    lost = sum(not c.preserved for c in changes)
    subject = f"{files} changed or deleted at source"
    if lost:
        subject = f"Action needed: {subject}, {lost:,} not preserved"
    lines = [
        f"{_service(organisation)} found "
        f"{files} changed or deleted on the file share while on hold.",
        "",
        "The content as held is kept: a changed file's held version and a deleted file's "
        "original stay on the document pages and in the preservation store. Check that the "
        "change was expected, and that nothing else held is being edited or cleared out.",
        "",
    ]
    for change in changes[:MAX_LISTED]:
        when = change.detected_at.strftime("%d %b %Y %H:%M UTC")
        lines.append(f"- {change.source}: {' '.join(change.path.split())}")
        lines.append(f"  {change.change.capitalize()} at source, found {when}")
        lines.append(
            "  Original: preserved"
            if change.preserved
            else "  Original: NOT preserved (it may be lost; see the hold page)"
        )
        if change.holds:
            lines.append(f"  Holds: {', '.join(change.holds)}")
    if count > MAX_LISTED:
        lines.append(f"... and {count - MAX_LISTED:,} more (see the hold pages).")
    body = "\n".join(lines) + "\n"
    return [Alert(to, subject, body) for to in recipients]


def send_alerts(records: Records, smtp_url: str, mail_from: str, organisation: str = "") -> int:
    """Mail every unmailed preservation failure, and every unmailed change at source of a held
    file, to every active records manager with an address (one message for each kind of
    news); returns how many failures and changes were mailed. Raises
    `foi_core.mail.MailError` when no message of a kind could be sent (that news is then not
    marked mailed, so the next run tries again)."""
    with records.sessions() as session:
        recipients = list(
            session.execute(
                select(User.email).where(
                    User.role == Role.RECORDS_MANAGER, User.active.is_(True), User.email != ""
                )
            ).scalars()
        )
        pending = unalerted(session)
        changes = unmailed_changes(session)
    if not recipients:
        if pending or changes:
            log.warning(
                "%d preservation failures and %d changes at source of held files not mailed: "
                "no records manager has an e-mail address",
                len(pending),
                len(changes),
            )
        return 0
    mailed = 0
    undelivered: list[MailError] = []
    # Claim before sending, so two runs at once (cron and beat) never mail the same news.
    claimed = _claim(records, pending)
    if claimed:
        try:
            _deliver(
                records,
                compose(claimed, recipients, organisation),
                smtp_url,
                mail_from,
                ("preservation_alert", "preservation"),
                {"failures": len(claimed)},
            )
            mailed += len(claimed)
        except MailError as exc:
            _unclaim(records, claimed)
            undelivered.append(exc)
    noticed = _claim_changes(records, changes)
    if noticed:
        try:
            _deliver(
                records,
                compose_changes(noticed, recipients, organisation),
                smtp_url,
                mail_from,
                ("source_change_alert", "held_source_changes"),
                {"changes": len(noticed), "ids": [c.change_id for c in noticed][:200]},
            )
            mailed += len(noticed)
        except MailError as exc:
            _unclaim_changes(records, noticed)
            undelivered.append(exc)
    if undelivered:
        raise undelivered[0]
    return mailed


def _deliver(
    records: Records,
    alerts: Sequence[Alert],
    smtp_url: str,
    mail_from: str,
    audited_as: tuple[str, str],
    details: dict[str, Any],
) -> None:
    """Send and audit (as action, target). Raises MailError only when no message was
    accepted."""
    action, target = audited_as
    refused: tuple[str, ...] = ()
    try:
        send_mail(alerts, smtp_url, mail_from)
    except MailError as exc:
        if exc.sent == 0:
            raise
        # Delivered to someone: marked mailed, or everyone else would get it every run.
        refused = exc.failed
        log.error("%s not delivered to %s: %s", action, ", ".join(refused), exc)
    recipients = [alert.to for alert in alerts]
    with transaction(records.sessions) as session:
        audit.record(
            session,
            actor="system",
            action=action,
            target=target,
            outcome=audit.Outcome.FAILED if refused else audit.Outcome.OK,
            details={
                **details,
                "recipients": [r for r in recipients if r not in refused],
                "refused": list(refused),
            },
        )


def _claim_changes(records: Records, changes: Sequence[ChangeNotice]) -> list[ChangeNotice]:
    claimed = []
    now = datetime.now(UTC)
    with transaction(records.sessions) as session:
        for change in changes:
            taken = session.execute(
                update(SourceChange)
                .where(SourceChange.id == change.change_id, SourceChange.alerted_at.is_(None))
                .values(alerted_at=now)
            ).rowcount  # type: ignore[attr-defined]
            if taken:
                claimed.append(change)
    return claimed


def _unclaim_changes(records: Records, changes: Sequence[ChangeNotice]) -> None:
    """Only this run's claims are undone: nobody else can claim a change this run holds."""
    with transaction(records.sessions) as session:
        session.execute(
            update(SourceChange)
            .where(SourceChange.id.in_([c.change_id for c in changes]))
            .values(alerted_at=None)
        )


def _claim(records: Records, failures: Sequence[Failure]) -> list[Failure]:
    claimed = []
    with transaction(records.sessions) as session:
        for failure in failures:
            mark = gist(failure.error)
            changed = session.execute(
                update(PreservationTask)
                .where(
                    PreservationTask.id == failure.task_id,
                    PreservationTask.error == failure.error,
                    or_(
                        PreservationTask.alerted_error.is_(None),
                        PreservationTask.alerted_error != mark,
                    ),
                )
                .values(alerted_error=mark)
            ).rowcount  # type: ignore[attr-defined]
            if changed:
                claimed.append(failure)
    return claimed


def _unclaim(records: Records, failures: Sequence[Failure]) -> None:
    with transaction(records.sessions) as session:
        for failure in failures:
            session.execute(
                update(PreservationTask)
                .where(
                    PreservationTask.id == failure.task_id,
                    PreservationTask.alerted_error == gist(failure.error),
                )
                .values(alerted_error=None)
            )


def _hold_names(session: Session, root_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    names: dict[str, list[str]] = defaultdict(list)
    if not root_ids:
        return {}
    rows = session.execute(
        select(HeldDocument.root_id, Hold.name)
        .join(Hold, Hold.id == HeldDocument.hold_id)
        .where(HeldDocument.root_id.in_(list(dict.fromkeys(root_ids))), Hold.released_at.is_(None))
        .order_by(Hold.id)
    ).all()
    for root_id, name in rows:
        names[root_id].append(name)
    return {root: tuple(found) for root, found in names.items()}


def _held_files(count: int) -> str:
    return "1 held file" if count == 1 else f"{count:,} held files"


def _service(organisation: str) -> str:
    return f"The FOI records service{' of ' + organisation if organisation else ''}"
