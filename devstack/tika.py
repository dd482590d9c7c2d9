"""The Apache Tika server as its own JVM, with Tesseract on its PATH for OCR."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from devstack.base import (
    Account,
    PidFile,
    ServiceFailed,
    ServiceStatus,
    StackPaths,
    http_get,
    log_tail,
    spawn,
    wait_for,
)
from devstack.java import java_home
from devstack.maven import fetch
from devstack.versions import JDK_DEBIAN_PACKAGE, TIKA_ARTIFACT, TIKA_VERSION

# One forked parser JVM (Tika's guidance for 2 cores). The fork is what lets the server
# survive a parser that hangs or runs out of memory: the child is killed and restarted.
_CONFIG = """\
<?xml version="1.0" encoding="UTF-8"?>
<properties>
  <server>
    <params>
      <port>{port}</port>
      <host>127.0.0.1</host>
      <taskTimeoutMillis>{task_timeout_ms}</taskTimeoutMillis>
      <maxFiles>20000</maxFiles>
      <forkedJvmArgs>
        <arg>-Xmx2g</arg>
        <!-- A parser that exhausts the heap kills its JVM at once, so Tika restarts it. -->
        <arg>-XX:+ExitOnOutOfMemoryError</arg>
        <arg>-Djava.awt.headless=true</arg>
      </forkedJvmArgs>
    </params>
  </server>
</properties>
"""


class TikaService:
    name = "tika"

    def __init__(
        self, paths: StackPaths, account: Account, port: int = 9998, task_timeout_s: int = 300
    ) -> None:
        self.paths = paths
        self.account = account
        self.port = port
        self.task_timeout_s = task_timeout_s
        self.jar = paths.opt / f"tika-server-standard-{TIKA_VERSION}.jar"
        self.pidfile = PidFile(paths.run / "tika.pid")
        self.log_path = paths.logs / "tika.out"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def _dir(self) -> Path:
        return self.paths.services / "tika"

    def system_packages(self) -> Sequence[str]:
        return ["maven", JDK_DEBIAN_PACKAGE, "tesseract-ocr", "tesseract-ocr-eng"]

    def install(self) -> None:
        if not self.jar.exists():
            source = fetch(TIKA_ARTIFACT, TIKA_VERSION, "jar")
            staging = self.jar.with_suffix(".partial")
            staging.write_bytes(source.read_bytes())
            staging.chmod(0o644)
            staging.rename(self.jar)
        self._dir.mkdir(parents=True, exist_ok=True)
        (self._dir / "tika-config.xml").write_text(
            _CONFIG.format(port=self.port, task_timeout_ms=self.task_timeout_s * 1000)
        )
        self.account.own(self._dir)

    def start(self) -> None:
        if self.pidfile.live_pid() is not None:
            return
        java = java_home() / "bin" / "java"
        spawn(
            [
                str(java),
                "-Xmx512m",
                "-Djava.awt.headless=true",
                f"-Djava.io.tmpdir={self._dir}",
                "-jar",
                str(self.jar),
                "--config",
                str(self._dir / "tika-config.xml"),
            ],
            pidfile=self.pidfile,
            log_path=self.log_path,
            account=self.account,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self._dir), "LANG": "C.UTF-8"},
            cwd=self._dir,
        )

    def _healthy(self) -> bool:
        code, body = http_get(f"{self.url}/version", timeout_s=3)
        return code == 200 and "Tika" in body

    def wait_healthy(self, timeout_s: float) -> None:
        def ready() -> bool:
            if self.pidfile.live_pid() is None:
                raise ServiceFailed("exited")
            return self._healthy()

        try:
            ok = wait_for(ready, timeout_s, interval_s=0.5)
        except ServiceFailed:
            ok = False
        if not ok:
            raise ServiceFailed(
                f"Tika did not become healthy in {timeout_s:.0f}s; log {self.log_path}:\n"
                f"{log_tail(self.log_path)}"
            )

    def stop(self) -> None:
        self.pidfile.stop(timeout_s=20)

    def status(self) -> ServiceStatus:
        pid = self.pidfile.live_pid()
        try:
            healthy = self._healthy()
        except Exception:
            healthy = False
        detail = f"Apache Tika {TIKA_VERSION}" if healthy else "not answering"
        return ServiceStatus(self.name, self.url, healthy, detail, pid)
