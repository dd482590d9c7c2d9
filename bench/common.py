"""Shared plumbing for the hand-run benchmarks (never part of the test suite).

Every benchmark works on the local stack's `test` share (`foi stack up`) and cleans up after
itself: a unique `bench-…` folder in the share (written straight into the share's local folder,
which is much faster than over SMB, then given to the share user), a throwaway SQLite
database for crawl state, and `bench-…` indices dropped at the end.
"""

from __future__ import annotations

import cProfile
import dataclasses
import os
import platform
import pstats
import pwd
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import requests

from crawler.smb import ShareLocation, SmbShare
from devstack.base import Account, StackPaths
from devstack.tika import TikaService
from devstack.versions import TIKA_VERSION
from foi_core.db import transaction
from foi_core.migrate import upgrade
from foi_core.models import Source
from foi_core.settings import Settings
from foi_core.sources import add_source
from indexer.extract import Extraction, TikaExtractor
from indexer.lifecycle import IndexNames, drop_all
from ingest.pipeline import CrawlCounts, CrawlPipeline
from services import Services

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "benchmarks.md"
SHARE = "test"
MIB = 1024 * 1024


def _code_version() -> str:
    """The commit the benchmark's code was loaded from (+ "dirty" with local changes)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    code = ("crawler", "indexer", "foi_core", "foi_cli", "demo", "bench")
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--", *code) else ""
    return f"{git('rev-parse', '--short', 'HEAD') or 'unknown'}{dirty}"


CODE_VERSION = _code_version()  # taken at start-up: others may commit while a run goes on


def base_settings(**overrides: Any) -> Settings:
    """The environment's settings (as `foi` would see them from the repository root)."""
    env = dict(os.environ)
    env.setdefault("FOI_STATE_DIR", str(REPO / ".foi"))
    return dataclasses.replace(Settings.from_env(env), **overrides)


def samba_password_file(settings: Settings) -> Path:
    return settings.state_dir / "secrets" / "samba_password"


def samba_password(settings: Settings) -> str:
    return settings.samba_password or samba_password_file(settings).read_text().strip()


class ShareFolder:
    """A unique folder in the `test` share, removed (with everything in it) on exit."""

    def __init__(self, settings: Settings, label: str) -> None:
        self.settings = settings
        self.name = f"bench-{label}-{uuid.uuid4().hex[:8]}"
        self.local = settings.state_dir / "services" / "shares" / SHARE / self.name

    def __enter__(self) -> ShareFolder:
        self.local.mkdir(parents=True)
        return self

    def __exit__(self, *_exc: object) -> None:
        shutil.rmtree(self.local, ignore_errors=True)

    def give_to_share_user(self) -> None:
        """Files written locally belong to us; the share user must own them, as over SMB."""
        user = pwd.getpwnam(self.settings.samba_user)
        for dirpath, dirnames, filenames in os.walk(self.local):
            for name in [*dirnames, *filenames]:
                os.chown(Path(dirpath, name), user.pw_uid, user.pw_gid)
        os.chown(self.local, user.pw_uid, user.pw_gid)

    def share(self, sub: str = "") -> SmbShare:
        root = f"{self.name}/{sub}".rstrip("/")
        location = ShareLocation("127.0.0.1", self.settings.samba_port, SHARE, root)
        return SmbShare(
            location,
            self.settings.samba_user,
            samba_password(self.settings),
            read_bytes=self.settings.smb_read_bytes,
        )

    def files(self, sub: str = "") -> list[Path]:
        return sorted(p for p in (self.local / sub).rglob("*") if p.is_file())


class CrawlEnv:
    """A Services with its own SQLite database and `bench-…` indices, both dropped on exit."""

    def __init__(self, settings: Settings) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="foi-bench-"))
        self.settings = dataclasses.replace(
            settings,
            database_url=f"sqlite:///{self._tmp / 'crawl.db'}",
            index_prefix=f"bench-{uuid.uuid4().hex[:10]}",
        )
        self.runtime = Services(self.settings)
        upgrade(self.runtime.engine)

    def __enter__(self) -> CrawlEnv:
        return self

    def __exit__(self, *_exc: object) -> None:
        drop_all(self.runtime.es, IndexNames(self.settings.index_prefix))
        self.runtime.engine.dispose()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def source(self, folder: ShareFolder, sub: str = "", name: str = "bench") -> Source:
        with transaction(self.runtime.sessions) as session:
            return add_source(
                session,
                name=name,
                server="127.0.0.1",
                port=self.settings.samba_port,
                share=SHARE,
                username=self.settings.samba_user,
                credential_ref=f"file:{samba_password_file(self.settings)}",
                root=f"{folder.name}/{sub}".rstrip("/"),
            )

    def pipeline(self, source: Source) -> CrawlPipeline:
        """The crawl `foi crawl` would run; building it creates the index (not timed)."""
        return self.runtime.pipeline(source)

    @staticmethod
    def crawl(pipeline: CrawlPipeline, *, full: bool = False) -> tuple[CrawlCounts, float]:
        """One in-process crawl: (counts, wall seconds)."""
        started = time.perf_counter()
        counts = pipeline.run(full=full, progress=_progress)
        return counts, time.perf_counter() - started


