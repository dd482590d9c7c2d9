"""Putting the generated sample documents onto an SMB share, over SMB (as a user would)."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

import smbclient

from demo.documents import SampleDocument, generate


def upload_tree(
    local_root: Path,
    server: str,
    port: int,
    share: str,
    username: str,
    password: str,
    target_folder: str = "",
) -> int:
    """Copy every file under local_root to \\\\server\\share\\target_folder; return the count."""
    smbclient.register_session(server, username=username, password=password, port=port)
    base = f"\\\\{server}\\{share}"
    if target_folder:
        base += "\\" + target_folder.replace("/", "\\")
    count = 0
    for path in sorted(local_root.rglob("*")):
        if not path.is_file():
            continue
        relative = PurePosixPath(path.relative_to(local_root).as_posix())
        remote_dir = base + "".join("\\" + part for part in relative.parent.parts)
        smbclient.makedirs(remote_dir, exist_ok=True, port=port)
        remote = remote_dir + "\\" + relative.name
        with path.open("rb") as local, smbclient.open_file(remote, mode="wb", port=port) as out:
            while chunk := local.read(1024 * 1024):
                out.write(chunk)
        count += 1
    return count


def seed_share(
    server: str, port: int, share: str, username: str, password: str, *, seed: int = 0
) -> list[SampleDocument]:
    with tempfile.TemporaryDirectory(prefix="foi-demo-") as tmp:
        documents = generate(Path(tmp), seed=seed)
        upload_tree(Path(tmp), server, port, share, username, password)
    return documents
