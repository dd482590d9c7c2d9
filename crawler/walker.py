"""Walks a source share and yields the facts of every selected file, never stopping for one bad
folder.

Invariants:
- Iterative, so depth is bounded by memory, not the recursion limit.
- Loop-safe: Samba follows symlinks without telling the client, so a link to ".." looks like an
  ordinary folder. Every folder's file id is remembered (the root's first) and a folder whose
  id was already seen is reported as a `symlink_loop` problem instead of being entered.
- Stable order: within a folder, entries are taken in name order; a folder's files come before
  its subfolders' contents.
- One listing round trip per folder and none per file (`DirEntry.stat()` is broken on
  non-standard ports and would cost a round trip each anyway).
- An unreadable or vanished folder becomes a `WalkProblem` and the walk goes on; failures that
  affect the whole share (host down, credentials refused, share gone) and any failure to list
  the root raise the `SourceError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from crawler.smb import (
    AccessDenied,
    AuthenticationFailed,
    DirectoryListing,
    FileFacts,
    FileVanished,
    HostUnreachable,
    ShareNotFound,
    SmbShare,
    SourceError,
)

__all__ = ["FileFacts", "PathFilter", "ProblemKind", "WalkProblem", "path_selected", "walk"]

ProblemKind = Literal["access_denied", "symlink_loop", "vanished", "error"]

# Failures that mean the share as a whole is unusable: continuing would only repeat them.
_FATAL = (HostUnreachable, AuthenticationFailed, ShareNotFound)


@dataclass(frozen=True)
class WalkProblem:
    """A folder the walk could not (or would not) enter, and why."""

    path: str
    kind: ProblemKind
    message: str


class PathFilter:
    """Include/exclude glob patterns over root-relative POSIX paths.

    Semantics: fnmatch-style `*`, `?` and `[...]`, where `*` and `?` stay within one folder and
    `**` spans any number of folders (`**/` may match none: "**/*.pdf" matches "a.pdf" too).
    Patterns are anchored to the whole path, matched case-insensitively (Windows shares ignore
    case), and may use backslashes or a leading slash; a trailing slash means the folder and
    everything in it ("Archive/" is "Archive/**"). An empty include list selects everything;
    exclude wins over include.
    """

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
        self.include = tuple(_normalise(p) for p in include)
        self.exclude = tuple(_normalise(p) for p in exclude)
        self._include = [_compile(p) for p in self.include]
        self._exclude = [_compile(p) for p in self.exclude]
        # "X/**" excludes everything below whatever folder X matches, so such folders are pruned.
        self._pruned = [_compile(p[:-3]) for p in self.exclude if p.endswith("/**")]
        self._prunes_all = "**" in self.exclude
        self._include_segments = [p.split("/") for p in self.include]

    def selects(self, path: str) -> bool:
        """Whether a file at `path` belongs in the crawl."""
        if any(rx.fullmatch(path) for rx in self._exclude):
            return False
        return not self._include or any(rx.fullmatch(path) for rx in self._include)

    def enters(self, dir_path: str) -> bool:
        """Whether anything below folder `dir_path` could be selected (False prunes it)."""
        if self._prunes_all or any(rx.fullmatch(dir_path) for rx in self._pruned):
            return False
        if not self._include:
            return True
        folders = dir_path.split("/")
        return any(_may_contain(segments, folders) for segments in self._include_segments)


def path_selected(path: str, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> bool:
    """Whether a file at root-relative `path` is selected by the globs (see `PathFilter`)."""
    return _cached_filter(tuple(include), tuple(exclude)).selects(path)


@lru_cache(maxsize=64)
def _cached_filter(include: tuple[str, ...], exclude: tuple[str, ...]) -> PathFilter:
    return PathFilter(include, exclude)


def _normalise(pattern: str) -> str:
    normalised = pattern.replace("\\", "/").lstrip("/")
    if normalised.endswith("/"):
        normalised += "**"  # "Archive/" means the folder and everything in it
    if not normalised:
        raise ValueError(f"empty glob pattern {pattern!r}")
    return normalised


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and (end := _class_end(pattern, i)) > 0:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[^/{body}]" if negate else f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """Index of the "]" closing the class opened at `start`, or -1 if it is a literal "["."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "!":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    return pattern.find("]", i)


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(_translate(pattern), re.IGNORECASE | re.DOTALL)


def _may_contain(segments: list[str], folders: list[str]) -> bool:
    """Whether a pattern split into segments could match some path below `folders`."""
    for depth, folder in enumerate(folders):
        if depth >= len(segments):
            return False
        segment = segments[depth]
        if "**" in segment:
            return True
        if not _compile(segment).fullmatch(folder):
            return False
    return len(segments) > len(folders)


def walk(
    share: SmbShare, *, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Iterator[FileFacts | WalkProblem]:
    """Every selected file under the share's root folder, and a problem for every folder that
    could not be walked. Folders themselves are not yielded."""
    selection = PathFilter(include, exclude)
    share.connect()  # names a missing share as such (see SmbShare.connect)
    root = share.list_dir("")
    root_id = root.file_id if root.file_id is not None else share.stat("").file_id
    seen: dict[int, str] = {root_id: ""} if root_id else {}
    pending: list[tuple[str, DirectoryListing | None]] = [("", root)]
    while pending:
        dir_path, listing = pending.pop()
        if listing is None:
            outcome = _list(share, dir_path, seen)
            if isinstance(outcome, WalkProblem):
                yield outcome
                continue
            listing = outcome
        subfolders: list[str] = []
        for entry in listing.entries:
            if not entry.is_directory:
                if selection.selects(entry.path):
                    yield entry
                continue
            if not selection.enters(entry.path):
                continue
            if entry.file_id and entry.file_id in seen:
                yield _loop(entry.path, seen[entry.file_id])
                continue
            if entry.file_id:
                seen[entry.file_id] = entry.path
            subfolders.append(entry.path)
        pending.extend((path, None) for path in reversed(subfolders))


def _list(share: SmbShare, dir_path: str, seen: dict[int, str]) -> DirectoryListing | WalkProblem:
    try:
        listing = share.list_dir(dir_path)
    except _FATAL:
        raise
    except AccessDenied as exc:
        return WalkProblem(dir_path, "access_denied", str(exc))
    except FileVanished as exc:
        return WalkProblem(dir_path, "vanished", str(exc))
    except SourceError as exc:
        return WalkProblem(dir_path, "error", str(exc))
    # A Windows junction or symlink is listed with its own id; the "." entry inside gives the
    # id of the folder it really is.
    own_id = listing.file_id
    if own_id and seen.get(own_id, dir_path) != dir_path:
        return _loop(dir_path, seen[own_id])
    if own_id:
        seen.setdefault(own_id, dir_path)
    return listing


def _loop(path: str, first_seen: str) -> WalkProblem:
    where = f"'{first_seen}'" if first_seen else "the root folder"
    return WalkProblem(path, "symlink_loop", f"same folder as {where}; not entered again")
