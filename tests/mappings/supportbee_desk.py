"""A stand-in for the loader and ``bridge.store`` in mapping tests.

It takes what ``mappings.supportbee`` produces, assigns ids as a store would (its own counters, so Supportly ids
never equal SupportBee ids), builds the records the reverse mappings read and the ``LegacyRefs`` that the
external-reference table would give, then serves the desk back through the reverse mappings.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bridge.schemas import (
    AgentRecord,
    AttachmentRecord,
    CannedResponseRecord,
    CompanyRecord,
    ContactRecord,
    ConversationRecord,
    InboxRecord,
    LabelRecord,
    MessageRecord,
    TeamRecord,
)
from mappings import supportbee as sb

STORE_NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _merge_kept(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Merge two kept blocks of one person seen in two views (``set`` and ``shadow`` key by key)."""
    merged = {**old, **new}
    for part in ("set", "shadow"):
        if part in old or part in new:
            merged[part] = {**old.get(part, {}), **new.get(part, {})}
    return merged


@dataclass
class SimulatedDesk:
    viewer_external_id: str
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    display_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    refs: dict[tuple[sb.RefKind, int], int] = field(default_factory=dict)
    by_external: dict[tuple[sb.RefKind, str], int] = field(default_factory=dict)
    label_names: dict[int, str] = field(default_factory=dict)
    kept: dict[tuple[sb.RefKind, int], dict[str, Any]] = field(default_factory=dict)
    agents: dict[int, AgentRecord] = field(default_factory=dict)
    teams: dict[int, TeamRecord] = field(default_factory=dict)
    contacts: dict[int, ContactRecord] = field(default_factory=dict)
    companies: dict[int, CompanyRecord] = field(default_factory=dict)
    labels: dict[str, LabelRecord] = field(default_factory=dict)
    canned: dict[int, CannedResponseRecord] = field(default_factory=dict)
    inboxes: dict[int, InboxRecord] = field(default_factory=dict)
    conversations: dict[int, ConversationRecord] = field(default_factory=dict)
    messages: dict[int, list[MessageRecord]] = field(default_factory=lambda: defaultdict(list))
    lossy: list[sb.LossyField] = field(default_factory=list)

    # -- the loader side ---------------------------------------------------------------------------
    def _ref(self, kind: sb.RefKind, external_id: str, internal_id: int) -> None:
        self.by_external[(kind, external_id)] = internal_id
        if external_id.isdigit():
            self.refs[(kind, internal_id)] = int(external_id)

    def internal(self, kind: sb.RefKind, external_id: str | None) -> int | None:
        return None if external_id is None else self.by_external.get((kind, external_id))

    @property
    def viewer_id(self) -> int:
        viewer = self.internal("agent", self.viewer_external_id)
        assert viewer is not None, "import the agents first"
        return viewer

    def add_team(self, item: sb.TeamImport) -> None:
        record = TeamRecord(**item.data.changes(), id=next(self.ids))
        self.teams[record.id] = record
        self._ref("team", item.external_id, record.id)
        self.kept[("team", record.id)] = item.kept

    def add_agent(self, item: sb.AgentImport) -> None:
        record = AgentRecord(**item.data.changes(), id=next(self.ids))
        self.agents[record.id] = record
        self._ref("agent", item.external_id, record.id)
        self.kept[("agent", record.id)] = item.kept
        for team_external_id in item.team_external_ids:
            team_id = self.internal("team", team_external_id)
            if team_id is not None:
                self.teams[team_id].member_ids.append(record.id)
        self.lossy += item.lossy

    def add_company(self, item: sb.CompanyImport) -> None:
        fields = {"created_at": STORE_NOW, "updated_at": STORE_NOW, **item.data.changes()}
        record = CompanyRecord(**fields, id=next(self.ids))
        self.companies[record.id] = record
        self._ref("company", item.external_id, record.id)

    def add_contact(self, item: sb.ContactImport) -> int:
        """Create or update a contact by its SupportBee id, merging what each view kept."""
        existing = self.internal("contact", item.external_id)
        changes = item.data.changes()
        if existing is None:
            record = ContactRecord(**{"created_at": STORE_NOW, "updated_at": STORE_NOW, **changes}, id=next(self.ids))
            self._ref("contact", item.external_id, record.id)
        else:
            old = self.contacts[existing]
            kept = _merge_kept(
                (old.additional_attributes or {}).get(sb.PROVIDER, {}),
                (changes.get("additional_attributes") or {}).get(sb.PROVIDER, {}),
            )
            changes["additional_attributes"] = {sb.PROVIDER: kept}
            record = old.model_copy(update=changes)
        self.contacts[record.id] = record
        self.lossy += item.lossy
        return record.id

    def add_label(self, item: sb.LabelImport) -> None:
        record = LabelRecord(**{"color": "#1f93ff", **item.data.changes()}, id=next(self.ids))
        assert record.title is not None
        self.labels[record.title] = record
        self.by_external[("label", item.external_id)] = record.id
        if item.external_id != record.title:
            self.label_names[record.id] = item.external_id
        self.kept[("label", record.id)] = item.kept

    def add_canned_response(self, item: sb.CannedResponseImport) -> None:
        record = CannedResponseRecord(**item.data.changes(), id=next(self.ids))
        self.canned[record.id] = record
        self._ref("canned_response", item.external_id, record.id)
        self.kept[("canned_response", record.id)] = item.kept

    def add_inbox(self, item: sb.InboxImport) -> None:
        record = InboxRecord(**item.data.changes(), id=next(self.ids))
        self.inboxes[record.id] = record
        if item.external_id is not None:
            self._ref("inbox", item.external_id, record.id)

    def add_ticket(self, ticket: sb.SBTicket) -> int:
        item = sb.ticket_to_canonical(ticket=ticket, viewer_id=self.viewer_id)
        self.lossy += item.lossy
        for person in [item.requester, *item.cc, *item.bcc]:
            self.add_contact(person)
        contact_id = self.internal("contact", item.requester.external_id)
        fields = item.conversation.changes()
        fields.pop("display_id")
        record = ConversationRecord(
            **{"created_at": STORE_NOW, "updated_at": STORE_NOW, **fields},
            id=next(self.ids),
            display_id=next(self.display_ids),
            contact_id=contact_id,
            assignee_id=self.internal("agent", item.assignee_external_id),
            team_id=self.internal("team", item.team_external_id),
        )
        self.conversations[record.id] = record
        self._ref("conversation", item.external_id, record.id)
        self.add_message(record.id, item.message)
        return record.id

    def add_message(self, conversation_id: int, item: sb.MessageImport) -> None:
        if item.sender is not None:
            self.add_contact(item.sender)
        sender_id = self.internal(item.sender_kind, item.sender_external_id)
        message_id = next(self.ids)
        fields = item.data.changes()
        attachments = fields.pop("attachments", [])
        stored = []
        for data, external_id in zip(attachments, item.attachment_external_ids, strict=True):
            attachment = AttachmentRecord(
                id=next(self.ids),
                message_id=message_id,
                file_name=data.file_name,
                content_type=data.content_type,
                size=0,
                checksum="",
                url=data.external_url or "",
                created_at=data.created_at or STORE_NOW,
            )
            self._ref("attachment", external_id, attachment.id)
            stored.append(attachment)
        record = MessageRecord(
            **{"created_at": STORE_NOW, "updated_at": STORE_NOW, **fields},
            id=message_id,
            conversation_id=conversation_id,
            sender_id=sender_id,
            stored_attachments=stored,
        )
        self.messages[conversation_id].append(record)
        if item.external_id is not None:
            self._ref("message", item.external_id, record.id)
        self.lossy += item.lossy

    def add_replies(self, conversation_id: int, replies: list[sb.SBReply]) -> None:
        for reply in replies:
            self.add_message(conversation_id, sb.reply_to_message(reply=reply))

    def add_comments(self, conversation_id: int, comments: list[sb.SBComment]) -> None:
        for comment in comments:
            self.add_message(conversation_id, sb.comment_to_note(comment=comment))

    # -- the serving side --------------------------------------------------------------------------
    @property
    def legacy(self) -> sb.LegacyRefs:
        return sb.LegacyRefs(ids=self.refs, label_names=self.label_names, kept=self.kept)

    def sender(self, message: MessageRecord) -> AgentRecord | ContactRecord:
        assert message.sender_id is not None
        if message.sender_type == "agent":
            return self.agents[message.sender_id]
        return self.contacts[message.sender_id]

    def ticket(self, conversation_id: int) -> sb.SBTicket:
        conversation = self.conversations[conversation_id]
        assert conversation.contact_id is not None
        return sb.conversation_to_ticket(
            conversation=conversation,
            requester=self.contacts[conversation.contact_id],
            messages=self.messages[conversation_id],
            labels=[self.labels[title] for title in conversation.labels if title in self.labels],
            assignee=None if conversation.assignee_id is None else self.agents[conversation.assignee_id],
            team=None if conversation.team_id is None else self.teams[conversation.team_id],
            current_user_id=self.viewer_id,
            legacy=self.legacy,
        )

    def replies(self, conversation_id: int) -> list[sb.SBReply]:
        parts = sb.ticket_parts(messages=self.messages[conversation_id])
        return [
            sb.message_to_reply(
                message=message,
                sender=self.sender(message),
                replies_count=len(parts.replies),
                comments_count=len(parts.comments),
                legacy=self.legacy,
            )
            for message in parts.replies
        ]

    def comments(self, conversation_id: int) -> list[sb.SBComment]:
        parts = sb.ticket_parts(messages=self.messages[conversation_id])
        return [
            sb.note_to_comment(
                message=message,
                commenter=self.sender(message),
                replies_count=len(parts.replies),
                comments_count=len(parts.comments),
                legacy=self.legacy,
            )
            for message in parts.comments
        ]
