"""Client factories: each client is built once per process from Settings and injected.

Elasticsearch retries live in one layer per kind of failure, never two:
- This client re-sends a request only when its connection failed (a pooled keep-alive
  connection the server had closed, a reset), at once and at most `ES_CONNECTION_RETRIES`
  times. It never re-sends on an HTTP status or a timeout: the transport re-sends without
  waiting, which cannot ride out overload (429) or an unavailable shard (503) and only adds
  load, and a request that timed out may still be running on the server.
- Waiting out overload and outages with backoff belongs to whoever owns the unit of work: the
  crawl's batch task (`ingest.tasks`) and the index migration's copy (`indexer.migration`).
  The bulk helpers send each chunk once (`indexer.bulk`).
- Interactive requests (web searches, command-line reads and writes) get this client's
  bounded re-send only, then fail with a message a person can act on (the web answers 503):
  a request thread never sleeps through backoff.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from foi_core.settings import Settings

ES_REQUEST_TIMEOUT_S = 30
ES_CONNECTION_RETRIES = 1
ES_RETRY_ON_STATUS: tuple[int, ...] = ()
ES_RETRY_ON_TIMEOUT = False


def build_elasticsearch(settings: Settings) -> Elasticsearch:
    return Elasticsearch(
        settings.elasticsearch_url,
        request_timeout=ES_REQUEST_TIMEOUT_S,
        max_retries=ES_CONNECTION_RETRIES,
        retry_on_status=ES_RETRY_ON_STATUS,
        retry_on_timeout=ES_RETRY_ON_TIMEOUT,
    )
