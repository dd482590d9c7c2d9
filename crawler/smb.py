"""One SMB source share, reached natively through smbclient, with errors named for the caller's
decision.

Invariants:
- Every smbclient call made here passes the port, the credentials and this share's own
  connection pool. smbclient keys its pool by "server:port" and a call without `port=` silently
  means 445 (shared/notes/stack.md).
- Connections live in smbclient pools kept per (server, port, user, password) rather than in
  smbclient's single global pool, which reuses any session of the same user name: a wrong
  password is always reported, never masked by a session that another source (or an older
  password) opened earlier in the same process. Shares built for the same source share one
  pool, and every pool is closed at interpreter exit.
- Paths handed in and out are POSIX paths relative to the location's root folder ("a/b.txt");
  only `ShareLocation.unc` knows about backslashes.
- Nothing here writes to a share: every open asks for read access and lets others read, write
  and delete, so a crawl never locks a user out of a file.
"""

from __future__ import annotations

import atexit
import hashlib
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO, cast

import smbclient
from smbclient._io import SMBFileIO, SMBRawIO
from smbclient._pool import get_smb_tree
from smbprotocol.exceptions import (
    NoMoreFiles,
    NoSuchFile,
    SMBAuthenticationError,
    SMBConnectionClosed,
    SMBException,
    SMBOSError,
    SMBResponseException,
)
from smbprotocol.file_info import FileInformationClass
from smbprotocol.open import QueryDirectoryFlags, SMB2QueryDirectoryResponse

FILE_ATTRIBUTE_DIRECTORY = 0x10
_FILETIME_UNIX_EPOCH = 116_444_736_000_000_000  # 1970-01-01 in 100 ns ticks since 1601-01-01
_LISTING_BUFFER_BYTES = 64 * 1024  # one SMB credit per QUERY_DIRECTORY round trip
MIN_READ_BYTES = 1024 * 1024  # 64 KiB reads reach only a third of the throughput (stack notes)

# Exceptions an smbclient call can raise for reasons outside our code.
SMB_ERRORS: tuple[type[BaseException], ...] = (SMBException, OSError, ValueError)

# NTSTATUS codes (MS-ERREF 2.3.1), grouped by the decision they ask of the caller.
_AUTH_STATUSES = frozenset(
    {
        0xC000006A,  # WRONG_PASSWORD
        0xC000006D,  # LOGON_FAILURE
        0xC000006E,  # ACCOUNT_RESTRICTION
        0xC000006F,  # INVALID_LOGON_HOURS
        0xC0000071,  # PASSWORD_EXPIRED
        0xC0000072,  # ACCOUNT_DISABLED
        0xC0000193,  # ACCOUNT_EXPIRED
        0xC0000224,  # PASSWORD_MUST_CHANGE
        0xC0000234,  # ACCOUNT_LOCKED_OUT
    }
)
_DENIED_STATUSES = frozenset({0xC0000022, 0xC0000061})  # ACCESS_DENIED, PRIVILEGE_NOT_HELD
# NO_SUCH_FILE, OBJECT_NAME_NOT_FOUND, OBJECT_PATH_NOT_FOUND, DELETE_PENDING, NOT_FOUND
_MISSING_STATUSES = frozenset({0xC000000F, 0xC0000034, 0xC000003A, 0xC0000056, 0xC0000225})
_BAD_SHARE_STATUS = 0xC00000CC  # BAD_NETWORK_NAME
_IN_USE_STATUSES = frozenset({0xC0000043, 0xC0000054})  # SHARING_VIOLATION, FILE_LOCK_CONFLICT
# IO_TIMEOUT, NETWORK_NAME_DELETED, USER_SESSION_DELETED, CONNECTION_DISCONNECTED,
# SERVER_UNAVAILABLE
_LOST_SESSION_STATUSES = frozenset({0xC00000B5, 0xC00000C9, 0xC0000203, 0xC000020C, 0xC0000466})


@dataclass(frozen=True)
class ShareLocation:
    """Where a source lives: a share on a server, optionally narrowed to a folder inside it."""

    server: str
    port: int
    share: str
    root: str = ""

    def unc(self, rel_path: str = "") -> str:
        r"""The UNC path `\\server\share\root\rel` of a root-relative POSIX path.

        Raises ValueError for "." or ".." components: a relative path never climbs out of the
        source's root folder.
        """
        parts = [self.server, self.share, *_components(self.root), *_components(rel_path)]
        return "\\\\" + "\\".join(parts)

    def __str__(self) -> str:
        return f"{self.unc()} (port {self.port})"


