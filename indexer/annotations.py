"""Records-management writes to the index: hold flags, retention fields, held versions of
files that changed at source, and the stubs destroyed records leave behind.

Hold and retention fields live on every document of a file (the file and what is embedded in
it), because a hold or a disposal always acts on the whole file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from elasticsearch import Elasticsearch

from indexer.bulk import delete_documents, write_documents, write_partial
from indexer.documents import embedded_doc_id
from indexer.lifecycle import IndexNames
from indexer.search.fetch import file_documents, get_source, scan_files_documents, version_ids

# What a destroyed record's stub keeps: where it was, what it was, and its metadata.
STUB_DROPS = ("content", "hold_ids", "held", "retention_reason")


def version_doc_id(root_id: str, sha256: str) -> str:
    """The id of a held version: the file's id and the content it had, so recording the same
    change twice writes the same document."""
    return hashlib.sha256(f"version\x00{root_id}\x00{sha256}".encode()).hexdigest()[:40]


def documents_of(es: Elasticsearch, names: IndexNames, root_ids: Sequence[str]) -> Iterator[str]:
    """Ids of every document (file and embedded) of these files."""
    for doc in scan_files_documents(es, names.read_alias, root_ids, ["doc_id"]):
        yield doc["doc_id"]


def set_hold_ids(
    es: Elasticsearch, names: IndexNames, holds_by_root: Mapping[str, Sequence[int]]
) -> int:
    """Write each file's unreleased hold ids (an empty list clears the flag)."""
    updates: list[dict[str, Any]] = []
    for doc in scan_files_documents(
        es, names.read_alias, list(holds_by_root), ["doc_id", "root_id"]
    ):
        ids = sorted({str(h) for h in holds_by_root.get(doc["root_id"], ())})
        updates.append({"doc_id": doc["doc_id"], "hold_ids": ids, "held": bool(ids)})
    return write_partial(es, names.write_alias, updates) if updates else 0


def set_fields(es: Elasticsearch, names: IndexNames, updates: Iterable[Mapping[str, Any]]) -> int:
    """Partial updates by doc_id (e.g. retention fields); unknown ids fail loudly."""
    return write_partial(es, names.write_alias, updates)


def repoint_versions(
    es: Elasticsearch, names: IndexNames, old_root_id: str, new_root_id: str
) -> int:
    """The held versions of a file that moved at source name it by its new id."""
    updates = [
        {"doc_id": doc_id, "version_of": new_root_id}
        for doc_id in version_ids(es, names.read_alias, old_root_id)
    ]
    return write_partial(es, names.write_alias, updates) if updates else 0


def copy_as_version(
    es: Elasticsearch,
    names: IndexNames,
    root_id: str,
    old_sha256: str,
    superseded: str,
    hold_ids: Sequence[int],
) -> str | None:
    """Keep a held file's current documents (before they are overwritten) as a version:
    new ids, `version_of` the live file. Returns the version's id, or None if the file has no
    indexed documents."""
    found = file_documents(es, names.read_alias, root_id)
    if not found:
        return None
    version_id = version_doc_id(root_id, old_sha256)
    holds = sorted({str(h) for h in hold_ids})
    copies = []
    for doc in found:
        embedded = doc.get("embedded_path") or ""
        if doc["doc_id"] == root_id:
            new_id, container = version_id, None
        else:
            new_id = embedded_doc_id(version_id, embedded)
            parent = embedded.rsplit("/", 1)[0] if "/" in embedded else ""
            container = embedded_doc_id(version_id, parent) if parent else version_id
        doc.update(
            {
                "doc_id": new_id,
                "root_id": version_id,
                "container_id": container,
                "version_of": root_id,
                "superseded": superseded,
                "hold_ids": holds,
                "held": bool(holds),
                "deleted": False,
            }
        )
        copies.append(doc)
    write_documents(es, names.write_alias, copies)
    return version_id


def destroy(es: Elasticsearch, names: IndexNames, root_id: str, stub: Mapping[str, Any]) -> None:
    """Replace a file's documents with a stub: its metadata and the record of destruction
    (`stub` gives `destroyed`, `destruction_class`, ...). Embedded documents go entirely."""
    indexed = get_source(es, names.read_alias, root_id)
    if indexed is None:
        raise LookupError(f"document {root_id} is not in the index")
    doc = {k: v for k, v in indexed.items() if k not in STUB_DROPS}
    doc.update({"content": "", "content_chars": 0, "hold_ids": [], "held": False, **stub})
    write_documents(es, names.write_alias, [doc])
    children = [d for d in documents_of(es, names, [root_id]) if d != root_id]
    if children:
        delete_documents(es, names.write_alias, children)
