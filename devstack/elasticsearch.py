"""Elasticsearch from Maven Central's integ-test-zip, run by the service account on loopback.

That distribution carries no JDK and no x-pack licence layer and only four modules
(transport-netty4, x-pack-core/security, apm): no analysis-common, reindex or painless. The
indexer is written against that reality (see indexer/mapping.py).
"""

from __future__ import annotations

import json
import shutil
import zipfile
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
from devstack.es_analysis_plugin import ensure_analysis_plugin
from devstack.java import java_home
from devstack.maven import fetch
from devstack.versions import ELASTICSEARCH_ARTIFACT, ELASTICSEARCH_VERSION, JDK_DEBIAN_PACKAGE

# 2 GB heap: enough for a few hundred thousand documents with facets on a 2-core / 24 GB box,
# leaving room for Tika's forked JVM, PostgreSQL and the test runner.
HEAP = "2g"

_CONFIG = """\
cluster.name: foi-local
node.name: foi-local-1
path.data: {data}
path.logs: {logs}
network.host: 127.0.0.1
http.port: {port}
transport.port: {transport_port}
discovery.type: single-node
xpack.security.enabled: false
action.destructive_requires_name: true
# Loopback development nodes often sit on busy disks; never flip indices to read-only.
cluster.routing.allocation.disk.threshold_enabled: false
"""


class ElasticsearchService:
    name = "elasticsearch"

    def __init__(self, paths: StackPaths, account: Account, port: int = 9200) -> None:
        self.paths = paths
        self.account = account
        self.port = port
        self.home = paths.opt / f"elasticsearch-{ELASTICSEARCH_VERSION}"
        self.pidfile = PidFile(paths.run / "elasticsearch.pid")
        self.log_path = paths.logs / "elasticsearch.out"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def _dir(self) -> Path:
        return self.paths.services / "elasticsearch"

    def system_packages(self) -> Sequence[str]:
        return ["maven", JDK_DEBIAN_PACKAGE, "unzip"]

    def install(self) -> None:
        if not (self.home / "bin" / "elasticsearch").exists():
            archive = fetch(ELASTICSEARCH_ARTIFACT, ELASTICSEARCH_VERSION, "zip")
            staging = self.paths.opt / ".elasticsearch-unpacking"
            shutil.rmtree(staging, ignore_errors=True)
            with zipfile.ZipFile(archive) as bundle:
                bundle.extractall(staging)
            unpacked = staging / f"elasticsearch-{ELASTICSEARCH_VERSION}"
            for script in (unpacked / "bin").iterdir():
                script.chmod(0o755)
            unpacked.rename(self.home)
            shutil.rmtree(staging, ignore_errors=True)
            # The distribution must be readable (not writable) by the service account.
            for path in [self.home, *self.home.rglob("*")]:
                path.chmod(0o755 if path.is_dir() or path.parent.name == "bin" else 0o644)
        config = self._dir / "config"
        if not (config / "jvm.options").exists():
            shutil.copytree(self.home / "config", config, dirs_exist_ok=True)
        for sub in ("data", "logs", "tmp"):
            (self._dir / sub).mkdir(parents=True, exist_ok=True)
        (config / "elasticsearch.yml").write_text(
            _CONFIG.format(
                data=self._dir / "data",
                logs=self._dir / "logs",
                port=self.port,
                transport_port=self.port + 100,
            )
        )
        (config / "jvm.options.d").mkdir(exist_ok=True)
        (config / "jvm.options.d" / "heap.options").write_text(f"-Xms{HEAP}\n-Xmx{HEAP}\n")
        # Our English analysis (the distribution lacks analysis-common); a no-op when current.
        ensure_analysis_plugin(
            self.home,
            self.paths.state_dir / "build" / "es-analysis-plugin",
            java_home(),
            config_dir=config,
        )
        self.account.own(self._dir)

    def start(self) -> None:
        if self.pidfile.live_pid() is not None:
            return
        env = {
            "PATH": "/usr/bin:/bin",
            "JAVA_HOME": str(java_home()),
            "ES_JAVA_HOME": str(java_home()),
            "ES_PATH_CONF": str(self._dir / "config"),
            "ES_TMPDIR": str(self._dir / "tmp"),
            "HOME": str(self._dir),
            "LANG": "C.UTF-8",
        }
        spawn(
            [str(self.home / "bin" / "elasticsearch")],
            pidfile=self.pidfile,
            log_path=self.log_path,
            account=self.account,
            env=env,
            cwd=self._dir,
        )

    def _healthy(self) -> bool:
        code, body = http_get(f"{self.url}/_cluster/health?timeout=1s", timeout_s=3)
        return code == 200 and json.loads(body).get("status") in {"green", "yellow"}

    def wait_healthy(self, timeout_s: float) -> None:
        def ready() -> bool:
            if self.pidfile.live_pid() is None:
                raise ServiceFailed("exited")
            return self._healthy()

        try:
            ok = wait_for(ready, timeout_s, interval_s=1.0)
        except ServiceFailed:
            ok = False
        if not ok:
            raise ServiceFailed(
                f"Elasticsearch did not become healthy in {timeout_s:.0f}s; log "
                f"{self.log_path}:\n{log_tail(self.log_path)}"
            )

    def stop(self) -> None:
        self.pidfile.stop(timeout_s=60)

    def status(self) -> ServiceStatus:
        pid = self.pidfile.live_pid()
        try:
            healthy = self._healthy()
            detail = f"Elasticsearch {ELASTICSEARCH_VERSION}" if healthy else "not answering"
        except Exception as exc:
            healthy, detail = False, f"not answering ({type(exc).__name__})"
        return ServiceStatus(self.name, self.url, healthy, detail, pid)
