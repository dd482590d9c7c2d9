"""Database models shared by every part of the product.

Schema changes go through Alembic migrations (foi_core/migrations); a test checks that the
migrations and these models agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime: SQLite gives back the naive UTC it keeps."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def stored_file_id(file_id: int) -> int:
    """An SMB file id (unsigned 64-bit) as the signed 64-bit integer the database can hold.

    The mapping is one-to-one, so equality is preserved; compare stored values only with
    values passed through this function.
    """
    return file_id - (1 << 64) if file_id >= (1 << 63) else file_id


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class Role(enum.StrEnum):
    FOI_OFFICER = "foi_officer"
    RECORDS_MANAGER = "records_manager"
    FRONT_OFFICE = "front_office"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    # Where deadline reminders go (empty: none are sent).
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Windows SIDs (user and groups) used to trim search results by the shares' own ACLs.
    sids: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Group(Base):
    """A group of staff sharing Windows group SIDs (e.g. "Housing team" → the housing AD
    group's SID), so trimming follows group membership without listing SIDs per user."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    sids: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class ApiToken(Base):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # Refused from this moment on (FOI_TOKEN_DAYS after creation unless chosen otherwise).
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(default=False)


class WebSession(Base):
    """A browser session (foi_core/web_sessions.py). The cookie carries only a random id and
    only its SHA-256 is stored, so reading this table does not let anyone ride on a session.
    Deleting the row ends the session, whatever copies of the cookie exist."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # None until someone signs in with it (the sign-in page's form token lives here too).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    # The Flask session's contents, serialised (form token, flashed messages, sign-in facts).
    data: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


class LoginThrottle(Base):
    """Recent sign-in failures of one (account name, address) pair, or of one address
    (username ""), and until when that pair or address is paused (foi_core/sign_in.py)."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("username", "ip"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150))
    ip: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class SavedSearch(Base):
    """A user's named search: the search page's query string, re-run on demand."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    params: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """One entry of the tamper-evident audit log (see foi_core/audit.py).

    Rows are never updated or deleted: database triggers created by the migration refuse it.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC of `hash` with the audit key kept outside the database (foi_core/audit_seal.py);
    # empty only on entries written before sealing began.
    seal: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditHead(Base):
    """Single row holding the chain's tip; locking it serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class Source(Base):
    """An SMB share to crawl. Credentials are a reference (env var or secret file), never
    the secret itself."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    server: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=445)
    share: Mapped[str] = mapped_column(String(255))
    root: Mapped[str] = mapped_column(Text, default="")
    username: Mapped[str] = mapped_column(String(255))
    # "env:VARNAME" or "file:/path/to/secret".
    credential_ref: Mapped[str] = mapped_column(String(500))
    include: Mapped[list[str]] = mapped_column(default=list)
    exclude: Mapped[list[str]] = mapped_column(default=list)
    # Reserved for scheduled crawls (not yet run by anything, so no command sets it).
    schedule: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(100), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    status: Mapped[str] = mapped_column(String(32), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")


class FileState(Base):
    """The crawl-state store: what the crawler last saw of each file on a source."""

    __tablename__ = "file_states"
    __table_args__ = (UniqueConstraint("source_name", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    file_id: Mapped[int] = mapped_column(BigInteger, index=True)
    sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    doc_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(32), default="")
    last_seen_run: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[bool] = mapped_column(default=False)
    # Fingerprint of the ACL fields last indexed (indexer.documents.acl_fingerprint); None
    # until the file's ACL has been recorded since migration 0015.
    acl_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    # Creation time the listing reported (ns since 1970); with the file id it tells a file
    # moved at source from a new file given a deleted file's inode. None: not known (rows
    # from before migration 0017, or a server that reports none), which is never a move.
    created_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True, default=None)


class HoldStatus(enum.StrEnum):
    ACTIVE = "active"
    RELEASE_REQUESTED = "release_requested"
    RELEASED = "released"


class Hold(Base):
    """A legal hold (freeze). While it is not released, nothing it covers may be disposed of,
    and the originals it covers are preserved (copy-on-hold)."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(150))
    case_ref: Mapped[str] = mapped_column(String(64), default="", index=True)
    status: Mapped[str] = mapped_column(String(32), default=HoldStatus.ACTIVE, index=True)
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    release_requested_by: Mapped[str] = mapped_column(String(150), default="")
    release_requested_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    release_reason: Mapped[str] = mapped_column(Text, default="")
    released_by: Mapped[str] = mapped_column(String(150), default="")
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class HoldScope(Base):
    """What a hold covers: one document (`item`), everything below a folder of a source
    (`folder`), or a search re-applied to content indexed later (`query`)."""

    __tablename__ = "hold_scopes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    doc_id: Mapped[str] = mapped_column(String(64), default="")
    source_name: Mapped[str] = mapped_column(String(100), default="")
    folder: Mapped[str] = mapped_column(Text, default="")
    # The search page's query string (q and facet choices), as for saved searches.
    query: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(150))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HeldDocument(Base):
    """A file (by its root document id) covered by a hold. Rows are kept after release, as
    history; a file is held while any row of it belongs to a hold that is not released."""

    __tablename__ = "held_documents"
    __table_args__ = (UniqueConstraint("hold_id", "root_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), index=True)
    scope_id: Mapped[int | None] = mapped_column(ForeignKey("hold_scopes.id"), default=None)
    root_id: Mapped[str] = mapped_column(String(64), index=True)
    # The document that matched (a file, or an attachment inside it).
    doc_id: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(100), default="")
    path: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    # Matched a query hold by name/metadata only because its content could not be read.
    conservative: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PreservationStatus(enum.StrEnum):
    PENDING = "pending"
    PRESERVED = "preserved"
    FAILED = "failed"


class PreservationTask(Base):
    """One held original to copy into the preservation store, and how that went."""

    __tablename__ = "preservation_tasks"
    __table_args__ = (UniqueConstraint("root_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[str] = mapped_column(String(64), index=True)
    source_name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=PreservationStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The error last mailed to records managers (retention.alerts); None: never mailed.
    alerted_error: Mapped[str | None] = mapped_column(Text, default=None)


class SourceChange(Base):
    """A held file that a crawl found changed or deleted at source. The held version stays
    indexed (as `version_doc_id`) and downloadable from the preservation store."""

    __tablename__ = "held_source_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[str] = mapped_column(String(64), index=True)
    version_doc_id: Mapped[str] = mapped_column(String(64), default="")
    source_name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    change: Mapped[str] = mapped_column(String(16))  # changed | deleted | moved
    old_sha256: Mapped[str] = mapped_column(String(64), default="")
    new_sha256: Mapped[str] = mapped_column(String(64), default="")
    preserved: Mapped[bool] = mapped_column(default=False)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When records managers were mailed about it (retention.alerts); None: not yet.
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class DocumentMove(Base):
    """An index document id retired by a move or rename at source (ids derive from paths),
    and the id the same document has now, so old links and references still find it. Kept
    pointing at the latest id: each move re-points the ids that led to the one it retires."""

    __tablename__ = "document_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    old_id: Mapped[str] = mapped_column(String(64), unique=True)
    new_id: Mapped[str] = mapped_column(String(64), index=True)
    source_name: Mapped[str] = mapped_column(String(100))
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RetentionSchedule(Base):
    """A version of the retention schedule (YAML). The newest row is in force."""

    __tablename__ = "retention_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_by: Mapped[str] = mapped_column(String(150))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BatchStatus(enum.StrEnum):
    PENDING = "pending"  # awaiting review and approval
    APPROVED = "approved"
    EXECUTING = "executing"  # claimed by one execution (retention/execution.py)
    EXECUTED = "executed"
    CANCELLED = "cancelled"


class DisposalBatch(Base):
    __tablename__ = "disposal_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.PENDING, index=True)
    schedule_version: Mapped[str] = mapped_column(String(64))
    # The SHA-256 of the schedule text in force when the batch was built (migration 0011).
    schedule_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approvals_needed: Mapped[int] = mapped_column(Integer, default=1)
    # Usernames in approval order; the same person never approves twice.
    approved_by: Mapped[list[str]] = mapped_column(default=list)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    executed_by: Mapped[str] = mapped_column(String(150), default="")
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    certificate_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    certificate_csv: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class DisposalItem(Base):
    """One file proposed for destruction, with the facts it was approved on."""

    __tablename__ = "disposal_items"
    __table_args__ = (UniqueConstraint("batch_id", "doc_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("disposal_batches.id"), index=True)
    doc_id: Mapped[str] = mapped_column(String(64), index=True)
    source_name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    unc: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    file_id: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # The share's last-write time (from migration 0011; the file's own metadata date before).
    modified: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The date the file's own metadata gives, when it differs from the share's (shown apart).
    embedded_modified: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    # The date the class's rule counted from, and the rule in words.
    trigger_date: Mapped[date | None] = mapped_column(Date, default=None)
    rule: Mapped[str] = mapped_column(Text, default="", server_default="")
    class_id: Mapped[str] = mapped_column(String(64))
    class_name: Mapped[str] = mapped_column(String(200))
    authority: Mapped[str] = mapped_column(Text)
    disposal_date: Mapped[date] = mapped_column(Date)
    excluded: Mapped[bool] = mapped_column(default=False)
    excluded_by: Mapped[str] = mapped_column(String(150), default="")
    exclude_reason: Mapped[str] = mapped_column(Text, default="")
    # "" until executed; then destroyed | skipped | failed.
    outcome: Mapped[str] = mapped_column(String(16), default="")
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class CaseStatus(enum.StrEnum):
    RECEIVED = "received"
    CLARIFICATION = "clarification_requested"  # clock stopped
    FEE_NOTICE = "fee_notice"  # clock stopped
    IN_PROGRESS = "in_progress"
    PI_EXTENSION = "pi_extension"
    RESPONDED = "responded"
    INTERNAL_REVIEW = "internal_review"
    ICO_COMPLAINT = "ico_complaint"
    CLOSED = "closed"


class Case(Base):
    """An FOI / EIR / SAR request. The requester's details are personal data: shown only to
    the roles that work cases, and every view of a case is audited."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    regime: Mapped[str] = mapped_column(String(8), index=True)
    title: Mapped[str] = mapped_column(String(300))
    request_text: Mapped[str] = mapped_column(Text)
    received: Mapped[date] = mapped_column(Date, index=True)
    requester_name: Mapped[str] = mapped_column(String(300))
    requester_contact: Mapped[str] = mapped_column(Text, default="")
    assigned_to: Mapped[str] = mapped_column(String(150), default="", index=True)
    status: Mapped[str] = mapped_column(String(32), default=CaseStatus.RECEIVED, index=True)
    # Clock facts (see cases.deadlines.records.RequestClock).
    clarification_requested: Mapped[date | None] = mapped_column(Date, default=None)
    clarified: Mapped[date | None] = mapped_column(Date, default=None)
    fee_notice: Mapped[date | None] = mapped_column(Date, default=None)
    fee_paid: Mapped[date | None] = mapped_column(Date, default=None)
    extended: Mapped[bool] = mapped_column(default=False)
    # SAR clock stops: [{"reason": ..., "stopped": "YYYY-MM-DD", "resumed": ... | null}].
    clock_stops: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    due: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    responded: Mapped[date | None] = mapped_column(Date, default=None)
    outcome: Mapped[str] = mapped_column(String(32), default="")
    exemptions: Mapped[list[str]] = mapped_column(default=list)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"), default=None)
    logged_minutes: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class CaseLink(Base):
    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "other_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    why: Mapped[str] = mapped_column(String(32))  # same_requester | same_topic
    added_by: Mapped[str] = mapped_column(String(150))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseDocument(Base):
    """A record collected into a case (and so placed on the case's hold)."""

    __tablename__ = "case_documents"
    __table_args__ = (UniqueConstraint("case_id", "doc_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    doc_id: Mapped[str] = mapped_column(String(64))
    root_id: Mapped[str] = mapped_column(String(64))
    added_by: Mapped[str] = mapped_column(String(150))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed: Mapped[bool] = mapped_column(default=False)
    removed_by: Mapped[str] = mapped_column(String(150), default="")
    removed_reason: Mapped[str] = mapped_column(Text, default="")
    # The version collected, which a bundle discloses: its SHA-256 and its last-write time on
    # the share when collected ("" and None when the file could not be read then).
    sha256: Mapped[str] = mapped_column(String(64), default="")
    share_modified: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class ScopingSearch(Base):
    """A search run for a case, kept with its counts for the adequacy-of-search statement."""

    __tablename__ = "scoping_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    query: Mapped[str] = mapped_column(Text)
    run_by: Mapped[str] = mapped_column(String(150))
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    # {"sources": [...], "not_searchable": {"encrypted": 2, ...}, "files": N}
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CaseExport(Base):
    __tablename__ = "case_exports"
    # One bundle of a case queued or running at a time (cases.export_jobs).
    __table_args__ = (
        Index(
            "uq_case_exports_pending",
            "case_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    directory: Mapped[str] = mapped_column(Text)
    parts: Mapped[list[str]] = mapped_column(default=list)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    exported_by: Mapped[str] = mapped_column(String(150))
    # When it was asked for; `expires_at` counts from when it was finished.
    exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # queued -> running -> done | failed (cases.export). A running export whose heartbeat has
    # stopped was interrupted (its process ended) and is failed by the next sweep.
    status: Mapped[str] = mapped_column(String(16), default="done", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # documents written so far
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class NonWorkingDay(Base):
    """An extra non-working day (e.g. by proclamation). Rows are versions: the newest row for
    a date wins, and `active` false withdraws the day."""

    __tablename__ = "non_working_days"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    name: Mapped[str] = mapped_column(String(200))
    nations: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    changed_by: Mapped[str] = mapped_column(String(150))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
