"""SupportBee ⇄ Supportly, both directions, pure: no I/O, no session, no clock.

Implements the payloads of ``specs/supportbee-api.txt``: "Fetch Tickets", "Search Tickets", "Create Ticket" and
"Get Ticket" (ticket ⇄ conversation, with the requester, cc/bcc and the ticket's own content as the first message),
"Actions On Tickets" (archive ⇄ resolved, answered, star, spam, trash; user and team assignment), "Fetching Replies",
"Create Reply" and "Replying on behalf of an agent" (reply ⇄ incoming or outgoing message), "Fetching Comments" and
"Create Comment" (comment ⇄ private note), "Fetching Users and Customer Groups", "Show User", "Create users",
"Update a User" and "Fetching Members of a Customer Group" (agent/admin/collaborator ⇄ agent, customer ⇄ contact,
customer group ⇄ company; role codes 20/10/9), "Fetching Labels" and "Adding Label to a Ticket" (label ⇄ label),
"Fetching Teams" (team ⇄ team), "Create Attachment" (attachment ⇄ attachment), "Fetching Snippets" and
"Create Snippet" (snippet ⇄ canned response), "Creating Filters" (rule + consequence + filter ⇄ automation rule),
"Fetching Emails" and "Create Email" (forwarding address ⇄ email inbox), "Reports" and "Date Format".

What SupportBee holds and Supportly has no field for is kept so the round trip is lossless:

* conversations, contacts and messages: ``additional_attributes["supportbee"]``;
* companies: ``custom_attributes["supportbee"]``; email inboxes: ``channel_config["supportbee"]``;
* agents, teams, labels, canned responses, automation rules and attachments have no JSON column of their own:
  their ``*Import.kept`` is for the caller to store, and comes back through ``LegacyRefs.kept``.

A kept block holds up to two generic parts besides the named keys documented on each function: ``"set"``, wire
values Supportly cannot derive, and ``"shadow"``, ``{key: {"wire": …, "canonical": …}}`` for values Supportly
holds in a normalised form (a lower-cased email, a label slug, text derived from html). A shadow is honoured only
while the canonical value is still the one it was recorded against, so an edit made in Supportly wins.

Every lossy step is logged as ``supportbee_mapping_lossy`` (``kind``, ``field``, ``external_id``, ``reason``) and
returned in the result's ``lossy`` list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
)
from pydantic import ValidationError as PydanticValidationError

from bridge.logs import get_logger
from bridge.schemas import (
    AgentData,
    AgentRecord,
    AttachmentData,
    AttachmentRecord,
    AutomationRuleData,
    AutomationRuleRecord,
    CannedResponseData,
    CannedResponseRecord,
    CompanyData,
    CompanyRecord,
    ContactData,
    ContactRecord,
    ConversationData,
    ConversationRecord,
    InboxData,
    InboxRecord,
    LabelData,
    LabelRecord,
    MessageData,
    MessageRecord,
    TeamData,
    TeamRecord,
)

LOSSY_EVENT: Final = "supportbee_mapping_lossy"
PROVIDER: Final = "supportbee"
_log = get_logger(__name__)


# -- wire primitives ---------------------------------------------------------------------------------
def format_time(value: dt.datetime | None) -> str | None:
    """Format a time as SupportBee does: ``2012-01-18T15:17:33Z`` (UTC, whole seconds)."""
    if value is None:
        return None
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


SBTime = Annotated[
    dt.datetime,
    AfterValidator(_utc),
    PlainSerializer(lambda value: format_time(value), return_type=str, when_used="json"),
]
SBRoleName = Literal["admin", "agent", "collaborator", "customer"]
SBUserType = Literal["user", "customer_group"]
UserShape = Literal["embedded", "full"]

ROLE_CODES: Final[Mapping[int, SBRoleName]] = {20: "admin", 10: "agent", 9: "collaborator"}
"""The numeric role codes of "Create users" / "Update a User"."""
_ROLE_NAMES: Final[Mapping[str, SBRoleName]] = {
    "admin": "admin",
    "agent": "agent",
    "collaborator": "collaborator",
    "customer": "customer",
}


def role_from_code(code: int | str | None) -> SBRoleName:
    """Read a ``role`` given to "Create users": 20 admin, 10 agent, 9 collaborator, absent customer."""
    if code is None or code == "":
        return "customer"
    if isinstance(code, str) and not code.strip().isdigit():
        name = _ROLE_NAMES.get(code.strip().lower())
        if name is None:
            raise ValueError(f"unknown SupportBee role {code!r}")
        return name
    number = int(code)
    if number not in ROLE_CODES:
        raise ValueError(f"unknown SupportBee role code {code!r}")
    return ROLE_CODES[number]


class SBModel(BaseModel):
    """A SupportBee wire object: unknown keys are kept; ``to_wire`` gives back exactly the keys that were set."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True)

    def to_wire(self) -> dict[str, Any]:
        """Dump to the wire: the keys that were given, in SupportBee's value formats."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# -- legacy models -----------------------------------------------------------------------------------
class SBPicture(SBModel):
    thumb20: str | None = None
    thumb24: str | None = None
    thumb32: str | None = None
    thumb48: str | None = None
    thumb64: str | None = None
    thumb128: str | None = None
    thumb256: str | None = None


class SBTeam(SBModel):
    id: int
    name: str | None = None
    picture: SBPicture | None = None


class SBUser(SBModel):
    """A user: agent, admin, collaborator or customer, or (``type`` customer_group) a customer group."""

    id: int
    type: SBUserType | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    role: SBRoleName | None = None
    agent: bool | None = None
    two_factor_authentication_enabled: bool | None = None
    picture: SBPicture | None = None
    can_members_access_group_tickets: bool | None = None
    email_domains: list[str] | None = None
    members_count: int | None = None
    active_tickets_count: int | None = None
    requested_tickets_count: int | None = None
    teams: list[SBTeam] | None = None


class SBAttachmentUrl(SBModel):
    original: str | None = None
    thumb: str | None = None


class SBAttachment(SBModel):
    id: int
    created_at: SBTime | None = None
    filename: str | None = None
    content_type: str | None = None
    url: SBAttachmentUrl | None = None


class SBContent(SBModel):
    """Content of a ticket, reply, comment or snippet (``body`` is what "Fetching Replies" shows for ``text``)."""

    text: str | None = None
    body: str | None = None
    html: str | None = None
    attachments: list[SBAttachment] | None = None
    attachment_ids: list[int] | None = None


class SBSource(SBModel):
    email: str | None = None


class SBLabel(SBModel):
    """A label as "Fetching Labels" lists it and as a ticket's ``labels`` carry it."""

    name: str | None = None
    color: str | None = None


class SBUserAssignee(SBModel):
    user: SBUser


class SBTeamAssignee(SBModel):
    team: SBTeam


class SBTicket(SBModel):
    id: int
    subject: str | None = None
    replies_count: int | None = None
    comments_count: int | None = None
    last_activity_at: SBTime | None = None
    created_at: SBTime | None = None
    unanswered: bool | None = None
    archived: bool | None = None
    spam: bool | None = None
    trash: bool | None = None
    starred: bool | None = None
    summary: str | None = None
    source: SBSource | None = None
    cc: list[SBUser] | None = None
    bcc: list[SBUser] | None = None
    labels: list[SBLabel] | None = None
    current_user_assignee: SBUserAssignee | None = None
    current_team_assignee: SBTeamAssignee | None = None
    requester: SBUser | None = None
    content: SBContent | None = None


class SBTicketCounts(SBModel):
    replies_count: int | None = None
    comments_count: int | None = None


class SBTicketRef(SBModel):
    id: int


class SBReply(SBModel):
    id: int
    created_at: SBTime | None = None
    summary: str | None = None
    cc: list[SBUser] | None = None
    bcc: list[SBUser] | None = None
    ticket: SBTicketCounts | None = None
    replier: SBUser | None = None
    content: SBContent | None = None


class SBComment(SBModel):
    id: int
    created_at: SBTime | None = None
    ticket: SBTicketCounts | None = None
    commenter: SBUser | None = None
    content: SBContent | None = None


class SBLabelAssignment(SBModel):
    """Answer of "Adding Label to a Ticket"."""

    id: int
    label: str | None = None
    ticket: int | None = None


class SBUserAssignment(SBModel):
    id: int
    created_at: SBTime | None = None
    ticket: SBTicketRef | None = None
    assignee: SBUserAssignee | None = None


class SBTeamAssignment(SBModel):
    id: int
    created_at: SBTime | None = None
    ticket: SBTicketRef | None = None
    assignee: SBTeamAssignee | None = None


class SBSnippet(SBModel):
    id: int | None = None
    created_at: SBTime | None = None
    name: str | None = None
    tags: str | None = None
    content: SBContent | None = None


class SBRule(SBModel):
    """Which tickets a filter matches ("Creating Filters"); ids look like ``5_20130430051603``."""

    id: str | None = None
    requester_email: str | None = None
    delivered_to: str | None = None
    subject: str | None = None
    body: str | None = None


class SBConsequence(SBModel):
    id: str | None = None
    archive: bool | None = None
    spam: bool | None = None
    trash: bool | None = None
    label: str | None = None
    assign_user: int | str | None = None
    assign_team: int | str | None = None


class SBFilter(SBModel):
    id: str | None = None
    consequence_id: str | None = None
    rule_id: str | None = None


class SBEmail(SBModel):
    """A forwarding address: "Fetching Emails" lists ``id, forward_to, from, name``; "Create Email" answers more."""

    id: int | None = None
    name: str | None = None
    company_id: int | None = None
    email: str | None = None
    from_: str | None = Field(default=None, alias="from")
    forward_to: str | None = None
    filter_spam: bool | None = None
    forwarding_hash: str | None = None
    global_bcc: str | None = None
    created_at: SBTime | None = None
    updated_at: SBTime | None = None
    use_agent_name: bool | None = None


