"""Factories for test files the demo generator does not make: encrypted, corrupt, archived and
image-only documents. Each writes one file and is deterministic for identical arguments, except
where the format itself salts its encryption (PDF and Office encryption draw random salts)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from msoffcrypto.format.ooxml import OOXMLFile
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

from demo.documents import write_docx, write_pdf

_ZIP_MEMBER_DATE_TIME = (2024, 7, 1, 9, 0, 0)
_LOCAL_HEADER_BYTES = 30  # a zip local file header before its name and extra field


def write_encrypted_pdf(path: Path, title: str, paragraphs: Sequence[str], password: str) -> None:
    """A text PDF that opens only with `password` (user and owner password alike)."""
    staging = path.with_suffix(".plain.pdf")
    write_pdf(staging, title, paragraphs)
    try:
        writer = PdfWriter(clone_from=PdfReader(staging))
    finally:
        staging.unlink()
    writer.encrypt(user_password=password, owner_password=password, algorithm="AES-128")
    with path.open("wb") as out:
        writer.write(out)


def write_encrypted_docx(path: Path, title: str, paragraphs: Sequence[str], password: str) -> None:
    """A Word document encrypted the way Office does it ("Encrypt with Password"): the OOXML
    package inside an OLE2 compound file (ECMA-376 agile encryption)."""
    staging = path.with_suffix(".plain.docx")
    write_docx(staging, title, paragraphs)
    try:
        with staging.open("rb") as plain, path.open("wb") as encrypted:
            office = OOXMLFile(plain)
            office.encrypt(password, encrypted)
    finally:
        staging.unlink()


def write_truncated_docx(path: Path, title: str, paragraphs: Sequence[str]) -> None:
    """A Word document cut off half way through its main part (word/document.xml), as an
    interrupted copy leaves it: the text cannot be read back."""
    staging = path.with_suffix(".whole.docx")
    write_docx(staging, title, paragraphs)
    data = staging.read_bytes()
    staging.unlink()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = archive.getinfo("word/document.xml")
    data_start = member.header_offset + _LOCAL_HEADER_BYTES + len(member.filename.encode())
    path.write_bytes(data[: data_start + len(member.extra) + member.compress_size // 2])


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    """A deflated zip archive of `members` (name in the archive -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_MEMBER_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def write_text_image(path: Path, lines: Sequence[str], *, font_px: int = 48) -> None:
    """A PNG scan of black text on white, large and clear enough for Tesseract to read."""
    # Pillow's bundled scalable font: the same drawing on every machine, no system fonts needed.
    font = ImageFont.load_default(size=font_px)
    margin = font_px
    line_height = int(font_px * 1.6)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    width = max(int(probe.textlength(line, font=font)) for line in lines) + 2 * margin
    height = line_height * len(lines) + 2 * margin
    image = Image.new("L", (width, height), color=255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((margin, margin + number * line_height), line, fill=0, font=font)
    image.save(path, format="PNG", dpi=(300, 300))
