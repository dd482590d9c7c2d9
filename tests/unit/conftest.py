"""Unit tests open no network sockets (STYLE.md): every test here runs with inet sockets refused.

Connecting, binding or sending on an AF_INET/AF_INET6 socket raises `NetworkInUnitTest`, and a
name lookup for anything but the loopback host does too (a DNS query is network traffic that
never passes through `socket.connect`). The error is not an `OSError`, so client retry loops
do not mistake it for a service being down; and because code may still swallow it, every
attempt is also recorded and fails the test when it ends. AF_UNIX sockets stay allowed. A test
that needs a service belongs in tests/integration.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

_INET = (socket.AF_INET, socket.AF_INET6)
_LOCAL_NAMES = {None, b"localhost", "localhost", "127.0.0.1", "::1", b"127.0.0.1", b"::1"}
_RAISED = pytest.StashKey[bool]()


class NetworkInUnitTest(RuntimeError):
    """A unit test tried to use the network; move it to tests/integration or fake the client."""


def _refusal(attempts: list[str], what: str) -> NetworkInUnitTest:
    attempts.append(what)
    return NetworkInUnitTest(
        f"unit tests open no network sockets: {what} was refused "
        "(a test that needs a service belongs in tests/integration)"
    )


def _guarded(name: str, original: Callable[..., Any], attempts: list[str]) -> Callable[..., Any]:
    def method(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if self.family in _INET:
            address = args[-1] if args else kwargs.get("address")
            # Closed here because the caller's cleanup may only run for OSError.
            self.close()
            raise _refusal(attempts, f"socket.{name}({address!r})")
        return original(self, *args, **kwargs)

    return method


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(NetworkInUnitTest):
        item.stash[_RAISED] = True
    return report


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest) -> Iterator[None]:
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOCAL_NAMES:
            raise _refusal(attempts, f"socket.getaddrinfo({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for name in ("connect", "connect_ex", "bind", "sendto", "sendmsg"):
            original = getattr(socket.socket, name)
            patch.setattr(socket.socket, name, _guarded(name, original, attempts))
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield
    if attempts and not request.node.stash.get(_RAISED, False):
        pytest.fail(
            f"{request.node.nodeid} tried to use the network (unit tests open no sockets): "
            + "; ".join(attempts),
            pytrace=False,
        )
