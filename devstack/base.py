"""What every local service shares: paths, the service account, pid files and health waits."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

# The unprivileged account that runs Elasticsearch, Tika, Redis and PostgreSQL when the stack
# is brought up by root (CI): Elasticsearch and PostgreSQL refuse to run as root.
SERVICE_ACCOUNT = "foi-stack"


class MissingPrerequisite(RuntimeError):
    """Something the stack needs is absent and the stack cannot install it itself.

    The message is one line naming the thing and how to get it; the CLI prints it verbatim.
    """


class ServiceFailed(RuntimeError):
    """A service did not become healthy; the message names its log file."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    healthy: bool
    detail: str
    pid: int | None = None


class Service(Protocol):
    name: str

    def system_packages(self) -> Sequence[str]: ...
    def install(self) -> None: ...
    def start(self) -> None: ...
    def wait_healthy(self, timeout_s: float) -> None: ...
    def stop(self) -> None: ...
    def status(self) -> ServiceStatus: ...


def running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class Account:
    """Who runs the service processes: the service account under root, else the caller."""

    name: str
    uid: int
    gid: int

    @classmethod
    def for_services(cls) -> Account:
        if running_as_root():
            ensure_system_user(SERVICE_ACCOUNT)
            entry = pwd.getpwnam(SERVICE_ACCOUNT)
        else:
            entry = pwd.getpwuid(os.geteuid())
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    @classmethod
    def current(cls) -> Account:
        entry = pwd.getpwuid(os.geteuid())
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def popen_kwargs(self) -> dict[str, object]:
        if os.geteuid() == self.uid:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, *paths: Path) -> None:
        """Give the service account every file below `paths` (no-op when it is the caller)."""
        if os.geteuid() == self.uid:
            return
        for top in paths:
            os.chown(top, self.uid, self.gid)
            for root, dirs, files in os.walk(top):
                for name in dirs + files:
                    os.chown(Path(root) / name, self.uid, self.gid, follow_symlinks=False)


def ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )


def _traversable_by_others(path: Path) -> bool:
    for part in [path, *path.parents]:
        if not part.exists():
            continue
        if not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


@dataclass(frozen=True)
class StackPaths:
    """Layout of the state folder (git-ignored `.foi/` by default)."""

    state_dir: Path

    @property
    def run(self) -> Path:
        return self.state_dir / "run"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def opt(self) -> Path:
        return self.state_dir / "opt"

    @property
    def secrets(self) -> Path:
        return self.state_dir / "secrets"

    @property
    def shares(self) -> Path:
        return self.state_dir / "shares"

    @property
    def services(self) -> Path:
        """Data folders of the service processes.

        Under `.foi/services` when the service account can reach it; when root runs the stack
        from a clone inside a private folder (e.g. /root), the service account cannot, so the
        data lives under /var/lib/foi-stack/<digest> and `.foi/services` links to it.
        """
        link = self.state_dir / "services"
        if link.is_symlink() or link.is_dir():
            return link
        if running_as_root() and not _traversable_by_others(self.state_dir):
            digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12]
            target = Path("/var/lib/foi-stack") / digest
            target.mkdir(parents=True, exist_ok=True)
            Path("/var/lib/foi-stack").chmod(0o755)
            target.chmod(0o755)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(target)
            return link
        link.mkdir(parents=True, exist_ok=True)
        return link

    def ensure(self) -> None:
        for folder in (self.run, self.logs, self.opt, self.shares):
            folder.mkdir(parents=True, exist_ok=True)
        self.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.secrets.chmod(0o700)


def read_or_create_secret(paths: StackPaths, name: str, preset: str = "") -> str:
    """A generated secret kept in the state folder (0600), or `preset` when configured."""
    if preset:
        return preset
    file = paths.secrets / name
    if file.exists():
        return file.read_text().strip()
    paths.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(18)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _process_start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks, or None when it is gone (or a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may itself contain spaces): state, ..., starttime.
    fields = raw.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        # A service we started in this process has exited: reap it.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return None
    return fields[19]


@dataclass(frozen=True)
class PidFile:
    """Records a process we started, with its start time so a recycled pid is never ours."""

    path: Path

    def write(self, pid: int) -> None:
        ticks = _process_start_ticks(pid) or "?"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid} {ticks}\n")

    def live_pid(self) -> int | None:
        try:
            pid_text, ticks = self.path.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        current = _process_start_ticks(pid)
        if current is None or (ticks != "?" and current != ticks):
            return None
        return pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM the recorded process group, SIGKILL after `timeout_s`. True if one ran."""
        pid = self.live_pid()
        if pid is None:
            self.path.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        if not wait_for(lambda: _process_start_ticks(pid) is None, timeout_s, interval_s=0.2):
            _signal_group(pid, signal.SIGKILL)
            wait_for(lambda: _process_start_ticks(pid) is None, 10.0, interval_s=0.2)
        self.path.unlink(missing_ok=True)
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # Every service is started in its own session, so its group id is its pid; signalling
    # the group also reaches children (Tika's forked parser JVM, smbd's per-client forks).
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def wait_for(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():
                return True
        except Exception:  # noqa: S110 - a check that raises is simply "not yet"
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def http_get(url: str, timeout_s: float = 2.0) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept": "*/*"})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return response.status, response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(65536).decode("utf-8", "replace")


def tcp_open(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


_SPAWNED: list[subprocess.Popen[bytes]] = []


def spawn(
    argv: Sequence[str],
    *,
    pidfile: PidFile,
    log_path: Path,
    account: Account,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start a long-running service process detached in its own session, logging to a file.

    A new session matters: smbd signals its whole process group on exit, which would
    otherwise reach the caller (see shared notes on Samba).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log: IO[bytes] = log_path.open("ab")
    try:
        process = subprocess.Popen(  # type: ignore[call-overload]
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=cwd,
            close_fds=True,
            **account.popen_kwargs(),
        )
    finally:
        log.close()
    # Services outlive this call and are never waited on here (PidFile reaps them once they
    # exit); holding the Popen keeps Python from warning that a child is still running.
    _SPAWNED.append(process)
    pid: int = process.pid
    pidfile.write(pid)
    return pid


def require_command(command: str, package: str) -> str:
    found = shutil.which(command)
    if found is None:
        raise MissingPrerequisite(
            f"{command} not found: install it with `sudo apt-get install -y {package}`"
        )
    return found


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
