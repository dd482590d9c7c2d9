"""Stateful property test of the records guarantees against the real stack.

Hypothesis drives random sequences of what happens to a council's files and records, at source
and in the product: crawl, edit, move, delete and re-permission files on the Samba share; hold,
release and collect them; build, approve and execute disposal batches; export the case's
bundle. After every step it checks the guarantees a council relies on:

- no held file's original is lost: every original whose preservation copy was made is still in
  the store, and no file that was held when a batch ran was deleted from the share;
- every file in a bundle is the version collected (its pinned SHA-256), from the share or from
  the preservation store, and never other bytes;
- nothing held, and nothing in a class that is not signed off, is destroyed;
- `foi audit verify` stays intact (chain, seals and checkpoints).

Each example gets a fresh share folder, database, index and preservation store. The number of
examples is small because every step is real I/O; steps are chosen so that holds, changes at
source and disposal meet in every order.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import ClassVar

import pytest
from elasticsearch import NotFoundError
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from cases.collection import collect
from cases.export import ExportSettings
from cases.export_jobs import export_case
from cases.service import CaseError, create_case
from devstack.stack import LocalStack
from foi_core import audit
from foi_core.models import (
    BatchStatus,
    DisposalBatch,
    DisposalItem,
    PreservationStatus,
    PreservationTask,
)
from foi_core.settings import Settings
from indexer.lifecycle import IndexNames, drop_all
from retention.classify import save_schedule
from retention.disposal import DisposalError, approve, build_batch, execute
from retention.holds import HoldError, add_scope, create_hold, holds_by_root
from retention.preservation import run_pending
from retention.release import approve_release, request_release
from tests.fixtures import ShareWorkspace
from tests.records import RecordsBed, assert_not_destroyed_while_held, destroyed_items

OLD = datetime(2010, 1, 1, tzinfo=UTC)
SCHEDULE = """
version: "machine-1"
classes:
  - id: KEEP-UNSIGNED
    name: Files whose destruction nobody signed off
    authority: "State machine test"
    match: {paths: ["Unsigned/**"]}
    retention: 1 year
    trigger: last_modified
    action: destroy
    sign_off: required
  - id: OLD
    name: Old files
    authority: "State machine test"
    match: {paths: ["Old/**"]}
    retention: 1 year
    trigger: last_modified
    action: destroy
    sign_off: signed_off