SBForwardingAddress: TypeAlias = SBEmail


class SBDataPoint(SBModel):
    """A report data point: ``value`` in seconds and ``timestamp`` in unix time, both strings."""

    value: str
    timestamp: str


# -- request bodies (what old clients send) ----------------------------------------------------------
Addresses: TypeAlias = list[str] | str


class SBTicketWrite(SBModel):
    subject: str | None = None
    requester_name: str | None = None
    requester_email: str | None = None
    cc: Addresses | None = None
    copied_emails: Addresses | None = None
    bcc: Addresses | None = None
    notify_requester: bool | str | None = None
    content: SBContent | None = None
    attachment_ids: list[int] | None = None
    forwarding_address_id: int | str | None = None


class SBOnBehalfOf(SBModel):
    id: int | None = None
    email: str | None = None


class SBReplyWrite(SBModel):
    cc: Addresses | None = None
    bcc: Addresses | None = None
    content: SBContent | None = None
    on_behalf_of: SBOnBehalfOf | None = None


class SBCommentWrite(SBModel):
    content: SBContent | None = None


class SBUserWrite(SBModel):
    email: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    role: int | str | None = None
    team_ids: list[int] | None = None
    type: SBUserType | None = None
    can_members_access_group_tickets: bool | None = None
    email_domains: list[str] | None = None


class SBMemberRef(SBModel):
    id: int


class SBUserAssignmentWrite(SBModel):
    user_id: int


class SBTeamAssignmentWrite(SBModel):
    team_id: int


# -- envelopes ---------------------------------------------------------------------------------------
class SBTicketList(SBModel):
    total: int | None = None
    current_page: int | None = None
    per_page: int | None = None
    total_pages: int | None = None
    tickets: list[SBTicket]


class SBTicketEnvelope(SBModel):
    ticket: SBTicket


class SBReplyList(SBModel):
    replies: list[SBReply]


class SBReplyEnvelope(SBModel):
    reply: SBReply


class SBCommentList(SBModel):
    comments: list[SBComment]


class SBCommentEnvelope(SBModel):
    comment: SBComment


class SBUserList(SBModel):
    users: list[SBUser]


class SBUserEnvelope(SBModel):
    user: SBUser


class SBMemberEnvelope(SBModel):
    member: SBUser


class SBLabelList(SBModel):
    labels: list[SBLabel]


class SBLabelAssignmentEnvelope(SBModel):
    label: SBLabelAssignment


class SBTeamList(SBModel):
    teams: list[SBTeam]


class SBAttachmentEnvelope(SBModel):
    attachment: SBAttachment


class SBSnippetList(SBModel):
    snippets: list[SBSnippet]


class SBSnippetEnvelope(SBModel):
    snippet: SBSnippet


class SBRuleEnvelope(SBModel):
    rule: SBRule


class SBConsequenceEnvelope(SBModel):
    consequence: SBConsequence


class SBFilterEnvelope(SBModel):
    filter: SBFilter


class SBEmailList(SBModel):
    forwarding_addresses: list[SBEmail]


class SBEmailEnvelope(SBModel):
    forwarding_address: SBEmail


class SBReport(SBModel):
    data_points: list[SBDataPoint]


class SBUserAssignmentEnvelope(SBModel):
    user_assignment: SBUserAssignment


class SBTeamAssignmentEnvelope(SBModel):
    team_assignment: SBTeamAssignment


class SBTicketWriteEnvelope(SBModel):
    ticket: SBTicketWrite


class SBReplyWriteEnvelope(SBModel):
    reply: SBReplyWrite


class SBCommentWriteEnvelope(SBModel):
    comment: SBCommentWrite


class SBUserWriteEnvelope(SBModel):
    user: SBUserWrite


class SBMemberWriteEnvelope(SBModel):
    member: SBMemberRef


class SBSnippetWriteEnvelope(SBModel):
    snippet: SBSnippet


class SBEmailWriteEnvelope(SBModel):
    forwarding_address: SBEmail


class SBUserAssignmentWriteEnvelope(SBModel):
    user_assignment: SBUserAssignmentWrite


class SBTeamAssignmentWriteEnvelope(SBModel):
    team_assignment: SBTeamAssignmentWrite


# -- what the mappings hand over ---------------------------------------------------------------------
RefKind = Literal[
    "conversation",
    "message",
    "agent",
    "contact",
    "company",
    "team",
    "label",
    "attachment",
    "canned_response",
    "inbox",
    "automation_rule",
]
"""Kinds of the external references (``bridge.models.ExternalRef.kind``) a SupportBee import records."""

KeptMap: TypeAlias = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class LossyField:
    """One thing a mapping could not carry over as it was."""

    kind: str
    field: str
    external_id: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class LegacyRefs:
    """What an imported desk's old clients knew that Supportly does not hold itself, keyed by Supportly ids.

    ``ids`` maps ``(kind, Supportly id)`` to the SupportBee id clients stored before the migration (from the
    external-reference table); anything not in it is shown with its Supportly id plus ``offsets[kind]`` (see
    :data:`USER_ID_OFFSETS`), and a conversation with its ``display_id``. ``label_names`` maps a label id to its
    SupportBee name where it differs from the title. ``kept`` holds the ``kept`` of the imports whose records
    have no JSON column (agents, teams, labels, canned responses, automation rules, attachments uploaded alone).
    """

    ids: Mapping[tuple[RefKind, int], int] = field(default_factory=dict)
    label_names: Mapping[int, str] = field(default_factory=dict)
    kept: Mapping[tuple[RefKind, int], KeptMap] = field(default_factory=dict)
    offsets: Mapping[RefKind, int] = field(default_factory=dict)

    def legacy_id(self, kind: RefKind, internal_id: int) -> int:
        """Return the id a SupportBee client knows for this Supportly object."""
        return self.ids.get((kind, internal_id), internal_id + self.offsets.get(kind, 0))

    def kept_for(self, kind: RefKind, internal_id: int) -> KeptMap:
        """Return what an import kept for this object (empty when nothing was)."""
        return self.kept.get((kind, internal_id), {})


NO_LEGACY: Final = LegacyRefs()

CUSTOMER_ID_OFFSET: Final = 1_000_000_000
CUSTOMER_GROUP_ID_OFFSET: Final = 2_000_000_000
USER_ID_OFFSETS: Final[Mapping[RefKind, int]] = {"contact": CUSTOMER_ID_OFFSET, "company": CUSTOMER_GROUP_ID_OFFSET}
"""SupportBee has one id space for agents, customers and customer groups ("Fetching Users and Customer Groups");
Supportly has three (users, contacts, companies). Where no import recorded a SupportBee id, an agent shows its
user id, a customer ``CUSTOMER_ID_OFFSET`` + its contact id and a customer group ``CUSTOMER_GROUP_ID_OFFSET`` +
its company id, so one ``/users`` listing never holds the same id twice."""


def user_id_owner(user_id: int) -> tuple[Literal["agent", "contact", "company"], int]:
    """Decode a SupportBee user id that no import recorded into the Supportly kind and id it stands for."""
    if user_id >= CUSTOMER_GROUP_ID_OFFSET:
        return "company", user_id - CUSTOMER_GROUP_ID_OFFSET
    if user_id >= CUSTOMER_ID_OFFSET:
        return "contact", user_id - CUSTOMER_ID_OFFSET
    return "agent", user_id


@dataclass(frozen=True, kw_only=True)
class ContactImport:
    external_id: str
    data: ContactData
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "contact"


@dataclass(frozen=True, kw_only=True)
class AgentImport:
    external_id: str
    data: AgentData
    kept: dict[str, Any]
    team_external_ids: list[str] = field(default_factory=list)
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "agent"


@dataclass(frozen=True, kw_only=True)
class CompanyImport:
    external_id: str
    data: CompanyData
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "company"


@dataclass(frozen=True, kw_only=True)
class TeamImport:
    external_id: str
    data: TeamData
    kept: dict[str, Any]
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "team"


@dataclass(frozen=True, kw_only=True)
class LabelImport:
    """A label; its ``external_id`` is the SupportBee label name (labels are addressed by name)."""

    external_id: str
    data: LabelData
    kept: dict[str, Any]
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "label"


@dataclass(frozen=True, kw_only=True)
class AttachmentImport:
    external_id: str
    data: AttachmentData
    kept: dict[str, Any]
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "attachment"


@dataclass(frozen=True, kw_only=True)
class MessageImport:
    """A message; ``data.sender_id`` is left for the loader to resolve from ``sender_external_id``.

    ``external_id`` is the reply or comment id, or None for a ticket's own content. ``attachment_external_ids``
    is aligned with ``data.attachments``. ``sender`` is the author as a contact when a customer wrote it.
    """

    external_id: str | None
    data: MessageData
    sender_kind: Literal["agent", "contact"]
    sender_external_id: str | None
    sender: ContactImport | None = None
    attachment_external_ids: list[str] = field(default_factory=list)
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "message"


@dataclass(frozen=True, kw_only=True)
class TicketImport:
    """A ticket: the conversation plus what the loader must resolve or create around it.

    ``conversation.display_id`` is the SupportBee id (keep it where free); ``inbox_id``, ``contact_id``,
    ``assignee_id`` and ``team_id`` are left for the loader to resolve from the plain legacy references.
    """

    external_id: str
    conversation: ConversationData
    requester: ContactImport
    cc: list[ContactImport]
    bcc: list[ContactImport]
    labels: list[LabelImport]
    message: MessageImport
    requester_email: str | None
    assignee_external_id: str | None
    team_external_id: str | None
    source_email: str | None
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "conversation"


