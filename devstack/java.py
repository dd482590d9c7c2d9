"""Finding a JDK the pinned Elasticsearch and Tika versions support."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from devstack.base import MissingPrerequisite
from devstack.versions import JAVA_MAJOR, JDK_DEBIAN_PACKAGE

_JVM_ROOT = Path("/usr/lib/jvm")


def _major(java: Path) -> int | None:
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)', result.stderr)
    return int(match.group(1)) if match else None


def java_home() -> Path:
    """JAVA_HOME of the Debian JDK of the pinned major (ES 8.19 supports 17 and 21)."""
    candidates = (
        sorted(_JVM_ROOT.glob(f"java-{JAVA_MAJOR}-openjdk-*")) if _JVM_ROOT.is_dir() else []
    )
    for home in candidates:
        java = home / "bin" / "java"
        if java.exists() and _major(java) == JAVA_MAJOR:
            return home
    raise MissingPrerequisite(
        f"Java {JAVA_MAJOR} not found: install it with `sudo apt-get install -y "
        f"{JDK_DEBIAN_PACKAGE}`"
    )
