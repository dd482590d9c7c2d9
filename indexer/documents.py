"""Turning a file's facts and its extraction into index documents (container + embedded).

Ids are deterministic: a file's id comes from (source, path), an embedded document's from its
container's id and its embedded path, so re-running any step overwrites, never duplicates.
Metadata keys differ across formats; they are normalised here to one vocabulary.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from indexer.extract import Extraction, Part
from indexer.mapping import SCHEMA_VERSION


def file_doc_id(source: str, path: str) -> str:
    return hashlib.sha256(f"file\x00{source}\x00{path}".encode()).hexdigest()[:40]


def embedded_doc_id(container_id: str, embedded_path: str) -> str:
    return hashlib.sha256(f"emb\x00{container_id}\x00{embedded_path}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class FileRecord:
    """What the crawler knows about one file, independent of extraction."""

    source: str
    share: str
    path: str
    unc: str
    size: int
    mtime_ns: int
    created_ns: int
    file_id: int
    sha256: str
    mime: str
    acl_owner: str | None = None
    acl_allow: Sequence[str] = ()
    acl_deny: Sequence[str] = ()
    acl_status: str = "ok"

    @property
    def acl_hash(self) -> str:
        return acl_fingerprint(self.acl_owner, self.acl_allow, self.acl_deny, self.acl_status)


def acl_fingerprint(
    owner: str | None, allow: Sequence[str], deny: Sequence[str], status: str
) -> str:
    """A hash of what a file's ACL means to the index (its `acl_*` fields), kept on its crawl
    state: equal fingerprints mean its documents need no ACL update. SIDs are sorted, as
    their order grants nothing."""
    text = json.dumps([owner, sorted(allow), sorted(deny), status], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _first(meta: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value not in (None, ""):
            return str(value)
    return None


def _all(meta: Mapping[str, Any], *keys: str) -> list[str]:
    found: list[str] = []
    for key in keys:
        value = meta.get(key)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item not in (None, "") and str(item) not in found:
                found.append(str(item))
    return found


def _date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _ns_to_iso(ns: int) -> str | None:
    if ns <= 0:
        return None
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


def _addresses(meta: Mapping[str, Any], *keys: str) -> list[str]:
    """Email addresses, lower-cased: "Jo Bloggs <jo@x.gov.uk>" → "jo@x.gov.uk"."""
    out: list[str] = []
    for raw in _all(meta, *keys):
        for piece in raw.split(","):
            piece = piece.strip()
            if "<" in piece and ">" in piece:
                piece = piece[piece.index("<") + 1 : piece.index(">")]
            if piece and piece.lower() not in out:
                out.append(piece.lower())
    return out


def normalised_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    pages = _first(meta, "xmpTPg:NPages", "meta:page-count", "Page-Count")
    return {
        "title": _first(meta, "dc:title", "title", "dc:subject"),
        "authors": _all(meta, "dc:creator", "meta:author", "Author", "Message-From-Name"),
        "created": _date(_first(meta, "dcterms:created", "meta:creation-date", "Creation-Date")),
        "modified": _date(_first(meta, "dcterms:modified", "Last-Modified", "modified")),
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        "page_count": int(pages) if pages and pages.isdecimal() else None,
        "language": _first(meta, "language", "dc:language"),
        "email_from": _addresses(meta, "Message-From-Email", "Message-From", "Message:From-Email"),
        "email_to": _addresses(meta, "Message-To-Email", "Message-To", "Message:To-Email"),
        "email_cc": _addresses(meta, "Message-CC-Email", "Message-Cc", "Message:CC-Email"),
        "email_subject": _first(meta, "dc:subject", "subject")
        if _first(meta, "Message-From", "Message-From-Email", "Message:From-Email")
        else None,
        "email_date": _date(_first(meta, "dcterms:created"))
        if _first(meta, "Message-From", "Message-From-Email", "Message:From-Email")
        else None,
    }


_SEPARATORS = re.compile(r"[\W_]+")


def name_words(path: str) -> str:
    """The words of a share path, for search: separators and punctuation become spaces."""
    return _SEPARATORS.sub(" ", path).strip()


def upgrade_document(body: dict[str, Any]) -> dict[str, Any]:
    """Fill the fields a newer schema derives from ones every version has (used by
    `indexer.migration.migrate` when it copies documents into a new index version)."""
    upgraded = dict(body)
    if "name_words" not in upgraded:
        name = upgraded.get("embedded_path") or upgraded.get("path") or ""
        upgraded["name_words"] = name_words(str(name))
    upgraded["schema_version"] = SCHEMA_VERSION
    return upgraded


def _folders(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def file_document(
    record: FileRecord, status: str, reason: str, part: Part | None, crawled: datetime
) -> dict[str, Any]:
    """The container document. Indexed with its metadata even when content extraction failed."""
    name = record.path.rsplit("/", 1)[-1]
    meta = normalised_metadata(part.metadata) if part else {}
    content = part.content if part else ""
    doc: dict[str, Any] = {
        "doc_id": file_doc_id(record.source, record.path),
        "kind": "file",
        "container_id": None,
        "root_id": file_doc_id(record.source, record.path),
        "embedded_path": "",
        "embedded_depth": 0,
        "source": record.source,
        "share": record.share,
        "path": record.path,
        "unc": record.unc,
        "folder": record.path.rsplit("/", 1)[0] if "/" in record.path else "",
        "folders": _folders(record.path),
        "filename": name,
        "name_words": name_words(record.path),
        "extension": name.rsplit(".", 1)[-1].lower() if "." in name else "",
        "mime_type": (str(part.metadata.get("Content-Type", "")).split(";")[0] if part else "")
        or record.mime,
        "size": record.size,
        "sha256": record.sha256,
        "file_id": str(record.file_id),
        "share_created": _ns_to_iso(record.created_ns),
        "share_modified": _ns_to_iso(record.mtime_ns),
        "crawled": crawled.isoformat(),
        "content": content,
        "content_chars": len(content),
        "status": status,
        "status_reason": reason,
        "acl_owner": record.acl_owner,
        "acl_allow": list(record.acl_allow),
        "acl_deny": list(record.acl_deny),
        "acl_status": record.acl_status,
        "deleted": False,
        "schema_version": SCHEMA_VERSION,
        **meta,
    }
    if not doc.get("title"):
        doc["title"] = name
    if not doc.get("modified"):
        doc["modified"] = _ns_to_iso(record.mtime_ns)
    if not doc.get("created"):
        doc["created"] = _ns_to_iso(record.created_ns)
    return doc


# What an embedded document takes from the file holding it: access to a file is access to
# what is inside it, and it lives where the file lives.
INHERITED_FROM_CONTAINER = (
    "source",
    "share",
    "path",
    "unc",
    "folder",
    "folders",
    "file_id",
    "acl_owner",
    "acl_allow",
    "acl_deny",
    "acl_status",
    "deleted",
)


def embedded_documents(
    container: dict[str, Any], extraction: Extraction, crawled: datetime
) -> list[dict[str, Any]]:
    """Each embedded document (attachment, zip member) as its own searchable record.

    Children inherit the container's location and ACL: access to a file is access to what is
    inside it.
    """
    docs: list[dict[str, Any]] = []
    for part in extraction.parts[1:]:
        doc_id = embedded_doc_id(container["doc_id"], part.embedded_path or str(part.index))
        parent_path = part.embedded_path.rsplit("/", 1)[0]
        parent_id = (
            embedded_doc_id(container["doc_id"], parent_path)
            if parent_path
            else container["doc_id"]
        )
        name = part.embedded_path.rsplit("/", 1)[-1] or f"embedded-{part.index}"
        meta = normalised_metadata(part.metadata)
        docs.append(
            {
                **{k: container[k] for k in INHERITED_FROM_CONTAINER},
                **meta,
                "doc_id": doc_id,
                "kind": "embedded",
                "container_id": parent_id,
                "root_id": container["doc_id"],
                "embedded_path": part.embedded_path,
                "embedded_depth": part.embedded_path.count("/"),
                "filename": name,
                "name_words": name_words(part.embedded_path or name),
                "extension": name.rsplit(".", 1)[-1].lower() if "." in name else "",
                "mime_type": str(part.metadata.get("Content-Type", "")).split(";")[0],
                "size": None,
                # The container's hash identifies the file, not this part of it.
                "sha256": None,
                "crawled": crawled.isoformat(),
                "content": part.content,
                "content_chars": len(part.content),
                "status": part.status,
                "status_reason": part.error,
                "schema_version": SCHEMA_VERSION,
                "title": meta.get("title") or name,
            }
        )
    return docs
