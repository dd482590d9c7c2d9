"""The crawl's duties to records management, as an interface the crawl calls.

The indexer owns crawling and index writes; `retention/` owns holds and schedules and
implements `RecordKeeping` (see `retention.keeping`). The crawl calls it at the moments that
matter for preservation, so a held file's earlier content is never overwritten unseen:

- `annotate` before every index write, to copy hold and retention fields onto the documents
  (a write replaces a whole document, so they must be written with it);
- `before_replace` before a file's documents are overwritten with different content (or with
  none, when the file can no longer be read);
- `moved` when a rename is re-pointed to its new path (the document id changes);
- `deleted_at_source` when files vanished from the share;
- `crawl_finished` once per crawl, to re-apply folder and query holds to what was indexed and
  to preserve newly held originals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class RecordKeeping(Protocol):
    def annotate(self, documents: list[dict[str, Any]]) -> None: ...

    def before_replace(self, root_id: str, old_sha256: str, new_sha256: str) -> None: ...

    def moved(self, old_root_id: str, new_root_id: str, new_path: str) -> None: ...

    def deleted_at_source(self, root_ids: Sequence[str]) -> None: ...

    def crawl_finished(self, source: str, run_id: int) -> None: ...


class NoRecordKeeping:
    """For tools and tests that index without records management (benchmarks, fixtures)."""

    def annotate(self, documents: list[dict[str, Any]]) -> None:
        return None

    def before_replace(self, root_id: str, old_sha256: str, new_sha256: str) -> None:
        return None

    def moved(self, old_root_id: str, new_root_id: str, new_path: str) -> None:
        return None

    def deleted_at_source(self, root_ids: Sequence[str]) -> None:
        return None

    def crawl_finished(self, source: str, run_id: int) -> None:
        return None
