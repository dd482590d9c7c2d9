"""The web server's access log leaves out query strings and referrers: a subject access
request's search words (a person's name) must not end up in a log file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from foi_core.db import build_engine
from foi_core.migrate import upgrade
from foi_core.settings import Settings
from tests.mail import free_port


def test_access_log_records_paths_without_query_strings(tmp_path: Path) -> None:
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    env = {
        **os.environ,
        "FOI_STATE_DIR": str(tmp_path),
        "FOI_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}",
        "FOI_SECURE_COOKIES": "false",
    }
    # Sessions (the sign-in form's token) are kept in the database: it must be migrated.
    upgrade(build_engine(Settings.from_env(env)))
    # The same command line `foi serve` runs.
    server = subprocess.Popen(
        [
            gunicorn,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--config",
            "python:search_app.gunicorn_conf",
            "search_app:create_app()",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        answer = requests.get(
            f"{url}/login",
            params={"next": "/?q=Jane+Citizen+SAR"},
            headers={"Referer": f"{url}/?q=Jane+Citizen+housing+benefit"},
            timeout=10,
        )
        assert answer.status_code == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    log = output.decode("utf-8", "replace")
    assert '"GET /login HTTP/1.1" 200' in log, log
    assert "Jane" not in log and "q=" not in log, log
