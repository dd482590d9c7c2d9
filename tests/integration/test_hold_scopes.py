"""Folder holds name a folder of the source, or the whole source on purpose (issue 12,
item 14), on the real stack.

A folder is normalised (separators, "." and repeated slashes) and refused when it climbs out
with "..", is an absolute path outside the source (another share, a drive), is empty, carries
NUL or control characters, or is too long, each refusal saying which folder is wrong. A hold
on the whole source is placed only when confirmed: a second step in the web form,
`--confirm-whole-source` in the CLI, `confirm_whole_source: true` in the API. Unconfirmed
attempts are refused and audited as denied; a confirmed one is audited as a whole-source hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from devstack.stack import LocalStack
from foi_cli.main import cli
from foi_core.db import transaction
from foi_core.models import AuditEvent, HoldScope
from foi_core.settings import Settings
from foi_core.tokens import create_token
from retention.holds import (
    HoldError,
    WholeSourceNeedsConfirmation,
    add_scope,
    create_hold,
    source_folder,
)
from search_app import create_app
from tests.fixtures import ShareWorkspace
from tests.records import PASSWORD, RecordsBed

FILES = ("Cases/Smith/letter.txt", "Cases/Smith/Notes/visit.txt", "Cases/Jones/letter.txt")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "scopes")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path, index_prefix)
    for path in FILES:
        bed.write(path, f"{path}: a letter about housing.\n".encode())
    bed.crawl()
    yield bed
    workspace.cleanup()


def events(bed: RecordsBed, action: str, outcome: str) -> list[AuditEvent]:
    with bed.runtime.sessions() as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.outcome == outcome)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def folders(bed: RecordsBed) -> list[str]:
    with bed.runtime.sessions() as session:
        return list(session.execute(select(HoldScope.folder).order_by(HoldScope.id)).scalars())


def test_folders_are_normalised_or_refused_saying_which(bed: RecordsBed) -> None:
    unc = f"\\\\127.0.0.1\\test\\{bed.source}"
    with bed.runtime.sessions() as session:
        for given, expected in [
            ("Cases\\Smith", "Cases/Smith"),
            ("./Cases//Smith/", "Cases/Smith"),
            ("/Cases/Smith", "Cases/Smith"),
            (f"{unc}\\Cases\\Smith", "Cases/Smith"),
            (f"{unc.upper()}\\Cases", "Cases"),
            ("/", ""),
            (unc, ""),
        ]:
            assert source_folder(session, bed.source, given) == expected, given
        for given, why in [
            ("../..", "'..'"),
            ("Cases/../../other", "'..'"),
            ("", "enter the folder"),
            ("   ", "enter the folder"),
            ("Cases/\x00Smith", "control character"),
            ("Cases/\tSmith", "control character"),
            ("a/" * 600, "longer than"),
            ("x" * 300, "longer than 255"),
            ("C:\\Cases\\Smith", "drive"),
            ("\\\\fileserver\\hr\\Cases", "not on source"),
            ("\\\\127.0.0.1\\test\\another-root\\Cases", "not on source"),
            ("smb://127.0.0.1/test/Cases", "address"),
        ]:
            with pytest.raises(HoldError, match=re.escape(why)) as refused:
                source_folder(session, bed.source, given)
            shown = given.strip()[:40].replace("\x00", "\\x00").replace("\t", "\\t")
            if given.strip():
                assert shown in str(refused.value), (given, str(refused.value))
        with pytest.raises(HoldError, match="no source called 'nowhere'"):
            source_folder(session, "nowhere", "Cases")


def test_service_needs_confirmation_for_the_whole_source(bed: RecordsBed) -> None:
    hold = create_hold(bed.records, name="H", reason="r", owner="rita", actor="rita")
    with pytest.raises(HoldError, match="'\\.\\.'"):
        add_scope(bed.records, hold, kind="folder", source=bed.source, folder="../..", actor="rita")
    with pytest.raises(WholeSourceNeedsConfirmation, match="every file") as asked:
        add_scope(bed.records, hold, kind="folder", source=bed.source, folder="/", actor="rita")
    assert asked.value.files == 3
    assert folders(bed) == []
    joined = add_scope(
        bed.records,
        hold,
        kind="folder",
        source=bed.source,
        folder="/",
        actor="rita",
        confirm_whole_source=True,
    )
    assert joined == 3 and folders(bed) == [""]
    (added,) = events(bed, "hold_add", "ok")
    assert added.details["whole_source"] is True
    assert added.details["scope"] == f"the whole of source {bed.source}"


class Browser:
    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        token = _CSRF.search(self.client.get("/login").get_data(as_text=True))
        assert token
        form = {"csrf_token": token.group(1), "username": username, "password": PASSWORD}
        assert self.client.post("/login", data=form).status_code == 302
        found = _CSRF.search(self.client.get("/saved").get_data(as_text=True))
        assert found
        self.token = found.group(1)

    def post(self, url: str, **form: Any) -> TestResponse:
        return self.client.post(url, data={"csrf_token": self.token, **form})


def test_web_asks_a_second_step_for_the_whole_source(bed: RecordsBed) -> None:
    app = create_app(bed.settings)
    olive = Browser(app, "olive")
    made = olive.post("/holds", name="Web hold", reason="FOI 1")
    hold = int(made.headers["Location"].rsplit("/", 1)[1])
    url = f"/holds/{hold}/scopes"

    climbing = olive.post(url, kind="folder", source=bed.source, folder="..\\..")
    assert climbing.status_code == 400
    assert "Folder &#39;..\\..&#39;" in climbing.get_data(as_text=True)

    asked = olive.post(url, kind="folder", source=bed.source, folder="/")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'name="confirm_whole_source"' in page
    assert f"every file on source {bed.source}" in page and "3 files" in page
    assert folders(bed) == []
    unticked = olive.post(url, kind="folder", source=bed.source, folder="/", whole_source="yes")
    assert unticked.status_code == 400 and "Tick the box" in unticked.get_data(as_text=True)
    assert folders(bed) == []
    confirmed = olive.post(
        url, kind="folder", source=bed.source, folder="/", confirm_whole_source="yes"
    )
    assert confirmed.status_code == 302
    assert folders(bed) == [""]
    (added,) = events(bed, "hold_add", "ok")
    assert added.actor == "olive" and added.details["whole_source"] is True
    # Every refusal by the service is audited: the climb, the question and the unticked box.
    refused = events(bed, "hold_add", "denied")
    assert [e.details["folder"] for e in refused] == ["..\\..", "/", "/"]


def test_api_needs_a_field_to_hold_the_whole_source(bed: RecordsBed) -> None:
    app = create_app(bed.settings)
    with transaction(bed.runtime.sessions) as session:
        token = {"Authorization": f"Bearer {create_token(session, 'rita', 'test')}"}
    client = app.test_client()
    hold = client.post("/api/v1/holds", headers=token, json={"name": "A", "reason": "r"})
    scopes = f"/api/v1/holds/{hold.get_json()['id']}/scopes"
    body = {"kind": "folder", "source": bed.source}

    climbing = client.post(scopes, headers=token, json={**body, "folder": "../.."})
    assert climbing.status_code == 400 and "'..'" in climbing.get_json()["message"]
    unconfirmed = client.post(scopes, headers=token, json={**body, "folder": "/"})
    assert unconfirmed.status_code == 400
    assert "confirm_whole_source" in unconfirmed.get_json()["message"]
    assert unconfirmed.get_json()["files"] == 3
    wrong = client.post(
        scopes, headers=token, json={**body, "folder": "/", "confirm_whole_source": "yes"}
    )
    assert wrong.status_code == 400 and "true or false" in wrong.get_json()["message"]
    assert folders(bed) == []
    confirmed = client.post(
        scopes, headers=token, json={**body, "folder": "/", "confirm_whole_source": True}
    )
    assert confirmed.status_code == 201 and confirmed.get_json()["joined"] == 3
    assert [e.details["folder"] for e in events(bed, "hold_add", "denied")] == ["../..", "/"]
    (added,) = events(bed, "hold_add", "ok")
    assert added.details["whole_source"] is True


def test_cli_needs_a_flag_to_hold_the_whole_source(bed: RecordsBed) -> None:
    env = bed.settings.to_env()

    def foi(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args), env=env)
        return result.exit_code, result.output

    assert foi("holds", "create", "C", "--reason", "r", "--as", "rita")[0] == 0
    code, output = foi("holds", "add", "1", "--folder", f"{bed.source}:../..", "--as", "rita")
    assert code != 0 and "'..'" in output
    code, output = foi("holds", "add", "1", "--folder", f"{bed.source}:/", "--as", "rita")
    assert code != 0 and "--confirm-whole-source" in output
    code, output = foi("holds", "add", "1", "--folder", f"{bed.source}:", "--as", "rita")
    assert code != 0 and "enter the folder" in output
    code, output = foi("holds", "add", "1", "--folder", "nowhere:Cases", "--as", "rita")
    assert code != 0 and "no source called 'nowhere'" in output
    assert folders(bed) == []
    code, output = foi(
        "holds", "add", "1", "--folder", f"{bed.source}:/", "--confirm-whole-source", "--as", "rita"
    )
    assert code == 0 and "3 files joined hold 1" in output, output
    assert folders(bed) == [""]
    refused = events(bed, "hold_add", "denied")
    assert len(refused) == 4 and all(e.actor == "rita" for e in refused)
    assert "--confirm-whole-source" in refused[1].details["reason"]
    (added,) = events(bed, "hold_add", "ok")
    assert added.details["whole_source"] is True
