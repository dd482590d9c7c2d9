"""What makes the audit log tamper-evident to someone who can write to the database.

The hash chain alone proves nothing to such a person's auditors: they can drop the
append-only triggers, edit an entry and re-hash everything after it. Two things kept *outside*
the database close that gap:

- the audit key (`FOI_AUDIT_KEY`, or a generated 0600 file in the state folder's `secrets/`):
  every entry carries a seal, HMAC-SHA256(key, entry hash). Without the key no one can seal a
  rewritten entry, and since each hash covers the previous one, a valid seal on entry N vouches
  for the whole chain up to N;
- checkpoints in an append-only anchor file (`FOI_AUDIT_ANCHOR_FILE`; point it at storage the
  database's administrators cannot write): each line names an entry id and its hash at a moment,
  keyed with the same secret. A rewrite, or a truncation, of anything up to a checkpoint no
  longer matches it. The head is also printed on certificates and bundle summaries, so copies
  of it live on paper and with requesters.

The first checkpoint ever written records how many entries predate sealing (a database from
before this existed); every later entry must be sealed, so stripping seals is detected too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from foi_core.private_files import private_dir, read_or_create_secret
from foi_core.settings import Settings

MIN_KEY_CHARS = 32


@dataclass(frozen=True)
class Checkpoint:
    """One anchor line: entry `entry_id` had hash `entry_hash` at `at`."""

    entry_id: int
    entry_hash: str
    at: datetime
    # Entries up to this id were written before sealing began (only the first line's counts).
    unsealed_through: int


class AnchorFileError(ValueError):
    """A line of the anchor file is not one this product wrote with the audit key."""


@dataclass(frozen=True)
class AuditSeal:
    """The audit key and the anchor file: built once per process from settings, carried by
    every database session (see `foi_core.db.session_factory`)."""

    key: bytes
    anchor_path: Path

    def seal(self, entry_hash: str) -> str:
        return hmac.new(self.key, entry_hash.encode("ascii"), hashlib.sha256).hexdigest()

    def is_sealed(self, entry_hash: str, seal: str | None) -> bool:
        return bool(seal) and hmac.compare_digest(self.seal(entry_hash), seal or "")

    def _line_mac(self, fields: dict[str, object]) -> str:
        body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self.key, b"checkpoint:" + body, hashlib.sha256).hexdigest()

    def append(self, checkpoint: Checkpoint) -> None:
        """Append one line, durably (fsync), to the anchor file (0600 in a 0700 folder).

        Lines are short single writes to an O_APPEND file, so concurrent writers never
        interleave within a line."""
        fields: dict[str, object] = {
            "entry": checkpoint.entry_id,
            "hash": checkpoint.entry_hash,
            "at": checkpoint.at.astimezone(UTC).isoformat(timespec="seconds"),
            "unsealed_through": checkpoint.unsealed_through,
        }
        line = json.dumps({**fields, "mac": self._line_mac(fields)}, sort_keys=True) + "\n"
        private_dir(self.anchor_path.parent)
        descriptor = os.open(self.anchor_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line.encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def has_checkpoints(self) -> bool:
        return self.anchor_path.exists() and self.anchor_path.stat().st_size > 0

    def checkpoints(self) -> Iterator[Checkpoint]:
        """Every line in order; raises AnchorFileError on the first line that is not genuine."""
        if not self.anchor_path.exists():
            return
        with self.anchor_path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                yield self._parse(line, number)

    def _parse(self, line: str, number: int) -> Checkpoint:
        try:
            raw = json.loads(line)
            mac = raw.pop("mac")
            fields = {k: raw[k] for k in ("entry", "hash", "at", "unsealed_through")}
        except (ValueError, KeyError, AttributeError, TypeError):
            raise AnchorFileError(f"anchor file line {number} is not a checkpoint") from None
        if set(raw) != set(fields) or not hmac.compare_digest(str(mac), self._line_mac(fields)):
            raise AnchorFileError(f"anchor file line {number} was not written with the audit key")
        return Checkpoint(
            entry_id=int(fields["entry"]),
            entry_hash=str(fields["hash"]),
            at=datetime.fromisoformat(str(fields["at"])),
            unsealed_through=int(fields["unsealed_through"]),
        )


def load_audit_seal(settings: Settings) -> AuditSeal:
    """The process's seal: the configured key, else the generated one in `secrets/`."""
    key = settings.audit_key or read_or_create_secret(
        settings.state_dir / "secrets" / "audit_key", MIN_KEY_CHARS
    )
    if len(key) < MIN_KEY_CHARS:
        raise ValueError(f"FOI_AUDIT_KEY must hold at least {MIN_KEY_CHARS} characters")
    return AuditSeal(key.encode("utf-8"), settings.effective_audit_anchor_file)
