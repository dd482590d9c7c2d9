"""Configured SMB sources: validation and persistence (credentials stay references)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from foi_core.credentials import validate_reference
from foi_core.models import Source

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


class SourceConfigError(ValueError):
    """The source definition is invalid; the message says what to fix."""


def add_source(
    session: Session,
    *,
    name: str,
    server: str,
    port: int,
    share: str,
    username: str,
    credential_ref: str,
    root: str = "",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Source:
    if not _NAME.match(name):
        raise SourceConfigError("source names use lower-case letters, digits, - and _")
    if not 0 < port < 65536:
        raise SourceConfigError(f"port {port} is out of range")
    if not server or "/" in server or "\\" in server:
        raise SourceConfigError("server must be a host name or address")
    if not share or "/" in share or "\\" in share:
        raise SourceConfigError("share must be a share name, e.g. Planning")
    try:
        validate_reference(credential_ref)
    except ValueError as exc:
        raise SourceConfigError(str(exc)) from None
    if get_source(session, name) is not None:
        raise SourceConfigError(f"source {name!r} already exists")
    source = Source(
        name=name,
        server=server,
        port=port,
        share=share,
        root=root.strip("/\\").replace("\\", "/"),
        username=username,
        credential_ref=credential_ref,
        include=list(include),
        exclude=list(exclude),
    )
    session.add(source)
    session.flush()
    return source


def get_source(session: Session, name: str) -> Source | None:
    return session.execute(select(Source).where(Source.name == name)).scalar_one_or_none()


def list_sources(session: Session) -> list[Source]:
    return list(session.execute(select(Source).order_by(Source.name)).scalars())


def remove_source(session: Session, name: str) -> None:
    source = get_source(session, name)
    if source is None:
        raise SourceConfigError(f"no source named {name!r}")
    session.delete(source)