@dataclass(frozen=True, kw_only=True)
class CannedResponseImport:
    external_id: str
    data: CannedResponseData
    kept: dict[str, Any]
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "canned_response"


@dataclass(frozen=True, kw_only=True)
class InboxImport:
    external_id: str | None
    data: InboxData
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "inbox"


@dataclass(frozen=True, kw_only=True)
class AutomationImport:
    """A filter; ``data`` is None when no part of it can run in Supportly (it is then only kept)."""

    external_id: str
    data: AutomationRuleData | None
    kept: dict[str, Any]
    assign_user_external_id: str | None
    assign_team_external_id: str | None
    lossy: list[LossyField] = field(default_factory=list)
    kind: RefKind = "automation_rule"


@dataclass(frozen=True, kw_only=True)
class SBFilterParts:
    """The three SupportBee objects one automation rule stands for."""

    rule: SBRule
    consequence: SBConsequence
    filter: SBFilter


@dataclass(frozen=True, kw_only=True)
class TicketParts:
    """A conversation's messages as SupportBee sees them: the ticket's own content, replies and comments."""

    initial: MessageRecord | None
    replies: list[MessageRecord]
    comments: list[MessageRecord]


class UnmappableRecord(ValueError):
    """A SupportBee record that cannot become a Supportly object at all; skip it and count it."""


# -- small helpers -----------------------------------------------------------------------------------
_MISSING: Final = object()
_EMAIL = TypeAdapter(EmailStr)
_USER_SIZES: Final = (20, 24, 32, 48, 64, 128)
_TEAM_SIZES: Final = (20, 24, 32, 48, 256)
_SIZE_PARAM = re.compile(r"([?&]s=)\d+")
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
_TAG = re.compile(r"<[^>]+>")
_LINE_BREAK = re.compile(r"<br\s*/?>|</p>|</div>", re.IGNORECASE)
_PUBLIC_TYPES: Final = ("incoming", "outgoing")

_EMBEDDED_USER_KEYS: Final = ("id", "email", "first_name", "last_name", "name", "role", "agent", "picture")
_FULL_USER_KEYS: Final = (
    "id",
    "type",
    "email",
    "first_name",
    "last_name",
    "name",
    "role",
    "agent",
    "two_factor_authentication_enabled",
    "picture",
    "can_members_access_group_tickets",
    "email_domains",
    "members_count",
    "active_tickets_count",
    "teams",
)
_GROUP_KEYS: Final = (
    "id",
    "type",
    "email",
    "first_name",
    "last_name",
    "name",
    "role",
    "agent",
    "two_factor_authentication_enabled",
    "picture",
    "can_members_access_group_tickets",
    "email_domains",
    "members_count",
    "requested_tickets_count",
)


def _lossy(kind: str, field_name: str, external_id: str | None, reason: str) -> LossyField:
    _log.warning(LOSSY_EVENT, kind=kind, field=field_name, external_id=external_id, reason=reason)
    return LossyField(kind=kind, field=field_name, external_id=external_id, reason=reason)


def _canonical_email(value: str | None) -> str | None:
    """Return the address as Supportly stores it, or None when Supportly would not accept it."""
    if value is None or not value.strip():
        return None
    try:
        return _EMAIL.validate_python(value.strip()).lower()
    except PydanticValidationError:
        return None


def label_title(name: str) -> str:
    """Turn a SupportBee label name into a Supportly label title (lower case, no spaces)."""
    return "_".join(name.lower().split())[:255] or "label"


def gravatar_url(email: str | None) -> str:
    """Return the gravatar SupportBee shows for an address, at 128 px."""
    digest = hashlib.md5((email or "").strip().lower().encode(), usedforsecurity=False).hexdigest()
    return f"https://secure.gravatar.com/avatar/{digest}.png?r=PG&s=128"


def _sized(url: str, size: int) -> str:
    return _SIZE_PARAM.sub(lambda match: f"{match.group(1)}{size}", url, count=1)


def user_picture(avatar_url: str) -> SBPicture:
    """Expand one avatar URL into SupportBee's ``thumb20``…``thumb128`` (gravatar ``s=`` sizes)."""
    return SBPicture.model_validate({f"thumb{size}": _sized(avatar_url, size) for size in _USER_SIZES})


def team_picture() -> SBPicture:
    """Return the picture SupportBee gives a team."""
    return SBPicture.model_validate(
        {f"thumb{size}": f"/images/teams/speech-balloon-orange-g{size}.png" for size in _TEAM_SIZES}
    )


def _avatar_of(picture: SBPicture | None) -> str | None:
    if picture is None:
        return None
    for candidate in (picture.thumb128, picture.thumb64, picture.thumb256, picture.thumb48, picture.thumb32):
        if candidate:
            return candidate
    return picture.thumb24 or picture.thumb20 or None


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    """Split at the first space, as "Create users" says SupportBee does."""
    if not name:
        return None, None
    first, _, last = name.partition(" ")
    return first, (last or None)


def html_to_text(value: str) -> str:
    """Render html as plain text, for a message or snippet that only has html."""
    return html_lib.unescape(_TAG.sub("", _LINE_BREAK.sub("\n", value))).strip()


def summarize(text: str | None) -> str:
    """Return SupportBee's one-line summary of a text (whitespace collapsed)."""
    return " ".join((text or "").split())


def is_summary_of(summary: Any, text: str | None) -> bool:
    """``summary == summarize(text)``, mostly without building the summary (it splits the text into words).

    The usual text's only whitespace is single spaces and paragraph breaks: if turning its breaks into spaces gives
    ``summary``, and ``summary`` has no whitespace but single spaces inside it, each of the text's runs of
    whitespace was one space or one break, and the summary is the text's. Anything else is checked in full.
    """
    if (
        isinstance(summary, str)
        and text
        and summary == text.replace("\n\n", " ")
        and summary.isprintable()  # no newline, tab or other Unicode whitespace but the ASCII space
        and "  " not in summary
        and summary[0] != " "
        and summary[-1] != " "
    ):
        return True
    return bool(summary == summarize(text))


def _keep(
    *,
    wire: Mapping[str, Any],
    derived: Mapping[str, Any],
    guards: Mapping[str, Any],
    skip: Collection[str] = ("id",),
) -> dict[str, Any]:
    """Record what ``derived`` (the reverse mapping's view) would get wrong about ``wire``."""
    plain: dict[str, Any] = {}
    shadow: dict[str, Any] = {}
    for key, value in wire.items():
        if key in skip or derived.get(key, _MISSING) == value:
            continue
        if key in guards:
            shadow[key] = {"wire": value, "canonical": guards[key]}
        else:
            plain[key] = value
    kept: dict[str, Any] = {}
    if plain:
        kept["set"] = plain
    if shadow:
        kept["shadow"] = shadow
    return kept


def _restore(
    *,
    derived: Mapping[str, Any],
    kept: KeptMap,
    guards: Mapping[str, Any],
    known: Collection[str],
    allow_new: bool,
) -> dict[str, Any]:
    """Apply what an import kept to the reverse mapping's view; stale shadows are ignored."""
    out = dict(derived)
    for key, entry in (kept.get("shadow") or {}).items():
        if key in out and key in guards and isinstance(entry, Mapping) and entry.get("canonical") == guards[key]:
            out[key] = entry.get("wire")
    for key, value in (kept.get("set") or {}).items():
        if key in out or (allow_new and key not in known):
            out[key] = value
    return out


