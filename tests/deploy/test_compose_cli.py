"""Deployment check: the Docker Compose CLI accepts docker-compose.yml, and each secret it
requires really is required.

`docker compose config` validates the file against the Compose specification; it reads the
file only and needs no Docker engine, but it does need the Compose CLI plugin, so this is not a
unit test. Deselected by default (`deploy` marker); run it with `make compose-check` wherever the
image is built. The file's structure is checked without any tool in tests/unit/test_compose.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.deploy

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"

REQUIRED_ENV = {
    "POSTGRES_PASSWORD": "dummy-postgres-password",
    "ELASTIC_PASSWORD": "dummy-elastic-password",
    "FOI_SECRET_KEY": "dummy-secret-key",
    "FOI_SMB_USERNAME": "dummy-smb-user",
}


@pytest.fixture(scope="module")
def compose_cli() -> list[str]:
    """The Compose CLI; a deployment check asked for and unable to run fails, it never skips."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    pytest.fail(
        "`docker compose` (the Compose CLI plugin) is not installed: the deployment checks need it",
        pytrace=False,
    )


def _run_config(cli: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, "--env-file", os.devnull, "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=REPO,
        env=env,
    )


def test_compose_cli_accepts_the_file(compose_cli: list[str]) -> None:
    base = {k: v for k, v in os.environ.items() if k not in REQUIRED_ENV}
    result = _run_config(compose_cli, {**base, **REQUIRED_ENV})
    assert result.returncode == 0, result.stderr
    # Each required secret really is required: leaving one out must fail interpolation.
    for name in REQUIRED_ENV:
        partial = {k: v for k, v in REQUIRED_ENV.items() if k != name}
        result = _run_config(compose_cli, {**base, **partial})
        assert result.returncode != 0, f"config passed without {name}"
        assert name in result.stderr
