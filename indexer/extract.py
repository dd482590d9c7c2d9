"""Text and metadata extraction through the Apache Tika server (recursive metadata).

Every call ends in an `Extraction` with an explicit status; nothing here raises for a bad
document alone. Two failures raise instead, because they may not be the document's fault:
- `TikaUnavailable`: the server refused the connection or said it is restarting. Retry.
- `ParseInterrupted`: the server's parser process died during this request (out of memory, or
  restarted because this or *another* concurrent request ran past its time limit), so every
  request in flight failed with it. Retry a few times; if it keeps happening, this document
  is the cause: record it as failed and go on.

Each thread keeps its connection to Tika alive between documents. A request that went out on
a kept-alive connection the server had closed meanwhile is sent once more, on a new one, so a
stale connection is never reported as either failure.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import requests
from urllib3.exceptions import NewConnectionError

# tika-python reads these at import time and would otherwise try to download a server jar;
# we always talk to our own Tika server.
os.environ.setdefault("TIKA_CLIENT_ONLY", "1")
from tika import tika as tika_client


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


class ParseInterrupted(RuntimeError):
    """Tika's parser process died while this request was in flight. Retry a bounded number of
    times (the culprit may have been another request); a document that keeps doing it is the
    culprit and is recorded as failed."""


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


# Types Tika recognises but has no parser for because they are encrypted as a whole.
_ENCRYPTED_TYPES = frozenset({"application/pgp-encrypted"})
# Tika refuses a per-request time limit at or below its minimumTimeoutMillis (30 s by default)
# with HTTP 400, which would fail every document.
_MIN_SERVER_TIMEOUT_MS = 30_001
# A 500 that says the parser process ran out of memory (or says nothing at all) is the process
# failing, not this document being unreadable.
_PROCESS_FAILURE_MARKERS = ("OutOfMemoryError", "heap space")
_ENCRYPTED_MARKERS = ("EncryptedDocumentException", "password", "Password", "encrypted")
# A kept-alive connection the server had closed fails at once; a parser that dies on the
# document fails only after working on it. Only the first kind is sent again (once), so a
# document that kills the parser is not sent straight back to a restarting server.
_STALE_DROP_SECONDS = 0.5
# A body up to this size is read into memory and sent as bytes. Given a file, requests learns
# its length from fileno(), which makes a SpooledTemporaryFile write itself to disk first (even
# a 1 kB one); the crawler's spools hold up to 8 MiB in memory. Larger bodies stream from their
# file, in flat memory whatever the size.
_IN_MEMORY_BODY_BYTES = 8 * 1024 * 1024


def _classify_exception(trace: str) -> str:
    if any(marker in trace for marker in _ENCRYPTED_MARKERS):
        return Status.ENCRYPTED
    if "WriteLimitReached" in trace:
        return Status.TRUNCATED
    if "TimeoutException" in trace:
        return Status.TIMEOUT
    return Status.CORRUPT


def _refused(exc: BaseException) -> bool:
    """Whether the connection was never made (server down or restarting), as opposed to a
    request the server accepted and then dropped."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError | NewConnectionError):
            return True
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


def _request_body(stream: IO[bytes]) -> tuple[bytes | IO[bytes], int | None]:
    """What to send for `stream` from its current position, and the position to seek back to
    before sending it again (None when the body is bytes, or the stream cannot seek)."""
    if not stream.seekable():
        return stream, None
    start = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(start)
    if end - start <= _IN_MEMORY_BODY_BYTES:
        return stream.read(), None
    return stream, start


class _ThreadClient(threading.local):
    """One thread's HTTP session to Tika, so its connection is kept alive between documents."""

    session: requests.Session | None = None
    # Whether the last answer left the connection open, so the next request will reuse it.
    kept_alive = False


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


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
        mime = str(meta.get("Content-Type", "")).split(";")[0]
        if mime in _ENCRYPTED_TYPES:
            return Status.ENCRYPTED, f"{mime} cannot be read without its key"
        return Status.UNSUPPORTED, f"no parser for {meta.get('Content-Type', 'this type')}"
    if not content.strip():
        return Status.EMPTY, "no text content"
    # The rest was read, but a member that was not (an encrypted zip entry) is named.
    return Status.OK, _first_line(
        str(meta.get("X-TIKA:EXCEPTION:embedded_stream_exception", "") or "")
    )