def _block(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a copy of the ``supportbee`` block of a JSON column (empty when absent)."""
    block = (attributes or {}).get(PROVIDER)
    return dict(block) if isinstance(block, Mapping) else {}


def _with_block(attributes: Mapping[str, Any] | None, block: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(attributes or {})
    merged[PROVIDER] = dict(block)
    return merged


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return _utc(value)
    if isinstance(value, str):
        try:
            return _utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


# -- users: agents, customers, customer groups -------------------------------------------------------
def _user_view(
    *,
    keys: Sequence[str],
    user_id: int,
    user_type: SBUserType,
    email: str | None,
    name: str | None,
    role: SBRoleName,
    agent: bool,
    avatar_url: str | None,
    email_domains: Sequence[str] = (),
) -> dict[str, Any]:
    first, last = _split_name(name)
    values: dict[str, Any] = {
        "id": user_id,
        "type": user_type,
        "email": email,
        "first_name": first,
        "last_name": last,
        "name": name,
        "role": role,
        "agent": agent,
        "two_factor_authentication_enabled": False,
        "picture": user_picture(avatar_url or gravatar_url(email)).to_wire(),
        "can_members_access_group_tickets": None,
        "email_domains": list(email_domains),
        "members_count": 0,
        "active_tickets_count": 0,
        "requested_tickets_count": 0,
        "teams": [],
    }
    return {key: values[key] for key in keys}


def _user_guards(*, email: str | None, name: str | None, avatar_url: str | None) -> dict[str, Any]:
    return {"email": email, "name": name, "first_name": name, "last_name": name, "picture": avatar_url}


def _user_keys(shape: UserShape) -> tuple[str, ...]:
    return _EMBEDDED_USER_KEYS if shape == "embedded" else _FULL_USER_KEYS


def _email_lossy(kind: str, external_id: str, wire: str | None, canonical: str | None) -> list[LossyField]:
    if wire and canonical is None:
        reason = "not an email address Supportly accepts; the original is kept and shown to SupportBee clients"
        return [_lossy(kind, "email", external_id, reason)]
    return []


def customer_to_contact(*, customer: SBUser, company_id: int | None = None, shape: UserShape = "full") -> ContactImport:
    """Map a customer (or anyone named on a ticket: requester, cc, bcc, replier) to a contact.

    ``shape`` is the view the user came in ("embedded" in tickets, replies and comments; "full" from
    ``/users``) so only what that view cannot rebuild is kept in ``additional_attributes["supportbee"]``.
    The same customer comes back on every reply they write: the mapping of an identical user is remembered.
    """
    key = (shape, company_id, customer.model_dump_json())
    found = _CONTACTS_SEEN.get(key)
    if found is None:
        found = _customer_to_contact(customer=customer, company_id=company_id, shape=shape)
        if len(_CONTACTS_SEEN) >= _CONTACTS_SEEN_MAX:
            _CONTACTS_SEEN.pop(next(iter(_CONTACTS_SEEN)))
        _CONTACTS_SEEN[key] = found
    else:
        for item in found.lossy:  # every mapping of a lossy field is logged, remembered or not
            _lossy(item.kind, item.field, item.external_id, item.reason)
    return found


_CONTACTS_SEEN: dict[tuple[str, int | None, str], ContactImport] = {}
_CONTACTS_SEEN_MAX = 2048


def _customer_to_contact(*, customer: SBUser, company_id: int | None, shape: UserShape) -> ContactImport:
    external_id = str(customer.id)
    email = _canonical_email(customer.email)
    fields: dict[str, Any] = {"name": (customer.name or "").strip()[:255] or None, "email": email}
    avatar = _avatar_of(customer.picture)
    if avatar is not None:
        fields["avatar_url"] = avatar
    if company_id is not None:
        fields["company_id"] = company_id
    probe = ContactData(**fields)
    derived = _user_view(
        keys=_user_keys(shape),
        user_id=customer.id,
        user_type="user",
        email=probe.email,
        name=probe.name,
        role="customer",
        agent=False,
        avatar_url=probe.avatar_url,
    )
    kept = _keep(
        wire=customer.to_wire(),
        derived=derived,
        guards=_user_guards(email=probe.email, name=probe.name, avatar_url=probe.avatar_url),
    )
    data = ContactData(**fields, additional_attributes={PROVIDER: kept})
    return ContactImport(
        external_id=external_id,
        data=data,
        lossy=_email_lossy("contact", external_id, customer.email, email),
    )


def contact_to_customer(
    *,
    contact: ContactRecord,
    legacy: LegacyRefs = NO_LEGACY,
    shape: UserShape = "full",
    active_tickets_count: int | None = None,
) -> SBUser:
    """Map a contact to a SupportBee customer user; ``active_tickets_count`` is the live count when known."""
    kept = _block(contact.additional_attributes)
    derived = _user_view(
        keys=_user_keys(shape),
        user_id=legacy.legacy_id("contact", contact.id),
        user_type="user",
        email=contact.email,
        name=contact.name,
        role="customer",
        agent=False,
        avatar_url=contact.avatar_url,
    )
    out = _restore(
        derived=derived,
        kept=kept,
        guards=_user_guards(email=contact.email, name=contact.name, avatar_url=contact.avatar_url),
        known=SBUser.model_fields,
        allow_new=shape == "full",
    )
    if active_tickets_count is not None and "active_tickets_count" in out:
        out["active_tickets_count"] = active_tickets_count
    return SBUser.model_validate(out)


_AGENT_ROLES: Final[Mapping[str, Literal["administrator", "agent"]]] = {
    "admin": "administrator",
    "agent": "agent",
    "collaborator": "agent",
}


def user_to_agent(*, user: SBUser, shape: UserShape = "full") -> AgentImport:
    """Map an admin, agent or collaborator to an agent (admin ⇄ administrator; a collaborator becomes an agent).

    Kept (for the caller to store; it comes back as ``LegacyRefs.kept[("agent", id)]``): the collaborator role,
    the picture when it is not the avatar's gravatar sizes, two-factor flag, team list and counts as seen.
    """
    external_id = str(user.id)
    role_name = user.role or ("agent" if user.agent else "customer")
    if role_name == "customer" or user.type == "customer_group":
        raise UnmappableRecord(f"SupportBee user {user.id} is a customer, not an agent")
    lossy: list[LossyField] = []
    role = _AGENT_ROLES[role_name]
    if role_name == "collaborator":
        reason = "Supportly has no collaborator role: imported as an agent, the SupportBee role is kept"
        lossy.append(_lossy("agent", "role", external_id, reason))
    email = _canonical_email(user.email)
    lossy += _email_lossy("agent", external_id, user.email, email)
    fallback = (email or "").partition("@")[0] or f"SupportBee user {user.id}"
    fields: dict[str, Any] = {"name": (user.name or "").strip()[:255] or fallback, "email": email, "role": role}
    avatar = _avatar_of(user.picture)
    if avatar is not None:
        fields["avatar_url"] = avatar
    data = AgentData(**fields)
    derived = _user_view(
        keys=_user_keys(shape),
        user_id=user.id,
        user_type="user",
        email=data.email,
        name=data.name,
        role="admin" if role == "administrator" else "agent",
        agent=True,
        avatar_url=data.avatar_url,
    )
    guards = _user_guards(email=data.email, name=data.name, avatar_url=data.avatar_url) | {"role": role}
    kept = _keep(wire=user.to_wire(), derived=derived, guards=guards)
    return AgentImport(
        external_id=external_id,
        data=data,
        kept=kept,
        team_external_ids=[str(team.id) for team in user.teams or []],
        lossy=lossy,
    )


def agent_to_user(
    *,
    agent: AgentRecord,
    legacy: LegacyRefs = NO_LEGACY,
    shape: UserShape = "full",
    teams: Sequence[TeamRecord] | None = None,
    active_tickets_count: int | None = None,
) -> SBUser:
    """Map an agent to a SupportBee user (administrator → admin, agent → agent or the kept collaborator).

    ``teams`` (the agent's teams) and ``active_tickets_count`` are live values; when None, what the import
    saw is shown.
    """
    role = agent.role or "agent"
    kept = legacy.kept_for("agent", agent.id)
    derived = _user_view(
        keys=_user_keys(shape),
        user_id=legacy.legacy_id("agent", agent.id),
        user_type="user",
        email=agent.email,
        name=agent.name,
        role="admin" if role == "administrator" else "agent",
        agent=True,
        avatar_url=agent.avatar_url,
    )
    guards = _user_guards(email=agent.email, name=agent.name, avatar_url=agent.avatar_url) | {"role": role}
    out = _restore(derived=derived, kept=kept, guards=guards, known=SBUser.model_fields, allow_new=shape == "full")
    if teams is not None and "teams" in out:
        out["teams"] = [team_to_legacy(team=team, legacy=legacy).to_wire() for team in teams]
    if active_tickets_count is not None and "active_tickets_count" in out:
        out["active_tickets_count"] = active_tickets_count
    return SBUser.model_validate(out)


def customer_group_to_company(*, group: SBUser) -> CompanyImport:
    """Map a customer group to a company; ``email_domains`` (the first is the company's ``domain``),
    ``can_members_access_group_tickets``, the group's email and counts are kept in
    ``custom_attributes["supportbee"]``."""
    external_id = str(group.id)
    domains = list(group.email_domains or [])
    fields: dict[str, Any] = {"name": (group.name or "").strip()[:255] or f"Customer group {group.id}"}
    if domains:
        fields["domain"] = domains[0][:255]
    avatar = _avatar_of(group.picture)
    if avatar is not None:
        fields["avatar_url"] = avatar
    probe = CompanyData(**fields)
    derived = _user_view(
        keys=_GROUP_KEYS,
        user_id=group.id,
        user_type="customer_group",
        email=None,
        name=probe.name,
        role="customer",
        agent=False,
        avatar_url=probe.avatar_url,
        email_domains=[probe.domain] if probe.domain else [],
    )
    guards = _user_guards(email=None, name=probe.name, avatar_url=probe.avatar_url) | {"email_domains": probe.domain}
    guards.pop("email")
    kept = _keep(wire=group.to_wire(), derived=derived, guards=guards)
    return CompanyImport(external_id=external_id, data=CompanyData(**fields, custom_attributes={PROVIDER: kept}))


def company_to_customer_group(
    *,
    company: CompanyRecord,
    legacy: LegacyRefs = NO_LEGACY,
    members_count: int | None = None,
    requested_tickets_count: int | None = None,
) -> SBUser:
    """Map a company to a SupportBee customer group; the counts are live values when given."""
    kept = _block(company.custom_attributes)
    derived = _user_view(
        keys=_GROUP_KEYS,
        user_id=legacy.legacy_id("company", company.id),
        user_type="customer_group",
        email=None,
        name=company.name,
        role="customer",
        agent=False,
        avatar_url=company.avatar_url,
        email_domains=[company.domain] if company.domain else [],
    )
    guards = _user_guards(email=None, name=company.name, avatar_url=company.avatar_url) | {
        "email_domains": company.domain
    }
    guards.pop("email")
    out = _restore(derived=derived, kept=kept, guards=guards, known=SBUser.model_fields, allow_new=True)
    if members_count is not None:
        out["members_count"] = members_count
    if requested_tickets_count is not None:
        out["requested_tickets_count"] = requested_tickets_count
    return SBUser.model_validate(out)


# -- teams, labels, snippets, forwarding addresses, attachments -------------------------------------
def team_to_canonical(*, team: SBTeam) -> TeamImport:
    """Map a team; a picture other than SupportBee's default (and any extra key) is kept."""
    data = TeamData(name=(team.name or "").strip()[:255] or f"Team {team.id}")
    derived = {"id": team.id, "name": data.name, "picture": team_picture().to_wire()}
    kept = _keep(wire=team.to_wire(), derived=derived, guards={"name": data.name})
    return TeamImport(external_id=str(team.id), data=data, kept=kept)


def team_to_legacy(*, team: TeamRecord, legacy: LegacyRefs = NO_LEGACY) -> SBTeam:
    """Map a team to SupportBee's ``{id, name, picture}``."""
    derived = {"id": legacy.legacy_id("team", team.id), "name": team.name, "picture": team_picture().to_wire()}
    out = _restore(
        derived=derived,
        kept=legacy.kept_for("team", team.id),
        guards={"name": team.name},
        known=SBTeam.model_fields,
        allow_new=True,
    )
    return SBTeam.model_validate(out)


def label_to_canonical(*, label: SBLabel) -> LabelImport:
    """Map a label; its title is the name in lower case without spaces, its colour is kept when valid."""
    name = label.name or ""
    if not name.strip():
        raise UnmappableRecord("a SupportBee label has no name")
    lossy: list[LossyField] = []
    fields: dict[str, Any] = {"title": label_title(name)}
    if label.color is not None and _HEX_COLOR.match(label.color):
        fields["color"] = label.color
    elif label.color is not None:
        lossy.append(_lossy("label", "color", name, f"{label.color!r} is not a hex colour; the default is used"))
    data = LabelData(**fields)
    derived = {"name": name, "color": data.color}
    kept = _keep(wire=label.to_wire(), derived=derived, guards={"color": data.color}, skip=())
    return LabelImport(external_id=name, data=data, kept=kept, lossy=lossy)


def label_to_legacy(*, label: LabelRecord, legacy: LegacyRefs = NO_LEGACY) -> SBLabel:
    """Map a label to SupportBee's ``{name, color}``; an imported label keeps its SupportBee name."""
    derived = {"name": legacy.label_names.get(label.id, label.title), "color": label.color}
    out = _restore(
        derived=derived,
        kept=legacy.kept_for("label", label.id),
        guards={"color": label.color},
        known=SBLabel.model_fields,
        allow_new=True,
    )
    return SBLabel.model_validate(out)


def _snippet_view(*, snippet_id: int, created_at: dt.datetime | None, name: str, text: str) -> dict[str, Any]:
    return {
        "id": snippet_id,
        "created_at": format_time(created_at),
        "name": name,
        "tags": None,
        "content": {"text": text, "html": None},
    }


def snippet_to_canned_response(*, snippet: SBSnippet) -> CannedResponseImport:
    """Map a snippet: name → short code, text (or its html as text) → content; tags and html are kept."""
    if snippet.id is None or not (snippet.name or "").strip():
        raise UnmappableRecord("a SupportBee snippet needs an id and a name")
    content = snippet.content or SBContent()
    short_code = (snippet.name or "").strip()[:255]
    text = (content.text or content.body or (html_to_text(content.html) if content.html else "")).strip()
    fields: dict[str, Any] = {"short_code": short_code, "content": text or short_code}
    if snippet.created_at is not None:
        fields["created_at"] = snippet.created_at  # an explicit null would be written as one
    data = CannedResponseData(**fields)
    derived = _snippet_view(
        snippet_id=snippet.id, created_at=data.created_at, name=data.short_code or "", text=data.content or ""
    )
    kept = _keep(wire=snippet.to_wire(), derived=derived, guards={"name": data.short_code, "content": data.content})
    return CannedResponseImport(external_id=str(snippet.id), data=data, kept=kept)


def canned_response_to_snippet(*, canned_response: CannedResponseRecord, legacy: LegacyRefs = NO_LEGACY) -> SBSnippet:
    """Map a canned response to a snippet (``{id, created_at, name, tags, content{text, html}}``)."""
    derived = _snippet_view(
        snippet_id=legacy.legacy_id("canned_response", canned_response.id),
        created_at=canned_response.created_at,
        name=canned_response.short_code or "",
        text=canned_response.content or "",
    )
    out = _restore(
        derived=derived,
        kept=legacy.kept_for("canned_response", canned_response.id),
        guards={"name": canned_response.short_code, "content": canned_response.content},
        known=SBSnippet.model_fields,
        allow_new=True,
    )
    return SBSnippet.model_validate(out)


EmailShape = Literal["list", "full"]
_EMAIL_LIST_KEYS: Final = ("id", "forward_to", "from", "name")
_EMAIL_FULL_KEYS: Final = (
    "id",
    "name",
    "company_id",
    "email",
    "filter_spam",
    "forwarding_hash",
    "global_bcc",
    "created_at",
    "updated_at",
    "use_agent_name",
)


def _email_view(*, keys: Sequence[str], address_id: int | None, inbox: InboxData) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": address_id,
        "name": inbox.name,
        "company_id": None,
        "email": inbox.email,
        "from": inbox.email,
        "forward_to": None,
        "filter_spam": False,
        "forwarding_hash": None,
        "global_bcc": None,
        "created_at": format_time(inbox.created_at),
        "updated_at": format_time(inbox.updated_at),
        "use_agent_name": False,
    }
    return {key: values[key] for key in keys}


def email_to_inbox(*, email: SBEmail) -> InboxImport:
    """Map a forwarding address to an email inbox; ``forward_to``, ``filter_spam``, ``use_agent_name``,
    ``forwarding_hash`` and ``global_bcc`` are kept in ``channel_config["supportbee"]``."""
    external_id = None if email.id is None else str(email.id)
    wire = email.to_wire()
    shape: EmailShape = "list" if ("from" in wire or "forward_to" in wire) else "full"
    address = email.email or email.from_
    canonical = _canonical_email(address)
    lossy = _email_lossy("inbox", external_id or "", address, canonical)
    fields: dict[str, Any] = {
        "name": (email.name or "").strip()[:255] or address or f"Forwarding address {email.id}",
        "channel_type": "email",
        "email": canonical,
        "created_at": email.created_at,
        "updated_at": email.updated_at,
    }
    probe = InboxData(**fields)
    derived = _email_view(
        keys=_EMAIL_LIST_KEYS if shape == "list" else _EMAIL_FULL_KEYS, address_id=email.id, inbox=probe
    )
    guards = {"name": probe.name, "email": probe.email, "from": probe.email}
    kept = _keep(wire=wire, derived=derived, guards=guards)
    return InboxImport(external_id=external_id, data=InboxData(**fields, channel_config={PROVIDER: kept}), lossy=lossy)


def inbox_to_email(*, inbox: InboxRecord, legacy: LegacyRefs = NO_LEGACY, shape: EmailShape = "list") -> SBEmail:
    """Map an email inbox to a forwarding address, as "Fetching Emails" (list) or "Create Email" (full) shows it."""
    derived = _email_view(
        keys=_EMAIL_LIST_KEYS if shape == "list" else _EMAIL_FULL_KEYS,
        address_id=legacy.legacy_id("inbox", inbox.id),
        inbox=inbox,
    )
    out = _restore(
        derived=derived,
        kept=_block(inbox.channel_config),
        guards={"name": inbox.name, "email": inbox.email, "from": inbox.email},
        known={*SBEmail.model_fields, "from"},
        allow_new=True,
    )
    return SBEmail.model_validate(out)


def _thumb_of(original: str) -> str:
    return f"{original}{'&' if '?' in original else '?'}version=thumb"


def _attachment_view(
    *, attachment_id: int, created_at: dt.datetime | None, file_name: str, content_type: str, url: str | None
) -> dict[str, Any]:
    return {
        "id": attachment_id,
        "created_at": format_time(created_at),
        "filename": file_name,
        "content_type": content_type,
        "url": {"original": url, "thumb": None if url is None else _thumb_of(url)},
    }


def attachment_to_canonical(*, attachment: SBAttachment) -> AttachmentImport:
    """Map an attachment: no bytes, ``external_url`` is ``url.original`` for the loader to fetch."""
    original = attachment.url.original if attachment.url and attachment.url.original else None
    data = AttachmentData(
        file_name=(attachment.filename or "").strip()[:255] or f"attachment-{attachment.id}",
        content_type=attachment.content_type or "application/octet-stream",
        external_url=original,
        created_at=attachment.created_at,
    )
    derived = _attachment_view(
        attachment_id=attachment.id,
        created_at=data.created_at,
        file_name=data.file_name,
        content_type=data.content_type,
        url=original,
    )
    if data.created_at is None:
        derived["created_at"] = _MISSING  # a store stamps it; keep the missing time as it was
    guards = {"filename": data.file_name, "url": original, "content_type": data.content_type}
    kept = _keep(wire=attachment.to_wire(), derived=derived, guards=guards)
    return AttachmentImport(external_id=str(attachment.id), data=data, kept=kept)


def attachment_to_legacy(
    *, attachment: AttachmentRecord, legacy: LegacyRefs = NO_LEGACY, kept: KeptMap | None = None
) -> SBAttachment:
    """Map a stored attachment; ``url.original`` is the record's URL and ``url.thumb`` its ``?version=thumb``."""
    derived = _attachment_view(
        attachment_id=legacy.legacy_id("attachment", attachment.id),
        created_at=attachment.created_at,
        file_name=attachment.file_name,
        content_type=attachment.content_type,
        url=attachment.url,
    )
    guards = {"filename": attachment.file_name, "url": attachment.url, "content_type": attachment.content_type}
    out = _restore(
        derived=derived,
        kept=legacy.kept_for("attachment", attachment.id) if kept is None else kept,
        guards=guards,
        known=SBAttachment.model_fields,
        allow_new=True,
    )
    return SBAttachment.model_validate(out)


# -- messages: a ticket's content, replies, comments -------------------------------------------------
MessagePart = Literal["ticket", "reply", "comment"]


_STRIPPED: Final = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True)])


