"""Identical copies cost one extraction: 10 byte-identical copies of a file, at different
paths, are extracted once and indexed ten times (Tika calls counted by a wrapper).

Three first-crawl-style measurements on fresh state, for a Word document and for an e-mail
with two attachments (whose embedded documents must be copied too):
- one file alone (the baseline),
- ten copies in one crawl (workers race for the same content: one extracts, nine wait and reuse),
- ten more copies added before the next crawl (reuse found through the index).
Target: 1 Tika call for the ten copies, 0 for the ten added later.

    .foi/venv/bin/python -m bench.dedupe [--copies 10] [--write]
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import CrawlEnv, ShareFolder, base_settings, count_tika_calls, report, table
from demo.documents import write_docx, write_eml, write_pdf
from foi_core.settings import Settings

PARAGRAPHS = [
    "Report to the Planning Committee on the proposed extension of the Riverside car park.",
    *(f"Paragraph {i}: objections, consultations and the officers' view." for i in range(200)),
]


def make_originals(scratch: Path) -> dict[str, Path]:
    scratch.mkdir()
    docx = scratch / "Committee report.docx"
    write_docx(docx, "Committee report", PARAGRAPHS)
    pdf = scratch / "Site plan notes.pdf"
    write_pdf(pdf, "Site plan notes", PARAGRAPHS[:40])
    eml = scratch / "RE Riverside car park.eml"
    write_eml(
        eml,
        sender="Planning <planning@example.gov.uk>",
        to=["Records <records@example.gov.uk>"],
        subject="RE: Riverside car park",
        body="Please file the attached report and notes.",
        date=datetime(2024, 7, 1, 9, 0, tzinfo=UTC),
        attachments=[docx, pdf],
    )
    return {"Word document": docx, "e-mail with 2 attachments": eml}


def place_copies(folder: ShareFolder, sub: str, original: Path, start: int, copies: int) -> None:
    for i in range(start, start + copies):
        target = folder.local / sub / f"team-{i:02d}" / f"copy {i} of {original.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, target)
    folder.give_to_share_user()


@dataclass(frozen=True)
class Crawl:
    label: str
    files: int
    tika_calls: int
    reused: int
    seconds: float

    def row(self, file_label: str) -> list[object]:
        per_file = 1000 * self.seconds / self.files
        counts = [self.files, self.tika_calls, self.reused]
        return [file_label, self.label, *counts, self.seconds, per_file]


def scenario(
    settings: Settings, folder: ShareFolder, original: Path, sub: str, copies: int
) -> list[Crawl]:
    crawls: list[Crawl] = []
    with CrawlEnv(settings) as env:
        tika = count_tika_calls(env)
        place_copies(folder, f"{sub}/one", original, 0, 1)
        counts, seconds = env.crawl(env.pipeline(env.source(folder, f"{sub}/one", name="one")))
        crawls.append(Crawl("1 file (baseline)", 1, tika.calls, counts.reused, seconds))
    with CrawlEnv(settings) as env:
        tika = count_tika_calls(env)
        place_copies(folder, f"{sub}/many", original, 0, copies)
        pipeline = env.pipeline(env.source(folder, f"{sub}/many"))
        counts, seconds = env.crawl(pipeline)
        label = f"{copies} copies, one crawl"
        crawls.append(Crawl(label, copies, tika.calls, counts.reused, seconds))
        check_index(env, original, copies)
        before = tika.calls
        place_copies(folder, f"{sub}/many", original, copies, copies)
        counts, seconds = env.crawl(pipeline)
        label = f"{copies} more copies, next crawl"
        crawls.append(Crawl(label, copies, tika.calls - before, counts.reused, seconds))
        check_index(env, original, 2 * copies)
    return crawls


def check_index(env: CrawlEnv, original: Path, copies: int) -> None:
    """Every copy is indexed with the same extracted text; all but one point at the first."""
    es, alias = env.runtime.es, env.runtime.names.read_alias
    es.indices.refresh(index=alias)
    files = es.search(index=alias, size=1000, query={"term": {"kind": "file"}})["hits"]["hits"]
    assert len(files) == copies, len(files)
    assert len({hit["_source"]["content"] for hit in files}) == 1
    duplicates = [hit for hit in files if hit["_source"].get("duplicate_of")]
    assert len(duplicates) == copies - 1, (original, len(duplicates))
    everything = es.count(index=alias)["count"]
    assert everything % copies == 0, everything  # each copy carries the same embedded children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    settings = base_settings()
    rows: list[list[object]] = []
    first_ok = later_ok = True
    with ShareFolder(settings, "dedupe") as folder:
        originals = make_originals(folder.local / "originals")
        for n, (label, original) in enumerate(originals.items()):
            _one, together, later = crawls = scenario(
                settings, folder, original, f"set-{n}", args.copies
            )
            first_ok &= together.tika_calls == 1
            later_ok &= later.tika_calls == 0
            rows += [crawl.row(label) for crawl in crawls]
    headers = ["file", "crawl", "files", "Tika calls", "reused", "crawl seconds", "ms per file"]
    body = table(headers, rows) + (
        f"\n\nTarget: 1 Tika call for {args.copies} identical copies "
        f"({'met' if first_ok else '**missed**'}), 0 for copies added later "
        f"({'met' if later_ok else '**missed**'}). "
        "Every copy is indexed with the same text; all but the first carry `duplicate_of`, "
        "and each e-mail copy carries its own copies of the attachments. "
        f"{settings.crawl_workers} crawl workers."
    )
    report("dedupe", "Identical copies", settings, body, write=args.write)


if __name__ == "__main__":
    main()
