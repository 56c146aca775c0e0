"""Canonical Supportly objects: what mappings produce and what ``bridge.store`` accepts.

Every field is optional on input so one model serves create and partial update; ``model_fields_set``
tells the store which fields an update touches. Timestamps and authors are honoured only in import mode.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator

Role = Literal["administrator", "agent"]
Availability = Literal["online", "busy", "offline"]
ChannelType = Literal["web_widget", "email", "api"]
ConversationStatus = Literal["open", "resolved", "pending", "snoozed"]
Priority = Literal["none", "low", "medium", "high", "urgent"]
MessageType = Literal["incoming", "outgoing", "activity", "template"]
SenderType = Literal["agent", "contact", "bot"]
LifecycleStage = Literal["lead", "mql", "sql", "opportunity", "customer", "evangelist", "other"]
ContactSource = Literal["website", "referral", "organic", "paid", "social", "email", "event", "partner", "other"]
ActivityType = Literal["call", "email", "meeting", "note", "task"]
AttributeDisplayType = Literal["text", "number", "currency", "percent", "link", "date", "list", "checkbox"]
AttributeModel = Literal["conversation_attribute", "contact_attribute"]
WebhookEvent = Literal[
    "conversation_created",
    "conversation_status_changed",
    "conversation_updated",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    "webwidget_triggered",
]
WEBHOOK_EVENTS: tuple[str, ...] = get_args(WebhookEvent)

_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
_E164ISH = re.compile(r"^\+?[0-9][0-9 ()./-]{2,30}$")


class Canonical(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    def changes(self) -> dict[str, Any]:
        """Return only the fields the caller actually set."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class Stamps(Canonical):
    """Original timestamps; kept only by imports."""

    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class AccountData(Canonical):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    locale: str | None = Field(default=None, min_length=2, max_length=16)
    domain: str | None = Field(default=None, max_length=255)
    support_email: EmailStr | None = None
    auto_resolve_duration: int | None = Field(default=None, ge=1, le=999)
    custom_attributes: dict[str, Any] | None = None


class AgentData(Stamps):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = None
    role: Role | None = None
    availability: Availability | None = None
    auto_offline: bool | None = None
    avatar_url: str | None = None
    active: bool | None = None

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class TeamData(Stamps):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    allow_auto_assign: bool | None = None


class InboxData(Stamps):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    channel_type: ChannelType | None = None
    website_url: str | None = None
    email: EmailStr | None = None
    webhook_url: str | None = None
    greeting_enabled: bool | None = None
    greeting_message: str | None = None
    working_hours_enabled: bool | None = None
    working_hours: list[dict[str, Any]] | None = None
    timezone: str | None = None
    out_of_office_message: str | None = None
    enable_auto_assignment: bool | None = None
    channel_config: dict[str, Any] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value


class CompanyData(Stamps):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    domain: str | None = Field(default=None, max_length=255)
    description: str | None = None
    industry: str | None = Field(default=None, max_length=255)
    employee_count: int | None = Field(default=None, ge=0)
    annual_revenue: Decimal | None = Field(default=None, ge=0, max_digits=20, decimal_places=2)
    phone: str | None = Field(default=None, max_length=64)
    address: str | None = None
    social_links: dict[str, str] | None = None
    avatar_url: str | None = None
    custom_attributes: dict[str, Any] | None = None


class ContactData(Stamps):
    name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = None
    phone_number: str | None = Field(default=None, max_length=64)
    avatar_url: str | None = None
    identifier: str | None = Field(default=None, max_length=255)
    lifecycle_stage: LifecycleStage | None = None
    source: ContactSource | None = None
    blocked: bool | None = None
    custom_attributes: dict[str, Any] | None = None
    additional_attributes: dict[str, Any] | None = None
    company_id: int | None = None
    last_activity_at: dt.datetime | None = None

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("phone_number")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value and not _E164ISH.match(value):
            raise ValueError("must be a phone number such as +1234567890")
        return value


class ActivityData(Stamps):
    activity_type: ActivityType | None = None
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    due_date: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    user_id: int | None = None
    metadata: dict[str, Any] | None = None


class ConversationData(Stamps):
    inbox_id: int | None = None
    contact_id: int | None = None
    display_id: int | None = Field(default=None, ge=1)
    assignee_id: int | None = None
    team_id: int | None = None
    status: ConversationStatus | None = None
    priority: Priority | None = None
    snoozed_until: dt.datetime | None = None
    muted: bool | None = None
    spam: bool | None = None
    labels: list[str] | None = None
    custom_attributes: dict[str, Any] | None = None
    additional_attributes: dict[str, Any] | None = None
    last_activity_at: dt.datetime | None = None
    first_reply_created_at: dt.datetime | None = None


class AttachmentData(Canonical):
    file_name: str = Field(min_length=1, max_length=255)
    content_type: str = "application/octet-stream"
    data: bytes | None = None
    external_url: str | None = None
    created_at: dt.datetime | None = None


class MessageData(Stamps):
    content: str | None = None
    message_type: MessageType | None = None
    private: bool | None = None
    content_type: str | None = None
    content_attributes: dict[str, Any] | None = None
    additional_attributes: dict[str, Any] | None = None
    sender_type: SenderType | None = None
    sender_id: int | None = None
    source_id: str | None = None
    status: Literal["sent", "delivered", "read", "failed"] | None = None
    attachments: list[AttachmentData] = Field(default_factory=list)


