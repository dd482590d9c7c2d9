"""Extraction-bound throughput: a full crawl (SMB → Tika → Elasticsearch) against Tika alone.

Tika alone sends the very same files' bytes from local disk straight to Tika's /rmeta/text,
through the same TikaExtractor, with as many threads as the crawl has workers. The crawl is a
first crawl (fresh database and index) of the same files on the share. Runs alternate
(Tika, crawl, Tika, crawl, ...) after a short Tika warm-up; medians are reported.
Target: crawl docs/s ≥ 0.9 x Tika-alone docs/s.

    .foi/venv/bin/python -m bench.crawl_throughput [--size small|full] [--repeats N] [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import ingest.processor
from bench.common import (
    CrawlEnv,
    ShareFolder,
    StageTimes,
    base_settings,
    cpu_seconds,
    median,
    profiled,
    report,
    service_cpu_seconds,
    stack_pid_file,
    table,
    tika_server,
    verdict,
)
from crawler.walker import WalkProblem, walk
from demo.documents import generate
from foi_core.settings import Settings
from ingest.processor import FileProcessor
from ingest.reuse import ContentReuse

TARGET = 0.9
CORPUS = Path(os.environ.get("FOI_CORPUS_DIR", "/work/shared/corpus")) / "tika-testdocs"
SIZES = {"small": {"corpus": 60, "generated": 54}, "full": {"corpus": 0, "generated": 324}}


@dataclass
class Run:
    seconds: float
    client_cpu: float  # this process: the crawl, or the Tika-alone client
    tika_cpu: float
    es_cpu: float  # Elasticsearch serves everyone on the machine: indicative only
    load: float  # 1-minute load average when the run started (others share the machine)


def fill_corpus(folder: ShareFolder, limit: int) -> None:
    """The shared corpus (its per-extension folders; `limit` > 0 takes an even spread)."""
    files = sorted(p for p in CORPUS.glob("*/*") if p.is_file())
    if limit:
        files = files[:: max(1, len(files) // limit)][:limit]
    for path in files:
        target = folder.local / path.relative_to(CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def fill_generated(folder: ShareFolder, count: int) -> None:
    """`count` distinct demo documents (docx, pdf, xlsx, eml, txt): one demo tree per seed,
    byte-identical files dropped so that no extraction is saved by de-duplication."""
    seen: set[str] = set()
    seed = 0
    while len(seen) < count:
        generate(folder.local / f"seed-{seed:02d}", seed=seed)
        for path in folder.files(f"seed-{seed:02d}"):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen or len(seen) >= count:
                path.unlink()
            else:
                seen.add(digest)
        seed += 1


def tika_alone(processor: FileProcessor, files: list[Path], workers: int) -> None:
    """Each local file through the crawl's own extraction step: the same Tika client and
    options, and the same retries while Tika restarts its parser (private method on purpose:
    that step, and nothing else of the per-file work, is the baseline)."""

    def one(path: Path) -> None:
        with path.open("rb") as stream:
            processor._extract(stream, path.name)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, files))


def measure(servers: tuple[Path, Path], action: Callable[[], object]) -> Run:
    """Run `action` once; servers are the pid files of Tika and Elasticsearch."""

    def services() -> tuple[float, float]:
        tika, es = servers
        return service_cpu_seconds(tika), service_cpu_seconds(es)

    load = os.getloadavg()[0]
    cpu, (tika, es), started = cpu_seconds(), services(), time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    tika_after, es_after = services()
    return Run(seconds, cpu_seconds() - cpu, tika_after - tika, es_after - es, load)


def walk_order(folder: ShareFolder) -> list[Path]:
    """The local files in the order the crawl meets them, so both sides start the slow files
    at the same point (a few corpus files take a minute; when they start sets the tail)."""
    with folder.share() as share:
        paths = [item.path for item in walk(share) if not isinstance(item, WalkProblem)]
    return [folder.local / path for path in paths]


@dataclass
class SetResult:
    row: list[object]  # the summary table's row
    stages: list[list[object]]  # where the crawl workers' time went
    runs: str  # every run's seconds, for the record


def bench_set(
    settings: Settings,
    servers: tuple[Path, Path],
    label: str,
    folder: ShareFolder,
    repeats: int,
    profile: Path | None,
) -> SetResult:
    folder.give_to_share_user()
    files = walk_order(folder)
    workers = settings.crawl_workers
    print(f"{label}: {len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB")
    with CrawlEnv(settings) as baseline:  # an index the Tika-alone processor never writes
        processor = baseline.runtime.processor(baseline.source(folder))
        tika_alone(processor, files[:100], workers)  # JIT warm-up, not timed
        alone: list[Run] = []
        crawls: list[Run] = []
        stages = StageTimes()
        for repeat in range(repeats):
            alone.append(measure(servers, lambda: tika_alone(processor, files, workers)))
            with CrawlEnv(settings) as env:
                pipeline = env.pipeline(env.source(folder))
                with (
                    # One open for the content and the ACL (`_read`); the ACL's own query
                    # runs only where that open is refused, and for renames and failures.
                    stages.patch(FileProcessor, "_read", "SMB open + ACL + read + hash + sniff"),
                    stages.patch(ingest.processor, "read_acl", "ACL query"),
                    stages.patch(ContentReuse, "_recorded_elsewhere", "state: copy lookup"),
                    stages.patch(env.runtime.extractor, "extract", "Tika"),
                    stages.patch(env.runtime.es, "search", "ES dedupe search"),
                    stages.patch(ingest.processor, "write_documents", "ES bulk write"),
                    stages.patch(FileProcessor, "_save_state", "SQLite state"),
                    profiled(FileProcessor, "process", profile) if profile else nullcontext(),
                ):
                    crawls.append(measure(servers, partial(env.crawl, pipeline)))
            print(
                f"  repeat {repeat + 1}: Tika alone {alone[-1].seconds:.1f}s, "
                f"crawl {crawls[-1].seconds:.1f}s"
            )
    n = len(files)
    alone_rate = n / median([r.seconds for r in alone])
    crawl_rate = n / median([r.seconds for r in crawls])
    ratio = crawl_rate / alone_rate
    worker_s = workers * sum(r.seconds for r in crawls)
    breakdown: list[list[object]] = [
        [label, stage, f"{100 * secs / worker_s:.1f}%", 1000 * secs / stages.calls[stage]]
        for stage, secs in sorted(stages.seconds.items(), key=lambda kv: -kv[1])
    ]
    rest = 1 - sum(stages.seconds.values()) / worker_s
    breakdown.append([label, "other: glue, locks, idle workers", f"{100 * rest:.1f}%", ""])
    row = [
        label,
        n,
        alone_rate,
        crawl_rate,
        f"{ratio:.2f}x",
        verdict(ratio, TARGET),
        per_doc(alone, crawls, "tika_cpu", n),
        per_doc(alone, crawls, "client_cpu", n),
        per_doc(alone, crawls, "es_cpu", n),
        f"{median([r.load for r in alone + crawls]):.1f}",
    ]
    runs = (
        f"{label}: Tika alone {', '.join(f'{r.seconds:.1f}' for r in alone)} s; "
        f"crawl {', '.join(f'{r.seconds:.1f}' for r in crawls)} s"
    )
    return SetResult(row, breakdown, runs)


def per_doc(alone: list[Run], crawls: list[Run], attr: str, files: int) -> str:
    """Median milliseconds of `attr` per document, Tika alone / crawl."""

    def ms(runs: list[Run]) -> float:
        return 1000 * median([getattr(r, attr) for r in runs]) / files

    return f"{ms(alone):.0f} / {ms(crawls):.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--repeats", type=int, default=None, help="default: 1 small, 3 full")
    parser.add_argument("--only", choices=("corpus", "generated"))
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    parser.add_argument(
        "--shared-tika", action="store_true", help="use the stack's Tika, not a private one"
    )
    parser.add_argument(
        "--profile", type=Path, help="cProfile the crawl workers into this file (slows them)"
    )
    args = parser.parse_args()
    size = SIZES[args.size]
    repeats = args.repeats or (3 if args.size == "full" else 1)
    results: list[SetResult] = []
    with tika_server(base_settings(), private=not args.shared_tika) as (settings, tika_pid):
        servers = (tika_pid, stack_pid_file(settings, "elasticsearch"))
        if args.only != "generated":
            with ShareFolder(settings, "corpus") as folder:
                fill_corpus(folder, size["corpus"])
                label = "shared corpus"
                results.append(bench_set(settings, servers, label, folder, repeats, args.profile))
        if args.only != "corpus":
            with ShareFolder(settings, "generated") as folder:
                fill_generated(folder, size["generated"])
                label = "generated docs"
                results.append(bench_set(settings, servers, label, folder, repeats, args.profile))
    body = table(
        [
            "file set",
            "files",
            "Tika alone docs/s",
            "crawl docs/s",
            "crawl ÷ Tika",
            f"target ≥ {TARGET}x",
            "Tika CPU ms/doc (alone / crawl)",
            "client CPU ms/doc (alone / crawl)",
            "ES CPU ms/doc (alone / crawl)",
            "load avg",
        ],
        [r.row for r in results],
    )
    body += (
        f"\n\n{settings.crawl_workers} crawl workers and as many Tika-alone threads; "
        f"median of {repeats} alternating runs each "
        f"({'; '.join(r.runs for r in results)}); OCR {'on' if settings.ocr_enabled else 'off'}; "
        f"Tika timeout {settings.tika_timeout_s:.0f}s; "
        f"{'the stack' if args.shared_tika else 'a private'} Tika server. "
        "CPU columns: the Tika server and its forked parser; this process (the crawl, or "
        "the Tika-alone client); Elasticsearch (which also serves anyone else using the "
        "machine).\n\n"
        "Where the crawl workers' time went (wall time inside each call, summed over all "
        "runs, as a share of workers x crawl seconds):\n\n"
    )
    body += table(
        ["file set", "stage", "share of worker time", "ms per call"],
        [stage for r in results for stage in r.stages],
    )
    # A partial run (--only) gets its own section rather than replacing the full run's.
    key, title, command = "crawl_throughput", "Extraction-bound throughput", ""
    if args.only:
        key, title = f"{key}_{args.only}", f"{title}: {args.only} only"
        command = f"crawl_throughput --size {args.size} --only {args.only}"
    report(key, title, settings, body, write=args.write, command=command)


if __name__ == "__main__":
    main()