def _stripped(value: str) -> str:
    """``value`` as ``MessageData`` stores it, surrounding whitespace stripped. Every character pydantic strips is
    ``str.isspace``, so a text that neither starts nor ends with one is returned as it is, without a validation."""
    if value and not value[0].isspace() and not value[-1].isspace():
        return value
    return _STRIPPED.validate_python(value)


def _content_to_message(
    *,
    content: SBContent | None,
    part: MessagePart,
    message_type: Literal["incoming", "outgoing"],
    private: bool,
    sender_kind: Literal["agent", "contact"],
    created_at: dt.datetime | None,
    extra_kept: Mapping[str, Any],
    summary: Any = _MISSING,
) -> tuple[MessageData, list[str]]:
    content = content or SBContent()
    wire_text = content.text if content.text is not None or content.body is None else content.body
    attachments = [attachment_to_canonical(attachment=item) for item in content.attachments or []]
    fields: dict[str, Any] = {
        "content": wire_text if wire_text is not None else (html_to_text(content.html) if content.html else None),
        "message_type": message_type,
        "private": private,
        "sender_type": sender_kind,
        "attachments": [item.data for item in attachments],
    }
    if created_at is not None:
        fields["created_at"] = created_at
    # As stored: surrounding whitespace stripped, exactly as MessageData strips it.
    text = None if fields["content"] is None else _stripped(fields["content"])
    sb: dict[str, Any] = {"part": part}
    if content.text is None and content.body is not None:
        sb["text_key"] = "body"
    shadow: dict[str, Any] = {}
    if text != wire_text:
        shadow["text"] = {"wire": wire_text, "canonical": text}
    if content.html is not None:
        shadow["html"] = {"wire": content.html, "canonical": text}
    if shadow:
        sb["shadow"] = shadow
    if summary is not _MISSING and not is_summary_of(summary, text):
        sb["summary"] = summary
    content_extra = (
        content.model_dump(
            mode="json",
            by_alias=True,
            exclude_unset=True,
            exclude={"text", "body", "html", "attachments", "attachment_ids"},
        )
        if content.model_extra
        else {}
    )
    if content_extra:
        sb["content_extra"] = content_extra
    attachment_kept = {item.external_id: item.kept for item in attachments if item.kept}
    if attachment_kept:
        sb["attachments"] = attachment_kept
    sb.update(extra_kept)
    data = MessageData(**fields, additional_attributes={PROVIDER: sb})
    # The shadows' "canonical" is the stored content: the very string, so a pickled message (a migration's reader
    # process sends them) carries the text once rather than twice.
    for entry in shadow.values():
        if entry["canonical"] == data.content:
            entry["canonical"] = data.content
    return data, [item.external_id for item in attachments]


