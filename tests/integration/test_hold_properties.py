"""Property: over any interleaving of hold, release, edit, crawl, batch, approve and execute,
no held file is ever deleted from the share or destroyed in the index.

Hypothesis draws sequences of steps and runs them against the real stack (Samba,
Elasticsearch, Tika, the product's own crawl, hold and disposal code), checking the property
after every step. Each example gets a fresh share folder, database and index, so examples are
independent; their number is kept small because every step is real I/O. Steps are weighted
so that holds, edits and disposal steps meet in every order (hold after a batch is built,
hold after approval, edits after approval, disposal of released files...).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from devstack.stack import LocalStack
from foi_core.models import AuditEvent, BatchStatus, DisposalBatch, DisposalItem
from foi_core.settings import Settings
from indexer.lifecycle import IndexNames, drop_all
from retention.classify import save_schedule
from retention.disposal import approve, build_batch, execute
from retention.holds import (
    HoldError,
    add_scope,
    create_hold,
    holds_by_root,
)
from retention.release import approve_release, request_release
from tests.fixtures import ShareWorkspace
from tests.records import RecordsBed, assert_not_destroyed_while_held, destroyed_items

FILES = tuple(f"Old/file {n}.txt" for n in range(4))
OLD = datetime(2010, 1, 1, tzinfo=UTC)
SCHEDULE = """
version: "prop-1"
classes:
  - id: OLD
    name: Old files
    authority: "Property test"
    match: {paths: ["Old/**"]}
    retention: 1 year
    trigger: last_modified
    action: destroy
    sign_off: signed_off
"""


OPEN = (BatchStatus.PENDING, BatchStatus.APPROVED)
# (step, file index): sampled_from with repeats weights the steps.
STEP = st.tuples(
    st.sampled_from(
        [
            "hold",
            "hold_in_batch",
            "release",
            "edit",
            "edit_held",
            "crawl",
            "build",
            "approve",
            "execute",
            "execute",
        ]
    ),
    st.integers(0, len(FILES) - 1),
)


class Scenario:
    def __init__(self, stack: LocalStack, settings: Settings, tmp: pytest.TempPathFactory) -> None:
        self.workspace = ShareWorkspace(stack.samba, "prop")
        self.prefix = f"test-{uuid.uuid4().hex[:10]}"
        # One approval, explicitly: each "approve" step approves every pending batch.
        one_person = replace(settings, disposal_approvals=1)
        self.bed = RecordsBed.build(
            stack, self.workspace, one_person, tmp.mktemp("prop"), self.prefix
        )
        for path in FILES:
            self.bed.write(path, f"{path} version 0\n".encode(), modified=OLD)
        self.bed.crawl()
        save_schedule(self.bed.records, SCHEDULE, actor="rita")
        self.holds: list[int] = []
        self.edits = 0
        self.seen = {"destroyed": 0, "refused": 0, "held_edits": 0}

    def close(self) -> None:
        drop_all(self.bed.runtime.es, IndexNames(self.prefix))
        self.workspace.cleanup()

    def step(self, name: str, index: int) -> None:
        records, path = self.bed.records, FILES[index]
        if name == "hold_in_batch":
            # A hold on a file some open batch proposes to destroy (the race that matters).
            with self.bed.runtime.sessions() as session:
                proposed = sorted(
                    session.execute(
                        select(DisposalItem.path)
                        .join(DisposalBatch, DisposalBatch.id == DisposalItem.batch_id)
                        .where(DisposalBatch.status.in_(OPEN), DisposalItem.outcome == "")
                    ).scalars()
                )
            if proposed:
                self.step("hold", FILES.index(proposed[index % len(proposed)]))
        elif name == "edit_held":
            with self.bed.runtime.sessions() as session:
                ids = [self.bed.doc_id(p) for p in FILES]
                held = sorted(holds_by_root(session, ids))
            if held:
                self.step("edit", ids.index(held[index % len(held)]))
        elif name == "hold":
            hold_id = create_hold(
                records, name=f"hold {len(self.holds)}", reason="r", owner="rita", actor="rita"
            )
            self.holds.append(hold_id)
            with contextlib.suppress(HoldError):  # the file may have been destroyed
                add_scope(records, hold_id, kind="item", doc_id=self.bed.doc_id(path), actor="rita")
        elif name == "release" and self.holds:
            hold_id = self.holds[index % len(self.holds)]
            with contextlib.suppress(HoldError):  # already released
                request_release(records, hold_id, actor="rita", reason="done")
                approve_release(records, hold_id, approver="rob")
        elif name == "edit" and self.bed.on_share(path):
            self.edits += 1
            with self.bed.runtime.sessions() as session:
                root = self.bed.doc_id(path)
                self.seen["held_edits"] += root in holds_by_root(session, [root])
            self.bed.write(path, f"{path} version {self.edits}\n".encode(), modified=OLD)
        elif name == "crawl":
            self.bed.crawl()
        elif name == "build":
            build_batch(records, actor="retention-run", today=date.today())
        elif name == "approve":
            for batch_id in self._batches(BatchStatus.PENDING):
                approve(records, batch_id, actor="rita")
        elif name == "execute":
            for batch_id in self._batches(BatchStatus.APPROVED):
                self.seen["destroyed"] += execute(records, batch_id, actor="rob").destroyed

    def _batches(self, status: str) -> list[int]:
        with self.bed.runtime.sessions() as session:
            return list(
                session.execute(
                    select(DisposalBatch.id).where(DisposalBatch.status == status)
                ).scalars()
            )

    def check(self) -> None:
        ids = {self.bed.doc_id(path): path for path in FILES}
        with self.bed.runtime.sessions() as session:
            held = holds_by_root(session, list(ids))
            for root in held:
                path = ids[root]
                assert self.bed.on_share(path), f"held file {path} was deleted from the share"
                assert not self.bed.doc(root).get("destroyed"), f"held {path} destroyed in index"
            for item in destroyed_items(session):
                assert_not_destroyed_while_held(session, item)
            self.seen["refused"] = len(
                session.execute(
                    select(AuditEvent.id).where(AuditEvent.action == "disposal_refused_held")
                ).all()
            )


def test_no_held_file_is_ever_destroyed(
    stack: LocalStack, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    totals = {"destroyed": 0, "refused": 0, "held_edits": 0}

    @hypothesis_settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(steps=st.lists(STEP, min_size=6, max_size=16))
    def run(steps: list[tuple[str, int]]) -> None:
        scenario = Scenario(stack, settings, tmp_path_factory)
        try:
            for name, index in steps:
                scenario.step(name, index)
                scenario.check()
        finally:
            for key, value in scenario.seen.items():
                totals[key] += value
            scenario.close()

    run()
    # The property is only as good as the interleavings it met: files were destroyed, holds
    # were refused disposal, and held files were edited at source.
    assert all(totals.values()), totals
