"""The crawler against the real Samba server started by `foi stack up`.

Each test builds its own folder in the `test` share, over SMB where SMB can make the thing and
on the share's local disk where it cannot (symlinks, unreadable folders), and removes it after.
A Samba server that cannot be reached fails the tests: it never skips them.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import tempfile
import threading
import tracemalloc
import uuid
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest
import smbclient

from crawler import reader
from crawler.acl import read_acl
from crawler.reader import FileTooLarge, read_file
from crawler.smb import (
    AccessDenied,
    AuthenticationFailed,
    FileVanished,
    HostUnreachable,
    ShareLocation,
    ShareNotFound,
    SmbShare,
    SourceError,
)
from crawler.walker import FileFacts, WalkProblem, walk

pytestmark = pytest.mark.integration

SERVER = "127.0.0.1"
SHARE = "test"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Samba:
    port: int
    user: str
    password: str
    share_dir: Path

    def location(
        self, root: str = "", *, share: str = SHARE, port: int | None = None
    ) -> ShareLocation:
        return ShareLocation(SERVER, self.port if port is None else port, share, root)


@pytest.fixture(scope="session")
def samba() -> Samba:
    state_dir = Path(os.environ.get("FOI_STATE_DIR", REPO / ".foi"))
    password = os.environ.get("FOI_SAMBA_PASSWORD") or (
        (state_dir / "secrets" / "samba_password").read_text(encoding="utf-8").strip()
    )
    config = Samba(
        port=int(os.environ.get("FOI_SAMBA_PORT", "4445")),
        user=os.environ.get("FOI_SAMBA_USER", "foidemo"),
        password=password,
        share_dir=Path(
            os.environ.get("FOI_TEST_SHARE_DIR", state_dir / "services" / "shares" / SHARE)
        ),
    )
    try:
        socket.create_connection((SERVER, config.port), timeout=5).close()
    except OSError as exc:
        pytest.fail(f"Samba is not reachable on {SERVER}:{config.port} ({exc}); run `foi stack up`")
    return config


@pytest.fixture(scope="session")
def writer(samba: Samba) -> Iterator[dict[str, Any]]:
    """smbclient keyword arguments for test set-up writes, on a pool of their own."""
    pool: dict[str, Any] = {}
    yield {
        "port": samba.port,
        "username": samba.user,
        "password": samba.password,
        "connection_cache": pool,
    }
    smbclient.reset_connection_cache(fail_on_error=False, connection_cache=pool)


class Workspace:
    """One test's folder in the test share: written over SMB, or on disk for what SMB can't do."""

    def __init__(self, samba: Samba, writer: dict[str, Any], name: str) -> None:
        self.samba = samba
        self.writer = writer
        self.name = name
        self.root = samba.share_dir / name
        self.location = samba.location(name)

    def write(self, rel_path: str, data: bytes) -> None:
        parent = rel_path.rpartition("/")[0]
        if parent:
            smbclient.makedirs(self.location.unc(parent), exist_ok=True, **self.writer)
        with smbclient.open_file(self.location.unc(rel_path), mode="wb", **self.writer) as handle:
            handle.write(data)

    def disk(self, rel_path: str) -> Path:
        return self.root / rel_path

    def disk_write(self, rel_path: str, data: bytes = b"") -> Path:
        path = self.disk(rel_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.give_to_share_user(path)
        return path

    def disk_dir(self, rel_path: str) -> Path:
        path = self.disk(rel_path)
        path.mkdir(parents=True, exist_ok=True)
        self.give_to_share_user(path)
        return path

    def symlink(self, rel_path: str, target: str) -> None:
        link = self.disk(rel_path)
        link.symlink_to(target, target_is_directory=True)
        self.give_to_share_user(link)

    def give_to_share_user(self, path: Path) -> None:
        """chown what the test made on disk (and its new parents) to the share's Unix user."""
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(self.samba.user)
        current = path
        while current != self.samba.share_dir and current.is_relative_to(self.root):
            os.lchown(current, account.pw_uid, account.pw_gid)
            current = current.parent


@pytest.fixture
def workspace(
    samba: Samba, writer: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Workspace]:
    name = f"crawler-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
    smbclient.mkdir(samba.location().unc(name), **writer)
    space = Workspace(samba, writer, name)
    yield space
    for folder, dirs, _ in os.walk(space.root):
        for sub in dirs:
            path = Path(folder) / sub
            if not path.is_symlink():
                path.chmod(0o755)  # so cleanup also works without root
    shutil.rmtree(space.root)


