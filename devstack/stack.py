"""`foi stack up | down | status`: the whole local stack, idempotently."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from devstack.base import Account, Service, ServiceStatus, StackPaths
from devstack.elasticsearch import ElasticsearchService
from devstack.packages import ensure_packages
from devstack.postgres import PostgresService
from devstack.redis import RedisService
from devstack.samba import SambaService
from devstack.tika import TikaService
from foi_core.settings import Settings

Report = Callable[[str], None]
# Headless Chromium for the browser tests (Debian's build; no browser downloads at test time).
TEST_TOOL_PACKAGES = ("chromium", "fonts-dejavu-core")

# Slow starters first: Elasticsearch and Tika boot JVMs while the others start.
_HEALTH_TIMEOUT_S = {"elasticsearch": 180.0, "tika": 120.0}


def _port(url: str, default: int) -> int:
    tail = url.rsplit(":", 1)[-1].split("/")[0]
    return int(tail) if tail.isdigit() else default


@dataclass
class LocalStack:
    settings: Settings

    def __post_init__(self) -> None:
        self.paths = StackPaths(self.settings.state_dir)
        self._account: Account | None = None

    @property
    def account(self) -> Account:
        if self._account is None:
            self._account = Account.for_services()
        return self._account

    @property
    def elasticsearch(self) -> ElasticsearchService:
        return ElasticsearchService(
            self.paths, self.account, _port(self.settings.elasticsearch_url, 9200)
        )

    @property
    def tika(self) -> TikaService:
        return TikaService(self.paths, self.account, _port(self.settings.tika_url, 9998))

    @property
    def samba(self) -> SambaService:
        return SambaService(
            self.paths,
            self.account,
            self.settings.samba_port,
            self.settings.samba_user,
            self.settings.samba_password,
        )

    @property
    def redis(self) -> RedisService:
        return RedisService(self.paths, self.account, _port(self.settings.redis_url, 6380))

    @property
    def postgres(self) -> PostgresService:
        return PostgresService(self.paths, self.account, self.settings.postgres_port)

    def services(self) -> list[Service]:
        return [self.elasticsearch, self.tika, self.samba, self.redis, self.postgres]

    def up(self, report: Report = print, *, test_tools: bool = False) -> list[ServiceStatus]:
        """Install and start everything; `test_tools` adds what the browser tests drive."""
        started = time.monotonic()
        self.paths.ensure()
        services = self.services()
        extra = TEST_TOOL_PACKAGES if test_tools else ()
        ensure_packages([*(p for s in services for p in s.system_packages()), *extra], report)
        for service in services:
            report(f"{service.name}: installing")
            service.install()
        for service in services:
            service.start()
        for service in services:
            service.wait_healthy(_HEALTH_TIMEOUT_S.get(service.name, 30.0))
            report(f"{service.name}: healthy")
        report(f"stack up in {time.monotonic() - started:.1f}s")
        return self.status()

    def down(self, report: Report = print) -> None:
        for service in reversed(self.services()):
            service.stop()
            report(f"{service.name}: stopped")

    def status(self) -> list[ServiceStatus]:
        return [service.status() for service in self.services()]