def _components(path: str) -> list[str]:
    parts = [part for part in path.replace("\\", "/").split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ValueError(f"path {path!r} must not contain '.' or '..' components")
    return parts


class SourceError(Exception):
    """The share could not give us what we asked for; the message is one line, password-free."""


class HostUnreachable(SourceError):
    """The server did not answer or dropped the connection: check the host, port and network."""


class AuthenticationFailed(SourceError):
    """The server refused the credentials: fix the source's user name or password."""


class ShareNotFound(SourceError):
    """The server has no share by that name: fix the source's share name."""


class AccessDenied(SourceError):
    """The crawl account may not read this path: record it, grant access, or exclude it."""


class FileVanished(SourceError):
    """The path no longer exists (moved or deleted since it was listed)."""


class FileInUse(SourceError):
    """Another client holds the file open without sharing read access: try again later."""


def classify(exc: BaseException, location: ShareLocation) -> SourceError:
    """Map an smbprotocol, smbclient or builtin exception to the `SourceError` that names the
    decision the caller must make. Branches on the NTSTATUS code, never on errno (smbprotocol
    reports access denied as errno 0). Messages never contain the password."""
    if isinstance(exc, SourceError):
        return exc
    endpoint = f"{location.server}:{location.port}"
    status = _ntstatus(exc)
    path = str(getattr(exc, "filename", None) or location.unc())
    if isinstance(exc, SMBAuthenticationError) or status in _AUTH_STATUSES:
        return AuthenticationFailed(
            f"SMB server {endpoint} rejected the user name or password{_status_text(status)}"
        )
    if status == _BAD_SHARE_STATUS:
        return ShareNotFound(f"SMB server {endpoint} has no share named {location.share!r}")
    if status in _DENIED_STATUSES:
        return AccessDenied(f"access denied to {path}")
    if status in _MISSING_STATUSES:
        return FileVanished(f"not found (moved or deleted?): {path}")
    if status in _IN_USE_STATUSES:
        return FileInUse(f"in use by another client, cannot be read now: {path}")
    if status in _LOST_SESSION_STATUSES or isinstance(exc, SMBConnectionClosed):
        return HostUnreachable(
            f"lost the connection to SMB server {endpoint}{_status_text(status)}"
        )
    if isinstance(exc, ValueError) and str(exc).startswith("Failed to connect"):
        reason = str(exc).rpartition(": ")[2]
        return HostUnreachable(f"cannot reach SMB server {endpoint}: {reason}")
    if isinstance(exc, OSError) and status is None:
        return HostUnreachable(f"cannot reach SMB server {endpoint}: {exc.strerror or exc}")
    if status is not None:
        return SourceError(f"SMB error on {path}{_status_text(status)}")
    return SourceError(f"SMB error on {path}: {type(exc).__name__}: {exc}")


def _ntstatus(exc: BaseException) -> int | None:
    if isinstance(exc, SMBOSError):
        return int(exc.ntstatus)
    if isinstance(exc, SMBResponseException):
        return int(exc.status)
    return None


def _status_text(status: int | None) -> str:
    return "" if status is None else f" (NTSTATUS 0x{status:08X})"


def filetime_to_unix_ns(filetime: int) -> int:
    """A FILETIME (100 ns ticks since 1601) as nanoseconds since 1970; an unset time (0) is 0."""
    return (filetime - _FILETIME_UNIX_EPOCH) * 100 if filetime > 0 else 0


@dataclass(frozen=True)
class FileFacts:
    """What one directory listing says about a file (or folder), with no per-file round trip."""

    path: str  # POSIX, relative to the location's root folder
    size: int
    mtime_ns: int
    # Kept by a rename; a new file has its own, also when it is given a deleted file's inode
    # (Samba with `store dos attributes` keeps it in an xattr). 0 when the server reports none.
    created_ns: int
    file_id: int  # the inode on Samba; survives renames and moves, changes on atomic replace
    attributes: int  # Windows FILE_ATTRIBUTE_* bits

    @property
    def is_directory(self) -> bool:
        return bool(self.attributes & FILE_ATTRIBUTE_DIRECTORY)


@dataclass(frozen=True)
class DirectoryListing:
    """One folder's entries, sorted by name, and the folder's own file id ("." entry)."""

    file_id: int | None
    entries: tuple[FileFacts, ...]


# FILE_ID_FULL_DIR_INFORMATION (MS-FSCC 2.4.18): next offset, file index, creation, last access,
# last write and change FILETIMEs, end of file, allocation size, attributes, name length, EA
# size, reserved, file id; the UTF-16 name follows.
_DIR_ENTRY = struct.Struct("<IIqqqqqqIIIIQ")


def parse_directory_buffer(buffer: bytes, dir_path: str) -> Iterator[tuple[str, FileFacts]]:
    """Decode one QUERY_DIRECTORY output buffer into (name, facts) pairs, "." and ".." included.

    Parsed here rather than through smbprotocol's structures, which round FILETIMEs to
    microseconds (so listing and `stat` would disagree) and cost about three times as long.
    """
    offset = 0
    while offset < len(buffer):
        (next_offset, _, created, _, written, _, size, _, attributes, name_len, _, _, file_id) = (
            _DIR_ENTRY.unpack_from(buffer, offset)
        )
        start = offset + _DIR_ENTRY.size
        name = buffer[start : start + name_len].decode("utf-16-le", errors="surrogatepass")
        path = f"{dir_path}/{name}" if dir_path else name
        yield (
            name,
            FileFacts(
                path=path,
                size=size,
                mtime_ns=filetime_to_unix_ns(written),
                created_ns=filetime_to_unix_ns(created),
                file_id=file_id,
                attributes=attributes,
            ),
        )
        if not next_offset:
            return
        offset += next_offset


class SmbShare:
    """A source share with its credentials and the smbclient pool for them.

    Build one per (process, source) and inject it. Calls connect lazily, so `connect()` is only
    needed to fail early; `close()` (or leaving a `with` block) drops the pooled connections,
    which the next call rebuilds. Every method raises a `SourceError` subclass for failures on
    the share.
    """

    def __init__(
        self,
        location: ShareLocation,
        username: str,
        password: str,
        *,
        read_bytes: int = MIN_READ_BYTES,
        connect_timeout_s: float = 30.0,
    ) -> None:
        if read_bytes < MIN_READ_BYTES:
            raise ValueError(f"read_bytes must be at least {MIN_READ_BYTES}; got {read_bytes}")
        self.location = location
        self.username = username
        self.read_bytes = read_bytes
        self._password = password
        self._pool = _pool_for(location, username, password)
        # Credentials ride along on every call so a dropped connection is rebuilt transparently.
        self._kwargs: dict[str, Any] = {
            "port": location.port,
            "username": username,
            "password": password,
            "connection_cache": self._pool,
            "connection_timeout": connect_timeout_s,
        }

    def __repr__(self) -> str:
        return f"SmbShare({self.location}, user={self.username!r})"

    def __enter__(self) -> SmbShare:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def unc(self, rel_path: str = "") -> str:
        return self.location.unc(rel_path)

    def error(self, exc: BaseException) -> SourceError:
        """`classify` for this share, with the password scrubbed from the message."""
        error = classify(exc, self.location)
        if self._password and self._password in str(error):
            return type(error)(str(error).replace(self._password, "***"))
        return error

    def connect(self) -> None:
        """Open (or reuse) this share's authenticated session and its tree connection."""
        try:
            smbclient.register_session(self.location.server, **self._kwargs)
            get_smb_tree(rf"\\{self.location.server}\{self.location.share}", **self._kwargs)
        except SMB_ERRORS as exc:
            error = self.error(exc)
            if isinstance(error, FileVanished):
                # smbclient retries an unknown share as a DFS root, so a missing share surfaces
                # as a failed referral (STATUS_NOT_FOUND) rather than STATUS_BAD_NETWORK_NAME.
                error = ShareNotFound(
                    f"SMB server {self.location.server}:{self.location.port} has no share "
                    f"named {self.location.share!r}"
                )
            raise error from exc

    def test(self) -> None:
        """Check that the server answers, accepts the credentials, has the share and lets us
        list the root folder."""
        self.connect()
        self.list_dir("")

    def close(self) -> None:
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._pool)

    def open_read(self, rel_path: str) -> BinaryIO:
        """An unbuffered read handle (use it as a context manager). Read errors after opening
        are raw smbprotocol exceptions: pass them through `error()`."""
        unc = self.unc(rel_path)
        try:
            handle = smbclient.open_file(
                unc, mode="rb", buffering=0, share_access="rwd", **self._kwargs
            )
        except SMB_ERRORS as exc:
            raise self.error(exc) from exc
        return cast(BinaryIO, handle)

    def stat(self, rel_path: str) -> FileFacts:
        """Fresh facts for one path, identical in form to what a listing reports."""
        unc = self.unc(rel_path)
        try:
            result = smbclient.stat(unc, **self._kwargs)
        except SMB_ERRORS as exc:
            raise self.error(exc) from exc
        return FileFacts(
            path="/".join(_components(rel_path)),
            size=int(result.st_size),
            mtime_ns=int(result.st_mtime_ns),
            created_ns=int(result.st_ctime_ns),  # smbclient puts creation time in st_ctime
            file_id=int(result.st_ino),
            attributes=int(result.st_file_attributes),
        )

    def remove(self, rel_path: str) -> None:
        """Delete one file (authorised disposal only: see retention.disposal)."""
        try:
            smbclient.remove(self.unc(rel_path), **self._kwargs)
        except SMB_ERRORS as exc:
            raise self.error(exc) from exc

    def list_dir(self, rel_path: str) -> DirectoryListing:
        """All entries of one folder in a few round trips, read completely before returning so
        no handle stays open while the caller works."""
        unc = self.unc(rel_path)
        dir_path = "/".join(_components(rel_path))
        own_id: int | None = None
        entries: list[FileFacts] = []
        try:
            with smbclient.open_file(
                unc,
                mode="rb",
                buffering=0,
                file_type="dir",
                share_access="rwd",
                **self._kwargs,
            ) as handle:
                for buffer in _query_directory(handle.fd):
                    for name, facts in parse_directory_buffer(buffer, dir_path):
                        if name == ".":
                            own_id = facts.file_id or None
                        elif name != "..":
                            entries.append(facts)
        except SMB_ERRORS as exc:
            raise self.error(exc) from exc
        entries.sort(key=lambda facts: facts.path)
        return DirectoryListing(file_id=own_id, entries=tuple(entries))

    def tree(self) -> Any:
        """The share's smbprotocol tree connection, for requests built by hand (see
        `crawler.acl_batch`); connects when needed."""
        root = rf"\\{self.location.server}\{self.location.share}"
        try:
            tree, _ = get_smb_tree(root, **self._kwargs)
        except SMB_ERRORS as exc:
            raise self.error(exc) from exc
        return tree

    def share_path(self, rel_path: str) -> str:
        r"""How SMB requests name a root-relative path: inside the share, with backslashes
        (`root\a\b.txt`)."""
        return "\\".join([*_components(self.location.root), *_components(rel_path)])

    def raw_file(
        self,
        rel_path: str,
        *,
        desired_access: int,
        file_only: bool = False,
        share_access: str = "rwd",
    ) -> Any:
        """An unopened smbclient raw handle on this share's pool, for compound requests built
        with `smbclient._io.SMBFileTransaction` (which opens and closes it in the same
        round trip, unless the caller puts its own open first). With `file_only` the open
        refuses a folder, as `open_read`'s does; `share_access` is what others may do while it
        is open ("r" keeps writers and deleters out). Wrap failures with `error()`."""
        unc = self.unc(rel_path)
        raw_class = SMBFileIO if file_only else SMBRawIO
        try:
            return raw_class(
                unc,
                mode="r",
                share_access=share_access,
                desired_access=desired_access,
                **self._kwargs,
            )
        except SMB_ERRORS as exc:
            raise self.error(exc) from exc


