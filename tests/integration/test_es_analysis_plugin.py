"""The `foi-analysis` stable plugin (devstack/es_analysis_plugin.py) in the running Elasticsearch.

Needs `foi stack up` (or FOI_ES_URL pointing at a node with the plugin installed); an unreachable
Elasticsearch fails these tests rather than skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

ES_URL = os.environ.get("FOI_ES_URL", "http://127.0.0.1:9200").rstrip("/")
TIMEOUT_S = 30


def _request(method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    try:
        return requests.request(method, f"{ES_URL}{path}", json=body, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        pytest.fail(f"Elasticsearch at {ES_URL} is not reachable ({exc}); run `foi stack up`")


def _ok(response: requests.Response) -> Any:
    assert response.ok, f"{response.request.method} {response.url}: {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def es() -> str:
    health = _ok(_request("GET", "/_cluster/health"))
    assert health["status"] in {"green", "yellow"}, health
    plugins = _ok(_request("GET", "/_cat/plugins?format=json"))
    assert "foi-analysis" in {p["component"] for p in plugins}, (
        f"foi-analysis is not installed in {ES_URL}: {plugins}"
    )
    return ES_URL


def _tokens(body: dict[str, Any], index: str | None = None) -> list[str]:
    path = f"/{index}/_analyze" if index else "/_analyze"
    return [t["token"] for t in _ok(_request("POST", path, body))["tokens"]]


def _analyze(analyzer: str, text: str) -> list[str]:
    return _tokens({"analyzer": analyzer, "text": text})


@pytest.fixture
def index(es: str) -> Iterator[str]:
    name = f"test-plugin-{uuid.uuid4().hex[:12]}"
    yield name
    _request("DELETE", f"/{name}?ignore_unavailable=true")


def _hits(index: str, query: dict[str, Any]) -> int:
    result = _ok(_request("POST", f"/{index}/_search", {"query": query}))
    return int(result["hits"]["total"]["value"])


def test_foi_english_stems_and_keeps_stop_words(es: str) -> None:
    tokens = _analyze("foi_english", "The council's planning applications")
    assert tokens == ["the", "council", "plan", "applic"]
    assert _analyze("foi_english", "application") == _analyze("foi_english", "applications")
    assert _analyze("foi_english", "council's") == ["council"]
    # No stop-word removal: FOI officers search phrases with "not" and "the".
    assert _analyze("foi_english", "not the") == ["not", "the"]
    assert _analyze("foi_english", "Café RÉSUMÉS") == ["cafe", "resum"]


def test_foi_exact_folds_without_stemming(es: str) -> None:
    assert _analyze("foi_exact", "Café Planning") == ["cafe", "planning"]
    assert _analyze("foi_exact", "applications") == ["applications"]


def test_token_filters_compose_in_a_custom_analyzer(es: str) -> None:
    tokens = _tokens(
        {
            "tokenizer": "standard",
            "filter": [
                "foi_english_possessive",
                "lowercase",
                "foi_asciifolding",
                "foi_porter_stem",
            ],
            "text": "The Café's planning applications",
        }
    )
    assert tokens == ["the", "cafe", "plan", "applic"]


def test_index_with_english_field_and_exact_subfield(index: str) -> None:
    _ok(
        _request(
            "PUT",
            f"/{index}",
            {
                "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                "mappings": {
                    "properties": {
                        "body": {
                            "type": "text",
                            "analyzer": "foi_english",
                            "fields": {"exact": {"type": "text", "analyzer": "foi_exact"}},
                        }
                    }
                },
            },
        )
    )
    _ok(
        _request(
            "PUT",
            f"/{index}/_doc/1?refresh=true",
            {"body": "The council received planning applications for the Café"},
        )
    )
    assert _hits(index, {"match": {"body": "application"}}) == 1
    assert _hits(index, {"match_phrase": {"body": "planning application"}}) == 1
    assert _hits(index, {"match_phrase": {"body.exact": "planning applications"}}) == 1
    assert _hits(index, {"match_phrase": {"body.exact": "planning application"}}) == 0
    assert _hits(index, {"match_phrase": {"body.exact": "for the cafe"}}) == 1
    # The analyzers' normalize() folds wildcard terms (without stemming them).
    wildcard = {"query_string": {"query": "CAFÉ*", "default_field": "body.exact"}}
    assert _hits(index, wildcard) == 1


def test_stable_filters_are_refused_in_normalizers(index: str) -> None:
    """ES 8.19 wraps stable-API filters without NormalizingTokenFilterFactory.

    So `foi_asciifolding` cannot be used in a keyword normalizer (fold keyword values before
    indexing instead). If this starts failing, Elasticsearch has lifted the limitation.
    """
    response = _request(
        "PUT",
        f"/{index}",
        {
            "settings": {
                "analysis": {
                    "normalizer": {
                        "folded": {"type": "custom", "filter": ["lowercase", "foi_asciifolding"]}
                    }
                }
            },
            "mappings": {"properties": {"tag": {"type": "keyword", "normalizer": "folded"}}},
        },
    )
    assert response.status_code == 400, response.text
    assert "may not use filter [foi_asciifolding]" in response.text
