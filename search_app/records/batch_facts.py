"""What the retention pages and the retention API show about schedules and disposal batches.

Reads only: building, reviewing, approving and executing batches goes through
`retention.disposal`, which audits each decision.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from elasticsearch import ApiError, Elasticsearch, TransportError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from foi_core.models import DisposalBatch, DisposalItem, RetentionSchedule
from indexer.search.queries import Principal
from indexer.search.records import document_text

ITEMS_PER_PAGE = 100
PREVIEWS = 5
PREVIEW_CHARS = 500


@dataclass(frozen=True)
class ItemRow:
    """One item as reviewed. `modified` is the share's last-write time (what share triggers
    count from); `embedded_modified` the date inside the file, only when it differs."""

    doc_id: str
    source: str
    path: str
    unc: str
    class_id: str
    class_name: str
    disposal_date: date
    size: int
    modified: datetime | None
    state: str  # proposed | excluded | destroyed | skipped | failed
    reason: str
    by: str
    rule: str = ""
    trigger_date: date | None = None
    embedded_modified: datetime | None = None


@dataclass(frozen=True)
class ItemPage:
    rows: tuple[ItemRow, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class Preview:
    doc_id: str
    unc: str
    text: str


def batches(session: Session) -> list[DisposalBatch]:
    """Every batch, newest first, without the certificates (which can be large)."""
    rows = session.execute(
        select(DisposalBatch)
        .options(defer(DisposalBatch.certificate_pdf), defer(DisposalBatch.certificate_csv))
        .order_by(DisposalBatch.id.desc())
    )
    return list(rows.scalars())


def _row(item: DisposalItem) -> ItemRow:
    if item.excluded:
        state, reason, by = "excluded", item.exclude_reason, item.excluded_by
    else:
        state, reason, by = item.outcome or "proposed", item.outcome_reason, ""
    return ItemRow(
        doc_id=item.doc_id,
        source=item.source_name,
        path=item.path,
        unc=item.unc,
        class_id=item.class_id,
        class_name=item.class_name,
        disposal_date=item.disposal_date,
        size=item.size,
        modified=item.modified,
        state=state,
        reason=reason,
        by=by,
        rule=item.rule,
        trigger_date=item.trigger_date,
        embedded_modified=item.embedded_modified,
    )


def item_page(session: Session, batch_id: int, page: int) -> ItemPage:
    total = session.execute(
        select(func.count()).select_from(DisposalItem).where(DisposalItem.batch_id == batch_id)
    ).scalar_one()
    pages = max(1, -(-total // ITEMS_PER_PAGE))
    page = min(max(page, 1), pages)
    items = session.execute(
        select(DisposalItem)
        .where(DisposalItem.batch_id == batch_id)
        .order_by(DisposalItem.source_name, DisposalItem.path, DisposalItem.id)
        .offset((page - 1) * ITEMS_PER_PAGE)
        .limit(ITEMS_PER_PAGE)
    ).scalars()
    return ItemPage(tuple(_row(i) for i in items), page, pages, total)


def state_counts(session: Session, batch_id: int) -> dict[str, int]:
    """How many of the batch's items are proposed, excluded, destroyed, skipped or failed."""
    counts: dict[str, int] = {}
    rows = session.execute(
        select(DisposalItem.excluded, DisposalItem.outcome, func.count())
        .where(DisposalItem.batch_id == batch_id)
        .group_by(DisposalItem.excluded, DisposalItem.outcome)
    )
    for excluded, outcome, count in rows:
        state = "excluded" if excluded else outcome or "proposed"
        counts[state] = counts.get(state, 0) + count
    return counts


def previews(
    session: Session,
    es: Elasticsearch,
    alias: str,
    batch_id: int,
    principal: Principal,
) -> list[Preview]:
    """The start of the extracted text of a few proposed items picked at random, so a
    reviewer samples what is about to go rather than trusting paths alone.

    The text is read as `principal` (the reviewer) through the trimmed
    document fetch, like every other read of content: an item its reader may not see shows no
    text (the roles that review batches see everything, so nothing is hidden from them)."""
    proposed = list(
        session.execute(
            select(DisposalItem.doc_id, DisposalItem.unc).where(
                DisposalItem.batch_id == batch_id,
                DisposalItem.excluded.is_(False),
                DisposalItem.outcome == "",
            )
        )
    )
    picked = secrets.SystemRandom().sample(proposed, min(PREVIEWS, len(proposed)))
    found: list[Preview] = []
    for doc_id, unc in picked:
        try:
            content = document_text(es, alias, doc_id, principal) or ""
            # Extracted text often opens with blank lines (document metadata, page breaks).
            text = content.strip()[:PREVIEW_CHARS]
        except (ApiError, TransportError):
            text = ""  # the index refused or is unreachable: say so rather than fail the page
        found.append(Preview(doc_id, unc, text))
    return found


def schedule_versions(session: Session) -> list[RetentionSchedule]:
    """Every schedule loaded, newest (the one in force) first."""
    rows = session.execute(select(RetentionSchedule).order_by(RetentionSchedule.id.desc()))
    return list(rows.scalars())


def batch(session: Session, batch_id: int) -> DisposalBatch | None:
    """One batch without its certificates (downloads read those on their own)."""
    return session.get(
        DisposalBatch,
        batch_id,
        options=[defer(DisposalBatch.certificate_pdf), defer(DisposalBatch.certificate_csv)],
    )
