"""Debian packages the stack needs: installed directly as root, via sudo where allowed, or
named in a one-line message with the exact command to run."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable

from devstack.base import MissingPrerequisite, running_as_root


def missing_packages(packages: Iterable[str]) -> list[str]:
    wanted = sorted(set(packages))
    if not wanted or shutil.which("dpkg-query") is None:
        return wanted
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n", *wanted],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0].split(":")[0]
        for line in result.stdout.splitlines()
        if len(line.split()) > 1 and line.split()[1].startswith("ii")
    }
    return [name for name in wanted if name not in installed]


def _sudo_prefix() -> list[str] | None:
    if running_as_root():
        return []
    if shutil.which("sudo") is None:
        return None
    probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
    return ["sudo", "-n"] if probe.returncode == 0 else None


def ensure_packages(packages: Iterable[str], report: object = print) -> None:
    """Install whatever of `packages` is missing, in one apt transaction."""
    missing = missing_packages(packages)
    if not missing:
        return
    install_line = "sudo apt-get install -y " + " ".join(missing)
    prefix = _sudo_prefix()
    if prefix is None:
        raise MissingPrerequisite(f"missing system packages; run: {install_line}")
    if callable(report):
        report(f"installing system packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(
        [*prefix, "apt-get", "update", "-qq"], capture_output=True, text=True, env=env, check=False
    )
    if update.returncode != 0:
        raise MissingPrerequisite(
            f"apt-get update failed ({_last_line(update.stderr)}); run: {install_line}"
        )
    install = subprocess.run(
        [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if install.returncode != 0:
        raise MissingPrerequisite(
            f"apt-get install failed ({_last_line(install.stderr)}); run: {install_line}"
        )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
