"""The demo tree: deterministic, complete, and every advertised phrase really extractable."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path, PurePosixPath

import docx
import openpyxl
import pytest

from demo.documents import (
    DOCUMENT_TIMESTAMP,
    SampleDocument,
    generate,
    write_docx,
    write_eml,
    write_pdf,
    write_xlsx,
)

KINDS = {"docx", "xlsx", "pdf", "eml", "txt"}
WINDOWS_FORBIDDEN = set('<>:"\\|?*')
PDF_TEXT_SHOW = re.compile(rb"\(((?:[^\\()]|\\.)*)\)\s*Tj", re.DOTALL)
PDF_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)


Tree = tuple[Path, list[SampleDocument]]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Tree]:
    """Trees by seed, each generated once per module because generation takes a second or two."""
    trees: dict[int, Tree] = {}

    def tree_for(seed: int) -> Tree:
        if seed not in trees:
            root = tmp_path_factory.mktemp(f"seed{seed}") / "share"
            trees[seed] = (root, generate(root, seed=seed))
        return trees[seed]

    return tree_for


@pytest.fixture
def tree(generated: Callable[[int], Tree]) -> Tree:
    return generated(0)


def digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def parse_eml(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def pdf_lines(raw: bytes) -> list[str]:
    """The text of each line drawn by an uncompressed PDF written by write_pdf."""
    return [
        PDF_ESCAPE.sub(lambda escape: b"\r" if escape[1] == b"r" else escape[1], shown).decode(
            "latin-1"
        )
        for shown in PDF_TEXT_SHOW.findall(raw)
    ]


def text_units(path: Path, kind: str) -> list[str]:
    """The pieces a phrase must not straddle: paragraphs, cells, PDF lines or text lines."""
    if kind == "docx":
        return [paragraph.text for paragraph in docx.Document(str(path)).paragraphs]
    if kind == "xlsx":
        workbook = openpyxl.load_workbook(path)
        return [str(cell) for row in workbook.active.iter_rows(values_only=True) for cell in row]
    if kind == "pdf":
        return pdf_lines(path.read_bytes())
    if kind == "eml":
        body = parse_eml(path).get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content()).splitlines()
    return path.read_bytes().decode("utf-8").splitlines()


def zip_infos(path: Path) -> Iterator[zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        yield from archive.infolist()


def test_same_seed_gives_byte_identical_trees(tree: Tree, tmp_path: Path) -> None:
    first_root, first = tree
    second = generate(tmp_path / "again")

    assert second == first
    assert digests(tmp_path / "again") == digests(first_root)


def test_other_seed_changes_people_and_figures_but_not_layout(
    generated: Callable[[int], Tree],
) -> None:
    default_root, default = generated(0)
    other_root, other = generated(1)
    other_digests = digests(other_root)

    assert [document.relative_path for document in other] == [
        document.relative_path for document in default
    ]
    changed = [
        path for path, digest in digests(default_root).items() if other_digests[path] != digest
    ]
    assert len(changed) > len(default) // 2


def test_returned_documents_are_exactly_the_files_written(
    tree: Tree,
) -> None:
    root, documents = tree
    on_disk = {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}

    assert 40 <= len(documents) <= 60
    assert on_disk == {document.relative_path for document in documents}
    assert len(on_disk) == len(documents)
    assert all((root / document.relative_path).stat().st_size > 0 for document in documents)


def test_every_kind_is_present_and_matches_the_suffix(
    tree: Tree,
) -> None:
    _, documents = tree

    assert {document.kind for document in documents} == KINDS
    for document in documents:
        assert PurePosixPath(document.relative_path).suffix == f".{document.kind}"
        assert document.title
        assert document.phrases
        assert all(len(phrase.split()) >= 2 for phrase in document.phrases)


def test_paths_are_deep_awkward_and_valid_on_a_windows_share(
    tree: Tree,
) -> None:
    _, documents = tree
    paths = [PurePosixPath(document.relative_path) for document in documents]

    assert max(len(path.parts) for path in paths) >= 4
    assert any(not path.name.isascii() for path in paths)
    assert any(" " in path.name for path in paths)
    assert any(path.name == "Café licence \u2013 résumé.txt" for path in paths)
    for path in paths:
        assert not path.is_absolute()
        assert str(path) == unicodedata.normalize("NFC", str(path))
        for part in path.parts:
            assert not WINDOWS_FORBIDDEN & set(part), part
            assert part == part.strip() and not part.endswith("."), part


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_phrase_sits_whole_in_one_text_unit(
    generated: Callable[[int], Tree], seed: int
) -> None:
    root, documents = generated(seed)
    for document in documents:
        units = text_units(root / document.relative_path, document.kind)
        for phrase in document.phrases:
            assert any(phrase in unit for unit in units), (document.relative_path, phrase)


def test_no_phrase_appears_in_another_documents_text(
    tree: Tree,
) -> None:
    root, documents = tree
    texts = {
        document.relative_path: "\n".join(text_units(root / document.relative_path, document.kind))
        for document in documents
    }
    for document in documents:
        for phrase in document.phrases:
            holders = [path for path, text in texts.items() if phrase in text]
            assert holders == [document.relative_path], phrase


def test_emails_include_plain_ones_and_office_attachments_byte_for_byte(
    tree: Tree,
) -> None:
    root, documents = tree
    attached: list[str] = []
    plain = 0
    for document in documents:
        if document.kind != "eml":
            continue
        message = parse_eml(root / document.relative_path)
        assert message["Subject"] == document.title
        attachments = list(message.iter_attachments())
        plain += not attachments
        for part in attachments:
            filename = part.get_filename()
            assert filename is not None
            sibling = (root / document.relative_path).parent / filename
            assert part.get_content() == sibling.read_bytes()
            attached.append(PurePosixPath(filename).suffix)

    assert plain >= 1
    assert {".docx", ".pdf"} <= set(attached)


def test_office_files_carry_fixed_metadata_and_zip_timestamps(
    tree: Tree,
) -> None:
    root, documents = tree
    for document in documents:
        path = root / document.relative_path
        if document.kind == "docx":
            properties = docx.Document(str(path)).core_properties
            assert properties.title == document.title
            assert properties.author
            assert properties.created == properties.modified == DOCUMENT_TIMESTAMP
        elif document.kind == "xlsx":
            workbook_properties = openpyxl.load_workbook(path).properties
            assert workbook_properties.title == document.title
            assert workbook_properties.creator == "Northbridge Borough Council"
            assert workbook_properties.modified == DOCUMENT_TIMESTAMP.replace(tzinfo=None)
        else:
            continue
        assert {info.date_time for info in zip_infos(path)} == {(1980, 1, 1, 0, 0, 0)}


def test_pdfs_are_uncompressed_with_fixed_dates_and_a_title(
    tree: Tree,
) -> None:
    root, documents = tree
    pdfs = [document for document in documents if document.kind == "pdf"]
    for document in pdfs:
        raw = (root / document.relative_path).read_bytes()
        assert raw.startswith(b"%PDF-")
        assert b"/FlateDecode" not in raw
        assert b"/CreationDate (D:20240701090000Z)" in raw
        assert f"/Title ({document.title})".encode("latin-1") in raw


def test_write_docx_round_trips_a_unique_phrase_with_markers(tmp_path: Path) -> None:
    path = tmp_path / "one-off.docx"
    write_docx(
        path,
        "One-off",
        ["## Heading here", "- a bulleted zebra crossing survey", "plain words"],
        author="Test Author",
    )

    document = docx.Document(str(path))
    styles = {paragraph.text: paragraph.style.name for paragraph in document.paragraphs}
    assert styles == {
        "One-off": "Title",
        "Heading here": "Heading 2",
        "a bulleted zebra crossing survey": "List Bullet",
        "plain words": "Normal",
    }
    assert document.core_properties.author == "Test Author"


def test_write_pdf_shows_each_line_and_rejects_text_beyond_latin_1(tmp_path: Path) -> None:
    path = tmp_path / "one-off.pdf"
    write_pdf(path, "Café (draft)", ["A quokka census \\ tally of £12"])

    assert "A quokka census \\ tally of £12" in pdf_lines(path.read_bytes())
    assert "Café (draft)" in pdf_lines(path.read_bytes())
    with pytest.raises(ValueError, match="U\\+2013"):
        write_pdf(tmp_path / "dash.pdf", "Title", ["an en \u2013 dash"])


def test_write_xlsx_keeps_rows_and_a_valid_sheet_name(tmp_path: Path) -> None:
    path = tmp_path / "one-off.xlsx"
    write_xlsx(
        path,
        "Budget monitoring: quarter 2 [draft] for the Cabinet",
        ["Item", "Amount"],
        [["Pelican crossing upgrade", 1234.5], ["Bins", 7]],
    )

    sheet = openpyxl.load_workbook(path).active
    assert list(sheet.iter_rows(values_only=True)) == [
        ("Item", "Amount"),
        ("Pelican crossing upgrade", 1234.5),
        ("Bins", 7),
    ]
    assert sheet.title == "Budget monitoring quarter 2"
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize(
    "subject",
    [
        "Short",
        "An ASCII subject that is seventy-four characters long, which CPython folds",
        "A much longer ASCII subject line that would otherwise have to be folded over two "
        "or more lines of the header block",
        "Résumé of the café licence \u2013 Rosé",
        "Pavement licence résumé for Café Rosé on Market Square, Northbridge \u2013 long",
    ],
)
def test_write_eml_subject_reads_back_exactly(tmp_path: Path, subject: str) -> None:
    path = tmp_path / "subject.eml"
    write_eml(
        path,
        sender="a@example.org",
        to=["b@example.org"],
        subject=subject,
        body="body\n",
        date=datetime(2024, 6, 1, tzinfo=UTC),
    )

    assert parse_eml(path)["Subject"] == subject
    assert all(len(line) <= 998 for line in path.read_bytes().splitlines())


def test_write_eml_is_deterministic_and_needs_an_aware_date(tmp_path: Path) -> None:
    attachment = tmp_path / "note.txt"
    attachment.write_text("attached words\n", encoding="utf-8")
    sent = datetime(2024, 6, 1, 12, 30, tzinfo=timezone(timedelta(hours=1)))
    for name in ("a.eml", "b.eml"):
        write_eml(
            tmp_path / name,
            sender="Test Officer <test.officer@northbridge.gov.uk>",
            to=["someone@example.org"],
            subject="Rosé wine licence",
            body="A capybara sighting on the towpath\n",
            date=sent,
            attachments=[attachment],
        )

    assert (tmp_path / "a.eml").read_bytes() == (tmp_path / "b.eml").read_bytes()
    message = parse_eml(tmp_path / "a.eml")
    assert message["Subject"] == "Rosé wine licence"
    assert message["Date"].datetime == sent
    assert message["Message-ID"].endswith("@northbridge.gov.uk>")
    assert "A capybara sighting on the towpath" in text_units(tmp_path / "a.eml", "eml")
    with pytest.raises(ValueError, match="timezone-aware"):
        write_eml(
            tmp_path / "naive.eml",
            sender="a@example.org",
            to=["b@example.org"],
            subject="s",
            body="b",
            date=datetime(2024, 6, 1, 12, 30),
        )
    assert not (tmp_path / "naive.eml").exists()
