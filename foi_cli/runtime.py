"""What the commands share beyond the service container (services.Services): who is running
them, and how a refused command is audited."""

from __future__ import annotations

import getpass
import os

from foi_core import audit
from foi_core.db import transaction
from services import Services


def operator() -> str:
    """Who runs an administrative command without `--as`: the operating-system account, so
    the audit log names a person rather than "cli"."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        name = f"uid {os.getuid()}"
    return f"{name} (command line)"


def record_refusal(
    services: Services, *, actor: str, action: str, target: str, reason: str
) -> None:
    """Audit a refused command as a refused web action is audited: in its own transaction,
    since the refused work rolled back."""
    with transaction(services.sessions) as session:
        audit.record(
            session,
            actor=actor,
            action=action,
            target=target,
            outcome=audit.Outcome.DENIED,
            details={"reason": reason},
        )
