"""Render model rows as the native API's JSON (Chatwoot-style shapes; Unix seconds for thread times)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bridge.models import (
    Account,
    AccountUser,
    Activity,
    Attachment,
    AutomationRule,
    Campaign,
    CannedResponse,
    Company,
    Contact,
    Conversation,
    CustomAttributeDefinition,
    Inbox,
    Label,
    Message,
    Team,
    User,
    Webhook,
)

AVAILABILITY_OUT = {"online": "available", "busy": "busy", "offline": "offline"}


def unix(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def iso(value: dt.datetime | None) -> str | None:
    """Format as ``2026-03-07T10:00:00.000Z``."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def account(row: Account, role: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "locale": row.locale,
        "domain": row.domain,
        "support_email": row.support_email,
        "auto_resolve_duration": row.auto_resolve_duration,
        "custom_attributes": row.custom_attributes,
        "status": row.status,
        "features": {},
        "created_at": iso(row.created_at),
    }
    if role:
        data["role"] = role
    return data


def agent(user: User, membership: AccountUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "account_id": membership.account_id,
        "availability_status": AVAILABILITY_OUT.get(membership.availability, membership.availability),
        "auto_offline": membership.auto_offline,
        "confirmed": user.confirmed,
        "email": user.email,
        "available_name": user.display_name or user.name,
        "name": user.name,
        "display_name": user.display_name,
        "role": membership.role,
        "thumbnail": user.avatar_url or "",
        "custom_role_id": None,
        "active": membership.active,
    }


def team(row: Team, *, is_member: bool = False) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "allow_auto_assign": row.allow_auto_assign,
        "account_id": row.account_id,
        "is_member": is_member,
    }


def inbox(row: Inbox) -> dict[str, Any]:
    """Chatwoot's ``inbox``: channel settings it keeps per channel live in ``channel_config`` here."""
    config = row.channel_config or {}
    return {
        "id": row.id,
        "account_id": row.account_id,
        "name": row.name,
        "channel_type": row.channel_type,
        "channel_id": row.id,
        "website_url": row.website_url,
        "website_token": row.website_token,
        "inbox_identifier": row.inbox_identifier,
        "email": row.email,
        "webhook_url": row.webhook_url,
        "greeting_enabled": row.greeting_enabled,
        "greeting_message": row.greeting_message,
        "working_hours_enabled": row.working_hours_enabled,
        "working_hours": row.working_hours,
        "timezone": row.timezone,
        "out_of_office_message": row.out_of_office_message,
        "enable_auto_assignment": row.enable_auto_assignment,
        "channel_config": config,
        "avatar_url": "",
        "widget_color": config.get("widget_color"),
        "welcome_title": config.get("welcome_title"),
        "welcome_tagline": config.get("welcome_tagline"),
        "callback_webhook_url": row.webhook_url,
        "enable_email_collect": config.get("enable_email_collect", True),
        "csat_survey_enabled": config.get("csat_survey_enabled", False),
        "allow_messages_after_resolved": config.get("allow_messages_after_resolved", True),
        "lock_to_single_conversation": config.get("lock_to_single_conversation", False),
        "sender_name_type": config.get("sender_name_type", "friendly"),
        "business_name": config.get("business_name"),
    }


