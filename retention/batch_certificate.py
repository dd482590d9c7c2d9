"""A destruction certificate made from a disposal batch as recorded in the database.

Called inside the transaction that marks the batch executed, after its `disposal_execute`
audit entry, so the audit head printed on the certificate is that entry: a later rewrite of
the log up to it no longer matches the certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core.audit import head_statement
from foi_core.models import DisposalBatch, DisposalItem, User
from retention.certificate import (
    CertificateInfo,
    DestroyedItem,
    Person,
    SkippedItem,
    certificate_csv,
    certificate_pdf,
)
from retention.disposal_checks import CHECKS_STATEMENT, ONE_PERSON_WARNING

METHOD = "Deleted from the SMB share; content removed from the index; metadata stub kept"
# Who builds a batch when no person does: the daily job.
SCHEDULED_ACTORS = {"retention-schedule": "scheduled job (foi beat), not a person"}
# How `foi_cli.runtime.operator` names the operating-system account behind a command.
_COMMAND_LINE = " (command line)"


def people(session: Session, names: Sequence[str]) -> dict[str, Person]:
    """Each name with the role its account has now (or what it is, for a scheduled job)."""
    roles = dict(
        session.execute(select(User.username, User.role).where(User.username.in_(names))).all()
    )
    found: dict[str, Person] = {}
    for name in names:
        if name in roles:
            found[name] = Person(name, str(roles[name]).replace("_", " "))
        elif name.endswith(_COMMAND_LINE):
            account = name.removesuffix(_COMMAND_LINE)
            found[name] = Person(account, "operating-system account, at the command line")
        else:
            found[name] = Person(name, SCHEDULED_ACTORS.get(name, "no such account"))
    return found


def counts(items: Sequence[DisposalItem]) -> dict[str, int]:
    """What happened to a batch's items: the numbers both the CLI and the certificate give."""
    found = {"destroyed": 0, "skipped": 0, "failed": 0, "excluded": 0}
    for item in items:
        state = "excluded" if item.excluded else item.outcome
        if state in found:
            found[state] += 1
    return found


def write_certificate(
    session: Session, batch: DisposalBatch, items: Sequence[DisposalItem], organisation: str
) -> None:
    """Render the batch's certificate (PDF and CSV) onto the batch row."""
    now = batch.executed_at or datetime.now(UTC)
    named = people(session, [batch.created_by, *batch.approved_by, batch.executed_by])
    info = CertificateInfo(
        organisation=organisation,
        batch_id=batch.id,
        schedule_version=batch.schedule_version,
        schedule_sha256=batch.schedule_sha256,
        created_at=batch.created_at,
        built_by=named[batch.created_by],
        approved_by=tuple(named[name] for name in batch.approved_by),
        approved_at=batch.approved_at or now,
        executed_by=named[batch.executed_by],
        executed_at=now,
        audit_head=str(head_statement(session)),
        checks=CHECKS_STATEMENT,
        warning=ONE_PERSON_WARNING if batch.approvals_needed < 2 else "",
    )
    destroyed = [_destroyed(item, now) for item in items if item.outcome == "destroyed"]
    others = [
        SkippedItem(
            item.doc_id,
            item.unc,
            item.exclude_reason if item.excluded else item.outcome_reason,
            "excluded" if item.excluded else item.outcome,
        )
        for item in items
        if item.excluded or item.outcome in ("skipped", "failed")
    ]
    batch.certificate_csv = certificate_csv(info, destroyed, others)
    batch.certificate_pdf = certificate_pdf(info, destroyed, others)


def _destroyed(item: DisposalItem, now: datetime) -> DestroyedItem:
    return DestroyedItem(
        doc_id=item.doc_id,
        source=item.source_name,
        unc=item.unc,
        path=item.path,
        size=item.size,
        sha256=item.sha256,
        modified=item.modified,
        embedded_modified=item.embedded_modified,
        class_id=item.class_id,
        class_name=item.class_name,
        authority=item.authority,
        rule=item.rule,
        trigger_date=item.trigger_date,
        disposal_date=item.disposal_date,
        destroyed_at=item.done_at or now,
        method=METHOD,
    )
