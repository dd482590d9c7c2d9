"""Relations between cases: links (same requester, same topic) and the parts of one request
handled under different regimes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.service import CaseError, create_case, load_case
from foi_core import audit
from foi_core.db import transaction
from foi_core.models import Case, CaseLink

# CaseLink.why of the parts of one request handled under different regimes.
PART = "part_of_request"


def link_cases(
    sessions: sessionmaker[Session], case_id: int, other_reference: str, *, actor: str, ip: str = ""
) -> None:
    with transaction(sessions) as session:
        case = load_case(session, case_id)
        other = session.execute(
            select(Case).where(Case.reference == other_reference.strip())
        ).scalar_one_or_none()
        if other is None or other.id == case.id:
            raise CaseError(f"there is no other case {other_reference!r}")
        for a, b in ((case, other), (other, case)):
            exists = session.execute(
                select(CaseLink).where(CaseLink.case_id == a.id, CaseLink.other_id == b.id)
            ).scalar_one_or_none()
            if exists is None:
                session.add(CaseLink(case_id=a.id, other_id=b.id, why="same_topic", added_by=actor))
        audit.record(
            session,
            actor=actor,
            action="case_link",
            target=f"case:{case.reference}",
            ip=ip,
            details={"other": other.reference},
        )


def add_part(
    sessions: sessionmaker[Session],
    case_id: int,
    regime: str,
    *,
    actor: str,
    prefix_spec: str,
    target_days: int,
    ip: str = "",
) -> Case:
    """A part of the same request handled under another regime (e.g. the environmental part
    of an FOI request, under the EIR): its own case, reference and clock, from the same
    receipt, linked to the request as a part, so each regime's statistics count it."""
    with sessions() as session:
        parent = load_case(session, case_id)
        session.expunge(parent)
        taken = {parent.regime} | {
            other.regime
            for other in session.execute(
                select(Case)
                .join(CaseLink, CaseLink.other_id == Case.id)
                .where(CaseLink.case_id == parent.id, CaseLink.why == PART)
            ).scalars()
        }
    if regime.upper() in taken:
        raise CaseError(f"the request already has a {regime.upper()} part")
    part = create_case(
        sessions,
        regime=regime,
        received=parent.received,
        title=f"{parent.title} ({regime.upper()} part)"[:300],
        request_text=parent.request_text,
        requester_name=parent.requester_name,
        requester_contact=parent.requester_contact,
        assigned_to=parent.assigned_to,
        actor=actor,
        prefix_spec=prefix_spec,
        target_days=target_days,
        ip=ip,
    )
    with transaction(sessions) as session:
        for a, b in ((parent.id, part.id), (part.id, parent.id)):
            link = session.execute(
                select(CaseLink).where(CaseLink.case_id == a, CaseLink.other_id == b)
            ).scalar_one_or_none()
            if link is None:
                session.add(CaseLink(case_id=a, other_id=b, why=PART, added_by=actor))
            else:
                link.why = PART
        audit.record(
            session,
            actor=actor,
            action="case_part_add",
            target=f"case:{parent.reference}",
            ip=ip,
            details={"part": part.reference, "regime": part.regime},
        )
    return part
