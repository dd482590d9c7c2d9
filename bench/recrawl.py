"""Unchanged re-crawl against first crawl on a generated share of small, distinct files.

The first crawl reads, extracts and indexes every file; a re-crawl of the unchanged share must
read and extract none of them (counted: SMB reads and Tika calls), so it costs a directory walk
plus the crawl-state bookkeeping. The bare walk is timed too, as the floor a re-crawl can reach.
Target: re-crawl ≥ 50x faster than the first crawl.

    .foi/venv/bin/python -m bench.recrawl [--size small|full] [--files N] [--write]
"""

from __future__ import annotations

import argparse
import io
import random
import time
import zipfile
from pathlib import Path

from bench.common import (
    CrawlEnv,
    ShareFolder,
    StageTimes,
    base_settings,
    count_tika_calls,
    median,
    report,
    table,
    tika_server,
    verdict,
)
from crawler.smb import SmbShare
from crawler.walker import walk
from demo.documents import write_docx
from ingest.processor import FileProcessor

TARGET = 50.0
SIZES = {"small": 1_000, "full": 20_000}
FILES_PER_FOLDER = 100
DOCX_EVERY = 10  # one file in ten is a Word document, the rest plain text
WORDS = (
    "planning",
    "application",
    "licence",
    "council",
    "tenancy",
    "noise",
    "complaint",
    "highways",
    "budget",
    "audit",
    "committee",
    "minutes",
    "housing",
    "benefit",
    "parking",
    "permit",
    "refuse",
    "collection",
    "consultation",
    "report",
    "appeal",
    "enforcement",
    "notice",
    "school",
    "admissions",
    "library",
    "grant",
    "contract",
    "invoice",
    "survey",
)
PLACEHOLDER = "BENCHPLACEHOLDER"


def generate(folder: ShareFolder, count: int) -> None:
    """`count` small distinct files, 100 to a folder (dept-NN/YYYY/), written locally."""
    template = _docx_template(folder.local)
    for i in range(count):
        rng = random.Random(i)
        text = f"Record {i}. " + " ".join(rng.choices(WORDS, k=rng.randint(40, 200)))
        parent = folder.local / f"dept-{i // 1000:02d}" / str(2000 + (i // FILES_PER_FOLDER) % 10)
        parent.mkdir(parents=True, exist_ok=True)
        if i % DOCX_EVERY == 0:
            (parent / f"record-{i:05d}.docx").write_bytes(_docx(template, text))
        else:
            (parent / f"record-{i:05d}.txt").write_text(text + "\n")


def _docx_template(scratch: Path) -> dict[str, bytes]:
    """Members of one real Word document, whose body text is then swapped per file
    (python-docx takes ~10 ms a document; this takes well under one)."""
    path = scratch / "template.docx"
    write_docx(path, "Case record", [PLACEHOLDER])
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    path.unlink()
    return members


def _docx(template: dict[str, bytes], text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in template.items():
            if name == "word/document.xml":
                data = data.replace(PLACEHOLDER.encode(), text.encode())
            archive.writestr(name, data)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--files", type=int, help="overrides --size")
    parser.add_argument("--repeats", type=int, default=3, help="re-crawls and walks timed")
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    parser.add_argument(
        "--shared-tika", action="store_true", help="use the stack's Tika, not a private one"
    )
    args = parser.parse_args()
    count = args.files or SIZES[args.size]
    with (
        tika_server(base_settings(), private=not args.shared_tika) as (settings, _),
        ShareFolder(settings, "recrawl") as folder,
        CrawlEnv(settings) as env,
    ):
        started = time.perf_counter()
        generate(folder, count)
        folder.give_to_share_user()
        print(f"generated {count:,} files in {time.perf_counter() - started:.0f}s")
        tika = count_tika_calls(env)  # before the pipeline is built with the extractor
        pipeline = env.pipeline(env.source(folder))
        reads = StageTimes()
        with reads.patch(FileProcessor, "_read", "read"):  # one call per file read
            first, first_s = env.crawl(pipeline)
            print(f"first crawl: {first_s:.1f}s, {first.extracted:,} extracted")
            assert first.seen == count == first.extracted == tika.calls, first.as_dict()
            first_reads, first_tika = reads.calls["read"], tika.calls
            recrawls = []
            for _ in range(args.repeats):
                counts, seconds = env.crawl(pipeline)
                assert counts.unchanged == count, counts.as_dict()
                recrawls.append(seconds)
                print(f"re-crawl: {seconds:.2f}s")
        again_reads, again_tika = reads.calls["read"] - first_reads, tika.calls - first_tika
        with folder.share() as share:
            walks = [_time_walk(share, count) for _ in range(args.repeats)]
    recrawl_s, walk_s = median(recrawls), median(walks)
    speedup = first_s / recrawl_s
    rows = [
        ["first crawl", count, first_s, count / first_s, first_reads, first_tika, "1x (baseline)"],
        [
            "unchanged re-crawl",
            count,
            recrawl_s,
            count / recrawl_s,
            again_reads,
            again_tika,
            f"{speedup:,.0f}x ({verdict(speedup, TARGET)}, target ≥ {TARGET:.0f}x)",
        ],
        ["bare SMB walk (floor)", count, walk_s, count / walk_s, 0, 0, f"{first_s / walk_s:,.0f}x"],
    ]
    headers = ["crawl", "files", "seconds", "files/s", "SMB reads", "Tika calls", "vs first crawl"]
    docx_count = len(range(0, count, DOCX_EVERY))
    body = table(headers, rows) + (
        f"\n\n{count:,} distinct files ({docx_count:,} .docx, the rest .txt; 0.3 to 1.5 kB each) "
        f"in {count // FILES_PER_FOLDER:,} folders of {FILES_PER_FOLDER}; "
        f"{settings.crawl_workers} crawl workers; "
        f"{'the stack' if args.shared_tika else 'a private'} Tika server. The first crawl "
        f"ran once; re-crawl and walk are medians of {args.repeats}. Re-crawl reads and Tika "
        f"calls are totals over all {args.repeats} re-crawls."
    )
    report("recrawl", "Unchanged re-crawl", settings, body, write=args.write)


def _time_walk(share: SmbShare, count: int) -> float:
    started = time.perf_counter()
    seen = sum(1 for _ in walk(share))
    assert seen == count, seen
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