@pytest.fixture
def share(samba: Samba, workspace: Workspace) -> Iterator[SmbShare]:
    """The crawler's view of the workspace: a source rooted at the test's folder."""
    with SmbShare(workspace.location, samba.user, samba.password) as source:
        yield source


def split(items: list[FileFacts | WalkProblem]) -> tuple[list[FileFacts], list[WalkProblem]]:
    files = [item for item in items if isinstance(item, FileFacts)]
    problems = [item for item in items if isinstance(item, WalkProblem)]
    return files, problems


DEEP = "/".join(f"level{depth:02d}" for depth in range(1, 17)) + "/deep.txt"
CAFE = "Café \u2013 résumé ü.docx"  # an en dash, as Word likes to insert
LONG = "/".join(f"long-{n}-" + "x" * 93 for n in range(5)) + "/" + "n" * 41 + ".txt"
AWKWARD = {
    DEEP: b"sixteen folders down",
    LONG: b"a long way from the root",
    CAFE: b"accents and a dash",
    "会议记录/预算 2024.txt": b"Chinese folder and file",
    "📁 Emoji 🎉/notes 😀.txt": b"emoji outside the BMP",
    "with spaces/a file name.txt": b"spaces",
    "empty.txt": b"",
}


def test_walk_finds_deep_unicode_long_spaced_and_empty_files(
    workspace: Workspace, share: SmbShare
) -> None:
    assert len(LONG) == 550
    for rel_path, data in AWKWARD.items():
        workspace.write(rel_path, data)

    files, problems = split(list(walk(share)))

    assert problems == []
    assert {facts.path: facts.size for facts in files} == {p: len(d) for p, d in AWKWARD.items()}
    assert [facts.path for facts in files[:2]] == [CAFE, "empty.txt"]
    assert files == split(list(walk(share)))[0]  # stable order
    for facts in files:
        assert facts == share.stat(facts.path)  # listing and stat agree to the 100 ns tick
        assert not facts.is_directory
        assert read_file(share, facts.path, max_bytes=1024, keep_content=False).sha256 == (
            hashlib.sha256(AWKWARD[facts.path]).hexdigest()
        )


def test_walk_reports_symlink_loops_and_terminates(workspace: Workspace, share: SmbShare) -> None:
    workspace.disk_write("a/b/f.txt", b"only once")
    workspace.symlink("a/b/up", "..")
    workspace.symlink("to-root", ".")

    files, problems = split(list(walk(share)))

    assert [facts.path for facts in files] == ["a/b/f.txt"]
    assert sorted((problem.path, problem.kind) for problem in problems) == [
        ("a/b/up", "symlink_loop"),
        ("to-root", "symlink_loop"),
    ]


def test_walk_reports_an_unreadable_folder_and_carries_on(
    workspace: Workspace, share: SmbShare
) -> None:
    workspace.disk_write("a-before/1.txt", b"1")
    workspace.disk_write("locked/secret.txt", b"secret")
    workspace.disk_write("z-after/2.txt", b"2")
    workspace.disk("locked").chmod(0o000)

    files, problems = split(list(walk(share)))

    assert [facts.path for facts in files] == ["a-before/1.txt", "z-after/2.txt"]
    assert [(problem.path, problem.kind) for problem in problems] == [("locked", "access_denied")]
    assert "locked" in problems[0].message


def test_unreadable_file_is_listed_but_reading_it_is_denied(
    workspace: Workspace, share: SmbShare
) -> None:
    workspace.write("private.txt", b"no peeking")
    workspace.disk("private.txt").chmod(0o000)

    files, _ = split(list(walk(share)))

    assert [facts.path for facts in files] == ["private.txt"]
    with pytest.raises(AccessDenied, match=r"private\.txt"):
        read_file(share, "private.txt", max_bytes=1024)


def test_include_and_exclude_globs_select_files_and_prune_folders(
    workspace: Workspace, share: SmbShare
) -> None:
    for rel_path in (
        "Finance/budget.pdf",
        "Finance/notes.tmp",
        "Finance/Archive/old.pdf",
        "HR/readme.txt",
        "HR/Staff/contract.docx",
        "top.docx",
    ):
        workspace.write(rel_path, b"x")
    # Entering a locked folder yields an access_denied problem, so no problem proves pruning.
    workspace.disk_write("Finance/Archive/locked/x.pdf")
    workspace.disk("Finance/Archive/locked").chmod(0o000)
    workspace.disk_write("Elsewhere/locked/x.pdf")
    workspace.disk("Elsewhere/locked").chmod(0o000)

    files, problems = split(
        list(walk(share, include=["Finance/**", "**/*.DOCX"], exclude=["**/Archive/**"]))
    )
    assert [facts.path for facts in files] == [
        "top.docx",
        "Finance/budget.pdf",
        "Finance/notes.tmp",
        "HR/Staff/contract.docx",
    ]
    assert [(problem.path, problem.kind) for problem in problems] == [
        ("Elsewhere/locked", "access_denied")  # entered (it might hold a .docx), unlike Archive
    ]

    finance = list(walk(share, include=["Finance/**"], exclude=["Finance/Archive/", "**/*.tmp"]))
    assert finance == [share.stat("Finance/budget.pdf")]


