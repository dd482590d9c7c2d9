"""Samba smbd from a private config on 127.0.0.1 at a non-standard port: the demo and test
file server. It writes nothing system-wide except the share's Unix user (when run as root).

Traps handled here (shared/notes/stack.md): a 0700 share root denies the SMB user; smbd
signals its whole process group on exit (so it gets its own session); `acl_xattr` needs
samba-vfs-modules or the share silently fails to load.
"""

from __future__ import annotations

import getpass
import os
import pwd
import subprocess
from collections.abc import Sequence
from pathlib import Path

from devstack.base import (
    Account,
    PidFile,
    ServiceFailed,
    ServiceStatus,
    StackPaths,
    ensure_system_user,
    log_tail,
    read_or_create_secret,
    running_as_root,
    spawn,
    tcp_open,
    wait_for,
)

SHARES = ("demo", "test")

_GLOBAL = """\
[global]
  workgroup = FOILOCAL
  netbios name = FOILOCAL
  server role = standalone server
  interfaces = 127.0.0.1
  bind interfaces only = yes
  smb ports = {port}
  disable netbios = yes
  server min protocol = SMB2_10
  passdb backend = tdbsam:{private}/passdb.tdb
  private dir = {private}
  lock directory = {state}/lock
  state directory = {state}/state
  cache directory = {state}/cache
  pid directory = {state}/run
  ncalrpc dir = {state}/ncalrpc
  log file = {logs}/smbd.log
  max log size = 2000
  log level = 1
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  map to guest = never
  restrict anonymous = 2
  unix extensions = no
"""

# acl_xattr keeps real NT security descriptors, as on a Windows server; symlinks are followed
# (as on many real shares) so the crawler's loop guard is exercised for real.
_SHARE = """
[{name}]
  path = {path}
  read only = no
  valid users = {user}
  vfs objects = acl_xattr
  {acl_name}
  follow symlinks = yes
  wide links = no
  store dos attributes = yes
  create mask = 0664
  directory mask = 0775
"""


class SambaService:
    name = "samba"

    def __init__(
        self,
        paths: StackPaths,
        account: Account,
        port: int = 4445,
        user: str = "foidemo",
        password: str = "",
    ) -> None:
        self.paths = paths
        self.account = account
        self.port = port
        # smbd not running as root can only authenticate its own uid (shared notes).
        self.user = user if running_as_root() else getpass.getuser()
        self._preset_password = password
        self.pidfile = PidFile(paths.run / "smbd.pid")
        self.log_path = paths.logs / "smbd.out"

    @property
    def _dir(self) -> Path:
        return self.paths.services / "samba"

    @property
    def config_path(self) -> Path:
        return self._dir / "smb.conf"

    @property
    def password(self) -> str:
        return read_or_create_secret(self.paths, "samba_password", self._preset_password)

    def share_path(self, share: str) -> Path:
        return self.paths.services / "shares" / share

    def system_packages(self) -> Sequence[str]:
        return ["samba", "smbclient", "samba-vfs-modules", "libmagic1", "attr"]

    def install(self) -> None:
        if running_as_root():
            ensure_system_user(self.user)
        owner = pwd.getpwnam(self.user)
        for sub in (
            "private",
            "state/lock",
            "state/state",
            "state/cache",
            "state/run",
            "state/ncalrpc",
            "logs",
        ):
            (self._dir / sub).mkdir(parents=True, exist_ok=True)
        (self._dir / "private").chmod(0o700)
        (self.paths.services / "shares").mkdir(parents=True, exist_ok=True)
        (self.paths.services / "shares").chmod(0o755)
        for share in SHARES:
            path = self.share_path(share)
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, owner.pw_uid, owner.pw_gid)
            path.chmod(0o775)
        # Non-root smbd cannot write the trusted `security.` xattr namespace.
        acl_name = "" if running_as_root() else "acl_xattr:security_acl_name = user.NTACL"
        config = _GLOBAL.format(
            port=self.port,
            private=self._dir / "private",
            state=self._dir / "state",
            logs=self._dir / "logs",
        ) + "".join(
            _SHARE.format(
                name=share, path=self.share_path(share), user=self.user, acl_name=acl_name
            )
            for share in SHARES
        )
        self.config_path.write_text(config)
        password = self.password
        result = subprocess.run(
            ["smbpasswd", "-c", str(self.config_path), "-s", "-a", self.user],
            input=f"{password}\n{password}\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceFailed(f"smbpasswd failed: {result.stderr.strip() or result.stdout}")

    def start(self) -> None:
        if self.pidfile.live_pid() is not None:
            return
        spawn(
            ["smbd", "--foreground", "--no-process-group", f"--configfile={self.config_path}"],
            pidfile=self.pidfile,
            log_path=self.log_path,
            # smbd must run as root to authenticate other users, and as the caller otherwise.
            account=Account.current(),
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        )

    def wait_healthy(self, timeout_s: float) -> None:
        def ready() -> bool:
            if self.pidfile.live_pid() is None:
                raise ServiceFailed("exited")
            return tcp_open("127.0.0.1", self.port)

        try:
            ok = wait_for(ready, timeout_s, interval_s=0.1)
        except ServiceFailed:
            ok = False
        if not ok:
            raise ServiceFailed(
                f"smbd did not listen on 127.0.0.1:{self.port} in {timeout_s:.0f}s; log "
                f"{self._dir / 'logs' / 'smbd.log'}:\n{log_tail(self._dir / 'logs' / 'smbd.log')}"
            )

    def stop(self) -> None:
        self.pidfile.stop(timeout_s=10)

    def status(self) -> ServiceStatus:
        healthy = tcp_open("127.0.0.1", self.port)
        shares = ", ".join(f"\\\\127.0.0.1\\{share}" for share in SHARES)
        detail = f"shares {shares} (user {self.user})" if healthy else "not listening"
        return ServiceStatus(
            self.name, f"smb://127.0.0.1:{self.port}", healthy, detail, self.pidfile.live_pid()
        )
