"""Names inside a disclosure bundle, and CSV cells, made safe: document names are hostile
input (they come from council file shares), and bundles are opened on Windows and in
spreadsheet programs."""

from __future__ import annotations

import re
import unicodedata

# Path separators and the characters Windows cannot extract, besides control characters.
_UNSAFE_CHARACTERS = frozenset('/\\:*?"<>|')
# Bidirectional overrides let "invoice\u202egpj.exe" display as "invoiceexe.jpg".
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_MAX_NAME_BYTES = 180


def safe_filename(filename: str) -> str:
    """`filename` as one safe zip path component: no separators, no control or bidi-override
    characters, no '..', no leading or trailing dots or spaces, at most 180 UTF-8 bytes with the
    extension kept, NFC-normalised, never empty. Other Unicode is kept."""
    name = "".join(
        "_" if _is_unsafe(char) else char for char in unicodedata.normalize("NFC", filename)
    )
    name = re.sub(r"\.{2,}", ".", name).strip(" .")
    if len(name.encode()) > _MAX_NAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        if not dot or len(extension) > 16:
            stem, extension = name, ""
        suffix = f".{extension}" if extension else ""
        budget = _MAX_NAME_BYTES - len(suffix.encode())
        stem = stem.encode()[:budget].decode("utf-8", "ignore").rstrip(" .")
        name = stem + suffix
    return name or "unnamed"


def archive_name(folder: str, number: int, filename: str) -> str:
    """The unique path of document `number` under `folder` inside a bundle."""
    return f"{folder}/{number:04d} - {safe_filename(filename)}"


def _is_unsafe(char: str) -> bool:
    category = unicodedata.category(char)
    return (
        char in _UNSAFE_CHARACTERS or char in _BIDI_CONTROLS or category in ("Cc", "Cs", "Zl", "Zp")
    )