_POOLS: dict[tuple[str, int, str, str], dict[str, Any]] = {}
_POOLS_LOCK = threading.Lock()


def _pool_for(location: ShareLocation, username: str, password: str) -> dict[str, Any]:
    """The smbclient connection cache for one set of credentials on one server."""
    secret = hashlib.sha256(password.encode("utf-8")).hexdigest()
    key = (location.server.lower(), location.port, username.lower(), secret)
    with _POOLS_LOCK:
        return _POOLS.setdefault(key, {})


@atexit.register
def _close_pools() -> None:
    for pool in list(_POOLS.values()):
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=pool)


def _query_directory(fd: Any) -> Iterator[bytes]:
    """Raw QUERY_DIRECTORY output buffers of an open directory until the server has no more."""
    flags = QueryDirectoryFlags.SMB2_RESTART_SCANS
    session_id = fd.tree_connect.session.session_id
    tree_id = fd.tree_connect.tree_connect_id
    while True:
        message, _ = fd.query_directory(
            "*",
            FileInformationClass.FILE_ID_FULL_DIRECTORY_INFORMATION,
            flags=flags,
            max_output=_LISTING_BUFFER_BYTES,
            send=False,
        )
        request = fd.connection.send(message, sid=session_id, tid=tree_id)
        try:
            response = fd.connection.receive(request)
        except (NoMoreFiles, NoSuchFile):
            return
        body = SMB2QueryDirectoryResponse()
        body.unpack(response["data"].get_value())
        yield bytes(body["buffer"].get_value())
        flags = 0
