"""Artifacts from Maven Central, fetched with `mvn` (the registry's ordinary client).

The dependency plugin is pinned at 2.8: 3.x insists on reading parent POMs (tika-server) that
Maven Central does not serve here, while 2.8 with transitive=false fetches just the artifact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from devstack.base import MissingPrerequisite


def local_repository() -> Path:
    """Maven's own local repository, so downloads are shared across clones and CI runs."""
    configured = os.environ.get("FOI_MAVEN_REPO")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".m2" / "repository"


def fetch(artifact: str, version: str, packaging: str = "jar") -> Path:
    """Resolve `group:artifact:version:packaging` into the local repository; return its path."""
    group, name = artifact.split(":")
    path = (
        local_repository()
        / group.replace(".", "/")
        / name
        / version
        / f"{name}-{version}.{packaging}"
    )
    if path.exists():
        return path
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingPrerequisite("mvn not found: install it with `sudo apt-get install -y maven`")
    result = subprocess.run(
        [
            mvn,
            "--batch-mode",
            "--quiet",
            f"-Dmaven.repo.local={local_repository()}",
            "org.apache.maven.plugins:maven-dependency-plugin:2.8:get",
            f"-Dartifact={group}:{name}:{version}:{packaging}",
            "-Dtransitive=false",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not path.exists():
        errors = [line for line in result.stdout.splitlines() if "ERROR" in line]
        reason = errors[0] if errors else f"exit code {result.returncode}"
        raise MissingPrerequisite(
            f"could not fetch {artifact}:{version} from Maven Central ({reason[:200]})"
        )
    return path
