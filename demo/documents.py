"""Deterministic sample documents for the demo share and the integration tests.

Every writer here produces byte-identical output for identical arguments: zip members carry a
fixed timestamp, document properties carry a fixed date, and e-mail identifiers and MIME
boundaries are derived from the message itself rather than from the clock or a random source.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path

import docx
import openpyxl
from docx.opc.constants import RELATIONSHIP_TYPE
from fpdf import FPDF
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

from demo.content import COUNCIL_NAME, Docx, Eml, Pdf, Txt, Xlsx, catalogue

# Every generated document claims to have been created and last saved at this instant.
DOCUMENT_TIMESTAMP = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)
_ZIP_MEMBER_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_MEMBER_MODE = 0o100644 << 16
_ZIP_CREATE_SYSTEM_UNIX = 3

_HEADING_PREFIX = "## "
_BULLET_PREFIX = "- "
# CPython folds an ASCII Subject of 71-77 characters by moving it whole onto a continuation
# line, which Python's parser and Tika then read back with a leading space. Unfolded ASCII
# header lines are legal up to 998 characters; non-ASCII ones stay folded so that their
# encoded words stay within RFC 2047's limit.
_UNFOLDED_SMTP = SMTP.clone(max_line_length=998)
_SHEET_TITLE_FORBIDDEN = str.maketrans("", "", "[]:*?/\\")
_SHEET_TITLE_MAX = 31

_ATTACHMENT_TYPES = {
    ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".pdf": ("application", "pdf"),
    ".txt": ("text", "plain"),
}


@dataclass(frozen=True)
class SampleDocument:
    """One generated file and what a search over its extracted text must find.

    Each phrase lies within a single paragraph, spreadsheet cell, PDF text line or e-mail body
    line, so it survives text extraction verbatim, and no phrase appears in any other document's
    own text. An e-mail's extracted text also includes its attachments' text.
    """

    relative_path: str
    kind: str
    title: str
    phrases: tuple[str, ...]


def generate(target: Path, *, seed: int = 0) -> list[SampleDocument]:
    """Write the sample tree under target (created if missing); return what was written.

    The folder layout and file names are the same for every seed; the seed varies the invented
    people, amounts and spreadsheet rows. The same seed gives byte-identical files. Existing
    files at the generated paths are overwritten and nothing else under target is touched.
    """
    entries = catalogue(seed)
    # Attachments must exist before the e-mails that carry them are written.
    ordered = sorted(entries, key=lambda entry: isinstance(entry.body, Eml))
    for entry in ordered:
        path = target.joinpath(*entry.relative_path.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        body = entry.body
        if isinstance(body, Docx):
            write_docx(path, entry.title, body.paragraphs, author=body.author)
        elif isinstance(body, Pdf):
            write_pdf(path, entry.title, body.paragraphs)
        elif isinstance(body, Xlsx):
            write_xlsx(path, entry.title, body.header, body.rows)
        elif isinstance(body, Txt):
            path.write_bytes(body.text.replace("\n", "\r\n").encode("utf-8"))
        else:
            write_eml(
                path,
                sender=body.sender,
                to=body.to,
                subject=entry.title,
                body=body.body,
                date=body.date,
                attachments=[
                    target.joinpath(*attachment.split("/")) for attachment in body.attachments
                ],
            )
    return [
        SampleDocument(
            relative_path=entry.relative_path,
            kind=entry.relative_path.rsplit(".", 1)[1],
            title=entry.title,
            phrases=entry.phrases,
        )
        for entry in entries
    ]


def write_docx(
    path: Path, title: str, paragraphs: Sequence[str], *, author: str = COUNCIL_NAME
) -> None:
    """Write a Word document whose core properties name title and author.

    A paragraph starting "## " becomes a heading and one starting "- " a bullet point; the
    marker itself is not written.
    """
    document = docx.Document()
    properties = document.core_properties
    properties.title = title
    properties.author = author
    properties.last_modified_by = author
    properties.comments = ""
    properties.revision = 1
    properties.created = DOCUMENT_TIMESTAMP
    properties.modified = DOCUMENT_TIMESTAMP
    document.add_heading(title, level=0)
    for paragraph in paragraphs:
        if paragraph.startswith(_HEADING_PREFIX):
            document.add_heading(paragraph.removeprefix(_HEADING_PREFIX), level=2)
        elif paragraph.startswith(_BULLET_PREFIX):
            document.add_paragraph(paragraph.removeprefix(_BULLET_PREFIX), style="List Bullet")
        else:
            document.add_paragraph(paragraph)
    # The template's thumbnail pictures python-docx's sample page, not this document.
    package_relationships = document.part.package.rels
    for relationship_id, relationship in list(package_relationships.items()):
        if relationship.reltype == RELATIONSHIP_TYPE.THUMBNAIL:
            del package_relationships[relationship_id]
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_with_fixed_zip_metadata(buffer.getvalue()))


def write_pdf(path: Path, title: str, paragraphs: Sequence[str]) -> None:
    """Write an uncompressed text PDF in a core font, so every character must be latin-1.

    Each rendered line is one text-showing operator, readable in the raw bytes. Paragraph
    markers are as for write_docx. Raises ValueError naming the first character outside
    latin-1.
    """
    for text in (title, *paragraphs):
        _require_latin_1(text)
    pdf = FPDF(format="A4")
    pdf.set_compression(False)
    pdf.set_creation_date(DOCUMENT_TIMESTAMP)
    pdf.set_title(title)
    pdf.set_author(COUNCIL_NAME)
    pdf.set_creator(COUNCIL_NAME)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 5, COUNCIL_NAME, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=15)
    pdf.multi_cell(0, 8, title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for paragraph in paragraphs:
        if paragraph.startswith(_HEADING_PREFIX):
            pdf.set_font("Helvetica", style="B", size=12)
            text = paragraph.removeprefix(_HEADING_PREFIX)
        else:
            pdf.set_font("Helvetica", size=11)
            text = paragraph
        pdf.multi_cell(0, 6, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    path.write_bytes(bytes(pdf.output()))


def write_xlsx(
    path: Path, title: str, header: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Write a one-sheet workbook: a bold, frozen header row above rows, title in properties."""
    workbook = openpyxl.Workbook()
    properties = workbook.properties
    properties.title = title
    properties.creator = COUNCIL_NAME
    properties.lastModifiedBy = COUNCIL_NAME
    # openpyxl reads these as UTC and rejects aware datetimes.
    properties.created = DOCUMENT_TIMESTAMP.replace(tzinfo=None)
    properties.modified = DOCUMENT_TIMESTAMP.replace(tzinfo=None)
    sheet = workbook.active
    sheet.title = _sheet_title(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, float):
                cell.number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        widest = max((len(str(cell.value)) for cell in column if cell.value is not None), default=0)
        sheet.column_dimensions[column[0].column_letter].width = min(max(widest + 2, 10), 60)
    buffer = io.BytesIO()
    # Workbook.save would stamp the current time over properties.modified.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()
    path.write_bytes(_with_fixed_zip_metadata(buffer.getvalue()))


