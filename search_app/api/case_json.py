"""The cases API's JSON shapes (search_app.api.cases), described by search_app.api.openapi_cases
(tests/integration/test_api_schema.py holds every answer to that description).

Dates are ISO 8601 strings, moments RFC 3339 in UTC; absent values are null, never empty strings
(except a bundle's `error`, empty when it did not fail).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from cases.estimator import EstimateRates, estimate_s12
from cases.service import TRANSITIONS, case_clock, working_calendar
from cases.statistics import StatRow
from foi_core.models import Case
from search_app.api.requests import iso
from search_app.cases.evidence_facts import DocumentRow, ExportRow, SearchRow, collected_count
from search_app.cases.facts import CaseRow, case_links, case_rows


def row_json(row: CaseRow) -> dict[str, Any]:
    return {
        "reference": row.reference,
        "regime": row.regime,
        "title": row.title,
        "status": row.status,
        "assigned_to": row.assigned_to or None,
        "received": iso(row.received),
        "due": iso(row.due),
        "responded": iso(row.responded),
        "internal_target": iso(row.internal_target),
        "working_days_left": row.days_left if row.open else None,
        "overdue": row.overdue,
        "clock_stopped": (
            {"awaiting": row.awaiting, "since": iso(row.stopped_since)} if row.awaiting else None
        ),
    }


def case_json(
    session: Session, case: Case, target_days: int, rates: EstimateRates
) -> dict[str, Any]:
    """Everything about one case, its requester included (callers audit the read)."""
    clock = case_clock(case, working_calendar(session), target_days)
    row = case_rows(session, [case], dt.date.today(), target_days)[0]
    collected = collected_count(session, case.id)
    estimate = estimate_s12(collected, case.logged_minutes, rates)
    return {
        **row_json(row),
        "request_text": case.request_text,
        "requester_name": case.requester_name,
        "requester_contact": case.requester_contact or None,
        "outcome": case.outcome or None,
        "exemptions": list(case.exemptions),
        "hold_id": case.hold_id,
        "logged_minutes": case.logged_minutes,
        "created_by": case.created_by,
        "created_at": iso(case.created_at),
        "deadline": clock.deadline.to_json_dict() if clock.deadline else None,
        "allowed_transitions": sorted(TRANSITIONS.get(case.status, frozenset())),
        "links": [
            {"reference": link.reference, "why": link.why, "added_by": link.added_by}
            for link in case_links(session, case.id)
        ],
        "collected": collected,
        "estimate": {
            "cost_pence": estimate.cost_pence,
            "limit_pence": estimate.limit_pence,
            "exceeds_limit": estimate.exceeds_limit,
            "working": estimate.working,
        },
    }


def document_json(row: DocumentRow) -> dict[str, Any]:
    return {
        "doc_id": row.doc_id,
        "root_id": row.root_id,
        "title": row.title,
        "path": row.path,
        "unc": row.unc,
        "status": row.status,
        "in_index": row.in_index,
        "held": row.held,
        "collected_by": row.added_by,
        "collected_at": iso(row.added_at),
    }


def search_json(row: SearchRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "query": row.query,
        "words": row.text,
        "filters": dict(row.filters),
        "sources": list(row.sources),
        "hits": row.hits,
        "documents_in_scope": row.documents_in_scope,
        "not_searchable": dict(row.not_searchable),
        "not_held": [
            {
                "documents": group.count,
                "destroyed_on": group.day.isoformat() if group.day else None,
                "class": group.class_id,
                "class_name": group.class_name,
                "statement": str(group),
            }
            for group in row.not_held
        ],
        "run_by": row.run_by,
        "run_at": iso(row.run_at),
    }


def export_json(row: ExportRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "exported_by": row.exported_by,
        "exported_at": iso(row.exported_at),
        "expires_at": iso(row.expires_at),
        "counts": row.counts,
        "parts": list(row.parts),
        "metadata_files": list(row.metadata),
        "available": row.available,
        "status": row.status,
        "progress": row.progress,
        "error": row.error,
    }


def statistics_json(row: StatRow, references: dict[int, str]) -> dict[str, Any]:
    return {
        "quarter": row.quarter,
        "regime": row.regime,
        "received": row.received,
        "answered": row.answered,
        "in_time": row.in_time,
        "late": row.late,
        "open": row.open,
        "percentage_in_time": row.percentage,
        "average_days": row.average_days,
        "cases": {
            measure: [references.get(i, str(i)) for i in ids] for measure, ids in row.cases.items()
        },
    }
