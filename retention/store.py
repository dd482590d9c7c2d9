"""The preservation store: held originals by SHA-256, on local disk (or any mounted path).

Layout `<root>/ab/cd/<sha256>`; a copy is written to a temporary file in the same folder,
hashed as it is written, fsynced, and renamed into place only if its hash is the one
expected, so the store never holds a file whose name lies about its content. Identical
content is stored once, whichever files and holds it came from.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_HEX = frozenset("0123456789abcdef")
CHUNK_BYTES = 1024 * 1024


class PreservationError(RuntimeError):
    """A copy could not be made or verified; the task stays open and is retried."""


class StoreFull(PreservationError):
    """Not enough space in the preservation store."""


class HashMismatch(PreservationError):
    """The bytes read are not the content that was held (the file changed before the copy)."""


@dataclass(frozen=True)
class PreservationStore:
    root: Path
    # Refuse a copy that would leave less than this free, so the store never fills the disk.
    reserve_bytes: int = 64 * 1024 * 1024

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not set(sha256) <= _HEX:
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")

    def put(self, sha256: str, chunks: Iterable[bytes], size_hint: int = 0) -> int:
        """Store content that must hash to `sha256`; returns its size. Idempotent."""
        target = self.path_for(sha256)
        if target.is_file():
            return target.stat().st_size
        # Held originals are for this product's account alone (mkstemp's files are 0600).
        for level in (self.root, target.parent.parent, target.parent):
            level.mkdir(mode=0o700, exist_ok=True)
        free = shutil.disk_usage(target.parent).free
        if size_hint and free - size_hint < self.reserve_bytes:
            raise StoreFull(
                f"preservation store {self.root} has {free // 2**20} MiB free; "
                f"{size_hint // 2**20} MiB needed plus a {self.reserve_bytes // 2**20} MiB reserve"
            )
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise HashMismatch(
                    f"read {size} bytes hashing to {digest.hexdigest()}, not the held {sha256}"
                )
            temp.chmod(0o400)
            temp.replace(target)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StoreFull(f"preservation store {self.root} is full") from exc
            raise PreservationError(f"cannot write to {self.root}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        return size

    def verify(self, sha256: str) -> bool:
        """Re-hash a stored copy (for audits of the store)."""
        digest = hashlib.sha256()
        with self.open(sha256) as stored:
            while chunk := stored.read(CHUNK_BYTES):
                digest.update(chunk)
        return digest.hexdigest() == sha256