def _message_content(*, message: MessageRecord, legacy: LegacyRefs) -> dict[str, Any]:
    sb = _block(message.additional_attributes)
    shadow = sb.get("shadow") or {}
    text: Any = message.content
    html: Any = None
    text_entry = shadow.get("text")
    if isinstance(text_entry, Mapping) and text_entry.get("canonical") == message.content:
        text = text_entry.get("wire")
    html_entry = shadow.get("html")
    if isinstance(html_entry, Mapping) and html_entry.get("canonical") == message.content:
        html = html_entry.get("wire")
    kept_attachments = sb.get("attachments") or {}
    attachments = []
    for record in message.stored_attachments:
        legacy_id = legacy.legacy_id("attachment", record.id)
        kept = kept_attachments.get(str(legacy_id), {})
        attachments.append(attachment_to_legacy(attachment=record, legacy=legacy, kept=kept).to_wire())
    out: dict[str, Any] = {sb.get("text_key", "text"): text, "html": html, "attachments": attachments}
    out.update(sb.get("content_extra") or {})
    return out


def _extra_of(model: SBModel) -> dict[str, Any]:
    if not model.model_extra:
        return {}
    wire = model.to_wire()
    return {key: wire[key] for key in (model.model_extra or {}) if key in wire}


def _author(user: SBUser | None, *, what: str, external_id: str) -> tuple[SBUser, Literal["agent", "contact"]]:
    if user is None:
        raise UnmappableRecord(f"SupportBee {what} {external_id} has no author")
    return user, ("agent" if user.agent else "contact")


def reply_to_message(*, reply: SBReply) -> MessageImport:
    """Map a reply: by an agent → outgoing message, by a customer → incoming one (html, cc, bcc kept).

    ``additional_attributes["supportbee"]``: ``part`` ("reply"), ``shadow`` (html, and text when the reply had
    only html), ``summary`` when it is not the text's, ``cc``/``bcc`` (user objects), ``text_key`` ("body"
    when the wire said ``body``), ``attachments`` (per SupportBee attachment id), ``extra`` (unknown keys).
    """
    external_id = str(reply.id)
    replier, sender_kind = _author(reply.replier, what="reply", external_id=external_id)
    extra: dict[str, Any] = {}
    given = reply.model_fields_set
    for key, users in (("cc", reply.cc), ("bcc", reply.bcc)):
        if users and key in given:
            extra[key] = [user.to_wire() for user in users]
    other = _extra_of(reply)
    if other:
        extra["extra"] = other
    data, attachment_ids = _content_to_message(
        content=reply.content,
        part="reply",
        message_type="outgoing" if sender_kind == "agent" else "incoming",
        private=False,
        sender_kind=sender_kind,
        created_at=reply.created_at,
        extra_kept=extra,
        summary=reply.summary if "summary" in given else _MISSING,
    )
    return MessageImport(
        external_id=external_id,
        data=data,
        sender_kind=sender_kind,
        sender_external_id=str(replier.id),
        sender=None if sender_kind == "agent" else customer_to_contact(customer=replier, shape="embedded"),
        attachment_external_ids=attachment_ids,
    )


def _author_view(sender: AgentRecord | ContactRecord, legacy: LegacyRefs) -> dict[str, Any]:
    if isinstance(sender, AgentRecord):
        return agent_to_user(agent=sender, legacy=legacy, shape="embedded").to_wire()
    return contact_to_customer(contact=sender, legacy=legacy, shape="embedded").to_wire()


def message_to_reply(
    *,
    message: MessageRecord,
    sender: AgentRecord | ContactRecord,
    replies_count: int,
    comments_count: int,
    legacy: LegacyRefs = NO_LEGACY,
) -> SBReply:
    """Map a public message to a reply; ``sender`` is its author and the counts are the ticket's live ones."""
    sb = _block(message.additional_attributes)
    content = _message_content(message=message, legacy=legacy)
    out: dict[str, Any] = {
        "id": legacy.legacy_id("message", message.id),
        "created_at": message.created_at,
        "summary": sb["summary"] if "summary" in sb else summarize(message.content),
        "cc": sb.get("cc") or [],
        "bcc": sb.get("bcc") or [],
        "ticket": {"replies_count": replies_count, "comments_count": comments_count},
        "replier": _author_view(sender, legacy),
        "content": content,
    }
    out.update(sb.get("extra") or {})
    return SBReply.model_validate(out)


def comment_to_note(*, comment: SBComment) -> MessageImport:
    """Map a comment to a private note (same ``additional_attributes["supportbee"]`` layout as replies)."""
    external_id = str(comment.id)
    commenter, sender_kind = _author(comment.commenter, what="comment", external_id=external_id)
    other = _extra_of(comment)
    data, attachment_ids = _content_to_message(
        content=comment.content,
        part="comment",
        message_type="outgoing",
        private=True,
        sender_kind=sender_kind,
        created_at=comment.created_at,
        extra_kept={"extra": other} if other else {},
    )
    return MessageImport(
        external_id=external_id,
        data=data,
        sender_kind=sender_kind,
        sender_external_id=str(commenter.id),
        sender=None if sender_kind == "agent" else customer_to_contact(customer=commenter, shape="embedded"),
        attachment_external_ids=attachment_ids,
    )


def note_to_comment(
    *,
    message: MessageRecord,
    commenter: AgentRecord | ContactRecord,
    replies_count: int,
    comments_count: int,
    legacy: LegacyRefs = NO_LEGACY,
) -> SBComment:
    """Map a private note to a comment; the counts are the ticket's live ones."""
    sb = _block(message.additional_attributes)
    out: dict[str, Any] = {
        "id": legacy.legacy_id("message", message.id),
        "created_at": message.created_at,
        "ticket": {"replies_count": replies_count, "comments_count": comments_count},
        "commenter": _author_view(commenter, legacy),
        "content": _message_content(message=message, legacy=legacy),
    }
    out.update(sb.get("extra") or {})
    return SBComment.model_validate(out)


def _addressee_wire(user: SBUser) -> dict[str, Any]:
    return user.to_wire()


def new_message(
    *,
    part: MessagePart,
    content: SBContent,
    sender_kind: Literal["agent", "contact"],
    sender_id: int,
    cc: Sequence[SBUser] = (),
    bcc: Sequence[SBUser] = (),
) -> MessageData:
    """Build the message a compat write creates (a ticket's content, a reply or a comment).

    ``cc``/``bcc`` are the addressees already resolved to SupportBee users; attachments given as
    ``attachment_ids`` are for the caller to link.
    """
    extra: dict[str, Any] = {}
    if cc:
        extra["cc"] = [_addressee_wire(user) for user in cc]
    if bcc:
        extra["bcc"] = [_addressee_wire(user) for user in bcc]
    data, _ = _content_to_message(
        content=SBContent(text=content.text, body=content.body, html=content.html),
        part=part,
        message_type="incoming" if part == "ticket" or sender_kind == "contact" else "outgoing",
        private=part == "comment",
        sender_kind=sender_kind,
        created_at=None,
        extra_kept=extra,
    )
    return data.model_copy(update={"sender_id": sender_id})


