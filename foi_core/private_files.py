"""Files only this product's account may read: the state database, secrets, the audit anchor
file, the preservation store and disclosure bundles (folders 0700, files 0600).

Records of a council's staff and citizens, and the secrets that guard them, are not for the
machine's other accounts. Processes started by `foi` (and gunicorn, through its config) also run
with umask 077, so anything else they create is private too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) and make it 0700; returns it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if absent and make it 0600 (SQLite gives its WAL and shared-memory
    files the database file's mode, so they follow)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(descriptor)
    path.chmod(0o600)
    return path


class SecretFileError(RuntimeError):
    """A secret file exists but cannot be trusted (too short): fix or remove it by hand."""


def read_or_create_secret(path: Path, min_chars: int = 32) -> str:
    """Read the secret at `path`, creating it (random, 0600, atomically) if absent.

    Several processes may start at once: the secret is written to a private temporary file
    and hard-linked into place, so a reader never sees a half-written secret, an existing one
    is never overwritten, and only one writer's secret wins.
    """
    private_dir(path.parent)
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink()
    value = path.read_text(encoding="ascii").strip()
    if len(value) < min_chars:
        raise SecretFileError(f"{path} holds fewer than {min_chars} characters")
    return value
