"""Share credentials by reference: `env:VARNAME` or `file:/path/to/secret`.

The database stores only the reference; the secret is read at connect time and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class CredentialError(ValueError):
    """A credential reference is malformed or points at nothing."""


def validate_reference(ref: str) -> str:
    kind, _, target = ref.partition(":")
    if kind not in {"env", "file"} or not target:
        raise CredentialError(
            "credentials must be given by reference: env:VARIABLE or file:/path/to/secret"
        )
    return ref


def resolve(ref: str, env: Mapping[str, str] | None = None) -> str:
    kind, _, target = validate_reference(ref).partition(":")
    if kind == "env":
        value = (os.environ if env is None else env).get(target)
        if not value:
            raise CredentialError(f"environment variable {target} is not set")
        return value
    path = Path(target).expanduser()
    try:
        return path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise CredentialError(f"cannot read secret file {path}: {exc.strerror}") from None
