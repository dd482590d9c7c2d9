"""Redis from Debian, a private instance on loopback: the Celery broker."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

from devstack.base import (
    Account,
    PidFile,
    ServiceFailed,
    ServiceStatus,
    StackPaths,
    log_tail,
    require_command,
    spawn,
    wait_for,
)


def redis_ping(port: int, timeout_s: float = 1.0) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(64).startswith(b"+PONG")


class RedisService:
    name = "redis"

    def __init__(self, paths: StackPaths, account: Account, port: int = 6380) -> None:
        self.paths = paths
        self.account = account
        self.port = port
        self.pidfile = PidFile(paths.run / "redis.pid")
        self.log_path = paths.logs / "redis.out"

    @property
    def _dir(self) -> Path:
        return self.paths.services / "redis"

    def system_packages(self) -> Sequence[str]:
        return ["redis-server"]

    def install(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        self.account.own(self._dir)

    def start(self) -> None:
        if self.pidfile.live_pid() is not None:
            return
        server = require_command("redis-server", "redis-server")
        spawn(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self._dir),
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                # Broker durability: an append-only file so queued crawl work survives a restart.
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            pidfile=self.pidfile,
            log_path=self.log_path,
            account=self.account,
            env={"PATH": "/usr/bin:/bin"},
            cwd=self._dir,
        )

    def wait_healthy(self, timeout_s: float) -> None:
        if not wait_for(lambda: redis_ping(self.port), timeout_s, interval_s=0.1):
            raise ServiceFailed(
                f"Redis did not answer PING on port {self.port} in {timeout_s:.0f}s; log "
                f"{self.log_path}:\n{log_tail(self.log_path)}"
            )

    def stop(self) -> None:
        self.pidfile.stop(timeout_s=10)

    def status(self) -> ServiceStatus:
        try:
            healthy = redis_ping(self.port)
        except OSError:
            healthy = False
        return ServiceStatus(
            self.name,
            f"redis://127.0.0.1:{self.port}",
            healthy,
            "PONG" if healthy else "not answering",
            self.pidfile.live_pid(),
        )
