"""Secrets generated on first use into the state folder's `secrets/` (0700, files 0600)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


class SecretFileError(RuntimeError):
    """A secret file exists but cannot be trusted (too short): fix or remove it by hand."""


def read_or_create_secret(path: Path, min_chars: int = 32) -> str:
    """Read the secret at `path`, creating it (random, 0600, atomically) if absent.

    Several processes may start at once: the secret is written to a private temporary file
    and hard-linked into place, so a reader never sees a half-written secret, an existing one
    is never overwritten, and only one writer's secret wins.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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
