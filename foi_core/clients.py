"""Client factories: each client is built once per process from Settings and injected."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from foi_core.settings import Settings


def build_elasticsearch(settings: Settings) -> Elasticsearch:
    # Retries on timeouts and 429/502/503/504 belong to the client (one retry layer only).
    return Elasticsearch(
        settings.elasticsearch_url,
        request_timeout=30,
        retry_on_timeout=True,
        max_retries=3,
        retry_on_status=(429, 502, 503, 504),
    )
