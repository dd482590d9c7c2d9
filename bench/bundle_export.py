"""Disclosure-bundle export keeps memory flat, measured at two case sizes in one run.

Generates N distinct text documents of mixed sizes (in every hundred: 80 of 50-150 KiB, 17 of
150 KiB-1 MiB and 3 of 1-2 MiB, about 450 MB for 2,000) in a share folder and crawls them with
the product's own pipeline into a throwaway index and database (setup, timed but not measured).
Two cases are then made: one collecting the first tenth of the documents, one collecting all of
them, and each is exported (`cases.export_jobs.export_case`, as `foi cases export` does) after an
unmeasured warm-up export of a few documents. Measured per export: wall time, MB/s (bytes of
originals exported ÷ seconds), CPU seconds of this process, the parts written, and peak RSS
during the export: the kernel's high-water mark (VmHWM, reset just before the export) and a
sampled VmRSS, against the RSS just before it. Every export is verified: all documents
included, no hash mismatches, every document in exactly one part, and a few documents' manifest
hashes and zipped bytes checked against the files on disk.

Target (issue acceptance): a bundle of 2,000 documents exports with flat memory, i.e. its peak
RSS growth is nowhere near ten times that of the 200-document bundle.

    .foi/venv/bin/python -m bench.bundle_export [--docs 2000] [--small N] [--part-mib N]
        [--repeat 1] [--write] [--shared-tika]
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import dataclasses
import datetime as dt
import gc
import hashlib
import os
import random
import statistics
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    MIB,
    CrawlEnv,
    ShareFolder,
    base_settings,
    cpu_seconds,
    peak_rss_mib,
    report,
    table,
    tika_server,
)
from bench.memory_bigfile import RssSampler, current_rss_mib
from cases.bundle import METADATA_FILES
from cases.collection import collect
from cases.export import ExportSettings
from cases.export_jobs import export_case
from cases.service import create_case
from foi_core.accounts import create_user
from foi_core.db import transaction
from foi_core.models import CaseExport
from foi_core.settings import Settings
from indexer.search.scopes import scan
from retention.context import Records

ACTOR = "bench-officer"
FILES_PER_FOLDER = 100
# (documents in every hundred, smallest KiB, largest KiB): the same mix in every hundred, spread
# through it (SPREAD is prime to 100), so the first tenth of the documents is a fair sample.
SIZE_MIX = ((80, 50, 150), (17, 150, 1024), (3, 1024, 2048))
SPREAD = 37
WARM_UP_DOCS = 20
SPOT_CHECKS = 6
FLAT_RATIO = 2.0  # linear growth would be the ratio of document counts (10x by default)


@dataclass(frozen=True)
class Document:
    doc_id: str
    local: Path
    size: int


@dataclass(frozen=True)
class Export:
    """One measured export."""

    docs: int
    original_bytes: int
    seconds: float
    cpu: float
    parts: int
    bundle_bytes: int
    baseline_mib: float  # VmRSS just before the export
    hwm_mib: float  # VmHWM after the export (reset to VmRSS just before it)
    sampled_mib: float  # largest VmRSS seen every 100 ms

    @property
    def peak_mib(self) -> float:
        return max(self.hwm_mib, self.sampled_mib)

    @property
    def growth_mib(self) -> float:
        return self.peak_mib - self.baseline_mib

    @property
    def mb_per_s(self) -> float:
        return self.original_bytes / 1e6 / self.seconds


# --- the documents ---------------------------------------------------------------------------


def _vocabulary() -> tuple[list[str], list[float]]:
    """4,000 made-up words with Zipf-like cumulative weights (text that deflates like prose
    rather than like repeated phrases)."""
    rng = random.Random(0)
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words = sorted({"".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(6000)})
    rng.shuffle(words)
    words = words[:4000]
    cumulative, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1 / rank
        cumulative.append(total)
    return words, cumulative


def _size(index: int, rng: random.Random) -> int:
    slot = index * SPREAD % 100
    for share, low_kib, high_kib in SIZE_MIX:
        if slot < share:
            return rng.randint(low_kib * 1024, high_kib * 1024)
        slot -= share
    raise AssertionError("SIZE_MIX must cover a hundred documents")


def generate(folder: ShareFolder, count: int) -> int:
    """`count` distinct text files, 100 to a folder, written locally; returns their bytes."""
    words, cumulative = _vocabulary()
    total = 0
    for i in range(count):
        rng = random.Random(i)
        size = _size(i, rng)
        # ~7.5 bytes a word; a line break every 14 words.
        chosen = rng.choices(words, cum_weights=cumulative, k=size // 7 + 16)
        lines = (" ".join(chosen[n : n + 14]) for n in range(0, len(chosen), 14))
        text = f"Record {i} of the disclosure benchmark.\n" + ".\n".join(lines)
        data = text.encode()[:size]
        parent = folder.local / f"team-{i // FILES_PER_FOLDER:03d}"
        parent.mkdir(exist_ok=True)
        (parent / f"record-{i:05d}.txt").write_bytes(data)
        total += len(data)
    return total


def indexed_documents(env: CrawlEnv, folder: ShareFolder) -> list[Document]:
    """The crawled files, in the order they were generated."""
    runtime = env.runtime
    runtime.es.indices.refresh(index=runtime.names.read_alias)
    found = scan(
        runtime.es,
        runtime.names.read_alias,
        {"term": {"kind": "file"}},
        ["doc_id", "path", "size", "status"],
    )
    documents = []
    for doc in found:
        local = folder.local / str(doc["path"]).strip("/")
        assert local.is_file(), f"indexed path {doc['path']!r} is not {local}"
        documents.append(Document(str(doc["doc_id"]), local, int(doc["size"])))
    return sorted(documents, key=lambda d: d.local.name)


# --- cases and exports -----------------------------------------------------------------------


def new_case(
    records: Records, settings: Settings, title: str, documents: Sequence[Document]
) -> int:
    case = create_case(
        records.sessions,
        regime="FOIA",
        received=dt.date.today(),
        title=title,
        request_text=f"All records of the disclosure benchmark ({len(documents):,} documents).",
        requester_name="A. Benchmark",
        actor=ACTOR,
        prefix_spec=settings.case_prefixes,
        target_days=settings.internal_target_days,
    )
    added = collect(records, case.id, [d.doc_id for d in documents], actor=ACTOR)
    assert added == len(documents), (added, len(documents))
    return case.id


def _settle() -> None:
    """Free what earlier work left behind, so the baseline is what the process really needs
    (glibc keeps freed heap otherwise, and the next peak would hide inside it)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _reset_peak() -> None:
    # "5" resets the process's VmHWM to its current RSS (Linux ≥ 4.0; see proc(5)).
    Path("/proc/self/clear_refs").write_text("5")


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(
    records: Records, target: ExportSettings, case_id: int, documents: Sequence[Document]
) -> Export:
    _settle()
    _reset_peak()
    baseline = current_rss_mib()
    sampler = RssSampler()
    sampler.start()
    cpu, started = cpu_seconds(), time.perf_counter()
    try:
        export = export_case(records, target, case_id, actor=ACTOR)
    finally:
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        sampled = sampler.stop()
    hwm = _vm_hwm_mib()
    try:
        bundle_bytes = verify(export, documents)
    finally:
        _remove(Path(export.directory))
    return Export(
        docs=len(documents),
        original_bytes=int(export.counts["bytes"]),
        seconds=seconds,
        cpu=cpu,
        parts=len(export.parts),
        bundle_bytes=bundle_bytes,
        baseline_mib=baseline,
        hwm_mib=hwm,
        sampled_mib=sampled,
    )