class CountingExtractor(TikaExtractor):
    """A TikaExtractor that counts its calls (thread-safe): one call is one Tika request."""

    def __init__(self, inner: TikaExtractor) -> None:
        super().__init__(inner.server_url, inner.options)
        self.calls = 0
        self._lock = threading.Lock()

    def extract(self, stream: IO[bytes], *, filename: str = "", mime: str = "") -> Extraction:
        with self._lock:
            self.calls += 1
        return super().extract(stream, filename=filename, mime=mime)


def count_tika_calls(env: CrawlEnv) -> CountingExtractor:
    """Count the Tika calls of pipelines built from now on."""
    counting = CountingExtractor(env.runtime.extractor)
    env.runtime.extractor = counting  # replaces the cached client
    return counting


class StageTimes:
    """Wall time spent inside named calls, summed over all threads (where workers wait)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    @contextmanager
    def patch(self, owner: object, attr: str, stage: str) -> Iterator[None]:
        original = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[stage] += time.perf_counter() - started
                    self.calls[stage] += 1

        setattr(owner, attr, timed)
        try:
            yield
        finally:
            if isinstance(owner, type) or not hasattr(type(owner), attr):
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)  # back to the class's method


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


_last_progress = [time.monotonic()]


def _progress(counts: CrawlCounts) -> None:
    """A line on stderr every 30 s, so a long crawl shows it is alive."""
    now = time.monotonic()
    if now - _last_progress[0] >= 30:
        _last_progress[0] = now
        print(
            f"  … seen {counts.seen:,}, done {counts.done:,}, extracted {counts.extracted:,}",
            file=sys.stderr,
            flush=True,
        )


# --- reporting -------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (also readable as plain text on the terminal)."""
    cells = [[str(c) for c in headers], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [_row(cells[0], widths), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [_row(row, widths) for row in cells[1:]]
    return "\n".join(lines)


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(value: float, target: float, *, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value < target
    return "met" if met else "**missed**"


def machine(settings: Settings) -> dict[str, str]:
    """What a reader needs to compare results: hardware, OS and every version in the path."""
    cpu = _first_match(Path("/proc/cpuinfo"), r"model name\s*:\s*(.+)")
    mem_kib = int(_first_match(Path("/proc/meminfo"), r"MemTotal:\s*(\d+)") or 0)
    # The stack's jar, which a private Tika server (see tika_server) runs too.
    tika = f"Apache Tika {TIKA_VERSION} (tika-server-standard, one forked parser JVM, -Xmx2g)"
    es = "unavailable when asked"
    with suppress(requests.RequestException, KeyError):
        nodes = requests.get(
            f"{settings.elasticsearch_url}/_nodes/_local",
            params={"filter_path": "nodes.*.version"},
            timeout=10,
        ).json()["nodes"]
        es = ", ".join(sorted({node["version"] for node in nodes.values()}))
    smbclient_cli = subprocess.run(
        ["smbclient", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    debian = Path("/etc/debian_version")
    return {
        "CPU": f"{os.cpu_count()} x {cpu}",
        "RAM": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "OS": f"Debian {debian.read_text().strip() if debian.exists() else '?'}, "
        f"Linux {platform.release()}",
        "Python": platform.python_version(),
        "smbprotocol": metadata.version("smbprotocol"),
        "Samba": smbclient_cli.removeprefix("Version "),
        "Tika": tika,
        "Elasticsearch": es,
        "Disk": "page cache warm (files generated just before; RAM ≫ data)",
    }


def _first_match(path: Path, pattern: str) -> str:
    found = re.search(pattern, path.read_text(), re.MULTILINE)
    return found.group(1).strip() if found else ""


def report(
    name: str, title: str, settings: Settings, body: str, *, write: bool, command: str = ""
) -> None:
    """Print a benchmark's result; with `write`, put it into docs/benchmarks.md, replacing
    that benchmark's previous section (and refreshing the machine description)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    section = (
        f"## {title}\n\n_Run {stamp} with `python -m bench.{command or name}` "
        f"on commit {CODE_VERSION}; load average at the end {load} "
        "(1, 5, 15 min; the machine is shared)._\n\n"
        f"{body.strip()}\n"
    )
    print(f"\n{section}")
    if not write:
        return
    # Kept even if the docs update below fails, so a long run is never lost.
    (Path(tempfile.gettempdir()) / f"bench-{name}.md").write_text(section)
    described = "\n".join(f"- **{k}**: {v}" for k, v in machine(settings).items())
    text = RESULTS.read_text() if RESULTS.exists() else _SKELETON
    text = _replace_block(text, "machine", f"## Machine\n\n{described}\n")
    text = _replace_block(text, name, section)
    RESULTS.write_text(text)
    print(f"written to {RESULTS.relative_to(REPO)}")


def _replace_block(text: str, key: str, content: str) -> str:
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{start}\n{content.rstrip()}\n{end}"
    if start in text:
        before, _, rest = text.partition(start)
        _, _, after = rest.partition(end)
        return before + block + after
    return text.rstrip() + "\n\n" + block + "\n"


_SKELETON = """# Benchmarks

Results of the hand-run benchmarks in `bench/` (issue 3). See `bench/README.md` for how to run
them; each run replaces its own section below.
"""


def elapsed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def stack_pid_file(settings: Settings, service: str) -> Path:
    return settings.state_dir / "run" / f"{service}.pid"


def service_cpu_seconds(pid_file: Path) -> float:
    """CPU seconds used so far by a service process and its descendants (Tika's forked parser
    JVM and its Tesseract runs are children of the server), including descendants that have
    exited: a parent that reaps a child adds the child's time to its own cutime/cstime, so a
    restarted parser JVM does not reset the count."""
    root = int(pid_file.read_text().split()[0])
    children: dict[int, list[int]] = defaultdict(list)
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        children[int(fields[1])].append(pid)  # field 4 of stat: the parent pid
        ticks[pid] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def profiled(owner: object, attr: str, out: Path) -> Iterator[None]:
    """Profile the CPU time of every call of `owner.attr`, in whichever thread it runs (cProfile
    itself sees only the thread that enables it), and write the merged stats to `out`."""
    original = getattr(owner, attr)
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        profile = cProfile.Profile(time.thread_time)  # CPU time of this thread
        try:
            return profile.runcall(original, *args, **kwargs)
        finally:
            with lock:
                profiles.append(profile)

    setattr(owner, attr, wrapped)
    try:
        yield
    finally:
        setattr(owner, attr, original)
        if profiles:
            stats = pstats.Stats(profiles[0])
            for profile in profiles[1:]:
                stats.add(profile)
            stats.dump_stats(out)
            print(f"profile of {len(profiles)} calls written to {out}")


@contextmanager
def tika_server(settings: Settings, *, private: bool) -> Iterator[tuple[Settings, Path]]:
    """(settings, pid file) of the Tika server a benchmark should use.

    Private: a Tika server of our own on a free port, started by the stack's own TikaService
    code (same jar, configuration and JVM flags) and stopped afterwards, so other users of the
    shared server (and the corpus files that crash its forked parser) neither queue ahead of
    a long run nor break it, and our load does not break theirs. The CPU stays shared."""
    if not private:
        yield settings, stack_pid_file(settings, "tika")
        return
    tmp = Path(tempfile.mkdtemp(prefix="foi-bench-tika-"))
    tmp.chmod(0o755)  # the stack's layout expects a state folder others may traverse
    paths = StackPaths(tmp)
    paths.ensure()
    jar = StackPaths(settings.state_dir).opt / f"tika-server-standard-{TIKA_VERSION}.jar"
    (paths.opt / jar.name).symlink_to(jar)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service = TikaService(paths, Account.current(), port)
    try:
        service.install()
        service.start()
        service.wait_healthy(180)
        print(f"private Tika server on port {port}", file=sys.stderr)
        yield dataclasses.replace(settings, tika_url=service.url), service.pidfile.path
    finally:
        service.stop()
        shutil.rmtree(tmp, ignore_errors=True)
