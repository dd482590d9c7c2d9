"""Case-insensitive globs, as retention schedules write them.

Path globs work on share-relative paths with '/' separators: ``**`` as a whole segment spans any
number of folders (including none), while ``*`` and ``?`` stay within one segment, so
``HR/*`` never reaches into ``HR/Recruitment/2024``. Other globs (MIME types, metadata values)
let ``*`` match anything, because titles and author names contain '/'. Brackets are literal,
since real file names contain them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=1024)
def glob_regex(glob: str, *, path: bool) -> re.Pattern[str]:
    """The compiled pattern for ``glob``; use ``fullmatch``."""
    flags = re.IGNORECASE | re.DOTALL
    if not path:
        return re.compile(_segment(glob, star=".*", one="."), flags)
    parts = glob.split("/")
    pieces: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            pieces.append(".*" if last else "(?:[^/]*/)*")
        else:
            pieces.append(_segment(part, star="[^/]*", one="[^/]") + ("" if last else "/"))
    return re.compile("".join(pieces), flags)


def _segment(glob: str, *, star: str, one: str) -> str:
    return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in glob)


def matches_any(globs: Iterable[str], values: Iterable[str], *, path: bool) -> bool:
    """Whether any value matches any glob."""
    candidates = list(values)
    return any(glob_regex(g, path=path).fullmatch(v) for g in globs for v in candidates)
