"""Deleting a file from its share only while it is still the file, and the content, approved.

One SMB handle does the checks and the deletion. It lets others read but not write or delete
(share access "r"), so between the moment its bytes are hashed and the moment the deletion
takes effect nobody can change the file; it asks for delete-on-close only once the file id,
size, last-write time and the SHA-256 of every byte read through it match what was approved.
A file someone has open for writing cannot be opened this way and fails as in use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from smbclient._io import SMBFileTransaction, query_info, set_info
from smbprotocol.file_info import (
    FileAttributes,
    FileBasicInformation,
    FileDispositionInformation,
    FileInternalInformation,
    FileStandardInformation,
)
from smbprotocol.open import FilePipePrinterAccessMask

from crawler.smb import SMB_ERRORS, SmbShare, filetime_to_unix_ns
from foi_core.models import stored_file_id
from retention.wording import byte_count, moment_ns

_ACCESS = (
    FilePipePrinterAccessMask.FILE_READ_DATA
    | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
    | FilePipePrinterAccessMask.FILE_WRITE_ATTRIBUTES
    | FilePipePrinterAccessMask.DELETE
    | FilePipePrinterAccessMask.SYNCHRONIZE
)
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Approved:
    """The facts a file was approved for destruction on (`file_id` as stored)."""

    size: int
    mtime_ns: int
    file_id: int
    sha256: str


class NotAsApproved(Exception):
    """The file on the share is not the one approved; nothing was deleted. The message says
    how it differs, in words a reviewer reads on the certificate."""


@dataclass(frozen=True)
class Found:
    file_id: int
    size: int
    mtime_ns: int
    read_only: bool


def delete_if_as_approved(share: SmbShare, path: str, approved: Approved) -> None:
    """Delete `path` if it is still exactly what was approved.

    Raises NotAsApproved when it is not (nothing is deleted), `FileVanished` when it is gone,
    and another `SourceError` when the share refuses or fails (nothing is deleted).
    """
    raw = share.raw_file(path, desired_access=_ACCESS, file_only=True, share_access="r")
    try:
        raw.open()
        try:
            found = _facts(raw)
            _compare(approved, found)
            digest = _sha256(raw)
            if digest != approved.sha256:
                raise NotAsApproved(
                    "content changed since approval: the bytes on the share are not the ones "
                    "approved (their SHA-256 differs), though the file id, size and last-write "
                    "time are the same"
                )
            _delete_on_close(raw, found)
        finally:
            raw.close()
    except NotAsApproved:
        raise
    except SMB_ERRORS as exc:
        raise share.error(exc) from exc


def _facts(raw: Any) -> Found:
    with SMBFileTransaction(raw) as transaction:
        query_info(transaction, FileInternalInformation)
        query_info(transaction, FileBasicInformation)
        query_info(transaction, FileStandardInformation)
    internal, basic, standard = transaction.results
    return Found(
        file_id=stored_file_id(int(internal["index_number"].get_value())),
        size=int(standard["end_of_file"].get_value()),
        mtime_ns=filetime_to_unix_ns(int(basic["last_write_time"].get_value())),
        read_only=basic["file_attributes"].has_flag(FileAttributes.FILE_ATTRIBUTE_READONLY),
    )


def _compare(approved: Approved, found: Found) -> None:
    if approved.file_id and found.file_id and approved.file_id != found.file_id:
        raise NotAsApproved(
            "replaced since approval: the file now at this path is a different file "
            f"(file id {approved.file_id} was approved, {found.file_id} is there now)"
        )
    changes = []
    if approved.size != found.size:
        changes.append(
            f"size {byte_count(approved.size)} when approved, {byte_count(found.size)} now"
        )
    if approved.mtime_ns != found.mtime_ns:
        was, now = moment_ns(approved.mtime_ns), moment_ns(found.mtime_ns)
        changes.append(
            f"last written {was} when approved, {now} now"
            if was != now
            else f"last written at {was}, but a fraction of a second apart from when approved"
        )
    if changes:
        raise NotAsApproved("changed since approval (" + "; ".join(changes) + ")")


def _sha256(raw: Any) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    while True:
        count = raw.readinto(view)
        if not count:
            return digest.hexdigest()
        digest.update(view[:count])


def _delete_on_close(raw: Any, found: Found) -> None:
    with SMBFileTransaction(raw) as transaction:
        if found.read_only:
            # Windows refuses to delete a read-only file; clear only that attribute.
            basic = FileBasicInformation()
            basic["creation_time"] = 0
            basic["last_access_time"] = 0
            basic["last_write_time"] = 0
            basic["change_time"] = 0
            basic["file_attributes"] = FileAttributes.FILE_ATTRIBUTE_NORMAL
            set_info(transaction, basic)
        disposition = FileDispositionInformation()
        disposition["delete_pending"] = True
        set_info(transaction, disposition)
