"""CSV cells that spreadsheet programs open as text, never as a formula.

Every CSV the product writes is opened in spreadsheets, and many of its cells are hostile input
(file names from the shares, usernames typed at the sign-in page, audit targets). A spreadsheet
runs a cell that starts with one of OWASP's formula triggers, so such a cell gets a leading
apostrophe. A cell that already starts with an apostrophe gets one too, so the escaping can be
undone exactly (`original_cell`): the audit log's export must still re-hash to its chain.
"""

from __future__ import annotations

from collections.abc import Iterable

# OWASP's list: a spreadsheet evaluates a cell starting with one of these as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPE = "'"


def csv_cell(value: object) -> str:
    """`value` as a CSV cell that spreadsheet programs will not run as a formula."""
    text = "" if value is None else str(value)
    return _ESCAPE + text if text.startswith((*FORMULA_TRIGGERS, _ESCAPE)) else text


def csv_cells(values: Iterable[object]) -> list[str]:
    """A row of values, each through `csv_cell`."""
    return [csv_cell(value) for value in values]


def original_cell(cell: str) -> str:
    """The value `csv_cell` escaped (the inverse of `csv_cell` on text)."""
    return cell[1:] if cell.startswith(_ESCAPE) else cell