class LabelData(Stamps):
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    color: str | None = None
    show_on_sidebar: bool | None = None

    @field_validator("title")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if any(ch.isspace() for ch in value):
            raise ValueError("must not contain spaces")
        return value.lower()

    @field_validator("color")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not _HEX_COLOR.match(value):
            raise ValueError("must be a hex colour such as #FF5733")
        return value


class CannedResponseData(Stamps):
    short_code: str | None = Field(default=None, min_length=1, max_length=255)
    content: str | None = Field(default=None, min_length=1)


AutomationEvent = Literal[
    "conversation_created",
    "conversation_updated",
    "conversation_status_changed",
    "message_created",
    "contact_created",
    "contact_updated",
]
AutomationActionName = Literal[
    "assign_an_agent",
    "assign_a_team",
    "add_label",
    "remove_label",
    "send_message",
    "mute_conversation",
    "resolve_conversation",
    "snooze_conversation",
]
AUTOMATION_ACTIONS: tuple[str, ...] = get_args(AutomationActionName)


class _ConditionShape(BaseModel):
    model_config = ConfigDict(extra="allow")

    attribute_key: str = Field(min_length=1)
    filter_operator: str = Field(min_length=1)
    values: list[Any]
    query_operator: Literal["and", "or", "AND", "OR"] | None = None


class _ActionShape(BaseModel):
    model_config = ConfigDict(extra="allow")

    action_name: AutomationActionName
    action_params: list[Any] | None = None


def _shaped(shape: type[BaseModel]) -> AfterValidator:
    """Check a JSON object against ``shape`` but keep it as the plain dict the client sent."""

    def check(item: dict[str, Any]) -> dict[str, Any]:
        try:
            shape.model_validate(item)
        except ValidationError as err:
            first = err.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{where}: {first['msg']}") from err
        return item

    return AfterValidator(check)


# Stored as JSON exactly as given (the rule engine reads dicts), but validated item by item so a
# bad item is reported as ``conditions.<n>`` / ``actions.<n>``.
AutomationCondition = Annotated[dict[str, Any], _shaped(_ConditionShape)]
AutomationAction = Annotated[dict[str, Any], _shaped(_ActionShape)]


class AutomationRuleData(Stamps):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    event_name: AutomationEvent | None = None
    conditions: list[AutomationCondition] | None = None
    actions: list[AutomationAction] | None = Field(default=None, min_length=1)
    active: bool | None = None


class WebhookData(Stamps):
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    name: str | None = Field(default=None, max_length=255)
    subscriptions: list[WebhookEvent] | None = Field(default=None, min_length=1)

    @field_validator("subscriptions")
    @classmethod
    def _unique(cls, value: list[WebhookEvent] | None) -> list[WebhookEvent] | None:
        return None if value is None else list(dict.fromkeys(value))


class CustomAttributeData(Stamps):
    attribute_display_name: str | None = Field(default=None, min_length=1, max_length=255)
    attribute_key: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$", max_length=255)
    attribute_display_type: AttributeDisplayType | None = None
    attribute_model: AttributeModel | None = None
    attribute_description: str | None = None
    attribute_values: list[str] | None = None
    default_value: str | None = None
    regex_pattern: str | None = None
    regex_cue: str | None = None


class CampaignData(Stamps):
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    message: str | None = Field(default=None, min_length=1)
    inbox_id: int | None = None
    sender_id: int | None = None
    enabled: bool | None = None
    campaign_type: Literal["ongoing", "one_off"] | None = None
    audience: list[dict[str, Any]] | None = None
    scheduled_at: dt.datetime | None = None
    trigger_rules: dict[str, Any] | None = None
    trigger_only_during_business_hours: bool | None = None

    @field_validator("scheduled_at")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return value
        try:
            return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        except OverflowError as err:
            raise ValueError("is out of range") from err


def slugify_key(display_name: str) -> str:
    """Derive an attribute key from its display name (``Subscription Plan`` → ``subscription_plan``)."""
    key = re.sub(r"[^a-z0-9]+", "_", display_name.lower()).strip("_")
    return key or "attribute"


# -- records: canonical objects as stored, with their ids (what reverse mappings read) ------------
class ContactRecord(ContactData):
    id: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CompanyRecord(CompanyData):
    id: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AgentRecord(AgentData):
    id: int


class TeamRecord(TeamData):
    id: int
    member_ids: list[int] = Field(default_factory=list)


class InboxRecord(InboxData):
    id: int


class LabelRecord(LabelData):
    id: int


class CannedResponseRecord(CannedResponseData):
    id: int


class AutomationRuleRecord(AutomationRuleData):
    id: int


class AttachmentRecord(Canonical):
    id: int
    message_id: int
    file_name: str
    content_type: str
    size: int
    checksum: str
    url: str
    created_at: dt.datetime


class MessageRecord(MessageData):
    """A stored message; ``attachments`` of the input side are replaced by stored attachment records."""

    id: int
    conversation_id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    stored_attachments: list[AttachmentRecord] = Field(default_factory=list)


class ConversationRecord(ConversationData):
    """A stored conversation; ``id`` is internal, ``display_id`` is what clients see."""

    id: int
    display_id: int
    labels: list[str] = Field(default_factory=list)
    created_at: dt.datetime
    updated_at: dt.datetime
