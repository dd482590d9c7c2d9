"""What the product keeps on disk is private to its account: the state database and its WAL,
secrets, audit checkpoints, the preservation store and disclosure bundles (folders 0700, files
0600), whether written by the `foi` command or in-process."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from cases.collection import collect
from cases.service import create_case
from devstack.stack import LocalStack
from foi_core.settings import Settings
from retention.preservation import run_pending
from tests.fixtures import ShareWorkspace
from tests.records import RecordsBed

FOI = str(Path(sys.executable).with_name("foi"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _foi(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # the installed command, as an administrator runs it
        [FOI, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def bed(
    stack: LocalStack, settings: Settings, tmp_path: Path, index_prefix: str
) -> Iterator[RecordsBed]:
    workspace = ShareWorkspace(stack.samba, "private")
    bed = RecordsBed.build(stack, workspace, settings, tmp_path / "state", index_prefix)
    bed.write("Minutes/board.txt", b"Board minutes, confidential item 4.\n")
    bed.crawl()
    yield bed
    workspace.cleanup()


def test_state_store_and_bundles_are_private(bed: RecordsBed, tmp_path: Path) -> None:
    case = create_case(
        bed.runtime.sessions,
        regime="SAR",
        received=date(2026, 11, 2),
        title="Subject access",
        request_text="Everything about me.",
        requester_name="A. Person",
        requester_contact="person@example.org",
        actor="olive",
        prefix_spec="FOIA=FOI,EIR=EIR,SAR=SAR",
        target_days=15,
    )
    assert collect(bed.records, case.id, [bed.doc_id("Minutes/board.txt")], actor="olive") == 1
    run_pending(bed.records, actor="olive")
    env = {**bed.settings.to_env(), "FOI_EXPORT_DIR": str(tmp_path / "exports")}
    _foi(env, "audit", "checkpoint")
    _foi(env, "cases", "export", case.reference, "--as", "olive")

    state = bed.settings.state_dir
    database = state / "records.db"
    assert _mode(database) == 0o600
    for companion in (state / "records.db-wal", state / "records.db-shm"):
        if companion.exists():
            assert _mode(companion) == 0o600, companion
    private_trees = [
        state / "secrets",
        state / "audit",
        bed.settings.effective_preservation_dir,
        tmp_path / "exports",
    ]
    files = 0
    for tree in private_trees:
        assert _mode(tree) == 0o700, tree
        for path in tree.rglob("*"):
            if path.is_dir():
                assert _mode(path) == 0o700, path
            else:
                files += 1
                # Preserved originals are also read-only (0400).
                assert _mode(path) in (0o600, 0o400), path
    # Secrets, the anchor file, one preserved original, and the bundle's zip and sidecars.
    assert files >= 6
