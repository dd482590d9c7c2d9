"""PostgreSQL from Debian: a private cluster on loopback, the production database engine.

PostgreSQL refuses to run as root, so under root the cluster belongs to the service account.
Password authentication (scram) even on loopback: the password is generated into the state
folder's secrets and never printed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from devstack.base import (
    Account,
    MissingPrerequisite,
    PidFile,
    ServiceFailed,
    ServiceStatus,
    StackPaths,
    log_tail,
    read_or_create_secret,
    spawn,
    tcp_open,
    wait_for,
)

DATABASE = "foi"
ROLE = "foi"


def _bin_dir() -> Path:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise MissingPrerequisite(
            "PostgreSQL server not found: install it with `sudo apt-get install -y postgresql`"
        )
    return versions[-1].parent


class PostgresService:
    name = "postgres"

    def __init__(self, paths: StackPaths, account: Account, port: int = 5433) -> None:
        self.paths = paths
        self.account = account
        self.port = port
        self.pidfile = PidFile(paths.run / "postgres.pid")
        self.log_path = paths.logs / "postgres.out"

    @property
    def _dir(self) -> Path:
        return self.paths.services / "postgres"

    @property
    def password(self) -> str:
        return read_or_create_secret(self.paths, "postgres_password")

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the stack's database (contains the password: never log it)."""
        return f"postgresql+psycopg://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def system_packages(self) -> Sequence[str]:
        return ["postgresql"]

    def _run_as_account(
        self, argv: list[str], **kwargs: object
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            argv,
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            **self.account.popen_kwargs(),
            **kwargs,
        )

    def install(self) -> None:
        data = self._dir / "data"
        if (data / "PG_VERSION").exists():
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        (self._dir / "socket").mkdir(exist_ok=True)
        pwfile = self._dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self.account.own(self._dir)
        result = self._run_as_account(
            [
                str(_bin_dir() / "initdb"),
                "-D",
                str(data),
                "-U",
                ROLE,
                f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise ServiceFailed(f"initdb failed: {result.stderr.strip()[-500:]}")

    def start(self) -> None:
        if self.pidfile.live_pid() is not None:
            return
        spawn(
            [
                str(_bin_dir() / "postgres"),
                "-D",
                str(self._dir / "data"),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self._dir / 'socket'}",
                "-c",
                "shared_buffers=256MB",
                "-c",
                "max_connections=100",
            ],
            pidfile=self.pidfile,
            log_path=self.log_path,
            account=self.account,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            cwd=self._dir,
        )

    def _ensure_database(self) -> None:
        env = {"PGPASSWORD": self.password, "PATH": "/usr/bin:/bin"}
        probe = self._run_as_account(
            [
                str(_bin_dir() / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                ROLE,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname='{DATABASE}'",  # noqa: S608 - constant
            ],
            env=env,
        )
        if probe.returncode != 0:
            raise ServiceFailed(f"psql failed: {probe.stderr.strip()}")
        if probe.stdout.strip() != "1":
            created = self._run_as_account(
                [
                    str(_bin_dir() / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    ROLE,
                    DATABASE,
                ],
                env=env,
            )
            if created.returncode != 0:
                raise ServiceFailed(f"createdb failed: {created.stderr.strip()}")

    def wait_healthy(self, timeout_s: float) -> None:
        def ready() -> bool:
            if self.pidfile.live_pid() is None:
                raise ServiceFailed("exited")
            result = subprocess.run(
                [
                    str(_bin_dir() / "pg_isready"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-t",
                    "2",
                ],
                capture_output=True,
                check=False,
            )
            return result.returncode == 0

        try:
            ok = wait_for(ready, timeout_s, interval_s=0.2)
        except ServiceFailed:
            ok = False
        if not ok:
            raise ServiceFailed(
                f"PostgreSQL did not accept connections in {timeout_s:.0f}s; log "
                f"{self.log_path}:\n{log_tail(self.log_path)}"
            )
        self._ensure_database()

    def stop(self) -> None:
        # SIGTERM on the group is PostgreSQL's "smart" shutdown for the postmaster.
        self.pidfile.stop(timeout_s=30)

    def status(self) -> ServiceStatus:
        healthy = tcp_open("127.0.0.1", self.port)
        return ServiceStatus(
            self.name,
            f"postgresql://127.0.0.1:{self.port}/{DATABASE}",
            healthy,
            "accepting connections" if healthy else "not listening",
            self.pidfile.live_pid(),
        )
