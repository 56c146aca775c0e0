"""Writes for conversations, their labels and assignment, messages and attachments."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.orm import aliased

from bridge import render
from bridge.errors import NotFound, PayloadTooLarge, Unprocessable
from bridge.models import (
    Account,
    AccountUser,
    Attachment,
    Contact,
    Conversation,
    ConversationLabel,
    Inbox,
    Label,
    Message,
    Team,
    utcnow,
)
from bridge.schemas import AttachmentData, ConversationData, MessageData
from bridge.store.core import WriterBase


class ConversationWrites(WriterBase):
    async def conversation(self, display_id: int) -> Conversation:
        """Load a conversation of this account by its display id, or 404."""
        row = (
            await self.session.execute(
                select(Conversation).where(
                    Conversation.account_id == self.account_id, Conversation.display_id == display_id
                )
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("Conversation not found", field="id")
        return row

    async def allocate_display_id(self, wanted: int | None = None) -> int:
        """Hand out the next free display id (or ``wanted`` when free), under the account row lock."""
        if wanted is not None and not await self._display_id_taken(wanted):
            return wanted
        while True:
            seq = (
                await self.session.execute(
                    update(Account)
                    .where(Account.id == self.account_id)
                    .values(conversation_seq=Account.conversation_seq + 1)
                    .returning(Account.conversation_seq)
                )
            ).scalar_one()
            if not await self._display_id_taken(seq):
                return int(seq)
            # An import can leave a long run of taken ids: jump past it rather than step through it.
            await self.session.execute(
                update(Account)
                .where(Account.id == self.account_id)
                .values(conversation_seq=await self.next_free_display_id(int(seq)) - 1)
            )

    async def next_free_display_id(self, after: int) -> int:
        """The smallest display id above ``after`` that no conversation of this account holds."""
        if not await self._display_id_taken(after + 1):
            return after + 1
        held, following = aliased(Conversation), aliased(Conversation)
        run_end = (
            await self.session.execute(
                select(func.min(held.display_id)).where(
                    held.account_id == self.account_id,
                    held.display_id > after,
                    ~exists().where(
                        following.account_id == self.account_id, following.display_id == held.display_id + 1
                    ),
                )
            )
        ).scalar_one()
        return int(run_end) + 1

    async def _display_id_taken(self, display_id: int) -> bool:
        found = await self.session.execute(
            select(Conversation.id).where(
                Conversation.account_id == self.account_id, Conversation.display_id == display_id
            )
        )
        return found.first() is not None

    async def _check_refs(self, data: ConversationData) -> None:
        await self.require_in_account(Inbox, data.inbox_id, "inbox_id")
        await self.require_in_account(Contact, data.contact_id, "contact_id")
        await self.require_in_account(Team, data.team_id, "team_id")
        if data.assignee_id is not None:
            member = await self.session.execute(
                select(AccountUser.id).where(
                    AccountUser.account_id == self.account_id, AccountUser.user_id == data.assignee_id
                )
            )
            if member.first() is None:
                raise Unprocessable("does not exist in this account", field="assignee_id", code="not_found")

    async def create_conversation(self, data: ConversationData) -> Conversation:
        if data.inbox_id is None:
            raise Unprocessable("can't be blank", field="inbox_id", code="blank")
        if data.contact_id is None:
            raise Unprocessable("can't be blank", field="contact_id", code="blank")
        await self._check_refs(data)
        values = self.creation_values(data, exclude=frozenset({"labels", "display_id"}))
        values["display_id"] = await self.allocate_display_id(data.display_id if self.import_mode else None)
        values["uuid"] = str(uuid.uuid4())
        values.setdefault("last_activity_at", values["created_at"])
        row = await self.insert_row(Conversation, values)
        if data.labels:
            await self.set_labels(row, data.labels, emit=False)
        labels = list(data.labels or [])
        self.emit("conversation_created", lambda: render.conversation(row, labels=labels))
        return row

    async def update_conversation(self, row: Conversation, data: ConversationData) -> Conversation:
        """Apply a partial update; status changes also emit ``conversation_status_changed``."""
        await self._check_refs(data)
        values = self.update_values(data, exclude=frozenset({"labels", "display_id", "inbox_id", "contact_id"}))
        old_status = row.status
        if values.get("status") not in (None, "snoozed") and "snoozed_until" not in values:
            values["snoozed_until"] = None
        for key, value in values.items():
            setattr(row, key, value)
        await self.session.flush()
        if data.labels is not None:
            await self.set_labels(row, data.labels, emit=False)
        labels = await self.labels_of(row.id)
        if row.status != old_status:
            self.emit("conversation_status_changed", lambda: render.conversation(row, labels=labels))
        self.emit("conversation_updated", lambda: render.conversation(row, labels=labels))
        return row

    async def labels_of(self, conversation_id: int) -> list[str]:
        rows = await self.session.execute(
            select(ConversationLabel.title)
            .where(ConversationLabel.conversation_id == conversation_id)
            .order_by(ConversationLabel.title)
        )
        return list(rows.scalars().all())

    async def set_labels(self, row: Conversation, titles: list[str], *, emit: bool = True) -> list[str]:
        """Replace a conversation's labels; unknown titles become account labels too."""
        wanted = sorted({t.strip().lower() for t in titles if t and t.strip()})
        for title in wanted:
            if any(ch.isspace() for ch in title):
                raise Unprocessable(f"label {title!r} must not contain spaces", field="labels", code="invalid")
        known = set(
            (
                await self.session.execute(
                    select(Label.title).where(Label.account_id == self.account_id, Label.title.in_(wanted))
                )
            )
            .scalars()
            .all()
        )
        now = self.stamp(None)
        for title in sorted(set(wanted) - known):
            self.session.add(Label(account_id=self.account_id, title=title, created_at=now, updated_at=now))
        await self.session.execute(delete(ConversationLabel).where(ConversationLabel.conversation_id == row.id))
        if wanted:
            await self.session.execute(
                insert(ConversationLabel),
                [{"conversation_id": row.id, "title": t, "account_id": self.account_id} for t in wanted],
            )
        await self.session.flush()
        if emit:
            row.updated_at = now
            self.emit("conversation_updated", lambda: render.conversation(row, labels=wanted))
        return wanted

    async def assign(self, row: Conversation, *, assignee_id: Any = ..., team_id: Any = ...) -> Conversation:
        """Assign to an agent and/or a team; ``None`` unassigns, ``...`` leaves as is."""
        data = ConversationData()
        if assignee_id is not ...:
            data.assignee_id = assignee_id
        if team_id is not ...:
            data.team_id = team_id
        return await self.update_conversation(row, data)

    # -- messages -------------------------------------------------------------------------------
    async def create_message(self, conversation: Conversation, data: MessageData) -> Message:
        """Add a message; an agent's public reply moves the conversation's activity and first reply."""
        message_type = data.message_type or "outgoing"
        private = bool(data.private)
        sender_type, sender_id = data.sender_type, data.sender_id
        if not self.import_mode or sender_type is None:
            if message_type == "incoming":
                sender_type, sender_id = "contact", conversation.contact_id
            elif self.actor_user_id is not None and message_type != "activity":
                sender_type, sender_id = "agent", self.actor_user_id
        if not (data.content or "").strip() and not data.attachments:
            raise Unprocessable("can't be blank", field="content", code="blank")
        created = self.stamp(data.created_at)
        values: dict[str, Any] = {
            "account_id": self.account_id,
            "conversation_id": conversation.id,
            "inbox_id": conversation.inbox_id,
            "content": data.content,
            "message_type": message_type,
            "private": private,
            "content_type": data.content_type or "text",
            "content_attributes": data.content_attributes or {},
            "additional_attributes": data.additional_attributes or {},
            "sender_type": sender_type,
            "sender_id": sender_id,
            "source_id": data.source_id,
            "status": data.status or "sent",
            "created_at": created,
            "updated_at": self.stamp(data.updated_at) if data.updated_at else created,
        }
        row = await self.insert_row(Message, values)
        attachments = [await self.add_attachment(row, item) for item in data.attachments]
        if message_type in {"incoming", "outgoing"} and not private:
            conversation.last_activity_at = max(conversation.last_activity_at, created)
            if message_type == "outgoing" and sender_type == "agent" and conversation.first_reply_created_at is None:
                conversation.first_reply_created_at = created
            conversation.waiting_since = created if message_type == "incoming" else None
            if not self.import_mode:
                conversation.updated_at = created
        await self.session.flush()
        display_id = conversation.display_id
        status = conversation.status
        self.emit(
            "message_created",
            lambda: {
                **render.message(row, conversation_display_id=display_id, attachments=attachments),
                "conversation": {"id": display_id, "status": status},
                "account": {"id": self.account_id},
            },
        )
        return row

    async def update_message(self, conversation: Conversation, row: Message, data: MessageData) -> Message:
        """Apply a partial update to a message's content and attributes (attachments and the author stay)."""
        values = self.update_values(
            data, exclude=frozenset({"attachments", "sender_type", "sender_id", "conversation_id", "inbox_id"})
        )
        if "created_at" in data.model_fields_set and data.created_at is not None and self.import_mode:
            values["created_at"] = self.stamp(data.created_at)
        for key, value in values.items():
            setattr(row, key, value)
        await self.session.flush()
        display_id = conversation.display_id
        self.emit("message_updated", lambda: render.message(row, conversation_display_id=display_id))
        return row

    async def delete_message(self, conversation: Conversation, message_id: int) -> Message:
        row = await self.get_row(Message, message_id, what="Message")
        if row.conversation_id != conversation.id:
            raise NotFound("Message not found", field="id")
        attachments = (
            (await self.session.execute(select(Attachment).where(Attachment.message_id == row.id))).scalars().all()
        )
        keys = {a.storage_key for a in attachments if a.storage_key}
        await self.session.delete(row)
        await self.session.flush()
        await self.release_files(keys)
        return row

    async def add_attachment(self, message: Message | None, data: AttachmentData) -> Attachment:
        """Store an attachment's bytes under the attachments folder (content-addressed) and record it.

        Without a message the attachment is a pending upload, linked later with :meth:`link_attachments`.
        """
        created = self.stamp(data.created_at) if data.created_at or message is None else message.created_at
        values = self.attachment_values(data, message_id=message.id if message is not None else None, created=created)
        return await self.insert_row(Attachment, values)

    def attachment_values(
        self, data: AttachmentData, *, message_id: int | None, created: dt.datetime
    ) -> dict[str, Any]:
        """Store an attachment's bytes (content-addressed, so identical files share one) and return its row."""
        content = data.data or b""
        if len(content) > self.max_attachment_bytes:
            raise PayloadTooLarge(
                f"attachment {data.file_name!r} is larger than {self.max_attachment_bytes} bytes",
                field="attachments",
            )
        checksum = hashlib.sha256(content).hexdigest()
        storage_key: str | None = None
        if data.data is not None:
            if self.attachments_dir is None:
                raise Unprocessable("attachments are not configured", field="attachments")
            storage_key = f"{self.account_id}/{checksum[:2]}/{checksum}"
            path = Path(self.attachments_dir) / storage_key
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".part")
                tmp.write_bytes(content)
                tmp.replace(path)
        content_type = data.content_type
        if content_type == "application/octet-stream":
            content_type = mimetypes.guess_type(data.file_name)[0] or content_type
        return {
            "account_id": self.account_id,
            "message_id": message_id,
            "file_name": data.file_name,
            "content_type": content_type,
            "file_type": _file_type(content_type),
            "size": len(content),
            "checksum": checksum,
            "storage_key": storage_key,
            "external_url": data.external_url,
            "created_at": created,
        }

    async def link_attachments(self, message: Message, attachment_ids: list[int], *, field: str) -> None:
        """Attach pending uploads of this account to ``message``; an unknown or used id is a 422."""
        if not attachment_ids:
            return
        wanted = set(attachment_ids)
        rows = (
            (
                await self.session.execute(
                    select(Attachment).where(
                        Attachment.account_id == self.account_id,
                        Attachment.id.in_(wanted),
                        Attachment.message_id.is_(None),
                    )
                )
            )
            .scalars()
            .all()
        )
        missing = sorted(wanted - {row.id for row in rows})
        if missing:
            raise Unprocessable(f"unknown or already used attachment ids {missing}", field=field, code="not_found")
        for row in rows:
            row.message_id = message.id
        await self.session.flush()

    async def delete_conversation(self, row: Conversation) -> None:
        """Delete a conversation with its messages and attachments (files no longer used go too)."""
        keys = set(
            (
                await self.session.execute(
                    select(Attachment.storage_key)
                    .join(Message, Message.id == Attachment.message_id)
                    .where(Message.conversation_id == row.id)
                )
            )
            .scalars()
            .all()
        )
        await self.session.delete(row)
        await self.session.flush()
        await self.release_files(keys)

    async def set_spam(self, row: Conversation, spam: bool) -> Conversation:
        return await self.update_conversation(row, ConversationData(spam=spam))


def _file_type(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return {"image": "image", "audio": "audio", "video": "video"}.get(major, "file")


__all__ = ["ConversationWrites", "dt", "func", "utcnow"]
