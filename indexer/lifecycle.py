"""Versioned indices behind read and write aliases; a new schema version is a new index.

`{prefix}-documents` is the read alias, `{prefix}-documents-write` the write alias; the
concrete index is `{prefix}-documents-v{SCHEMA_VERSION}`.

Who changes what:
- `require_index` (every crawl, every worker) creates the current index when there is none and
  refuses an older one, or one a migration has not finished (`IndexOutdated`). It never
  migrates: migrating copies every document, so it runs only when asked.
- `indexer.migration.migrate` (`foi index migrate`; `ensure_index` in tests and benchmarks) is
  the only code that moves the aliases to another index; its docstring tells how.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from elasticsearch import Elasticsearch

from indexer.mapping import SCHEMA_VERSION, index_body

_VERSION = re.compile(r"-v(\d+)$")


@dataclass(frozen=True)
class IndexNames:
    prefix: str

    @classmethod
    def of_write_alias(cls, alias: str) -> IndexNames | None:
        """The names behind a write alias; None for any other index or alias name."""
        prefix, found, rest = alias.rpartition("-documents-write")
        return cls(prefix) if found and prefix and not rest else None

    @property
    def read_alias(self) -> str:
        return f"{self.prefix}-documents"

    @property
    def write_alias(self) -> str:
        return f"{self.prefix}-documents-write"

    @property
    def lock_index(self) -> str:
        return f"{self.prefix}-migration-lock"

    @property
    def deleted_index(self) -> str:
        return f"{self.prefix}-migration-deleted"

    def concrete(self, version: int = SCHEMA_VERSION) -> str:
        return f"{self.prefix}-documents-v{version}"


class IndexOutdated(RuntimeError):
    """The aliases point at an older schema version, or a migration has not finished:
    `foi index migrate` must run first."""


def version_of(index: str) -> int | None:
    found = _VERSION.search(index)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class AliasState:
    """Which concrete index each alias points at (None: the alias does not exist)."""

    read: str | None
    write: str | None


def alias_state(es: Elasticsearch, names: IndexNames) -> AliasState:
    found = es.options(ignore_status=404).indices.get_alias(
        name=f"{names.read_alias},{names.write_alias}"
    )
    read = write = None
    for index, data in found.body.items():
        aliases = data.get("aliases", {}) if isinstance(data, dict) else {}
        if names.read_alias in aliases:
            read = index
        if names.write_alias in aliases and aliases[names.write_alias].get("is_write_index", True):
            write = index
    return AliasState(read, write)


def require_index(es: Elasticsearch, names: IndexNames) -> str:
    """The index the crawl writes to, created if there is none yet; never a migration.

    An index of an older schema version is refused (`IndexOutdated`), and so is one whose
    migration has not finished (reads and writes on different indices: a crawl reads back
    what it writes). Only `foi index migrate` migrates.
    """
    index = names.concrete()
    state = alias_state(es, names)
    if state.read is None and state.write is None:
        create_current_index(es, names)
        state = alias_state(es, names)
    if state.read != state.write:
        raise IndexOutdated(
            f"a migration from {state.read} to {state.write} has not finished: wait for "
            "`foi index migrate`, or run it again if it stopped"
        )
    if state.read != index:
        raise IndexOutdated(
            f"the index is {state.read}, this version needs {index}: run `foi index migrate`"
        )
    return index


def create_current_index(es: Elasticsearch, names: IndexNames) -> None:
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


def current_index(es: Elasticsearch, names: IndexNames) -> str:
    """The index written to (the write alias's)."""
    aliases = es.indices.get_alias(name=names.write_alias)
    return str(next(iter(aliases.body)))


def drop_all(es: Elasticsearch, names: IndexNames) -> None:
    """Delete every index of this prefix (tests and benchmarks only)."""
    for pattern in (f"{names.prefix}-documents-v*", f"{names.prefix}-migration-*"):
        found = es.indices.get(index=pattern, ignore_unavailable=True)
        for index in found.body:
            es.indices.delete(index=index)
