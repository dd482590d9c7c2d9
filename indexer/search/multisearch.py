"""Several searches at once, answered as if each had been sent alone."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from elasticsearch import Elasticsearch


def side_by_side(
    es: Elasticsearch, alias: str, *bodies: dict[str, Any] | None
) -> list[Mapping[str, Any] | None]:
    """The answers to `bodies` (None for None), run in one multi-search when there are two.
    A request that fails there is run again on its own, so it raises as any search does."""
    wanted = [b for b in bodies if b is not None]
    answers: list[Mapping[str, Any] | None] = []
    if len(wanted) > 1:
        header: dict[str, Any] = {"index": alias}
        searches = [part for b in wanted for part in (header, b)]
        answers = list(es.msearch(searches=searches)["responses"])
    found = iter(
        [
            a if a is not None and "error" not in a else es.search(index=alias, **b).body
            for a, b in itertools.zip_longest(answers, wanted)
        ]
    )
    return [next(found) if b is not None else None for b in bodies]
