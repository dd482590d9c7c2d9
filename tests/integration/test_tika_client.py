"""The Tika client against the real Tika server: each thread keeps one connection alive across
documents, a spool still in memory is sent from memory, a large one streams from disk, and a
kept-alive connection the server closed is not mistaken for a failure.

Connections are counted by a small TCP forwarder between the client and the real server.
"""

from __future__ import annotations

import contextlib
import io
import socket
import tempfile
import threading
import tracemalloc
import urllib.parse
from collections.abc import Iterator
from typing import Any, cast

import pytest

from foi_core.settings import Settings
from indexer import extract
from indexer.extract import ExtractOptions, ParseInterrupted, Status, TikaExtractor

OPTIONS = ExtractOptions(60, 100_000, False)


class CountingForwarder:
    """Forwards TCP connections to the Tika server, counting them. With `drop_next_request`
    set, it closes the connection that next sends a request, unanswered and unseen by Tika: what
    a client sees when the server closes an idle keep-alive connection just as it is reused."""

    def __init__(self, target_url: str) -> None:
        target = urllib.parse.urlsplit(target_url)
        self._target = (target.hostname or "127.0.0.1", target.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.accepted = 0
        self.dropped = 0
        self.drop_next_request = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            pumps = [
                threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True),
                threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True),
            ]
            with self._lock:
                self.accepted += 1
                self._sockets += [client, upstream]
                self._threads += pumps
            for pump in pumps:
                pump.start()

    def _drop_now(self) -> bool:
        with self._lock:
            drop, self.drop_next_request = self.drop_next_request, False
            self.dropped += drop
            return drop

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and self._drop_now():
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(10)
        for sock in sockets:
            sock.close()


@pytest.fixture
def forwarder(settings: Settings, stack: object) -> Iterator[CountingForwarder]:
    proxy = CountingForwarder(settings.tika_url)
    yield proxy
    proxy.close()


def _text(n: int) -> io.BytesIO:
    return io.BytesIO(f"Minutes of meeting number {n} about the bypass.\n".encode())


def _content(extraction: extract.Extraction) -> str:
    assert extraction.container is not None
    return extraction.container.content


def test_one_thread_keeps_one_connection_for_twenty_documents(
    forwarder: CountingForwarder,
) -> None:
    extractor = TikaExtractor(forwarder.url, OPTIONS)

    for n in range(20):
        extraction = extractor.extract(_text(n), filename=f"minutes-{n}.txt")
        assert extraction.status == Status.OK
        assert f"meeting number {n} " in _content(extraction)
    assert forwarder.accepted == 1

    other = threading.Thread(target=extractor.extract, args=(_text(20),))
    other.start()
    other.join()
    assert forwarder.accepted == 2  # each thread has a session of its own


def test_a_small_spool_is_sent_from_memory(settings: Settings, stack: object) -> None:
    extractor = TikaExtractor(settings.tika_url, OPTIONS)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        spool.write(b"A short letter about the bypass. " * 30)  # about 1 kB
        spool.seek(0)

        extraction = extractor.extract(spool, filename="letter.txt")

        assert extraction.status == Status.OK
        assert "letter about the bypass" in _content(extraction)
        assert cast(Any, spool)._rolled is False  # nothing was written to local disk


def test_a_large_spool_streams_from_disk_in_flat_memory(settings: Settings, stack: object) -> None:
    extractor = TikaExtractor(settings.tika_url, ExtractOptions(60, 1_000, False))
    line = b"A very long register of planning applications and their outcomes.\n"
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        for _ in range(12 * 1024 * 1024 // len(line)):
            spool.write(line)
        size = spool.tell()
        assert cast(Any, spool)._rolled
        spool.seek(0)

        tracemalloc.start()
        try:
            extraction = extractor.extract(spool, filename="register.txt")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert extraction.container is not None
    assert extraction.container.metadata["Content-Length"] == str(size)  # all of it arrived
    assert extraction.container.content.strip().startswith("A very long register")
    assert peak < 2 * 1024 * 1024


@pytest.mark.parametrize("streamed", [False, True], ids=["bytes", "streamed"])
def test_a_request_on_a_connection_the_server_closed_is_sent_again(
    forwarder: CountingForwarder, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    if streamed:  # the body goes out from the stream, which must be rewound for the retry
        monkeypatch.setattr(extract, "_IN_MEMORY_BODY_BYTES", 0)
    extractor = TikaExtractor(forwarder.url, OPTIONS)
    assert extractor.extract(_text(1), filename="first.txt").status == Status.OK

    forwarder.drop_next_request = True
    extraction = extractor.extract(_text(2), filename="second.txt")

    assert extraction.status == Status.OK
    assert "meeting number 2 " in _content(extraction)
    assert (forwarder.dropped, forwarder.accepted) == (1, 2)


def test_a_request_dropped_on_a_new_connection_is_still_an_interrupted_parse(
    forwarder: CountingForwarder,
) -> None:
    extractor = TikaExtractor(forwarder.url, OPTIONS)
    forwarder.drop_next_request = True

    with pytest.raises(ParseInterrupted):
        extractor.extract(_text(1), filename="first.txt")

    assert (forwarder.dropped, forwarder.accepted) == (1, 1)
    assert extractor.extract(_text(2), filename="second.txt").status == Status.OK
