"""The crawl's duties to records management, as an interface the crawl calls.

The indexer owns crawling and index writes; `retention/` owns holds and schedules and
implements `RecordKeeping` (see `retention.keeping`). The crawl calls it at the moments that
matter for preservation, so a held file's earlier content is never overwritten unseen:

- `annotate` before every index write, to copy hold and retention fields onto the documents
  (a write replaces a whole document, so they must be written with it);
- `before_replace` before a file's documents are overwritten with different content (or with
  none, when the file can no longer be read);
- `moved` when a file is found at a new path with its old file id and creation time (renamed
  or moved, perhaps changed too; a file id alone is not identity, since the disk gives a
  deleted file's inode to the next new file), before its documents are written under their
  new ids, so everything keyed by the old ids (holds, preservation, case collections)
  follows it and the new documents are written already annotated;
- `deleted_at_source` when files vanished from the share;
- `crawl_finished` once per crawl, to re-apply folder and query holds to what was indexed and
  to preserve newly held originals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class FileMove:
    """A file the crawl found at a new path with the file id it had at its old one. Document
    ids derive from paths, so every document of the file gets a new id."""

    source: str
    old_root_id: str
    new_root_id: str
    new_path: str
    sha256: str  # the content last indexed (before any change found with the move)
    # Every document id of the file (the file's own and its embedded documents') -> new id.
    ids: Mapping[str, str]


class RecordKeeping(Protocol):
    def annotate(self, documents: list[dict[str, Any]]) -> None: ...

    def before_replace(self, root_id: str, old_sha256: str, new_sha256: str) -> None: ...

    def moved(self, move: FileMove) -> None: ...

    def deleted_at_source(self, root_ids: Sequence[str]) -> None: ...

    def crawl_finished(self, source: str, run_id: int) -> None: ...


class NoRecordKeeping:
    """For tools and tests that index without records management (benchmarks, fixtures)."""

    def annotate(self, documents: list[dict[str, Any]]) -> None:
        return None

    def before_replace(self, root_id: str, old_sha256: str, new_sha256: str) -> None:
        return None

    def moved(self, move: FileMove) -> None:
        return None

    def deleted_at_source(self, root_ids: Sequence[str]) -> None:
        return None

    def crawl_finished(self, source: str, run_id: int) -> None:
        return None