def verify(export: CaseExport, documents: Sequence[Document]) -> int:
    """Check the bundle against the files on disk; returns the parts' total bytes."""
    counts = export.counts
    expected_bytes = sum(d.local.stat().st_size for d in documents)
    assert counts["documents"] == counts["included"] == len(documents), counts
    assert counts["failed"] == 0 and counts["mismatched"] == 0, counts
    assert counts["bytes"] == expected_bytes, (counts["bytes"], expected_bytes)
    directory = Path(export.directory)
    with (directory / f"{export.name}-manifest.csv").open(encoding="utf-8-sig") as manifest:
        rows = list(csv.DictReader(manifest))
    assert len(rows) == len(documents) and all(r["hash_matches"] == "True" for r in rows)
    by_id = {d.doc_id: d for d in documents}
    assert {r["doc_id"] for r in rows} == set(by_id)
    # Every document and its text in exactly one part; the metadata once, in the last part.
    names: list[str] = []
    for part in export.parts:
        with zipfile.ZipFile(directory / part) as bundle:
            names += bundle.namelist()
    assert len(names) == len(set(names)) == 2 * len(documents) + len(METADATA_FILES)
    for row in random.Random(len(documents)).sample(rows, min(SPOT_CHECKS, len(rows))):
        data = by_id[row["doc_id"]].local.read_bytes()
        assert row["sha256"] == hashlib.sha256(data).hexdigest(), row
        assert row["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest(), row
        with zipfile.ZipFile(directory / row["part"]) as bundle:
            assert bundle.read(row["archive_path"]) == data, row
    return sum((directory / part).stat().st_size for part in export.parts)


def _remove(directory: Path) -> None:
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()


# --- the run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents in the large case")
    parser.add_argument("--small", type=int, help="documents in the small case (docs / 10)")
    parser.add_argument("--part-mib", type=int, help="bundle part size (FOI_EXPORT_PART_BYTES)")
    parser.add_argument("--repeat", type=int, default=1, help="exports of each case (medians)")
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    parser.add_argument(
        "--shared-tika", action="store_true", help="use the stack's Tika, not a private one"
    )
    args = parser.parse_args()
    small = args.small or max(1, args.docs // 10)
    assert WARM_UP_DOCS <= small < args.docs, "need 20 <= --small < --docs"
    with (
        tika_server(base_settings(), private=not args.shared_tika) as (stack_settings, _),
        tempfile.TemporaryDirectory(prefix="foi-bench-export-") as scratch,
        ShareFolder(stack_settings, "export") as folder,
    ):
        settings = dataclasses.replace(stack_settings, preservation_dir=Path(scratch, "store"))
        part_bytes = args.part_mib * MIB if args.part_mib else settings.export_part_bytes
        target = ExportSettings(Path(scratch, "exports"), settings.export_keep_days, part_bytes)
        with CrawlEnv(settings) as env:
            started = time.perf_counter()
            generated = generate(folder, args.docs)
            folder.give_to_share_user()
            generate_s = time.perf_counter() - started
            print(f"generated {args.docs:,} files, {generated / 1e6:,.0f} MB, in {generate_s:.0f}s")
            counts, crawl_s = env.crawl(env.pipeline(env.source(folder)))
            print(f"crawled in {crawl_s:.0f}s: {counts.by_status}")
            documents = indexed_documents(env, folder)
            assert len(documents) == args.docs, (len(documents), counts.as_dict())
            records = env.runtime.records
            with transaction(records.sessions) as session:
                create_user(session, ACTOR, "foi_officer", os.urandom(16).hex())
            started = time.perf_counter()
            warm_up = new_case(records, settings, "Warm-up", documents[:WARM_UP_DOCS])
            small_case = new_case(records, settings, "Sample", documents[:small])
            large_case = new_case(records, settings, "Everything", documents)
            collect_s = time.perf_counter() - started
            print(f"cases created and collected in {collect_s:.0f}s")
            load_before = os.getloadavg()
            measure(records, target, warm_up, documents[:WARM_UP_DOCS])
            runs: dict[int, list[Export]] = {small: [], args.docs: []}
            for repeat in range(args.repeat):
                for case_id, docs in ((small_case, documents[:small]), (large_case, documents)):
                    result = measure(records, target, case_id, docs)
                    runs[len(docs)].append(result)
                    print(
                        f"[{repeat + 1}/{args.repeat}] {len(docs):,} documents: "
                        f"{result.seconds:.1f}s, {result.mb_per_s:.1f} MB/s, {result.parts} "
                        f"part(s), RSS {result.baseline_mib:.0f} → {result.peak_mib:.0f} MiB "
                        f"(+{result.growth_mib:.1f})"
                    )
            process_peak = peak_rss_mib()
    body = _body(runs, args, small, part_bytes, generated, crawl_s, collect_s, load_before)
    body += (
        f" The process's lifetime peak (ru_maxrss, crawl included) was {process_peak:.0f} MiB; "
        f"{'the stack' if args.shared_tika else 'a private'} Tika server for the crawl."
    )
    command = "bundle_export" + (f" --docs {args.docs}" if args.docs != 2000 else "")
    command += f" --part-mib {args.part_mib}" if args.part_mib else ""
    command += f" --repeat {args.repeat}" if args.repeat != 1 else ""
    title = "Disclosure-bundle export memory and throughput"
    report("bundle_export", title, settings, body, write=args.write, command=command)


def _median_export(exports: list[Export]) -> dict[str, float]:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    return {
        "seconds": med([e.seconds for e in exports]),
        "mb_per_s": med([e.mb_per_s for e in exports]),
        "cpu": med([e.cpu for e in exports]),
        "baseline": med([e.baseline_mib for e in exports]),
        "hwm": med([e.hwm_mib for e in exports]),
        "sampled": med([e.sampled_mib for e in exports]),
        "growth": med([e.growth_mib for e in exports]),
    }


def _each(runs: dict[int, list[Export]]) -> str:
    """Every export's figures, for a table of medians."""
    growth = "; ".join(
        f"{docs:,}: {', '.join(f'{e.growth_mib:.1f}' for e in exports)}"
        for docs, exports in runs.items()
    )
    speed = "; ".join(
        f"{docs:,}: {', '.join(f'{e.mb_per_s:.1f}' for e in exports)}"
        for docs, exports in runs.items()
    )
    return f"The table gives medians; each export's growth (MiB) {growth}; MB/s {speed}. "


def _body(
    runs: dict[int, list[Export]],
    args: argparse.Namespace,
    small: int,
    part_bytes: int,
    generated: int,
    crawl_s: float,
    collect_s: float,
    load_before: tuple[float, float, float],
) -> str:
    rows = []
    medians = {}
    for docs, exports in runs.items():
        m = medians[docs] = _median_export(exports)
        first = exports[0]
        rows.append(
            [
                f"{docs:,}",
                first.original_bytes / 1e6,
                first.bundle_bytes / 1e6,
                first.parts,
                m["seconds"],
                m["mb_per_s"],
                m["cpu"],
                m["baseline"],
                m["hwm"],
                m["sampled"],
                f"+{m['growth']:.1f}",
            ]
        )
    headers = [
        "documents",
        "originals MB",
        "bundle MB",
        "parts",
        "wall s",
        "MB/s",
        "CPU s",
        "RSS before MiB",
        "peak RSS MiB (VmHWM)",
        "peak RSS MiB (sampled)",
        "growth MiB",
    ]
    growth_small, growth_large = medians[small]["growth"], medians[args.docs]["growth"]
    ratio = growth_large / growth_small if growth_small > 0 else float("inf")
    per_doc_kib = (growth_large - growth_small) * 1024 / (args.docs - small)
    flat = ratio < FLAT_RATIO
    load = ", ".join(f"{x:.1f}" for x in load_before)
    return (
        table(headers, rows)
        + f"\n\nPeak RSS growth during the export: {growth_large:.1f} MiB for {args.docs:,} "
        f"documents against {growth_small:.1f} MiB for {small:,}, a ratio of {ratio:.2f} for "
        f"{args.docs / small:.0f}x the documents ({per_doc_kib:.2f} KiB more per extra "
        f"document): {'flat, met' if flat else '**not flat, missed**'} (flat: ratio < "
        f"{FLAT_RATIO:g}). "
        f"{_each(runs) if args.repeat > 1 else ''}"
        "Growth is the peak (the larger of VmHWM, reset just before the export, and VmRSS "
        "sampled every 100 ms) less the RSS just before the export, taken after a garbage "
        "collection and malloc_trim; an unmeasured export of "
        f"{WARM_UP_DOCS} documents came first. MB/s is bytes of originals exported (read "
        "again over SMB, hashed, spooled, deflated at level 1 with their extracted text) per "
        f"second of `export_case`; parts of at most {part_bytes / MIB:,.0f} MiB. Every export "
        "was verified: all documents included, no hash mismatches, each document and its text "
        f"in exactly one part, and {SPOT_CHECKS} manifest hashes and zipped documents checked "
        "against the files on disk.\n\n"
        f"Setup (not measured): {args.docs:,} distinct generated text files, "
        f"{generated / 1e6:,.0f} MB (in every hundred 80 of 50-150 KiB, 17 of 150 KiB-1 MiB, 3 "
        f"of 1-2 MiB), crawled in {crawl_s:.0f}s; three cases created and collected onto their "
        f"holds in {collect_s:.0f}s. Load average before the exports {load}; the files were "
        "just written, so the share's reads come from the page cache."
    )


if __name__ == "__main__":
    main()
