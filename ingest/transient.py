"""What counts as a transient failure of the crawl's dependencies, and the one policy that
waits it out: exponential backoff with jitter, a bounded number of times.

The Celery batch task (ingest.tasks) applies it to a whole batch; work done outside a task (an
in-process crawl's files, its deletion sweep, a permission rewrite) applies it through
`retry_transient`. Nothing below retries on top of it: the Elasticsearch client re-sends only a
dropped connection, once (foi_core.clients), and bulk writes send each chunk once (indexer.bulk).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import elasticsearch

from crawler.smb import FileInUse, HostUnreachable
from indexer.bulk import TRANSIENT_STATUSES, BulkWriteError

# Transient retries of one unit of work before its error stands (backoff doubles from 10 s).
MAX_TRANSIENT_RETRIES = 5
_BACKOFF_BASE_S = 10.0
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is an outage or overload worth waiting out (see the module docstring)."""
    if isinstance(exc, HostUnreachable | FileInUse):
        return True
    if isinstance(exc, elasticsearch.SSLError):
        return False
    if isinstance(exc, elasticsearch.ConnectionError | elasticsearch.ConnectionTimeout):
        return True
    if isinstance(exc, elasticsearch.ApiError):
        return exc.meta.status in TRANSIENT_STATUSES
    if isinstance(exc, BulkWriteError):
        return exc.transient
    return False


def retry_countdown(retries: int, cap_s: float) -> float:
    """Exponential backoff (10 s, 20 s, 40 s, ... up to `cap_s`) with 50-100% jitter, so
    workers that failed together do not come back together."""
    backoff: float = min(_BACKOFF_BASE_S * 2**retries, cap_s)
    return backoff * (0.5 + random.random() / 2)  # noqa: S311


def retry_transient(
    call: Callable[[], T],
    *,
    cap_s: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, waiting out transient errors (`is_transient`) with the batch task's backoff
    and budget (MAX_TRANSIENT_RETRIES): the one retry layer of work done outside a task, such
    as an in-process crawl's files. `call` must be idempotent, as a batch is; any other error,
    or the last transient one, propagates."""
    retries = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if retries >= MAX_TRANSIENT_RETRIES or not is_transient(exc):
                raise
            sleep(retry_countdown(retries, cap_s))
            retries += 1
