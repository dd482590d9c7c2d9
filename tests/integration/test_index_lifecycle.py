"""Schema versions: an index of an older version is migrated behind the aliases, atomically."""

from __future__ import annotations

import copy

from elasticsearch import Elasticsearch

from indexer.lifecycle import IndexNames, current_index
from indexer.mapping import SCHEMA_VERSION, index_body
from indexer.migration import ensure_index
from indexer.search.queries import Principal, search

OFFICER = Principal("olive", (), sees_everything=True)


def test_older_index_is_migrated_and_gains_derived_fields(
    es: Elasticsearch, index_prefix: str
) -> None:
    names = IndexNames(index_prefix)
    old_body = copy.deepcopy(index_body())
    del old_body["mappings"]["properties"]["name_words"]  # what version 1 lacked
    old = names.concrete(SCHEMA_VERSION - 1)
    es.indices.create(index=old, **old_body)
    es.indices.update_aliases(
        actions=[
            {"add": {"index": old, "alias": names.read_alias}},
            {"add": {"index": old, "alias": names.write_alias, "is_write_index": True}},
        ]
    )
    es.index(
        index=old,
        id="d1",
        refresh=True,
        document={
            "doc_id": "d1",
            "kind": "file",
            "path": "HR/Pay/salaries.xlsx",
            "filename": "salaries.xlsx",
            "status": "unsupported_type",
            "deleted": False,
            "schema_version": SCHEMA_VERSION - 1,
        },
    )
    assert search(es, names.read_alias, "salaries", OFFICER).total == 0

    assert ensure_index(es, names) == names.concrete()
    assert current_index(es, names) == names.concrete()
    es.indices.refresh(index=names.read_alias)
    found = search(es, names.read_alias, "salaries", OFFICER)
    assert found.total == 1 and found.hits[0].source["schema_version"] == SCHEMA_VERSION
    # The old index stays for rollback, but no alias points at it any more.
    assert es.indices.exists(index=old)
    assert not es.indices.get_alias(index=old).body[old]["aliases"]
