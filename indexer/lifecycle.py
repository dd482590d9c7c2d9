"""Versioned indices behind read and write aliases; reindex by atomic alias swap.

`{prefix}-documents` is the read alias, `{prefix}-documents-write` the write alias; the
concrete index is `{prefix}-documents-v{SCHEMA_VERSION}`. The distribution we run in
development has no reindex module, so `migrate` copies documents with the client's
scan + bulk helper, which works against any distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, helpers

from indexer.documents import upgrade_document
from indexer.mapping import SCHEMA_VERSION, index_body


@dataclass(frozen=True)
class IndexNames:
    prefix: str

    @property
    def read_alias(self) -> str:
        return f"{self.prefix}-documents"

    @property
    def write_alias(self) -> str:
        return f"{self.prefix}-documents-write"

    def concrete(self, version: int = SCHEMA_VERSION) -> str:
        return f"{self.prefix}-documents-v{version}"


class IndexOutdated(RuntimeError):
    """The aliases point at an older schema version: `foi index migrate` must run first."""


def require_index(es: Elasticsearch, names: IndexNames) -> str:
    """The index the crawl writes to, created if there is none yet; never a migration.

    An index of an older schema version is refused (`IndexOutdated`): migrating copies every
    document, so it runs only when asked (`foi index migrate`), never because a worker or a
    crawl happened to start.
    """
    index = names.concrete()
    if not es.indices.exists_alias(name=names.read_alias):
        _create_current(es, names)
    found = current_index(es, names)
    if found != index:
        raise IndexOutdated(
            f"the index is {found}, this version needs {index}: run `foi index migrate`"
        )
    return found


def _create_current(es: Elasticsearch, names: IndexNames) -> None:
    index = names.concrete()
    if not es.indices.exists(index=index):
        # Two first crawls may race here; the loser finds the index already made.
        es.options(ignore_status=400).indices.create(index=index, **index_body())
    es.indices.update_aliases(
        actions=[
            {"add": {"index": index, "alias": names.read_alias}},
            {"add": {"index": index, "alias": names.write_alias, "is_write_index": True}},
        ]
    )


def ensure_index(es: Elasticsearch, names: IndexNames) -> str:
    """Create the current version's index and aliases if missing, or migrate an older version
    behind the aliases; return the index name."""
    index = names.concrete()
    if not es.indices.exists_alias(name=names.read_alias):
        if not es.indices.exists(index=index):
            es.indices.create(index=index, **index_body())
        es.indices.update_aliases(
            actions=[
                {"add": {"index": index, "alias": names.read_alias}},
                {"add": {"index": index, "alias": names.write_alias, "is_write_index": True}},
            ]
        )
    elif current_index(es, names) != index:
        return migrate(es, names)
    return current_index(es, names)


def current_index(es: Elasticsearch, names: IndexNames) -> str:
    aliases = es.indices.get_alias(name=names.write_alias)
    return str(next(iter(aliases.body)))


def migrate(es: Elasticsearch, names: IndexNames, target_version: int = SCHEMA_VERSION) -> str:
    """Copy the live index into a fresh one with the current mapping, then swap the aliases."""
    source = current_index(es, names)
    target = names.concrete(target_version)
    if source == target:
        return target
    if es.indices.exists(index=target):
        # Left by an interrupted migration: no alias points at it, so it holds nothing live.
        es.indices.delete(index=target)
    es.indices.create(
        index=target,
        settings={**index_body()["settings"], "refresh_interval": "-1"},
        mappings=index_body()["mappings"],
    )

    def actions() -> Any:
        for hit in helpers.scan(es, index=source, query={"query": {"match_all": {}}}):
            body = upgrade_document(hit["_source"])
            yield {"_index": target, "_id": hit["_id"], "_source": body}

    helpers.bulk(es, actions(), chunk_size=500, max_retries=5)
    es.indices.put_settings(index=target, settings={"refresh_interval": "1s"})
    es.indices.refresh(index=target)
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": source, "alias": names.read_alias}},
            {"remove": {"index": source, "alias": names.write_alias}},
            {"add": {"index": target, "alias": names.read_alias}},
            {"add": {"index": target, "alias": names.write_alias, "is_write_index": True}},
        ]
    )
    return target


def drop_all(es: Elasticsearch, names: IndexNames) -> None:
    """Delete every index of this prefix (tests and `foi index reset` only)."""
    found = es.indices.get(index=f"{names.prefix}-documents-v*", ignore_unavailable=True)
    for index in found.body:
        es.indices.delete(index=index)
