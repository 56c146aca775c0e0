"""The Supportly model: SQLAlchemy 2.0 typed tables, one per canonical entity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Store UTC instants; always hand back timezone-aware UTC datetimes (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class DecimalText(TypeDecorator[Decimal]):
    """Store exact decimals as text so no database rounds money through a float."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


JSONDict = JSON().with_variant(JSON(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def account_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)


class Account(Timestamped, Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    domain: Mapped[str | None] = mapped_column(String(255))
    support_email: Mapped[str | None] = mapped_column(String(255))
    auto_resolve_duration: Mapped[int | None]
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Highest display id handed out; advanced under the account row's lock so ids never collide.
    conversation_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    avatar_url: Mapped[str | None] = mapped_column(Text)
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confirmed: Mapped[bool] = mapped_column(default=True)
    type: Mapped[str] = mapped_column(String(16), default="user")


class AccountUser(Timestamped, Base):
    """A user's membership of an account: what the API calls an agent."""

    __tablename__ = "account_users"
    __table_args__ = (UniqueConstraint("account_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="agent")
    availability: Mapped[str] = mapped_column(String(16), default="online")
    auto_offline: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)


class PlatformApp(Timestamped, Base):
    __tablename__ = "platform_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class PlatformAppPermissible(Base):
    """An account a platform app may act on (as an administrator)."""

    __tablename__ = "platform_app_permissibles"

    platform_app_id: Mapped[int] = mapped_column(ForeignKey("platform_apps.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


class AccessToken(Base):
    """An API token, kept only as its SHA-256 digest."""

    __tablename__ = "access_tokens"
    __table_args__ = (Index(None, "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner_type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(255))
    # A legacy client's token registered as an alias works only on that provider's surface.
    surface: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Inbox(Timestamped, Base):
    __tablename__ = "inboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    name: Mapped[str] = mapped_column(String(255))
    channel_type: Mapped[str] = mapped_column(String(32))
    website_url: Mapped[str | None] = mapped_column(Text)
    website_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    inbox_identifier: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(255))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    greeting_enabled: Mapped[bool] = mapped_column(default=False)
    greeting_message: Mapped[str | None] = mapped_column(Text)
    working_hours_enabled: Mapped[bool] = mapped_column(default=False)
    working_hours: Mapped[list[Any]] = mapped_column(default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    out_of_office_message: Mapped[str | None] = mapped_column(Text)
    enable_auto_assignment: Mapped[bool] = mapped_column(default=True)
    channel_config: Mapped[dict[str, Any]] = mapped_column(default=dict)


class InboxMember(Base):
    __tablename__ = "inbox_members"

    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = account_fk()


class Team(Timestamped, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    allow_auto_assign: Mapped[bool] = mapped_column(default=True)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = account_fk()


class Company(Timestamped, Base):
    __tablename__ = "companies"
    __table_args__ = (Index(None, "account_id", "name"), Index(None, "account_id", "domain"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    name: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(String(255))
    employee_count: Mapped[int | None]
    annual_revenue: Mapped[Decimal | None] = mapped_column(DecimalText)
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    social_links: Mapped[dict[str, Any]] = mapped_column(default=dict)
    avatar_url: Mapped[str | None] = mapped_column(Text)
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Contact(Timestamped, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("account_id", "email"),
        UniqueConstraint("account_id", "identifier"),
        Index(None, "account_id", "name"),
        Index(None, "account_id", "phone_number"),
        Index(None, "account_id", "created_at"),
        Index(None, "account_id", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone_number: Mapped[str | None] = mapped_column(String(64))
    avatar_url: Mapped[str | None] = mapped_column(Text)
    identifier: Mapped[str | None] = mapped_column(String(255))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(32))
    blocked: Mapped[bool] = mapped_column(default=False)
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    additional_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"), index=True)
    last_activity_at: Mapped[dt.datetime | None]


class Activity(Timestamped, Base):
    """A logged call, email, meeting, note or task on a contact (or company)."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    activity_type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class Conversation(Timestamped, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("account_id", "display_id"),
        Index(None, "account_id", "status", "last_activity_at"),
        Index(None, "account_id", "assignee_id"),
        Index(None, "account_id", "inbox_id"),
        Index(None, "account_id", "team_id"),
        Index(None, "account_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    display_id: Mapped[int] = mapped_column(BigInteger)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="none")
    snoozed_until: Mapped[dt.datetime | None]
    muted: Mapped[bool] = mapped_column(default=False)
    spam: Mapped[bool] = mapped_column(default=False)
    custom_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    additional_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_activity_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_reply_created_at: Mapped[dt.datetime | None]
    waiting_since: Mapped[dt.datetime | None]
    agent_last_seen_at: Mapped[dt.datetime | None]
    contact_last_seen_at: Mapped[dt.datetime | None]


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"
    __table_args__ = (Index(None, "account_id", "title"),)

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))


class Message(Timestamped, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index(None, "conversation_id", "created_at"),
        Index(None, "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    content: Mapped[str | None] = mapped_column(Text)
    message_type: Mapped[str] = mapped_column(String(16))
    private: Mapped[bool] = mapped_column(default=False)
    content_type: Mapped[str] = mapped_column(String(32), default="text")
    content_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    additional_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sender_type: Mapped[str | None] = mapped_column(String(16))
    sender_id: Mapped[int | None]
    source_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="sent")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    # None while an upload waits to be linked to a message (legacy APIs upload first, then reference ids).
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    file_type: Mapped[str] = mapped_column(String(16), default="file")
    size: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(512))
    external_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Label(Timestamped, Base):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("account_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    color: Mapped[str] = mapped_column(String(16), default="#1f93ff")
    show_on_sidebar: Mapped[bool] = mapped_column(default=True)


class CannedResponse(Timestamped, Base):
    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("account_id", "short_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    short_code: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)


class AutomationRule(Timestamped, Base):
    __tablename__ = "automation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    event_name: Mapped[str] = mapped_column(String(64))
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    actions: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)


class Webhook(Timestamped, Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    url: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(255))
    subscriptions: Mapped[list[Any]] = mapped_column(default=list)


class WebhookDelivery(Base):
    """One event owed to one webhook: the outbox the delivery worker drains."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]


class CustomAttributeDefinition(Timestamped, Base):
    __tablename__ = "custom_attribute_definitions"
    __table_args__ = (UniqueConstraint("account_id", "attribute_model", "attribute_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    attribute_display_name: Mapped[str] = mapped_column(String(255))
    attribute_key: Mapped[str] = mapped_column(String(255))
    attribute_display_type: Mapped[str] = mapped_column(String(16))
    attribute_model: Mapped[str] = mapped_column(String(32))
    attribute_description: Mapped[str | None] = mapped_column(Text)
    attribute_values: Mapped[list[Any]] = mapped_column(default=list)
    default_value: Mapped[str | None] = mapped_column(Text)
    regex_pattern: Mapped[str | None] = mapped_column(Text)
    regex_cue: Mapped[str | None] = mapped_column(Text)


class Campaign(Timestamped, Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    enabled: Mapped[bool] = mapped_column(default=True)
    campaign_type: Mapped[str] = mapped_column(String(16), default="ongoing")
    campaign_status: Mapped[str] = mapped_column(String(16), default="active")
    audience: Mapped[list[Any]] = mapped_column(default=list)
    scheduled_at: Mapped[dt.datetime | None]
    trigger_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    trigger_only_during_business_hours: Mapped[bool] = mapped_column(default=False)


class LegacyTenant(Base):
    """A legacy helpdesk's tenant (SupportBee company, Smartsupp account, Chatwoot account) bound to an account."""

    __tablename__ = "legacy_tenants"
    __table_args__ = (UniqueConstraint("provider", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    provider: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ExternalRef(Base):
    """Identity across systems: (account, provider, kind, external id) is one internal id, both ways."""

    __tablename__ = "external_refs"
    __table_args__ = (
        UniqueConstraint("account_id", "provider", "kind", "external_id"),
        UniqueConstraint("account_id", "provider", "kind", "internal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    internal_id: Mapped[int] = mapped_column(BigInteger)
    source_updated_at: Mapped[dt.datetime | None]
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    # What a legacy system held for this object that its Supportly row has no column for.
    kept: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MigrationJob(Base):
    """A data migration from a legacy helpdesk into one account, with its checkpoint, lease and statistics."""

    __tablename__ = "migration_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = account_fk()
    source: Mapped[str] = mapped_column(String(32))
    # pending, in_progress, completed, failed, cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Fernet ciphertext of the source's credentials (bridge.crypto); never rendered, never logged.
    credentials: Mapped[str] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(default=False)
    since: Mapped[dt.datetime | None]
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    totals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    records_imported: Mapped[int] = mapped_column(default=0)
    total_records: Mapped[int] = mapped_column(default=0)
    progress: Mapped[int] = mapped_column(default=0)
    records_per_second: Mapped[float | None]
    eta_seconds: Mapped[int | None]
    checkpoint: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class MigrationFailure(Base):
    """A record a migration skipped or failed to load (or a lossy mapping note), for the failures report."""

    __tablename__ = "migration_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("migration_jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    # skipped, failed, or lossy (imported, but something had no place in the Supportly model)
    outcome: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