def _unique_embedded_paths(documents: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each part's embedded path, unique within the extraction ("" for the container).

    Tika names a part by its parent's path and its own base name, so the zip members
    "a/readme.txt" and "b/readme.txt" are both "/readme.txt", and so would be their index ids.
    The tree comes from Tika's `X-TIKA:embedded_id_path` ("/3/4" is a child of "/3"); a name
    repeated under one parent becomes "readme (2).txt", as Windows names copies. Paths that
    do not collide are Tika's own.
    """
    id_paths = [str(meta.get("X-TIKA:embedded_id_path", "") or "") for meta in documents]
    index_of = {id_path: index for index, id_path in enumerate(id_paths) if id_path}
    paths: dict[int, str] = {0: ""}
    taken: dict[str, set[str]] = {}

    def resolve(index: int) -> str:
        if index in paths:
            return paths[index]
        tika_path = str(documents[index].get("X-TIKA:embedded_resource_path", "") or "")
        tika_parent, _, name = tika_path.rpartition("/")
        parent_id = id_paths[index].rpartition("/")[0]
        if not id_paths[index]:
            parent = tika_parent
        elif not parent_id:
            parent = ""
        elif parent_id in index_of:
            parent = resolve(index_of[parent_id])
        else:
            parent = tika_parent
        name = name or f"embedded-{index}"
        siblings = taken.setdefault(parent, set())
        unique, copy = name, 1
        while unique in siblings:
            copy += 1
            stem, dot, extension = name.rpartition(".")
            unique = f"{stem} ({copy}).{extension}" if dot and stem else f"{name} ({copy})"
        siblings.add(unique)
        paths[index] = f"{parent}/{unique}"
        return paths[index]

    return [resolve(index) for index in range(len(documents))]


class TikaExtractor:
    """Client of one Tika server. Built once per process and shared by its threads; each thread
    keeps one HTTP session, so a crawl worker reuses one connection for all its documents."""

    def __init__(self, server_url: str, options: ExtractOptions) -> None:
        self.server_url = server_url.rstrip("/")
        self.options = options
        self._client = _ThreadClient()

    def _session(self) -> requests.Session:
        if self._client.session is None:
            session = requests.Session()
            # Tika runs on loopback or the private network, never behind a proxy; without this
            # requests would also read the proxy environment variables again on every request.
            session.trust_env = False
            self._client.session = session
        return self._client.session

    def _put(self, body: bytes | IO[bytes], headers: Mapping[str, str]) -> tuple[int, str]:
        """PUT the document to /rmeta/text through tika-python (client-only), on this thread's
        session. The answer is the status and the body decoded as UTF-8, as `from_buffer` gives
        them."""
        session = self._session()
        responses: list[requests.Response] = []

        def put(url: str, data: Any, **options: Any) -> requests.Response:
            responses.append(session.put(url, data, **options))
            return responses[-1]

        status, text = tika_client.callServer(
            "put",
            self.server_url,
            "/rmeta/text",
            body,
            dict(headers),
            False,
            httpVerbs={"put": put},
            requestOptions={"timeout": self.options.timeout_s + 15},
        )
        connection = responses[-1].headers.get("Connection", "") if responses else "close"
        self._client.kept_alive = connection.lower() != "close"
        return int(status), str(text or "")

    def _headers(self, filename: str) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            # Tika's own limit on characters across the container and its children.
            "writeLimit": str(self.options.max_chars),
            "throwOnWriteLimitReached": "false",
            "X-Tika-Timeout-Millis": str(
                max(int(self.options.timeout_s * 1000), _MIN_SERVER_TIMEOUT_MS)
            ),
            "X-Tika-PDFOcrStrategy": "auto" if self.options.ocr else "no_ocr",
        }
        if not self.options.ocr:
            headers["X-Tika-OCRskipOcr"] = "true"
        if filename:
            # Tika uses the name as a type hint; header values must be latin-1, so quote.
            headers["Content-Disposition"] = "attachment; filename=" + urllib.parse.quote(filename)
        return headers

    def extract(self, stream: IO[bytes], *, filename: str = "", mime: str = "") -> Extraction:
        """Extract one document and everything embedded in it.

        `mime` (a caller's sniffed type) is deliberately not sent: a Content-Type header
        overrides Tika's own detection, which sees the whole file, looks inside containers and
        uses the name, while a sniff of the first bytes is often wrong (libmagic calls an
        encrypted .docx "application/encrypted", which Tika then has no parser for).
        """
        headers = self._headers(filename)
        body, rewind_to = _request_body(stream)
        while True:
            # A kept-alive connection can be closed by the server (idle timeout, parser restart)
            # just as this request goes out on it. urllib3 counts that as a read error and, with
            # requests' default of no retries, does not retry it; retrying read errors in
            # general would send a document that killed the parser again. So a connection drop
            # is retried here, once, and only when the request went out on a reused connection.
            reused, self._client.kept_alive = self._client.kept_alive, False
            started = time.monotonic()
            try:
                status, text = self._put(body, headers)
            except requests.ConnectTimeout as exc:
                raise TikaUnavailable("Tika server did not accept the connection in time") from exc
            except requests.Timeout:
                return Extraction(Status.TIMEOUT, f"no answer within {self.options.timeout_s:.0f}s")
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                if _refused(exc):
                    raise TikaUnavailable(f"Tika server unreachable: {_reason(exc)}") from exc
                # The server dropped the request: its parser process was stopped or died.
                elapsed = time.monotonic() - started
                if elapsed >= self.options.timeout_s:
                    return Extraction(
                        Status.TIMEOUT,
                        f"Tika stopped parsing it after {elapsed:.0f}s "
                        f"(limit {self.options.timeout_s:.0f}s)",
                    )
                if (
                    reused
                    and elapsed < _STALE_DROP_SECONDS
                    and not isinstance(exc, requests.exceptions.ChunkedEncodingError)
                    and (isinstance(body, bytes) or rewind_to is not None)
                ):
                    if rewind_to is not None:
                        stream.seek(rewind_to)
                    continue
                raise ParseInterrupted(
                    f"Tika's parser process stopped after {elapsed:.0f}s: {_reason(exc)}"
                ) from exc
            return self._interpret(status, text)

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
        if status == 500 and (
            not body.strip() or any(marker in body for marker in _PROCESS_FAILURE_MARKERS)
        ):
            raise ParseInterrupted("Tika's parser process failed (HTTP 500, out of memory)")
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
        paths = _unique_embedded_paths(documents)
        parts = []
        for index, meta in enumerate(documents):
            content = str(meta.get("X-TIKA:content", "") or "")
            part_status, error = _part_status(meta, content, limit_hit and index == 0)
            parts.append(
                Part(
                    index=index,
                    embedded_path=paths[index],
                    content=content,
                    metadata={k: v for k, v in meta.items() if k != "X-TIKA:content"},
                    status=part_status,
                    error=error,
                )
            )
        container = parts[0]
        return Extraction(container.status, container.error, tuple(parts))