# -- tickets -----------------------------------------------------------------------------------------
def ticket_parts(*, messages: Sequence[MessageRecord]) -> TicketParts:
    """Split a conversation's messages the way SupportBee shows them (activity and template ones are left out)."""
    ordered = sorted(messages, key=lambda message: (_utc(message.created_at), message.id))
    shown = [message for message in ordered if message.message_type in _PUBLIC_TYPES]
    public = [message for message in shown if not message.private]
    comments = [message for message in shown if message.private]
    initial = next(
        (message for message in public if _block(message.additional_attributes).get("part") == "ticket"), None
    )
    if initial is None:
        # A message written as a reply stays a reply even on a ticket that has no content of its own.
        initial = next(
            (message for message in public if _block(message.additional_attributes).get("part") != "reply"), None
        )
    replies = [message for message in public if message is not initial]
    return TicketParts(initial=initial, replies=replies, comments=comments)


def derive_unanswered(*, attributes: Mapping[str, Any] | None, messages: Sequence[MessageRecord]) -> bool:
    """Unanswered unless the last public message is an agent's; a stored override holds until a newer message."""
    public = [m for m in messages if m.message_type in _PUBLIC_TYPES and not m.private]
    override = _block(attributes).get("unanswered")
    if isinstance(override, Mapping):
        at = _parse_time(override.get("at"))
        if at is not None and all(_utc(message.created_at) <= at for message in public):
            return bool(override.get("value"))
    if not public:
        return True
    last = max(public, key=lambda message: (_utc(message.created_at), message.id))
    return last.message_type == "incoming"


def set_unanswered(*, attributes: Mapping[str, Any] | None, unanswered: bool, now: dt.datetime) -> dict[str, Any]:
    """Return conversation ``additional_attributes`` marked (un)answered until the next public message."""
    block = _block(attributes)
    block["unanswered"] = {"value": unanswered, "at": _utc(now).isoformat()}
    return _with_block(attributes, block)


def set_starred(*, attributes: Mapping[str, Any] | None, agent_id: int, starred: bool) -> dict[str, Any]:
    """Return conversation ``additional_attributes`` with this agent's star set or cleared (stars are per agent)."""
    block = _block(attributes)
    agents = [agent for agent in block.get("starred_by") or [] if agent != agent_id]
    block["starred_by"] = sorted([*agents, agent_id]) if starred else agents
    return _with_block(attributes, block)


def set_trashed(*, attributes: Mapping[str, Any] | None, trashed: bool) -> dict[str, Any]:
    """Return conversation ``additional_attributes`` with SupportBee's trash flag set or cleared."""
    block = _block(attributes)
    block["trash"] = trashed
    return _with_block(attributes, block)


def is_trashed(*, attributes: Mapping[str, Any] | None) -> bool:
    """Tell whether conversation ``additional_attributes`` carry SupportBee's trash flag."""
    return bool(_block(attributes).get("trash", False))


def ticket_id_of(*, conversation: ConversationRecord, legacy: LegacyRefs = NO_LEGACY) -> int:
    """Return the id a SupportBee client knows a conversation by (its SupportBee id, else its display id)."""
    return legacy.ids.get(("conversation", conversation.id), conversation.display_id)


def user_assignment_to_legacy(
    *,
    assignment_id: int,
    created_at: dt.datetime,
    conversation: ConversationRecord,
    agent: AgentRecord,
    legacy: LegacyRefs = NO_LEGACY,
) -> SBUserAssignment:
    """Map an agent's assignment to a conversation to SupportBee's user assignment (``assignment_id`` is the
    id of the record of that assignment)."""
    return SBUserAssignment.model_validate(
        {
            "id": assignment_id,
            "created_at": created_at,
            "ticket": {"id": ticket_id_of(conversation=conversation, legacy=legacy)},
            "assignee": {"user": agent_to_user(agent=agent, legacy=legacy, shape="embedded").to_wire()},
        }
    )


def team_assignment_to_legacy(
    *,
    assignment_id: int,
    created_at: dt.datetime,
    conversation: ConversationRecord,
    team: TeamRecord,
    legacy: LegacyRefs = NO_LEGACY,
) -> SBTeamAssignment:
    """Map a team's assignment to a conversation to SupportBee's team assignment."""
    return SBTeamAssignment.model_validate(
        {
            "id": assignment_id,
            "created_at": created_at,
            "ticket": {"id": ticket_id_of(conversation=conversation, legacy=legacy)},
            "assignee": {"team": team_to_legacy(team=team, legacy=legacy).to_wire()},
        }
    )


def label_assignment_to_legacy(
    *, label: LabelRecord, conversation: ConversationRecord, legacy: LegacyRefs = NO_LEGACY
) -> SBLabelAssignment:
    """Map a label on a conversation to "Adding Label to a Ticket"'s answer (``id`` is the label's id)."""
    return SBLabelAssignment.model_validate(
        {
            "id": label.id,
            "label": legacy.label_names.get(label.id, label.title),
            "ticket": ticket_id_of(conversation=conversation, legacy=legacy),
        }
    )


def new_conversation(
    *,
    subject: str | None,
    cc: Sequence[SBUser] = (),
    bcc: Sequence[SBUser] = (),
    source_email: str | None = None,
) -> ConversationData:
    """Build the conversation "Create Ticket" makes (subject defaults to "No Subject", as the spec says)."""
    block: dict[str, Any] = {
        "subject": subject or "No Subject",
        "source": {"email": source_email},
        "trash": False,
        "starred_by": [],
        "cc": [_addressee_wire(user) for user in cc],
        "bcc": [_addressee_wire(user) for user in bcc],
    }
    return ConversationData(status="open", spam=False, additional_attributes={PROVIDER: block})


_TICKET_KEYS: Final = frozenset(SBTicket.model_fields)


def ticket_to_canonical(*, ticket: SBTicket, viewer_id: int | None = None) -> TicketImport:
    """Map a ticket to a conversation with its requester, cc/bcc contacts, labels and first message.

    archived → resolved, else open; spam → the spam flag. ``viewer_id`` is the Supportly id of the agent whose
    token read the ticket: ``starred`` is that agent's star. ``additional_attributes["supportbee"]`` holds
    ``id`` (the SupportBee id), ``subject``, ``summary`` (when it is not the content's), ``source``, ``trash``,
    ``starred_by`` (Supportly agent ids), ``unanswered`` (``{value, at}``: the imported flag, which holds until a
    newer public message), ``cc``/``bcc`` (user objects as SupportBee shows them), ``label_extra`` and ``extra``.
    """
    external_id = str(ticket.id)
    lossy: list[LossyField] = []
    if ticket.requester is None:
        raise UnmappableRecord(f"SupportBee ticket {ticket.id} has no requester")
    wire = ticket.to_wire()
    requester = customer_to_contact(customer=ticket.requester, shape="embedded")
    cc = [customer_to_contact(customer=user, shape="embedded") for user in ticket.cc or []]
    bcc = [customer_to_contact(customer=user, shape="embedded") for user in ticket.bcc or []]
    named = [label for label in ticket.labels or [] if (label.name or "").strip()]
    labels = [label_to_canonical(label=label) for label in named]
    starred_by: list[int] = []
    if ticket.starred:
        if viewer_id is None:
            reason = "starred for the reading agent, but no viewer_id was given: the star is dropped"
            lossy.append(_lossy("conversation", "starred", external_id, reason))
        else:
            starred_by.append(viewer_id)
    block: dict[str, Any] = {
        "id": ticket.id,
        "subject": ticket.subject,
        "source": wire.get("source"),
        "trash": bool(ticket.trash),
        "starred_by": starred_by,
        "cc": wire.get("cc") or [],
        "bcc": wire.get("bcc") or [],
    }
    if ticket.unanswered is not None:
        at = ticket.last_activity_at or ticket.created_at
        block["unanswered"] = {"value": ticket.unanswered, "at": None if at is None else at.isoformat()}
    label_extra: dict[str, Any] = {}
    for item, label in zip(labels, named, strict=True):
        other = {key: value for key, value in label.to_wire().items() if key not in ("name", "color")}
        if other and item.data.title:
            label_extra[item.data.title] = other
    if label_extra:
        block["label_extra"] = label_extra
    extra = {key: value for key, value in wire.items() if key not in _TICKET_KEYS}
    if extra:
        block["extra"] = extra
    message_data, attachment_ids = _content_to_message(
        content=ticket.content,
        part="ticket",
        message_type="incoming",
        private=False,
        sender_kind="contact",
        created_at=ticket.created_at,
        extra_kept={},
    )
    if "summary" in wire and not is_summary_of(wire["summary"], message_data.content):
        block["summary"] = wire["summary"]
    fields: dict[str, Any] = {
        "display_id": ticket.id,
        "status": "resolved" if ticket.archived else "open",
        "spam": bool(ticket.spam),
        "labels": list(dict.fromkeys(item.data.title for item in labels if item.data.title)),
        "additional_attributes": {PROVIDER: block},
    }
    if ticket.created_at is not None:
        fields["created_at"] = ticket.created_at
    if ticket.last_activity_at is not None:
        fields["last_activity_at"] = ticket.last_activity_at
    assignee = ticket.current_user_assignee.user if ticket.current_user_assignee else None
    team = ticket.current_team_assignee.team if ticket.current_team_assignee else None
    return TicketImport(
        external_id=external_id,
        conversation=ConversationData(**fields),
        requester=requester,
        cc=cc,
        bcc=bcc,
        labels=labels,
        message=MessageImport(
            external_id=None,
            data=message_data,
            sender_kind="contact",
            sender_external_id=requester.external_id,
            sender=requester,
            attachment_external_ids=attachment_ids,
        ),
        requester_email=ticket.requester.email,
        assignee_external_id=None if assignee is None else str(assignee.id),
        team_external_id=None if team is None else str(team.id),
        source_email=ticket.source.email if ticket.source else None,
        lossy=[
            *lossy,
            *requester.lossy,
            *(item for contact in [*cc, *bcc] for item in contact.lossy),
            *(item for label in labels for item in label.lossy),
        ],
    )


