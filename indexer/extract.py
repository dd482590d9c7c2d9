"""Text and metadata extraction through the Apache Tika server (recursive metadata).

Every call ends in an `Extraction` with an explicit status; nothing here raises for a bad
document. Only transient failures (server restarting its forked parser, connection refused
or reset) raise `TikaUnavailable`, which callers retry.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import requests

# tika-python reads these at import time and would otherwise try to download a server jar;
# we always talk to our own Tika server.
os.environ.setdefault("TIKA_CLIENT_ONLY", "1")
from tika import parser as tika_parser


class Status:
    OK = "ok"
    TRUNCATED = "truncated"
    ENCRYPTED = "encrypted"
    UNSUPPORTED = "unsupported_type"
    CORRUPT = "corrupt"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    ACCESS_DENIED = "access_denied"
    EMPTY = "empty"

    ALL = (OK, TRUNCATED, ENCRYPTED, UNSUPPORTED, CORRUPT, TIMEOUT, TOO_LARGE, ACCESS_DENIED, EMPTY)


class TikaUnavailable(RuntimeError):
    """The Tika server could not be reached or is restarting: a transient failure, retry."""


@dataclass(frozen=True)
class Part:
    """One document of a recursive extraction: the container (index 0) or an embedded one."""

    index: int
    embedded_path: str
    content: str
    metadata: Mapping[str, Any]
    status: str
    error: str = ""


@dataclass(frozen=True)
class Extraction:
    status: str
    error: str = ""
    parts: Sequence[Part] = field(default_factory=tuple)

    @property
    def container(self) -> Part | None:
        return self.parts[0] if self.parts else None


@dataclass(frozen=True)
class ExtractOptions:
    timeout_s: float
    max_chars: int
    ocr: bool


_ENCRYPTED_MARKERS = ("EncryptedDocumentException", "password", "Password", "encrypted")


def _classify_exception(trace: str) -> str:
    if any(marker in trace for marker in _ENCRYPTED_MARKERS):
        return Status.ENCRYPTED
    if "WriteLimitReached" in trace:
        return Status.TRUNCATED
    if "TimeoutException" in trace:
        return Status.TIMEOUT
    return Status.CORRUPT


def _first_line(trace: str) -> str:
    return trace.strip().splitlines()[0][:500] if trace.strip() else ""


def _part_status(meta: Mapping[str, Any], content: str, truncated: bool) -> tuple[str, str]:
    trace = str(meta.get("X-TIKA:EXCEPTION:container_exception", "") or "")
    if trace:
        return _classify_exception(trace), _first_line(trace)
    if truncated or str(meta.get("X-TIKA:WRITE_LIMIT_REACHED", "")).lower() == "true":
        return Status.TRUNCATED, "extracted text exceeded the configured maximum"
    parsed_by = meta.get("X-TIKA:Parsed-By", [])
    parsers = parsed_by if isinstance(parsed_by, list) else [parsed_by]
    if parsers and all(str(p).endswith("EmptyParser") for p in parsers):
        return Status.UNSUPPORTED, f"no parser for {meta.get('Content-Type', 'this type')}"
    if not content.strip():
        return Status.EMPTY, "no text content"
    return Status.OK, ""


class TikaExtractor:
    """Client of one Tika server. Built once per process (holds the server address)."""

    def __init__(self, server_url: str, options: ExtractOptions) -> None:
        self.server_url = server_url.rstrip("/")
        self.options = options

    def _headers(self, filename: str, mime: str) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            # Tika's own limit on characters across the container and its children.
            "writeLimit": str(self.options.max_chars),
            "throwOnWriteLimitReached": "false",
            "X-Tika-Timeout-Millis": str(int(self.options.timeout_s * 1000)),
            "X-Tika-PDFOcrStrategy": "auto" if self.options.ocr else "no_ocr",
        }
        if not self.options.ocr:
            headers["X-Tika-OCRskipOcr"] = "true"
        if filename:
            # Tika uses the name as a type hint; header values must be latin-1, so quote.
            headers["Content-Disposition"] = "attachment; filename=" + urllib.parse.quote(filename)
        if mime and mime != "application/octet-stream":
            headers["Content-Type"] = mime
        return headers

    def extract(self, stream: IO[bytes], *, filename: str = "", mime: str = "") -> Extraction:
        try:
            status, body = tika_parser.from_buffer(
                stream,
                serverEndpoint=self.server_url,
                headers=self._headers(filename, mime),
                requestOptions={"timeout": self.options.timeout_s + 15},
                raw_response=True,
            )
        except requests.Timeout:
            return Extraction(Status.TIMEOUT, f"no answer within {self.options.timeout_s:.0f}s")
        except requests.ConnectionError as exc:
            raise TikaUnavailable(f"Tika server unreachable: {exc.__class__.__name__}") from exc
        return self._interpret(int(status), body or "")

    def _interpret(self, status: int, body: str) -> Extraction:
        if status in (502, 503):
            raise TikaUnavailable(f"Tika server answered {status} (parser restarting)")
        if status == 415:
            return Extraction(Status.UNSUPPORTED, "unsupported media type")
        if status == 422:
            kind = _classify_exception(body)
            return Extraction(
                kind if kind != Status.TRUNCATED else Status.CORRUPT,
                _first_line(body) or "Tika could not parse the document",
            )
        if status in (408, 504):
            return Extraction(Status.TIMEOUT, "parse timed out in the Tika server")
        if status != 200:
            return Extraction(Status.CORRUPT, f"Tika answered HTTP {status}: {_first_line(body)}")
        try:
            documents = json.loads(body)
        except json.JSONDecodeError:
            return Extraction(Status.CORRUPT, "Tika returned malformed JSON")
        if not isinstance(documents, list) or not documents:
            return Extraction(Status.CORRUPT, "Tika returned no documents")
        limit_hit = any(
            str(d.get("X-TIKA:WRITE_LIMIT_REACHED", "")).lower() == "true" for d in documents
        )
        parts = []
        for index, meta in enumerate(documents):
            content = str(meta.get("X-TIKA:content", "") or "")
            part_status, error = _part_status(meta, content, limit_hit and index == 0)
            parts.append(
                Part(
                    index=index,
                    embedded_path=str(meta.get("X-TIKA:embedded_resource_path", "") or ""),
                    content=content,
                    metadata={k: v for k, v in meta.items() if k != "X-TIKA:content"},
                    status=part_status,
                    error=error,
                )
            )
        container = parts[0]
        return Extraction(container.status, container.error, tuple(parts))