def test_read_file_hashes_sniffs_and_spools_the_content(
    workspace: Workspace, share: SmbShare
) -> None:
    data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n" + os.urandom(12_000)
    workspace.write("report.pdf", data)

    result = read_file(share, "report.pdf", max_bytes=1024 * 1024)

    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert result.head == data[:8192]
    assert result.mime == "application/pdf"
    assert result.spool is not None
    with result.spool as spool:
        assert spool.read() == data


def test_read_file_hashes_a_20_mb_file_in_one_pass(workspace: Workspace, share: SmbShare) -> None:
    data = os.urandom(20 * 1000 * 1000)
    workspace.disk_write("big.bin", data)
    expected = hashlib.sha256(data).hexdigest()

    kept = read_file(share, "big.bin", max_bytes=len(data))
    hashed_only = read_file(share, "big.bin", max_bytes=len(data), keep_content=False)

    assert (kept.sha256, kept.size) == (expected, len(data))
    assert kept.spool is not None
    with kept.spool as spool:
        assert hashlib.sha256(spool.read()).hexdigest() == expected
    assert (hashed_only.sha256, hashed_only.size, hashed_only.spool) == (expected, len(data), None)


def _hash_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "read-file-hash"]


def test_read_file_hashes_a_multi_chunk_file_on_a_helper_thread(
    workspace: Workspace, share: SmbShare, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)  # five full chunks and a short one
    workspace.write("multi.bin", data)
    threads = []
    real_sink = reader._ThreadedSink

    def recording_sink(*args: Any) -> reader._ThreadedSink:
        sink = real_sink(*args)
        threads.append(sink._thread)
        return sink

    monkeypatch.setattr(reader, "_ThreadedSink", recording_sink)

    result = read_file(share, "multi.bin", max_bytes=len(data))

    assert len(threads) == 1 and not threads[0].is_alive()
    assert (result.sha256, result.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert result.head == data[:8192]
    assert result.spool is not None
    with result.spool as spool:
        assert spool.read() == data
    read_file(share, "multi.bin", max_bytes=len(data), keep_content=False)
    assert len(threads) == 2 and not _hash_threads()


def test_read_file_hashes_a_one_chunk_file_without_a_thread(
    workspace: Workspace, share: SmbShare, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(share.read_bytes)
    workspace.write("one-chunk.bin", data)

    def no_thread(*args: Any) -> None:
        raise AssertionError("a one-chunk file started a hashing thread")

    monkeypatch.setattr(reader, "_ThreadedSink", no_thread)

    result = read_file(share, "one-chunk.bin", max_bytes=len(data), keep_content=False)

    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_read_file_surfaces_a_connection_lost_mid_read_and_stops_its_thread(
    workspace: Workspace, share: SmbShare, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write("cut.bin", os.urandom(6 * 1024 * 1024))
    share.test()  # the session's own threads exist before counting
    before = threading.active_count()
    real_chunks = reader._chunks

    def cut_after_two(share: SmbShare, handle: BinaryIO, size: int) -> Generator[bytes, None, None]:
        chunks = real_chunks(share, handle, size)
        with closing(chunks):
            for count, chunk in enumerate(chunks):
                if count == 2:
                    cast(Any, handle).fd.connection.disconnect()
                yield chunk

    monkeypatch.setattr(reader, "_chunks", cut_after_two)

    with pytest.raises(SourceError):
        read_file(share, "cut.bin", max_bytes=6 * 1024 * 1024)

    assert not _hash_threads()
    assert threading.active_count() <= before


def test_read_file_surfaces_a_failed_spool_write_and_stops_its_thread(
    workspace: Workspace, share: SmbShare, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write("unspoolable.bin", os.urandom(3 * 1024 * 1024))
    share.test()
    before = threading.active_count()
    # The spool rolls over to disk at its first write, into a folder that does not exist.
    monkeypatch.setattr(reader, "SPOOL_MEMORY_BYTES", 1)
    monkeypatch.setattr(tempfile, "tempdir", str(workspace.disk("no-such-folder")))

    with pytest.raises(FileNotFoundError):
        read_file(share, "unspoolable.bin", max_bytes=3 * 1024 * 1024)

    assert not _hash_threads()
    assert threading.active_count() == before
    monkeypatch.undo()
    again = read_file(share, "unspoolable.bin", max_bytes=3 * 1024 * 1024, keep_content=False)
    assert again.size == 3 * 1024 * 1024  # the share's connection is still in step


def test_read_file_refuses_a_file_over_the_limit_before_reading(
    workspace: Workspace, share: SmbShare
) -> None:
    workspace.write("too-big.bin", b"x" * 2000)

    with pytest.raises(FileTooLarge) as raised:
        read_file(share, "too-big.bin", max_bytes=1999)

    assert (raised.value.size, raised.value.max_bytes) == (2000, 1999)


def test_read_file_memory_stays_flat_for_a_large_file(
    workspace: Workspace, share: SmbShare
) -> None:
    size = 128 * 1024 * 1024
    with workspace.disk_write("sparse.bin").open("r+b") as handle:
        handle.truncate(size)  # sparse: costs no disk
    zeros = hashlib.sha256()
    for _ in range(size // (1024 * 1024)):
        zeros.update(bytes(1024 * 1024))

    tracemalloc.start()
    try:
        result = read_file(share, "sparse.bin", max_bytes=size, keep_content=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (result.sha256, result.size) == (zeros.hexdigest(), size)
    assert peak < 16 * 1024 * 1024


def test_read_acl_returns_owner_and_readers(workspace: Workspace, share: SmbShare) -> None:
    workspace.write("folder/file.txt", b"x")

    file_acl = read_acl(share, "folder/file.txt")
    folder_acl = read_acl(share, "folder")

    assert file_acl.owner is not None and file_acl.owner.startswith("S-1-")
    assert any(ace.allow for ace in file_acl.aces)
    assert file_acl.allow_sids
    assert all(sid.startswith("S-1-") for sid in file_acl.allow_sids + file_acl.deny_sids)
    templates = {ace.sid for ace in folder_acl.aces if ace.inherit_only}
    effective = {ace.sid for ace in folder_acl.aces if not ace.inherit_only}
    assert not (templates - effective) & set(folder_acl.allow_sids)


def test_read_acl_is_denied_without_read_control(workspace: Workspace, share: SmbShare) -> None:
    path = workspace.disk_write("root-only.txt", b"x")
    if os.geteuid() == 0:
        os.chown(path, 0, 0)
    path.chmod(0o000)

    with pytest.raises(AccessDenied, match=r"root-only\.txt"):
        read_acl(share, "root-only.txt")


def test_missing_paths_are_reported_as_vanished(samba: Samba, share: SmbShare) -> None:
    with pytest.raises(FileVanished):
        share.stat("no/such/file.txt")
    with pytest.raises(FileVanished):
        read_file(share, "gone.txt", max_bytes=10)
    with (
        SmbShare(samba.location("no-such-folder"), samba.user, samba.password) as missing,
        pytest.raises(FileVanished, match="no-such-folder"),
    ):
        missing.test()


def test_wrong_password_fails_even_beside_a_working_session(samba: Samba) -> None:
    wrong_password = "not-" + samba.password
    with (
        SmbShare(samba.location(), samba.user, samba.password) as good,
        SmbShare(samba.location(), samba.user, wrong_password) as bad,
    ):
        good.test()
        with pytest.raises(AuthenticationFailed) as raised:
            bad.test()
        with pytest.raises(AuthenticationFailed):
            bad.connect()

    assert wrong_password not in str(raised.value)


def test_unknown_share_is_named(samba: Samba) -> None:
    with SmbShare(samba.location(share="no-such-share"), samba.user, samba.password) as bad:
        with pytest.raises(ShareNotFound, match="no-such-share"):
            bad.test()
        with pytest.raises(ShareNotFound):
            list(walk(bad))


def test_closed_port_is_unreachable(samba: Samba) -> None:
    with socket.socket() as probe:
        probe.bind((SERVER, 0))
        closed_port = probe.getsockname()[1]

    with (
        SmbShare(samba.location(port=closed_port), samba.user, samba.password) as unreachable,
        pytest.raises(HostUnreachable, match=str(closed_port)),
    ):
        unreachable.test()