def conversation_to_ticket(
    *,
    conversation: ConversationRecord,
    requester: ContactRecord,
    messages: Sequence[MessageRecord],
    labels: Sequence[LabelRecord],
    assignee: AgentRecord | None,
    team: TeamRecord | None,
    current_user_id: int,
    legacy: LegacyRefs = NO_LEGACY,
    inbox: InboxRecord | None = None,
) -> SBTicket:
    """Map a conversation to the ticket a SupportBee client sees.

    The ticket id is the conversation's ``display_id`` unless ``legacy.ids`` maps ``("conversation", id)`` to the
    SupportBee id an imported desk's clients stored; users, teams, labels and attachments likewise show their
    SupportBee ids through ``legacy`` (internal id → legacy id, from the external-reference table) and their
    Supportly ids otherwise. ``replies_count``/``comments_count`` are counted from ``messages``; ``unanswered``
    follows the last public message unless an override is stored; ``starred`` is ``current_user_id``'s star;
    ``archived`` is status resolved. ``inbox`` supplies ``source.email`` for tickets that were not imported.
    """
    block = _block(conversation.additional_attributes)
    parts = ticket_parts(messages=messages)
    shown = [parts.initial, *parts.replies, *parts.comments] if parts.initial else [*parts.replies, *parts.comments]
    last_activity = conversation.last_activity_at or max(
        [message.created_at for message in shown] or [conversation.created_at]
    )
    by_title = {label.title: label for label in labels}
    label_extra = block.get("label_extra") or {}
    ticket_labels: list[dict[str, Any]] = []
    for title in conversation.labels:
        record = by_title.get(title)
        item: dict[str, Any] = {
            "name": legacy.label_names.get(record.id, title) if record else title,
            "color": record.color if record else None,
        }
        item.update(label_extra.get(title) or {})
        ticket_labels.append(item)
    if parts.initial is not None:
        content = _message_content(message=parts.initial, legacy=legacy)
        initial_text = parts.initial.content
    else:
        content = {"text": None, "html": None, "attachments": []}
        initial_text = None
    source = block.get("source") if "source" in block else {"email": inbox.email if inbox else None}
    out: dict[str, Any] = {
        "id": legacy.ids.get(("conversation", conversation.id), conversation.display_id),
        "subject": block.get("subject", "No Subject"),
        "replies_count": len(parts.replies),
        "comments_count": len(parts.comments),
        "last_activity_at": last_activity,
        "created_at": conversation.created_at,
        "unanswered": derive_unanswered(attributes=conversation.additional_attributes, messages=messages),
        "archived": conversation.status == "resolved",
        "spam": bool(conversation.spam),
        "trash": bool(block.get("trash", False)),
        "starred": current_user_id in (block.get("starred_by") or []),
        "summary": block["summary"] if "summary" in block else summarize(initial_text),
        "source": source,
        "cc": block.get("cc") or [],
        "bcc": block.get("bcc") or [],
        "labels": ticket_labels,
        "current_user_assignee": None
        if assignee is None
        else {"user": agent_to_user(agent=assignee, legacy=legacy, shape="embedded").to_wire()},
        "current_team_assignee": None if team is None else {"team": team_to_legacy(team=team, legacy=legacy).to_wire()},
        "requester": contact_to_customer(contact=requester, legacy=legacy, shape="embedded").to_wire(),
        "content": content,
    }
    out.update(block.get("extra") or {})
    return SBTicket.model_validate(out)


# -- filters: rule + consequence + filter ⇄ automation rule ------------------------------------------
_RULE_CONDITIONS: Final = (
    ("requester_email", "email", "equal_to"),
    ("subject", "mail_subject", "contains"),
    ("body", "content", "contains"),
)


def rule_to_automation(
    *,
    rule: SBRule,
    consequence: SBConsequence,
    filter: SBFilter | None = None,
    agent_id: int | None = None,
    team_id: int | None = None,
) -> AutomationImport:
    """Map a filter (its rule and consequence) to an automation rule run when a conversation is created.

    requester_email → ``email`` equal_to, subject → ``mail_subject`` contains, body → ``content`` contains;
    archive → resolve_conversation, label → add_label, assign_user/assign_team → assign_an_agent/assign_a_team
    with ``agent_id``/``team_id``, the caller's Supportly ids for them. A rule on ``delivered_to`` cannot be
    expressed, so the automation is made inactive rather than matching more tickets; spam and trash have no
    action. All three objects are kept whole in ``kept`` (with the translation they were kept against).
    """
    external_id = (filter.id if filter and filter.id else None) or rule.id or consequence.id or ""
    lossy: list[LossyField] = []
    conditions: list[dict[str, Any]] = []
    for wire_key, attribute_key, operator in _RULE_CONDITIONS:
        value = getattr(rule, wire_key)
        if value:
            conditions.append({"attribute_key": attribute_key, "filter_operator": operator, "values": [value]})
    for index in range(len(conditions) - 1):
        conditions[index]["query_operator"] = "and"
    active = True
    if rule.delivered_to:
        active = False
        reason = "Supportly has no condition on the receiving address: the automation is imported inactive"
        lossy.append(_lossy("automation_rule", "rule.delivered_to", external_id, reason))
    actions: list[dict[str, Any]] = []
    if consequence.archive:
        actions.append({"action_name": "resolve_conversation"})
    if consequence.label:
        actions.append({"action_name": "add_label", "action_params": [label_title(consequence.label)]})
    for wire_key, action, resolved in (
        ("assign_user", "assign_an_agent", agent_id),
        ("assign_team", "assign_a_team", team_id),
    ):
        if getattr(consequence, wire_key) in (None, ""):
            continue
        if resolved is None:
            reason = "the assignee was not resolved to a Supportly id: the assignment is dropped"
            lossy.append(_lossy("automation_rule", f"consequence.{wire_key}", external_id, reason))
        else:
            actions.append({"action_name": action, "action_params": [resolved]})
    for flag in ("spam", "trash"):
        if getattr(consequence, flag):
            reason = f"Supportly automations have no {flag} action: it is kept but does not run"
            lossy.append(_lossy("automation_rule", f"consequence.{flag}", external_id, reason))
    data: AutomationRuleData | None = None
    if actions:
        data = AutomationRuleData(
            name=f"SupportBee filter {external_id}".strip(),
            event_name="conversation_created",
            conditions=conditions,
            actions=actions,
            active=active,
        )
    else:
        lossy.append(_lossy("automation_rule", "consequence", external_id, "no action Supportly can run"))
    kept: dict[str, Any] = {
        "rule": rule.to_wire(),
        "consequence": consequence.to_wire(),
        "filter": None if filter is None else filter.to_wire(),
        "canonical": {"conditions": conditions, "actions": actions, "active": active},
    }
    return AutomationImport(
        external_id=external_id,
        data=data,
        kept=kept,
        assign_user_external_id=None if consequence.assign_user in (None, "") else str(consequence.assign_user),
        assign_team_external_id=None if consequence.assign_team in (None, "") else str(consequence.assign_team),
        lossy=lossy,
    )


def automation_to_rule(*, automation: AutomationRuleRecord, legacy: LegacyRefs = NO_LEGACY) -> SBFilterParts:
    """Map an automation rule back to a rule, consequence and filter; an unchanged imported one comes back whole."""
    kept = legacy.kept_for("automation_rule", automation.id)
    conditions = list(automation.conditions or [])
    actions = list(automation.actions or [])
    translated = kept.get("canonical")
    kept_rule = dict(kept.get("rule") or {})
    kept_consequence = dict(kept.get("consequence") or {})
    kept_filter = kept.get("filter")
    if isinstance(translated, Mapping) and translated == {
        "conditions": conditions,
        "actions": actions,
        "active": automation.active if automation.active is not None else True,
    }:
        return SBFilterParts(
            rule=SBRule.model_validate(kept_rule),
            consequence=SBConsequence.model_validate(kept_consequence),
            filter=SBFilter.model_validate(kept_filter or {}),
        )
    fallback_id = str(automation.id)
    rule: dict[str, Any] = {"id": kept_rule.get("id", fallback_id), "delivered_to": kept_rule.get("delivered_to", "")}
    for wire_key, attribute_key, _operator in _RULE_CONDITIONS:
        match = next((c for c in conditions if c.get("attribute_key") == attribute_key and c.get("values")), None)
        rule[wire_key] = str(match["values"][0]) if match else ""
    consequence: dict[str, Any] = {"id": kept_consequence.get("id", fallback_id)}
    for action in actions:
        name = action.get("action_name")
        params = action.get("action_params") or []
        if name == "resolve_conversation":
            consequence["archive"] = True
        elif name == "add_label" and params:
            kept_label = kept_consequence.get("label")
            same = isinstance(kept_label, str) and label_title(kept_label) == params[0]
            consequence["label"] = kept_label if same else str(params[0])
        elif name == "assign_an_agent" and params:
            consequence["assign_user"] = str(legacy.legacy_id("agent", int(params[0])))
        elif name == "assign_a_team" and params:
            consequence["assign_team"] = str(legacy.legacy_id("team", int(params[0])))
    for flag in ("spam", "trash"):
        if kept_consequence.get(flag):
            consequence[flag] = True
    filter_wire = dict(kept_filter) if isinstance(kept_filter, Mapping) else {"id": fallback_id}
    filter_wire.update({"rule_id": rule["id"], "consequence_id": consequence["id"]})
    return SBFilterParts(
        rule=SBRule.model_validate(rule),
        consequence=SBConsequence.model_validate(consequence),
        filter=SBFilter.model_validate(filter_wire),
    )
