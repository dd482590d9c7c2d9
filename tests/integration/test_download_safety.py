"""Crawled files download as inert attachments (issue 12, item 12).

Downloads are served from the app's own origin, so a crawled `.js` served as `text/javascript`
ran from `<script src="/documents/ID/download">` as first-party script, and an `.html` or
`.svg` opened from its link ran with the app's cookies. Every download is now an attachment
with a safe file name, `nosniff`, a sandboxing policy that loads nothing, and active types are
served as application/octet-stream.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.access_stack import AccessStack, access_stack

ACTIVE = {
    "Web/app.js": b"fetch('/api/v1/search?q=*').then(r => r.text()).then(alert); // pangolin\n",
    "Web/page.html": b"<html><body><script>alert(document.cookie)</script>pangolin</body></html>\n",
    "Web/logo.svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        b"<script>alert(2)</script><text>pangolin</text></svg>\n"
    ),
    "Web/odd 'name'; x=é.html": b"<html><body>pangolin<script>alert(3)</script></body></html>\n",
}
PLAIN = "Web/notes.txt"
POLICY = "sandbox; default-src 'none'"


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory, es: Elasticsearch) -> Iterator[AccessStack]:
    with access_stack(tmp_path_factory.mktemp("downloads"), es, "downloads") as built:
        for path, data in ACTIVE.items():
            built.write(path, data)
        built.write(PLAIN, b"Plain pangolin notes.\n")
        counts = built.crawl()
        assert counts.seen == len(ACTIVE) + 1
        yield built


def _downloads(access: AccessStack, path: str) -> list[tuple[TestResponse, bytes]]:
    """The download by the page's route and the API's, each read to its end (the body is
    streamed in the request's context, which must end before the next request)."""
    doc_id = access.doc_id(path)
    clerk: FlaskClient = access.signed_in("clerk")
    api = access.app.test_client()
    headers = access.api_headers("clerk")
    out = []
    for client, url, kwargs in (
        (clerk, f"/documents/{doc_id}/download", {}),
        (api, f"/api/v1/documents/{doc_id}/content", {"headers": headers}),
    ):
        response = client.get(url, **kwargs)
        out.append((response, response.get_data()))
        response.close()
    return out


def _safe_headers(response: TestResponse) -> None:
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert not any(char in disposition for char in "\r\n")
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert all(char.isalnum() or char in "._ -" for char in fallback), fallback
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize("path", sorted(ACTIVE))
def test_active_content_downloads_as_an_inert_attachment(access: AccessStack, path: str) -> None:
    indexed = access.harness.doc(path)["mime_type"]
    assert indexed.split(";")[0] in {
        "text/javascript",
        "application/javascript",
        "text/html",
        "image/svg+xml",
    }, indexed
    for response, body in _downloads(access, path):
        _safe_headers(response)
        assert response.mimetype == "application/octet-stream", response.mimetype
        assert body == ACTIVE[path]


def test_the_exact_name_travels_encoded(access: AccessStack) -> None:
    path = "Web/odd 'name'; x=é.html"
    for response, _ in _downloads(access, path):
        disposition = response.headers["Content-Disposition"]
        assert disposition.endswith("filename*=UTF-8''odd%20%27name%27%3B%20x%3D%C3%A9.html")
        assert 'filename="odd _name__ x__.html"' in disposition


def test_passive_content_keeps_its_type_and_is_still_an_attachment(access: AccessStack) -> None:
    for response, _ in _downloads(access, PLAIN):
        _safe_headers(response)
        assert response.mimetype == "text/plain"


def test_pages_keep_the_app_policy(access: AccessStack) -> None:
    page = access.signed_in("clerk").get(f"/documents/{access.doc_id(PLAIN)}")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