def write_eml(
    path: Path,
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    date: datetime,
    attachments: Sequence[Path] = (),
) -> None:
    """Write an RFC 5322 message with a quoted-printable plain-text body and the attachments.

    date must be timezone-aware. Message-ID and MIME boundary are digests of the message's
    own fields, so identical arguments give identical bytes.
    """
    if date.tzinfo is None:
        raise ValueError("an e-mail Date needs a timezone-aware datetime")
    digest = hashlib.sha256(
        "\0".join([sender, *to, subject, date.isoformat(), body]).encode("utf-8")
    ).hexdigest()
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{digest[:32]}@{domain}>"
    message.set_content(body, cte="quoted-printable")
    for attachment in attachments:
        maintype, subtype = _ATTACHMENT_TYPES.get(
            attachment.suffix.lower(), ("application", "octet-stream")
        )
        message.add_attachment(
            attachment.read_bytes(),
            maintype=maintype,
            subtype=subtype,
            filename=attachment.name,
        )
    if attachments:
        message.set_boundary(f"=_nbc_{digest[32:56]}")
    path.write_bytes(message.as_bytes(policy=_UNFOLDED_SMTP if subject.isascii() else SMTP))


def _sheet_title(title: str) -> str:
    """Excel's sheet-name rules: no []:*?/\\ and at most 31 characters, cut at a word break."""
    allowed = title.translate(_SHEET_TITLE_FORBIDDEN).strip()
    if len(allowed) > _SHEET_TITLE_MAX:
        allowed = allowed[: _SHEET_TITLE_MAX + 1].rsplit(" ", 1)[0]
    return allowed.rstrip(" -")[:_SHEET_TITLE_MAX] or "Sheet1"


def _require_latin_1(text: str) -> None:
    for index, character in enumerate(text):
        if ord(character) > 0xFF:
            raise ValueError(
                f"{character!r} (U+{ord(character):04X}) at index {index} of {text[:40]!r} "
                "is outside latin-1, which the PDF core fonts cannot draw"
            )


def _with_fixed_zip_metadata(archive: bytes) -> bytes:
    """Rewrite a zip with fixed member timestamps and modes, keeping order and compression."""
    rewritten = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(archive)) as source,
        zipfile.ZipFile(rewritten, "w") as destination,
    ):
        for member in source.infolist():
            fixed = zipfile.ZipInfo(member.filename, date_time=_ZIP_MEMBER_DATE_TIME)
            fixed.compress_type = member.compress_type
            fixed.external_attr = _ZIP_MEMBER_MODE
            fixed.create_system = _ZIP_CREATE_SYSTEM_UNIX
            destination.writestr(fixed, source.read(member.filename))
    return rewritten.getvalue()