def decimal_text(value: Decimal | None) -> str | None:
    """Format money like Rails' BigDecimal: ``5000000`` → ``"5000000.0"``, ``1234.50`` → ``"1234.5"``."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def company(row: Company, contacts_count: int = 0) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "domain": row.domain,
        "description": row.description,
        "industry": row.industry,
        "employee_count": row.employee_count,
        "annual_revenue": decimal_text(row.annual_revenue),
        "phone": row.phone,
        "address": row.address,
        "social_links": row.social_links,
        "contacts_count": contacts_count,
        "avatar_url": row.avatar_url,
        "custom_attributes": row.custom_attributes,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def contact(row: Contact) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "phone_number": row.phone_number,
        "avatar_url": row.avatar_url,
        "thumbnail": row.avatar_url or "",
        "identifier": row.identifier,
        "lifecycle_stage": row.lifecycle_stage,
        "source": row.source,
        "blocked": row.blocked,
        "custom_attributes": row.custom_attributes,
        "additional_attributes": row.additional_attributes,
        "company_id": row.company_id,
        "availability_status": "offline",
        "last_activity_at": unix(row.last_activity_at),
        "created_at": unix(row.created_at),
        "updated_at": unix(row.updated_at),
    }


def activity(row: Activity) -> dict[str, Any]:
    return {
        "id": row.id,
        "activity_type": row.activity_type,
        "title": row.title,
        "description": row.description,
        "due_date": iso(row.due_date),
        "completed_at": iso(row.completed_at),
        "user_id": row.user_id,
        "contact_id": row.contact_id,
        "metadata": row.metadata_,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def attachment(row: Attachment, base_url: str) -> dict[str, Any]:
    url = row.external_url or f"{base_url}/api/v1/accounts/{row.account_id}/attachments/{row.id}/file"
    return {
        "id": row.id,
        "message_id": row.message_id,
        "file_type": row.file_type,
        "account_id": row.account_id,
        "file_name": row.file_name,
        "content_type": row.content_type,
        "file_size": row.size,
        "checksum": row.checksum,
        "data_url": url,
        "created_at": unix(row.created_at),
    }


def message(
    row: Message,
    *,
    conversation_display_id: int,
    attachments: Sequence[Attachment] = (),
    base_url: str = "",
) -> dict[str, Any]:
    return {
        "id": row.id,
        "content": row.content,
        "account_id": row.account_id,
        "inbox_id": row.inbox_id,
        "conversation_id": conversation_display_id,
        "message_type": row.message_type,
        "private": row.private,
        "content_type": row.content_type,
        "content_attributes": row.content_attributes,
        "additional_attributes": row.additional_attributes,
        "sender_type": row.sender_type,
        "sender_id": row.sender_id,
        "source_id": row.source_id,
        "status": row.status,
        "created_at": unix(row.created_at),
        "updated_at": unix(row.updated_at),
        "attachments": [attachment(a, base_url) for a in attachments],
    }


def conversation(
    row: Conversation,
    *,
    labels: Sequence[str] = (),
    contact_row: Contact | None = None,
    assignee: User | None = None,
    team_row: Team | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    return {
        "id": row.display_id,
        "account_id": row.account_id,
        "uuid": row.uuid,
        "inbox_id": row.inbox_id,
        "contact_id": row.contact_id,
        "assignee_id": row.assignee_id,
        "team_id": row.team_id,
        "status": row.status,
        "priority": row.priority,
        "snoozed_until": unix(row.snoozed_until),
        "muted": row.muted,
        "spam": row.spam,
        "labels": list(labels),
        "custom_attributes": row.custom_attributes,
        "additional_attributes": row.additional_attributes,
        "can_reply": True,
        "unread_count": 0,
        "agent_last_seen_at": unix(row.agent_last_seen_at),
        "contact_last_seen_at": unix(row.contact_last_seen_at),
        "first_reply_created_at": unix(row.first_reply_created_at),
        "waiting_since": unix(row.waiting_since),
        "last_activity_at": unix(row.last_activity_at),
        "created_at": unix(row.created_at),
        "updated_at": unix(row.updated_at),
        "timestamp": unix(row.last_activity_at),
        "meta": {
            "sender": contact(contact_row) if contact_row is not None else None,
            "assignee": _user_brief(assignee),
            "team": {"id": team_row.id, "name": team_row.name} if team_row is not None else None,
            "channel": channel,
        },
    }


def _user_brief(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "name": user.name,
        "available_name": user.display_name or user.name,
        "email": user.email,
        "thumbnail": user.avatar_url or "",
        "type": "user",
    }


def label(row: Label) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "color": row.color,
        "show_on_sidebar": row.show_on_sidebar,
    }


def canned_response(row: CannedResponse) -> dict[str, Any]:
    return {
        "id": row.id,
        "account_id": row.account_id,
        "short_code": row.short_code,
        "content": row.content,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def automation_rule(row: AutomationRule) -> dict[str, Any]:
    return {
        "id": row.id,
        "account_id": row.account_id,
        "name": row.name,
        "description": row.description,
        "event_name": row.event_name,
        "conditions": row.conditions,
        "actions": row.actions,
        "active": row.active,
        "created_on": unix(row.created_at),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def webhook(row: Webhook) -> dict[str, Any]:
    return {
        "id": row.id,
        "account_id": row.account_id,
        "url": row.url,
        "name": row.name,
        "subscriptions": row.subscriptions,
    }


def custom_attribute(row: CustomAttributeDefinition) -> dict[str, Any]:
    return {
        "id": row.id,
        "attribute_display_name": row.attribute_display_name,
        "attribute_display_type": row.attribute_display_type,
        "attribute_description": row.attribute_description,
        "attribute_key": row.attribute_key,
        "regex_pattern": row.regex_pattern,
        "regex_cue": row.regex_cue,
        "attribute_values": row.attribute_values,
        "attribute_model": row.attribute_model,
        "default_value": row.default_value,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def campaign(row: Campaign, *, inbox_row: Inbox | None = None, sender: User | None = None) -> dict[str, Any]:
    """Render a campaign; like Chatwoot it embeds its inbox and sender (``inbox_id``/``sender_id`` kept too)."""
    return {
        "id": row.id,
        "account_id": row.account_id,
        "title": row.title,
        "description": row.description,
        "message": row.message,
        "inbox_id": row.inbox_id,
        "inbox": inbox(inbox_row) if inbox_row is not None else None,
        "sender_id": row.sender_id,
        "sender": _user_brief(sender),
        "enabled": row.enabled,
        "campaign_type": row.campaign_type,
        "campaign_status": row.campaign_status,
        "audience": row.audience,
        "scheduled_at": unix(row.scheduled_at),
        "trigger_rules": row.trigger_rules,
        "trigger_only_during_business_hours": row.trigger_only_during_business_hours,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }
