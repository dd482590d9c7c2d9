"""One retry layer for Elasticsearch: how often each layer sends a request, counted on the real
client with its node faked (no sockets).

- the client re-sends only a request whose connection failed, once, at once;
- the bulk helpers send each chunk once and raise documents refused for now as `BulkRejected`;
- the unit of work (the batch task, or `retry_transient` outside a task) waits and retries;
- a migration's copy re-sends documents refused with 429, and nothing below it does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple
from unittest import mock

import elastic_transport
import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders
from elasticsearch import ApiError, Elasticsearch

from foi_core.clients import ES_CONNECTION_RETRIES, build_elasticsearch
from foi_core.settings import Settings
from indexer import migration
from indexer.bulk import (
    BULK_RETRIES,
    BulkFailure,
    BulkRejected,
    BulkWriteError,
    delete_documents,
    write_documents,
    write_partial,
)
from ingest.transient import MAX_TRANSIENT_RETRIES, is_transient, retry_transient


class NodeAnswer(NamedTuple):
    """What a transport node hands back (`elastic_transport`'s NodeApiResponse)."""

    meta: ApiResponseMeta
    body: bytes


class FakeNode:
    """Answers every request with the next of `answers` (an exception or a (status, body)
    pair, the last one repeated) and counts the requests."""

    def __init__(self, es: Elasticsearch, *answers: BaseException | tuple[int, Any]) -> None:
        self.node = es.transport.node_pool.all()[0]
        self.answers = list(answers)
        self.requests = 0

    def __call__(self, method: str, target: str, **kwargs: Any) -> NodeAnswer:
        answer = self.answers[min(self.requests, len(self.answers) - 1)]
        self.requests += 1
        if isinstance(answer, BaseException):
            raise answer
        status, body = answer
        headers = HttpHeaders(
            {"content-type": "application/json", "x-elastic-product": "Elasticsearch"}
        )
        meta = ApiResponseMeta(status, "1.1", headers, 0.0, self.node.config)
        return NodeAnswer(meta, json.dumps(body).encode())


@pytest.fixture
def es() -> Elasticsearch:
    return build_elasticsearch(Settings(elasticsearch_url="http://127.0.0.1:9200"))


@pytest.fixture
def answer(es: Elasticsearch) -> Iterator[Any]:
    """`answer(*answers)` fakes the client's node; returns the fake, which counts requests."""
    patches: list[Any] = []

    def install(*answers: BaseException | tuple[int, Any]) -> FakeNode:
        fake = FakeNode(es, *answers)
        patcher = mock.patch.object(fake.node, "perform_request", fake)
        patcher.start()
        patches.append(patcher)
        return fake

    yield install
    for patcher in reversed(patches):
        patcher.stop()


def _error(status: int) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": "x", "reason": "refused"}, "status": status}


def _bulk_items(op: str, *statuses: int) -> tuple[int, dict[str, Any]]:
    items = []
    for i, status in enumerate(statuses):
        result: dict[str, Any] = {"_index": "docs", "_id": f"d{i}", "status": status}
        if status >= 300:
            result["error"] = {"type": "es_rejected_execution_exception", "reason": "busy"}
        items.append({op: result})
    return 200, {"took": 1, "errors": True, "items": items}


def _busy() -> BulkFailure:
    return BulkFailure("d0", 429, "busy")


# --- the client ---------------------------------------------------------------------------


def test_the_client_resends_only_a_request_whose_connection_failed(
    es: Elasticsearch, answer: Any
) -> None:
    assert ES_CONNECTION_RETRIES == 1
    fake = answer(elastic_transport.ConnectionError("connection reset"))
    with pytest.raises(elastic_transport.ConnectionError):
        es.search(index="docs")
    assert fake.requests == 1 + ES_CONNECTION_RETRIES


def test_a_dropped_connection_is_survived_by_the_one_resend(es: Elasticsearch, answer: Any) -> None:
    fake = answer(elastic_transport.ConnectionError("reset"), (200, {"hits": {"hits": []}}))
    assert es.search(index="docs")["hits"]["hits"] == []
    assert fake.requests == 2


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_the_client_never_resends_on_a_status(es: Elasticsearch, answer: Any, status: int) -> None:
    fake = answer(_error(status))
    with pytest.raises(ApiError) as raised:
        es.search(index="docs")
    assert raised.value.meta.status == status and fake.requests == 1


def test_the_client_never_resends_a_request_that_timed_out(es: Elasticsearch, answer: Any) -> None:
    fake = answer(elastic_transport.ConnectionTimeout("slow"))
    with pytest.raises(elastic_transport.ConnectionTimeout):
        es.search(index="docs")
    assert fake.requests == 1


# --- the bulk helpers ---------------------------------------------------------------------


def test_documents_refused_for_now_are_raised_after_one_request(
    es: Elasticsearch, answer: Any
) -> None:
    assert BULK_RETRIES == 0
    fake = answer(_bulk_items("index", 201, 429, 503))
    docs = [{"doc_id": f"d{i}"} for i in range(3)]
    with pytest.raises(BulkRejected) as raised:
        write_documents(es, "docs", docs)
    assert fake.requests == 1
    assert [f.status for f in raised.value.failures] == [429, 503]
    assert is_transient(raised.value)


def test_a_mix_with_a_real_failure_is_not_transient(es: Elasticsearch, answer: Any) -> None:
    answer(_bulk_items("index", 429, 400))
    with pytest.raises(BulkWriteError) as raised:
        write_documents(es, "docs", [{"doc_id": "d0"}, {"doc_id": "d1"}])
    assert type(raised.value) is BulkWriteError and not is_transient(raised.value)


def test_a_whole_bulk_request_refused_is_not_resent(es: Elasticsearch, answer: Any) -> None:
    fake = answer(_error(429))
    with pytest.raises(ApiError) as raised:
        write_documents(es, "docs", [{"doc_id": "d0"}])
    assert fake.requests == 1 and is_transient(raised.value)


def test_partial_updates_and_deletes_are_sent_once(es: Elasticsearch, answer: Any) -> None:
    fake = answer(_bulk_items("update", 429))
    with pytest.raises(BulkRejected):
        write_partial(es, "docs", [{"doc_id": "d0", "held": True}])
    assert fake.requests == 1
    fake = answer(_bulk_items("delete", 429))
    with pytest.raises(BulkRejected):
        delete_documents(es, "docs", ["d0"])
    assert fake.requests == 1


# --- the unit of work -----------------------------------------------------------------------


def test_work_outside_a_task_is_retried_with_the_task_budget() -> None:
    """An overloaded cluster costs (1 client) x (1 bulk) x (1 + MAX_TRANSIENT_RETRIES) sends."""
    assert MAX_TRANSIENT_RETRIES == 5
    sends: list[int] = []
    sleeps: list[float] = []

    def overloaded() -> None:
        sends.append(1)
        raise BulkRejected([_busy()])

    with pytest.raises(BulkRejected):
        retry_transient(overloaded, cap_s=60.0, sleep=sleeps.append)
    assert len(sends) == 1 + MAX_TRANSIENT_RETRIES
    assert len(sleeps) == MAX_TRANSIENT_RETRIES and all(0 < s <= 60.0 for s in sleeps)


def test_retry_transient_returns_once_the_work_succeeds() -> None:
    results = iter([BulkRejected([_busy()]), "done"])

    def flaky() -> str:
        result = next(results)
        if isinstance(result, BaseException):
            raise result
        return result

    sleeps: list[float] = []
    assert retry_transient(flaky, sleep=sleeps.append) == "done" and len(sleeps) == 1


def test_other_errors_are_not_retried() -> None:
    sends: list[int] = []

    def broken() -> None:
        sends.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        retry_transient(broken, sleep=lambda _s: None)
    assert sends == [1]


def test_a_migrations_copy_is_its_own_retry_layer() -> None:
    assert migration.COPY_RETRIES == 5 and migration.COPY_BACKOFF_S > 0
