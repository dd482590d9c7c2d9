r"""The folder a folder hold covers: what a person typed, as a folder of one source.

The index keeps folders as POSIX paths below the source's root folder ("Cases/Smith"; "" is the
whole source). People type Windows paths, paste UNC paths from Explorer, or slip; a folder
that cannot be below the source's root is refused with the folder named, never kept as a scope
that silently matches nothing (or everything):

- backslashes are separators; "." and empty names are dropped; a leading "/" is the source's
  root, so "/" alone is the whole source;
- a UNC path (\\server\share\...) is taken only on the source's own server and share and at
  or below its root folder (compared ignoring case, as SMB compares names), and is made
  relative to the root;
- refused: "..", drive paths (C:\...), addresses (smb://...), nothing at all, NUL and other
  control characters, more than MAX_FOLDER_CHARS characters, or a name longer than
  MAX_NAME_CHARS (the SMB limit).
"""

from __future__ import annotations

import re
import unicodedata

from crawler.smb import ShareLocation

MAX_FOLDER_CHARS = 1000
MAX_NAME_CHARS = 255
_SHOWN_CHARS = 60
_DRIVE = re.compile(r"^[A-Za-z]:")
_BELOW_ROOT = "give the folder below the source's root, for example Cases/Smith"


class FolderRefused(ValueError):
    """The text does not name a folder of the source; the message names it and says why."""


def _shown(text: str) -> str:
    """The folder as typed, quoted safely: control characters escaped, long text cut."""
    escaped = "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) == "Cc" else ch
        for ch in text
    )
    return escaped if len(escaped) <= _SHOWN_CHARS else escaped[:_SHOWN_CHARS] + "…"


def relative_folder(source: str, location: ShareLocation, given: str) -> str:
    """The folder below `location`'s root that `given` names ("" for the whole source)."""
    text = given.strip()
    if not text:
        raise FolderRefused(
            "enter the folder below the source's root, for example Cases/Smith "
            "(/ for the whole source)"
        )
    shown = f"folder '{_shown(text)}'"
    control = next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)
    if control is not None:
        code = control.encode("unicode_escape").decode("ascii")
        raise FolderRefused(f"{shown} contains a control character ({code}): {_BELOW_ROOT}")
    if len(text) > MAX_FOLDER_CHARS:
        raise FolderRefused(f"{shown} is longer than {MAX_FOLDER_CHARS:,} characters")
    if "://" in text:
        raise FolderRefused(f"{shown} is an address, not a folder: {_BELOW_ROOT}")
    path = text.replace("\\", "/")
    if _DRIVE.match(path):
        raise FolderRefused(
            f"{shown} is a drive path on a computer, not a folder of source {source}: {_BELOW_ROOT}"
        )
    names = [name for name in path.split("/") if name not in ("", ".")]
    if ".." in names:
        raise FolderRefused(f"{shown} climbs out of the source with '..': {_BELOW_ROOT}")
    if path.startswith("//"):
        own = [location.server, location.share, *location.root.replace("\\", "/").split("/")]
        own = [name for name in own if name]
        if len(names) < len(own) or any(
            a.casefold() != b.casefold() for a, b in zip(names, own, strict=False)
        ):
            raise FolderRefused(
                f"{shown} is not on source {source} ({location.unc()}): give a folder below "
                "that, or its path below it, for example Cases/Smith"
            )
        names = names[len(own) :]
    too_long = next((name for name in names if len(name) > MAX_NAME_CHARS), None)
    if too_long is not None:
        raise FolderRefused(
            f"{shown} has a name longer than {MAX_NAME_CHARS} characters "
            f"('{_shown(too_long[:40])}…')"
        )
    return "/".join(names)
