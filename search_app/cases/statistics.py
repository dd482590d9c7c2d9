"""Request statistics of the kind the s.45 Code of Practice recommends publishing: per quarter
received and regime, how many were answered, how many in time, and how long they took; a chart;
the table as CSV; and, behind every number, the list of its cases.

Roles as for the case pages (`permissions.CASEWORK`: FOI officers, records managers, admins;
front office 403). The counting, its definitions and the chart are `cases.statistics`; this
module only reads the cases' facts and shows them.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from cases.statistics import (
    ALL_REGIMES,
    REGIMES,
    StatisticsInputError,
    StatRow,
    quarterly_statistics,
    statistics_chart_svg,
    statistics_csv,
)
from search_app import permissions
from search_app.auth import require_role, services
from search_app.cases.facts import cases_by_id, statistics_facts

bp = Blueprint("statistics", __name__)

MEASURES = {
    "received": "received",
    "answered": "answered",
    "in_time": "answered in time",
    "late": "answered late",
    "open": "still open",
}
QUARTER = re.compile(r"\d{4} Q[1-4]")


def one_decimal(value: float | None) -> str:
    """Half up to one place, as the CSV rounds (so the page and the file agree)."""
    if value is None:
        return "—"
    return str(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


bp.add_app_template_filter(one_decimal, "one_decimal")


def statistics_rows() -> tuple[list[StatRow], str]:
    """Every quarter's rows, or none and the problem that stops them being counted."""
    with services().sessions() as session:
        facts = statistics_facts(session)
    try:
        return quarterly_statistics(facts), ""
    except StatisticsInputError as problem:
        return [], str(problem)


@bp.get("/statistics")
@require_role(*permissions.CASEWORK)
def index() -> ResponseReturnValue:
    rows, problem = statistics_rows()
    # The chart is SVG that cases.statistics generates, every piece of text in it escaped: safe
    # to place in the page as it is (it carries no script or style, so the CSP holds).
    chart = Markup(statistics_chart_svg(rows))  # noqa: S704
    return render_template(
        "statistics.html", rows=rows, problem=problem, chart=chart, measures=MEASURES
    )


@bp.get("/statistics.csv")
@require_role(*permissions.CASEWORK)
def csv_file() -> ResponseReturnValue:
    rows, problem = statistics_rows()
    if problem:
        flash(f"The statistics cannot be counted until these cases are fixed: {problem}")
        return redirect(url_for("statistics.index"))
    response = Response(statistics_csv(rows), mimetype="text/csv")
    filename = f"request-statistics-{dt.date.today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/statistics/cases")
@require_role(*permissions.CASEWORK)
def drill_down() -> ResponseReturnValue:
    quarter = request.args.get("quarter", "")
    regime = request.args.get("regime", "")
    measure = request.args.get("measure", "")
    if not QUARTER.fullmatch(quarter) or regime not in (*REGIMES, ALL_REGIMES):
        abort(404)
    if measure not in MEASURES:
        abort(404)
    rows, _ = statistics_rows()
    row = next((r for r in rows if r.quarter == quarter and r.regime == regime), None)
    if row is None:
        abort(404)
    ids = row.cases.get(measure, ())
    with services().sessions() as session:
        found = cases_by_id(session, ids, dt.date.today(), services().settings.internal_target_days)
    return render_template(
        "statistics_cases.html",
        row=row,
        cases=found,
        measure=MEASURES[measure],
    )
