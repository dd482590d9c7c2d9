"""The `foi` command against the real stack: sources, users, audit, stack status."""

from __future__ import annotations

import csv
import getpass
import io
import uuid
from pathlib import Path
from typing import Protocol

import pytest
from click.testing import CliRunner, Result

from devstack.stack import LocalStack
from foi_cli.main import cli


class Invoke(Protocol):
    def __call__(self, *args: str, stdin: str | None = None) -> Result: ...


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Invoke `foi` with a private database in tmp_path and the stack's services."""
    monkeypatch.setenv("FOI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    # The audit checkpoints of this database, not of the developer's own (state folder's).
    monkeypatch.setenv("FOI_AUDIT_ANCHOR_FILE", str(tmp_path / "anchors.log"))
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=stdin, catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def _add(
    run: Invoke,
    name: str,
    stack: LocalStack,
    *,
    share: str = "test",
    port: int | None = None,
    credential: str | None = None,
) -> Result:
    secret = stack.paths.secrets / "samba_password"
    return run(
        "sources",
        "add",
        name,
        "--server",
        "127.0.0.1",
        "--port",
        str(port or stack.samba.port),
        "--share",
        share,
        "--user",
        stack.samba.user,
        "--credential",
        credential or f"file:{secret}",
    )


def test_sources_test_reports_each_failure_plainly(
    run: Invoke, stack: LocalStack, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    assert _add(run, "good", stack).exit_code == 0
    assert _add(run, "badpw", stack, credential=f"file:{wrong}").exit_code == 0
    assert _add(run, "noshare", stack, share="nosuchshare").exit_code == 0
    assert _add(run, "down", stack, port=1).exit_code == 0
    assert _add(run, "noenv", stack, credential="env:FOI_TEST_UNSET_VAR").exit_code == 0

    ok = run("sources", "test", "good")
    assert ok.exit_code == 0 and "ok: connected" in ok.output
    outputs = {name: run("sources", "test", name) for name in ("badpw", "noshare", "down", "noenv")}
    assert all(r.exit_code == 1 for r in outputs.values())
    assert (
        "password" in outputs["badpw"].output.lower() or "logon" in outputs["badpw"].output.lower()
    )
    assert "nosuchshare" in outputs["noshare"].output
    assert "127.0.0.1" in outputs["down"].output
    assert "FOI_TEST_UNSET_VAR" in outputs["noenv"].output
    secret = (stack.paths.secrets / "samba_password").read_text().strip()
    for result in (ok, *outputs.values()):
        assert secret not in result.output and "Traceback" not in result.output


def test_sources_refuse_inline_passwords(run: Invoke, stack: LocalStack) -> None:
    result = _add(run, "inline", stack, credential="hunter2hunter2")
    assert result.exit_code == 1 and "by reference" in result.output


def test_users_and_audit_verify(run: Invoke) -> None:
    name = f"officer{uuid.uuid4().hex[:6]}"
    created = run(
        "users",
        "add",
        name,
        "--role",
        "foi_officer",
        "--password-stdin",
        "--sid",
        "S-1-5-21-1-2-3-1104",
        stdin="a long enough password\n",
    )
    assert created.exit_code == 0 and "password (shown once)" not in created.output
    again = run(
        "users",
        "add",
        name,
        "--role",
        "foi_officer",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert again.exit_code == 1 and "already exists" in again.output
    verified = run("audit", "verify")
    assert verified.exit_code == 0 and "intact" in verified.output


def test_stack_status_lists_every_service(run: Invoke) -> None:
    result = run("stack", "status")
    assert result.exit_code == 0
    for name in ("elasticsearch", "tika", "samba", "redis", "postgres"):
        assert name in result.output


def test_crawl_with_unresolvable_credentials_is_recorded_and_others_continue(
    run: Invoke, stack: LocalStack
) -> None:
    assert _add(run, "noenv", stack, credential="env:FOI_TEST_UNSET_VAR").exit_code == 0
    result = run("crawl", "noenv", "--json")
    assert result.exit_code == 1 and "FOI_TEST_UNSET_VAR" in result.output
    assert '"status": "failed"' in result.output
    verified = run("audit", "verify")
    assert verified.exit_code == 0


def test_refused_commands_are_audited_under_the_operator(run: Invoke, stack: LocalStack) -> None:
    name = f"clerk{uuid.uuid4().hex[:6]}"
    args = ("users", "add", name, "--role", "front_office", "--password-stdin")
    assert run(*args, stdin="a long enough password\n").exit_code == 0
    assert run(*args, stdin="a long enough password\n").exit_code == 1
    assert _add(run, "inline", stack, credential="hunter2hunter2").exit_code == 1
    exported = run("audit", "export")
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    mine = [(r["action"], r["outcome"]) for r in rows if r["target"] in (name, "inline")]
    assert mine == [("user.create", "ok"), ("user.create", "denied"), ("source.add", "denied")]
    operator = f"{getpass.getuser()} (command line)"
    assert all(r["actor"] == operator for r in rows if r["target"] in (name, "inline"))
    assert "hunter2" not in exported.output