"""
START = ("Old/a.txt", "Old/b.txt", "Old/c.txt", "Unsigned/d.txt")
FILE = st.integers(0, len(START) - 1)


@dataclass
class TrackedFile:
    """What the test knows of one file at source, whatever its name becomes."""

    path: str
    data: bytes
    on_share: bool = True
    # Every index id the file has had (ids derive from paths: a move retires one).
    ids: set[str] = field(default_factory=set)


class RecordsMachine(RuleBasedStateMachine):
    stack: LocalStack
    base: Settings
    tmp: pytest.TempPathFactory
    # What the examples met, over the whole run: a property is only as good as its cases.
    met: ClassVar[dict[str, int]] = {}

    @initialize()
    def setup(self) -> None:
        self.workspace = ShareWorkspace(self.stack.samba, "machine")
        self.prefix = f"test-{uuid.uuid4().hex[:10]}"
        self.tmpdir = self.tmp.mktemp("machine")
        self.bed = RecordsBed.build(self.stack, self.workspace, self.base, self.tmpdir, self.prefix)
        self.files = [TrackedFile(path, f"{path} version 0\n".encode()) for path in START]
        for tracked in self.files:
            self.bed.write(tracked.path, tracked.data, modified=OLD)
        self._crawl()
        save_schedule(self.bed.records, SCHEDULE, actor="rita")
        self.case = create_case(
            self.bed.runtime.sessions,
            regime="FOIA",
            received=date.today(),
            title="Everything about the old files",
            request_text="All old files.",
            requester_name="A. Requester",
            requester_contact="requester@example.org",
            actor="olive",
            prefix_spec="FOIA=FOI,EIR=EIR,SAR=SAR",
            target_days=15,
        )
        self.holds: list[int] = []
        # Logical file index -> SHA-256 of the version collected onto the case.
        self.pinned: dict[int, str] = {}
        self.edits = 0
        self.exports = 0

    def teardown(self) -> None:
        if hasattr(self, "bed"):
            drop_all(self.bed.runtime.es, IndexNames(self.prefix))
            self.bed.runtime.engine.dispose()
            self.workspace.cleanup()

    # -- helpers -------------------------------------------------------------------------

    def _met(self, what: str, count: int = 1) -> None:
        self.met[what] = self.met.get(what, 0) + count

    def _crawl(self) -> None:
        self.bed.crawl()
        for tracked in self.files:
            if tracked.on_share:
                tracked.ids.add(self.bed.doc_id(tracked.path))

    def _indexed(self, index: int) -> tuple[str, str] | None:
        """The file's current index id and indexed SHA-256, if the index knows it as it is."""
        tracked = self.files[index]
        doc_id = self.bed.doc_id(tracked.path)
        try:
            doc = self.bed.doc(doc_id)
        except NotFoundError:
            return None
        if doc.get("destroyed") or doc.get("deleted"):
            return None
        return doc_id, str(doc.get("sha256", ""))

    def _file_of(self, doc_id: str) -> int | None:
        return next((i for i, t in enumerate(self.files) if doc_id in t.ids), None)

    # -- changes at source ---------------------------------------------------------------

    @rule()
    def crawl(self) -> None:
        self._crawl()

    @rule(index=FILE)
    def edit(self, index: int) -> None:
        tracked = self.files[index]
        if tracked.on_share:
            self.edits += 1
            tracked.data = f"{tracked.path} edit {self.edits}\n".encode()
            self.bed.write(tracked.path, tracked.data, modified=OLD)

    @rule(index=FILE)
    def move(self, index: int) -> None:
        tracked = self.files[index]
        if tracked.on_share:
            folder, name = tracked.path.rsplit("/", 1)
            new = f"{folder}/moved-{uuid.uuid4().hex[:4]}-{name}"
            self.workspace.move(tracked.path, new)
            tracked.path = new
            self._met("moved")

    @precondition(lambda self: bool(self.pinned))
    @rule(which=st.integers(0, 50), delete=st.booleans())
    def change_collected(self, which: int, delete: bool) -> None:
        """A collected file changed or deleted at source: the case must still get what it
        collected."""
        index = sorted(self.pinned)[which % len(self.pinned)]
        if delete:
            self.delete(index)
        else:
            self.edit(index)

    @rule(index=FILE)
    def delete(self, index: int) -> None:
        tracked = self.files[index]
        if tracked.on_share:
            self.workspace.remove(tracked.path)
            tracked.on_share = False

    @rule(index=FILE)
    def repermission(self, index: int) -> None:
        tracked = self.files[index]
        if tracked.on_share:
            disk = self.workspace.disk(tracked.path)
            disk.chmod(0o660 if disk.stat().st_mode & 0o004 else 0o664)

    # -- records -------------------------------------------------------------------------

    @rule(index=FILE)
    def hold(self, index: int) -> None:
        indexed = self._indexed(index)
        if indexed is None:
            return
        records = self.bed.records
        hold_id = create_hold(
            records, name=f"hold {len(self.holds)}", reason="r", owner="rita", actor="rita"
        )
        self.holds.append(hold_id)
        with contextlib.suppress(HoldError):
            add_scope(records, hold_id, kind="item", doc_id=indexed[0], actor="rita")
            self._met("held")
        run_pending(records, actor="rita")

    @rule(which=st.integers(0, 50))
    def release(self, which: int) -> None:
        if self.holds:
            hold_id = self.holds[which % len(self.holds)]
            with contextlib.suppress(HoldError):
                request_release(self.bed.records, hold_id, actor="rita", reason="done")
                approve_release(self.bed.records, hold_id, approver="rob")

    @rule(index=FILE)
    def collect(self, index: int) -> None:
        indexed = self._indexed(index)
        if indexed is None or index in self.pinned:
            return
        with contextlib.suppress(CaseError):
            if collect(self.bed.records, self.case.id, [indexed[0]], actor="olive"):
                self.pinned[index] = indexed[1]
                self._met("collected")
        run_pending(self.bed.records, actor="olive")

    @rule()
    def build(self) -> None:
        build_batch(self.bed.records, actor="retention-run", today=date.today())

    @rule()
    def approve_batches(self) -> None:
        for batch_id in self._batches(BatchStatus.PENDING):
            for approver in ("rita", "rob"):
                with contextlib.suppress(DisposalError):
                    approve(self.bed.records, batch_id, actor=approver)

    @rule()
    def execute_batches(self) -> None:
        for batch_id in self._batches(BatchStatus.APPROVED):
            with contextlib.suppress(DisposalError):
                report = execute(self.bed.records, batch_id, actor="rob")
                self._met("destroyed", report.destroyed)
        with self.bed.runtime.sessions() as session:
            destroyed = set(
                session.execute(
                    select(DisposalItem.path).where(DisposalItem.outcome == "destroyed")
                ).scalars()
            )
        for tracked in self.files:
            if tracked.on_share and tracked.path in destroyed:
                tracked.on_share = self.workspace.disk(tracked.path).exists()

    @rule()
    def dispose(self) -> None:
        """Build, approve and execute at once (the separate steps interleave with the rest)."""
        self.build()
        self.approve_batches()
        self.execute_batches()

    @precondition(lambda self: bool(self.pinned))
    @rule()
    def export(self) -> None:
        self.exports += 1
        settings = ExportSettings(self.tmpdir / f"exports-{self.exports}", 30, 2 * 1024**3)
        result = export_case(self.bed.records, settings, self.case.id, actor="olive")
        directory = Path(result.directory)
        for part in result.parts:
            with zipfile.ZipFile(directory / part) as bundle:
                manifest = bundle.read("manifest.csv").decode("utf-8-sig")
                for row in csv.DictReader(io.StringIO(manifest)):
                    if not row["archive_path"]:
                        continue  # reported as not available, never replaced by other bytes
                    index = self._file_of(row["doc_id"])
                    assert index is not None, f"bundle holds an unknown document {row}"
                    data = bundle.read(row["archive_path"])
                    self._met("bundle files")
                    if (
                        hashlib.sha256(data).hexdigest()
                        != hashlib.sha256(self.files[index].data).hexdigest()
                        or not self.files[index].on_share
                    ):
                        self._met("bundle files no longer at source")
                    assert hashlib.sha256(data).hexdigest() == self.pinned[index], (
                        f"bundle file {row['archive_path']} is not the version collected"
                    )

    def _batches(self, status: str) -> list[int]:
        with self.bed.runtime.sessions() as session:
            return list(
                session.execute(
                    select(DisposalBatch.id).where(DisposalBatch.status == status)
                ).scalars()
            )

    # -- the guarantees ------------------------------------------------------------------

    @invariant()
    def audit_log_intact(self) -> None:
        if hasattr(self, "bed"):
            self._met("steps")
            audit.checkpoint(self.bed.runtime.sessions)
            with self.bed.runtime.sessions() as session:
                result = audit.verify_chain(session)
            assert result.ok, result

    @invariant()
    def held_originals_kept(self) -> None:
        if not hasattr(self, "bed"):
            return
        store = self.bed.records.store
        with self.bed.runtime.sessions() as session:
            done = session.execute(
                select(PreservationTask.sha256).where(
                    PreservationTask.status == PreservationStatus.PRESERVED
                )
            ).scalars()
            for sha in done:
                self._met("preserved originals checked")
                assert store.has(sha), f"preserved original {sha} is gone from the store"
            all_ids = [i for t in self.files for i in t.ids]
            held = holds_by_root(session, all_ids)
        for tracked in self.files:
            if tracked.on_share and tracked.ids & set(held):
                assert self.workspace.disk(tracked.path).exists(), (
                    f"held file {tracked.path} was deleted from the share"
                )

    @invariant()
    def nothing_vanishes_uncertified(self) -> None:
        """A file leaves the share only when the test deletes it or a batch certifies its
        destruction (an item recorded `destroyed`), never silently."""
        if not hasattr(self, "bed"):
            return
        with self.bed.runtime.sessions() as session:
            certified = set(
                session.execute(
                    select(DisposalItem.path).where(DisposalItem.outcome == "destroyed")
                ).scalars()
            )
        for tracked in self.files:
            if tracked.on_share and not self.workspace.disk(tracked.path).exists():
                assert tracked.path in certified, f"{tracked.path} vanished uncertified"
                tracked.on_share = False

    @invariant()
    def nothing_held_or_unsigned_destroyed(self) -> None:
        if not hasattr(self, "bed"):
            return
        with self.bed.runtime.sessions() as session:
            for item in destroyed_items(session):
                assert item.class_id == "OLD", f"{item.path} destroyed in unsigned {item.class_id}"
                assert_not_destroyed_while_held(session, item)


def test_records_guarantees_hold_over_any_sequence(
    stack: LocalStack, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    RecordsMachine.stack = stack
    RecordsMachine.base = settings
    RecordsMachine.tmp = tmp_path_factory
    RecordsMachine.met = {}
    run_state_machine_as_test(
        RecordsMachine,
        settings=hypothesis_settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    met = RecordsMachine.met
    print(f"records state machine met: {met}")
    wanted = (
        "preserved originals checked",
        "destroyed",
        "held",
        "moved",
        "collected",
        "bundle files",
        "bundle files no longer at source",
    )
    assert all(met.get(what) for what in wanted), met
