"""The one typed settings object, parsed from the environment.

Every setting is read here and nowhere else. Values are parsed explicitly (integers are
integers, booleans accept only a fixed vocabulary) so a typo fails loudly at start-up rather
than silently turning a feature on. Nothing is read at import time: callers build a
`Settings` with `Settings.from_env()` and pass it down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(ValueError):
    """An environment variable holds a value the product cannot use."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def _parse_int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}; got {value}")
    return value


def _parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number; got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive; got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Field docs double as the README's configuration reference."""

    # Where the local stack keeps its installs, data, logs and pid files.
    state_dir: Path = field(default_factory=lambda: Path(".foi").resolve())
    # SQLAlchemy URL; empty means the embedded SQLite database under state_dir.
    database_url: str = ""
    elasticsearch_url: str = "http://127.0.0.1:9200"
    # Prefix of every index and alias this deployment owns (lets tests run side by side).
    index_prefix: str = "foi"
    tika_url: str = "http://127.0.0.1:9998"
    # Celery broker; empty means crawls run in-process (the embedded default).
    broker_url: str = ""
    redis_url: str = "redis://127.0.0.1:6380/0"
    # Signs form (CSRF) tokens; generated into state_dir when unset.
    secret_key: str = ""
    # Serve session cookies with the Secure flag (turn off only for plain-http loopback).
    secure_cookies: bool = True
    tika_timeout_s: float = 120.0
    max_file_bytes: int = 512 * 1024 * 1024
    max_extracted_chars: int = 5_000_000
    ocr_enabled: bool = True
    smb_read_bytes: int = 1024 * 1024
    # Files read, extracted and indexed at once by an in-process crawl.
    crawl_workers: int = 4
    # Processes per `foi worker`; None means Celery's default (one per CPU core).
    worker_concurrency: int | None = None
    # Celery queue that crawl tasks are sent to and `foi worker` consumes.
    task_queue: str = "foi-crawl"
    # Files per Celery task: the walker enqueues batches of this size.
    task_batch_files: int = 25
    # Hard time limit of one batch task (the soft limit comes 10% earlier); a broker message
    # taken by a worker that died is redelivered after twice this.
    task_time_limit_s: int = 1800
    # Local demo/test share served by `foi stack up`.
    samba_port: int = 4445
    samba_user: str = "foidemo"
    samba_password: str = ""
    postgres_port: int = 5433
    # Initial admin account created by `foi demo` / `foi users bootstrap`.
    admin_password: str = ""
    corpus_dir: Path | None = None
    # The council's name, printed on destruction certificates and bundle summaries.
    organisation: str = ""
    # Content-addressed store of held originals; empty means state_dir/preservation.
    preservation_dir: Path | None = None
    # Approvals a disposal batch needs before it can run: 2 (two records managers, neither the
    # batch's builder, who may not execute it either), or 1 (one person may do it all: warned).
    disposal_approvals: int = 2
    # Case reference prefixes per regime ("FOIA=FOI,EIR=EIR,SAR=SAR" gives FOI-2026-0042).
    case_prefixes: str = "FOIA=FOI,EIR=EIR,SAR=SAR"
    # The council's own target, in working days, ahead of the statutory deadline.
    internal_target_days: int = 15
    # Minutes per document for the s.12 estimate: locating, retrieving, extracting.
    s12_locate_minutes: int = 1
    s12_retrieve_minutes: int = 1
    s12_extract_minutes: int = 3
    # Disclosure bundles: where they are written, how long they stay downloadable, part size.
    export_dir: Path | None = None
    export_keep_days: int = 30
    export_part_bytes: int = 2 * 1024**3
    # Deadline reminders by e-mail: smtp://host:port (empty: no reminders are sent).
    smtp_url: str = ""
    mail_from: str = "foi-discovery@localhost"
    # Key that seals every audit entry (HMAC); generated into state_dir/secrets when unset.
    # Keep it out of the database's reach: whoever holds it can re-seal rewritten history.
    audit_key: str = ""
    # Append-only file of keyed audit checkpoints; empty means state_dir/audit/anchors.log.
    # Put it on storage the database's administrators cannot write.
    audit_anchor_file: Path | None = None
    # Browser sessions end after this many minutes without a request, and this many hours
    # after signing in whatever the activity.
    session_idle_minutes: int = 30
    session_max_hours: int = 8
    # Days an API token stays valid unless its creator chooses otherwise.
    token_days: int = 90
    # Reverse proxies in front of the web app whose X-Forwarded-For/-Proto are believed (None:
    # none, the peer's address is the client's). Sign-in pauses and the audit log use it.
    proxy_hops: int | None = None

    @property
    def effective_export_dir(self) -> Path:
        return self.export_dir or self.state_dir / "exports"

    @property
    def effective_preservation_dir(self) -> Path:
        return self.preservation_dir or self.state_dir / "preservation"

    @property
    def effective_audit_anchor_file(self) -> Path:
        return self.audit_anchor_file or self.state_dir / "audit" / "anchors.log"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'foi.db'}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return None if value is None or value == "" else value

        kwargs: dict[str, object] = {}
        state = get("FOI_STATE_DIR")
        if state:
            kwargs["state_dir"] = Path(state).expanduser().resolve()
        for attr, var in _STRINGS.items():
            value = get(var)
            if value is not None:
                kwargs[attr] = value
        for attr, var in _INTS.items():
            value = get(var)
            if value is not None:
                kwargs[attr] = _parse_int(var, value, minimum=1)
        for attr, var in _BOOLS.items():
            value = env.get(var)
            if value is not None:
                kwargs[attr] = _parse_bool(var, value)
        timeout = get("FOI_TIKA_TIMEOUT")
        if timeout is not None:
            kwargs["tika_timeout_s"] = _parse_float("FOI_TIKA_TIMEOUT", timeout)
        corpus = get("FOI_CORPUS_DIR")
        if corpus is not None:
            kwargs["corpus_dir"] = Path(corpus).expanduser().resolve()
        exports = get("FOI_EXPORT_DIR")
        if exports is not None:
            kwargs["export_dir"] = Path(exports).expanduser().resolve()
        anchors = get("FOI_AUDIT_ANCHOR_FILE")
        if anchors is not None:
            kwargs["audit_anchor_file"] = Path(anchors).expanduser().resolve()
        preservation = get("FOI_PRESERVATION_DIR")
        if preservation is not None:
            kwargs["preservation_dir"] = Path(preservation).expanduser().resolve()
        approvals = kwargs.get("disposal_approvals")
        if isinstance(approvals, int) and approvals > 2:
            raise SettingsError(f"FOI_DISPOSAL_APPROVALS must be 1 or 2; got {approvals}")
        return cls(**kwargs)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env` rebuild these settings (for child processes,
        such as a crawl started from the web app). Holds secrets: never log it."""
        env = {"FOI_STATE_DIR": str(self.state_dir)}
        for attr, var in {**_STRINGS, **_INTS}.items():
            value = getattr(self, attr)
            if value is not None:
                env[var] = str(value)
        for attr, var in _BOOLS.items():
            env[var] = "true" if getattr(self, attr) else "false"
        env["FOI_TIKA_TIMEOUT"] = repr(self.tika_timeout_s)
        if self.corpus_dir is not None:
            env["FOI_CORPUS_DIR"] = str(self.corpus_dir)
        if self.preservation_dir is not None:
            env["FOI_PRESERVATION_DIR"] = str(self.preservation_dir)
        if self.export_dir is not None:
            env["FOI_EXPORT_DIR"] = str(self.export_dir)
        if self.audit_anchor_file is not None:
            env["FOI_AUDIT_ANCHOR_FILE"] = str(self.audit_anchor_file)
        return env

    def redacted(self) -> dict[str, str]:
        """Settings as strings with secrets masked, safe for logs and status pages."""
        shown: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRETS and value:
                shown[f.name] = "***"
            else:
                shown[f.name] = str(value)
        return shown


_STRINGS = {
    "database_url": "FOI_DATABASE_URL",
    "elasticsearch_url": "FOI_ES_URL",
    "index_prefix": "FOI_INDEX_PREFIX",
    "tika_url": "FOI_TIKA_URL",
    "broker_url": "FOI_BROKER_URL",
    "task_queue": "FOI_TASK_QUEUE",
    "redis_url": "FOI_REDIS_URL",
    "secret_key": "FOI_SECRET_KEY",
    "samba_user": "FOI_SAMBA_USER",
    "samba_password": "FOI_SAMBA_PASSWORD",
    "admin_password": "FOI_ADMIN_PASSWORD",
    "organisation": "FOI_ORGANISATION",
    "case_prefixes": "FOI_CASE_PREFIXES",
    "smtp_url": "FOI_SMTP_URL",
    "mail_from": "FOI_MAIL_FROM",
    "audit_key": "FOI_AUDIT_KEY",
}
_INTS = {
    "max_file_bytes": "FOI_MAX_FILE_BYTES",
    "max_extracted_chars": "FOI_MAX_EXTRACTED_CHARS",
    "smb_read_bytes": "FOI_SMB_READ_BYTES",
    "crawl_workers": "FOI_CRAWL_WORKERS",
    "worker_concurrency": "FOI_WORKER_CONCURRENCY",
    "task_batch_files": "FOI_TASK_BATCH_FILES",
    "task_time_limit_s": "FOI_TASK_TIME_LIMIT",
    "samba_port": "FOI_SAMBA_PORT",
    "postgres_port": "FOI_POSTGRES_PORT",
    "disposal_approvals": "FOI_DISPOSAL_APPROVALS",
    "internal_target_days": "FOI_INTERNAL_TARGET_DAYS",
    "s12_locate_minutes": "FOI_S12_LOCATE_MINUTES",
    "s12_retrieve_minutes": "FOI_S12_RETRIEVE_MINUTES",
    "s12_extract_minutes": "FOI_S12_EXTRACT_MINUTES",
    "export_keep_days": "FOI_EXPORT_KEEP_DAYS",
    "export_part_bytes": "FOI_EXPORT_PART_BYTES",
    "session_idle_minutes": "FOI_SESSION_IDLE_MINUTES",
    "session_max_hours": "FOI_SESSION_MAX_HOURS",
    "token_days": "FOI_TOKEN_DAYS",
    "proxy_hops": "FOI_PROXY_HOPS",
}
_BOOLS = {
    "secure_cookies": "FOI_SECURE_COOKIES",
    "ocr_enabled": "FOI_OCR_ENABLED",
}
# URLs may embed passwords, so they are masked whole.
_SECRETS = frozenset(
    {
        "secret_key",
        "audit_key",
        "samba_password",
        "admin_password",
        "database_url",
        "broker_url",
        "redis_url",
        "smtp_url",
    }
)

# Every variable the product reads, for the README reference and its consistency test.
ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    "FOI_STATE_DIR",
    *_STRINGS.values(),
    *_INTS.values(),
    *_BOOLS.values(),
    "FOI_TIKA_TIMEOUT",
    "FOI_CORPUS_DIR",
    "FOI_PRESERVATION_DIR",
    "FOI_EXPORT_DIR",
    "FOI_AUDIT_ANCHOR_FILE",
)
