"""SMB read throughput: the crawler's `read_file` against Samba's own `smbclient get`.

One large random file on the share (warm in the server's page cache after a warm-up read) is
read whole by each contender in turn, interleaved, `--repeats` times; medians are reported.
Contenders: `smbclient get` to /dev/null (the baseline, CLI defaults; and forced to sign, as
smbprotocol always does), `read_file` hash-only and with its local spool copy, and, to show
where the time goes, read_file's pipelined reads without hashing, plain one-at-a-time reads,
and 8 MiB reads.
Target: read_file ≥ 0.8x smbclient's throughput.

    .foi/venv/bin/python -m bench.smb_read [--size small|full] [--mib N] [--repeats 3] [--write]
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import (
    MIB,
    SHARE,
    ShareFolder,
    base_settings,
    median,
    report,
    samba_password,
    table,
    verdict,
)
from crawler import reader
from crawler.reader import read_file
from crawler.smb import SmbShare
from foi_core.settings import Settings

TARGET = 0.8
SIZES = {"small": 128, "full": 1024}  # MiB
NAME = "large.bin"


def write_random(path: Path, mib: int) -> None:
    rng = random.Random(3)
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(rng.randbytes(MIB))


def smbclient_get(
    settings: Settings, folder: ShareFolder, auth: Path, *extra: str
) -> Callable[[], None]:
    command = [
        "smbclient",
        f"//127.0.0.1/{SHARE}",
        "-p",
        str(settings.samba_port),
        "-A",
        str(auth),
        *extra,
        "-c",
        f'get "{folder.name}\\{NAME}" /dev/null',
    ]

    def get() -> None:
        subprocess.run(command, check=True, capture_output=True)

    return get


def crawler_read(share: SmbShare, *, keep_content: bool) -> Callable[[], None]:
    def read() -> None:
        result = read_file(share, NAME, max_bytes=1 << 40, keep_content=keep_content)
        if result.spool is not None:
            result.spool.close()

    return read


def client_cpu() -> float:
    """CPU seconds of this process (all threads) and of the smbclient processes it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def serial_reads(share: SmbShare) -> Callable[[], None]:
    """One READ request at a time through smbclient's file object, nothing else."""

    def read() -> None:
        with share.open_read(NAME) as handle:
            while handle.read(share.read_bytes):
                pass

    return read


def pipelined_reads(share: SmbShare) -> Callable[[], None]:
    """read_file's own request pipeline (a private helper on purpose), without the hashing."""

    def read() -> None:
        with share.open_read(NAME) as handle:
            size = handle.seek(0, io.SEEK_END)
            for _ in reader._chunks(share, handle, size):
                pass

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--mib", type=int, help="file size in MiB (overrides --size)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    mib = args.mib or SIZES[args.size]
    settings = base_settings()
    with ShareFolder(settings, "smbread") as folder, tempfile.TemporaryDirectory() as tmp:
        write_random(folder.local / NAME, mib)
        folder.give_to_share_user()
        auth = Path(tmp, "auth")
        auth.touch(mode=0o600)
        password = samba_password(settings)
        auth.write_text(f"username = {settings.samba_user}\npassword = {password}\n")
        share = folder.share()
        share_8m = SmbShare(share.location, share.username, password, read_bytes=8 * MIB)
        contenders: dict[str, Callable[[], None]] = {
            "smbclient get (CLI defaults)": smbclient_get(settings, folder, auth),
            "smbclient get --client-protection=sign": smbclient_get(
                settings, folder, auth, "--client-protection=sign"
            ),
            f"read_file, hash only ({share.read_bytes // MIB} MiB reads)": crawler_read(
                share, keep_content=False
            ),
            f"read_file, hash + spool ({share.read_bytes // MIB} MiB reads)": crawler_read(
                share, keep_content=True
            ),
            "read_file, hash only (8 MiB reads)": crawler_read(share_8m, keep_content=False),
            "read_file's pipelined reads, no hash": pipelined_reads(share),
            "one read at a time, no hash": serial_reads(share),
        }
        contenders["smbclient get (CLI defaults)"]()  # warm the server's page cache
        seconds: dict[str, list[float]] = {name: [] for name in contenders}
        cpu: dict[str, list[float]] = {name: [] for name in contenders}
        for repeat in range(args.repeats):
            for name, read in contenders.items():
                cpu_before, started = client_cpu(), time.perf_counter()
                read()
                seconds[name].append(time.perf_counter() - started)
                cpu[name].append(client_cpu() - cpu_before)
            print(f"repeat {repeat + 1}: " + ", ".join(f"{s[-1]:.2f}s" for s in seconds.values()))
        share.close()
    baseline = mib / median(seconds["smbclient get (CLI defaults)"])
    rows = []
    for name, runs in seconds.items():
        rate = mib / median(runs)
        is_crawler = name.startswith("read_file,") and "8 MiB" not in name
        rows.append(
            [
                name,
                median(runs),
                rate,
                median(cpu[name]) / median(runs),
                f"{rate / baseline:.2f}x",
                verdict(rate / baseline, TARGET) if is_crawler else "",
            ]
        )
    body = table(
        [
            "reader",
            "median s",
            "MiB/s",
            "client CPU s per s",
            "vs smbclient get",
            f"target ≥ {TARGET}x",
        ],
        rows,
    ) + (
        f"\n\nOne {mib:,} MiB random file, page-cache warm on the server; loopback; median of "
        f"{args.repeats} interleaved runs each. The crawler's setting is "
        f"FOI_SMB_READ_BYTES={settings.smb_read_bytes} (target checked on it); the 8 MiB row "
        "is for comparison. smbprotocol negotiates SMB 3.1.1 and signs every message; "
        "smbclient's times include starting the process and connecting (~0.1 s). Client CPU "
        "s per s: the reader's CPU time over its wall time (2 cores; smbd needs CPU too)."
    )
    report("smb_read", "SMB read throughput", settings, body, write=args.write)


if __name__ == "__main__":
    main()
