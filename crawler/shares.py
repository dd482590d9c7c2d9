"""SMB access by source name: one `SmbShare` per source per process, built on first use
(downloads, preservation copies, disposal)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from crawler.smb import ShareLocation, SmbShare, SourceError
from foi_core.credentials import CredentialError, resolve
from foi_core.sources import get_source

CHUNK_BYTES = 1024 * 1024


class SourceUnavailable(RuntimeError):
    """The document's source is not configured any more or cannot be reached."""


@dataclass
class ShareProvider:
    sessions: sessionmaker[Session]
    read_bytes: int = CHUNK_BYTES
    _shares: dict[str, SmbShare] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def share(self, source_name: str) -> SmbShare:
        with self._lock:
            cached = self._shares.get(source_name)
            if cached is not None:
                return cached
            with self.sessions() as session:
                source = get_source(session, source_name)
                if source is None:
                    raise SourceUnavailable(f"source {source_name!r} is not configured")
                location = ShareLocation(source.server, source.port, source.share, source.root)
                username, ref = source.username, source.credential_ref
            try:
                share = SmbShare(location, username, resolve(ref), read_bytes=self.read_bytes)
            except CredentialError as exc:
                raise SourceUnavailable(str(exc)) from None
            self._shares[source_name] = share
            return share

    def stream(self, source_name: str, path: str) -> Iterator[bytes]:
        """The file's bytes in 1 MiB chunks; opened before the first chunk is yielded, so an
        unreadable file fails before any response has started."""
        share = self.share(source_name)
        try:
            handle = share.open_read(path)
        except (SourceError, ValueError) as exc:
            raise SourceUnavailable(str(exc)) from None
        return _chunks(share, handle)


def _chunks(share: SmbShare, handle: BinaryIO) -> Iterator[bytes]:
    # A raw SMB handle is unbuffered: each read is one SMB READ of `read_bytes`.
    try:
        while True:
            try:
                chunk = handle.read(share.read_bytes)
            except Exception as exc:
                raise share.error(exc) from exc
            if not chunk:
                return
            yield chunk
    finally:
        handle.close()
