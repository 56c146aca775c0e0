"""SupportBee compat views: a ticket's thread and its files (spec: "Fetching Replies", "Create Reply", "Replying on
behalf of an agent", "Show Reply", "Fetching Comments", "Create Comment" and "Create Attachment").

A reply is a public message other than the ticket's own content, a comment a private note (split by
``mappings.supportbee.ticket_parts``). Attachments are uploaded first (pending, no message) and linked by the
``attachment_ids`` of a reply or comment; they are served at ``/attachments/{id}``, the ``url.original`` every
attachment object carries, on the same base (path prefix or Host name) the client used.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge import appkeys
from bridge.errors import BadRequest, Forbidden, NotFound, Unprocessable
from bridge.models import AccountUser, Attachment, Contact, Conversation, User
from bridge.routing import Router, json_response, validate
from bridge.schemas import AgentRecord, AttachmentData, ContactRecord, MessageRecord
from bridge.store import Writer
from mappings import supportbee as sb
from providers.supportbee import auth, reads, wire
from providers.supportbee.auth import Desk

router = Router("supportbee", "SupportBee")

# Supportly ids are 32-bit database integers; anything larger names nothing (and must not reach the database).
_MAX_ID = wire.MAX_ID
_UPLOAD_KEYS = ("files[]", "files", "file")
_UNSAFE_HEADER = re.compile(r"[\x00-\x1f\x7f]")


class ThreadQuery(BaseModel):
    """No filters: a thread is listed whole, oldest first."""


class AttachmentQuery(BaseModel):
    version: str | None = None
    """``thumb`` asks for the thumbnail; the bridge keeps no thumbnails and serves the file itself."""


# -- reading a thread ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Thread:
    """A ticket's messages as SupportBee shows them, with their authors and the ids old clients know."""

    conversation: Conversation
    parts: sb.TicketParts
    agents: Mapping[int, AgentRecord]
    contacts: Mapping[int, ContactRecord]
    legacy: sb.LegacyRefs

    def author(self, message: MessageRecord) -> AgentRecord | ContactRecord:
        """Return who wrote ``message``; an author no longer in the desk is shown as a placeholder."""
        sender_id = message.sender_id or 0
        if message.sender_type == "agent" and sender_id in self.agents:
            return self.agents[sender_id]
        if message.sender_type == "contact" and sender_id in self.contacts:
            return self.contacts[sender_id]
        if message.message_type == "incoming":
            return self.contacts[self.conversation.contact_id]
        return AgentRecord.model_construct(id=sender_id, name="Former agent", email=None, role="agent")

    def reply(self, message: MessageRecord) -> sb.SBReply:
        return sb.message_to_reply(
            message=message,
            sender=self.author(message),
            replies_count=len(self.parts.replies),
            comments_count=len(self.parts.comments),
            legacy=self.legacy,
        )

    def comment(self, message: MessageRecord) -> sb.SBComment:
        return sb.note_to_comment(
            message=message,
            commenter=self.author(message),
            replies_count=len(self.parts.replies),
            comments_count=len(self.parts.comments),
            legacy=self.legacy,
        )

    def find(self, messages: Sequence[MessageRecord], shown_id: int) -> MessageRecord:
        """Find the message a client names by the id it was shown (a legacy id an import kept, else ours)."""
        for message in messages:
            if self.legacy.legacy_id("message", message.id) == shown_id:
                return message
        raise NotFound("Reply not found", field="id")

    def by_internal_id(self, messages: Sequence[MessageRecord], message_id: int) -> MessageRecord:
        return next(message for message in messages if message.id == message_id)


async def load_thread(session: AsyncSession, request: web.Request, desk: Desk, ticket_id: str) -> Thread:
    """Load a ticket's replies and comments with everything their SupportBee view needs."""
    conversation = await reads.find_ticket(session, desk, ticket_id)
    messages = (await reads.messages_of(session, request, desk, [conversation.id])).get(conversation.id, [])
    parts = sb.ticket_parts(messages=messages)
    shown = [*parts.replies, *parts.comments]
    agent_ids = {m.sender_id for m in shown if m.sender_type == "agent" and m.sender_id}
    contact_ids = {m.sender_id for m in shown if m.sender_type == "contact" and m.sender_id}
    agents = await reads.agents_by_id(session, desk.account_id, agent_ids)
    contacts = {
        row.id: reads.contact_record(row)
        for row in (
            await session.execute(
                select(Contact).where(
                    Contact.account_id == desk.account_id, Contact.id.in_(contact_ids | {conversation.contact_id})
                )
            )
        ).scalars()
    }
    legacy = await reads.legacy_refs(
        session,
        desk.account_id,
        {
            "message": {m.id for m in shown},
            "agent": set(agents) | {m.sender_id or 0 for m in shown if m.sender_type == "agent"},
            "contact": set(contacts),
            "attachment": {a.id for m in shown for a in m.stored_attachments},
        },
    )
    return Thread(conversation, parts, agents, contacts, legacy)


def _shown_id(raw: str) -> int:
    """Read a path id (an id a client was shown: a SupportBee id an import kept, or a Supportly id)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise NotFound("Not found", field="id")
    return int(raw)


def _reader(request: web.Request) -> AbstractAsyncContextManager[AsyncSession]:
    return request.config_dict[appkeys.STORE].reader()


# -- request bodies --------------------------------------------------------------------------------
def _written_part(body: Mapping[str, Any], key: str) -> tuple[dict[str, Any], sb.SBContent]:
    """Read ``{"reply": {...}}`` or ``{"comment": {...}}`` with its content; text or html must be there."""
    part = body.get(key)
    if not isinstance(part, Mapping):
        raise BadRequest(f"{key} is required", field=key)
    fields = {k: v for k, v in part.items() if k not in ("content", "content_attributes", "attachment_ids")}
    text, html, ids = wire.read_content(part)
    return fields, sb.SBContent(text=text, html=html, attachment_ids=ids)


async def _addressees(w: Writer, desk: Desk, value: Any, *, field: str) -> list[sb.SBUser]:
    return await reads.addressees(w, desk, wire.parse_addresses(value, field=field))


async def _behalf_of(session: AsyncSession, desk: Desk, who: sb.SBOnBehalfOf) -> int:
    """Find the agent an admin replies for: by id (a SupportBee id an import kept, else ours), else by email."""
    if who.id is not None:
        mapped = await reads.internal_id(session, desk.account_id, "agent", who.id)
        user_id = mapped if mapped is not None else who.id
        agents = await reads.agents_by_id(session, desk.account_id, {user_id}) if 0 < user_id <= _MAX_ID else {}
        found = agents.get(user_id)
    elif who.email and who.email.strip():
        row = (
            await session.execute(
                select(User.id)
                .join(AccountUser, AccountUser.user_id == User.id)
                .where(AccountUser.account_id == desk.account_id, func.lower(User.email) == who.email.strip().lower())
            )
        ).scalar_one_or_none()
        found = None if row is None else (await reads.agents_by_id(session, desk.account_id, {row})).get(row)
    else:
        raise BadRequest("must contain id or email", field="on_behalf_of")
    if found is None or found.active is False:
        raise Unprocessable("is not an agent of this desk", field="on_behalf_of", code="not_found")
    return found.id


# -- replies ---------------------------------------------------------------------------------------
@router.get(r"/tickets/{ticket_id:[0-9]+}/replies", summary="List a ticket's replies", query=ThreadQuery)
async def list_replies(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    async with _reader(request) as session:
        thread = await load_thread(session, request, desk, request.match_info["ticket_id"])
    replies = [thread.reply(message) for message in thread.parts.replies]
    return json_response(sb.SBReplyList(replies=replies).to_wire())


@router.get(r"/tickets/{ticket_id:[0-9]+}/replies/{id:[0-9]+}", summary="Show a reply", query=ThreadQuery)
async def show_reply(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    shown_id = _shown_id(request.match_info["id"])
    async with _reader(request) as session:
        thread = await load_thread(session, request, desk, request.match_info["ticket_id"])
    reply = thread.reply(thread.find(thread.parts.replies, shown_id))
    return json_response(sb.SBReplyEnvelope(reply=reply).to_wire())


@router.post(
    r"/tickets/{ticket_id:[0-9]+}/replies",
    summary="Reply to a ticket (admins may reply on behalf of an agent)",
    body=sb.SBReplyWriteEnvelope,
    status=201,
)
async def create_reply(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    author_id = desk.require_user()
    fields, content = _written_part(await wire.read_body(request), "reply")
    reply = validate(sb.SBReplyWrite, fields, prefix="reply")
    store = request.config_dict[appkeys.STORE]
    if reply.on_behalf_of is not None:
        if not desk.is_admin:
            raise Forbidden("Access denied: only admins can reply on behalf of an agent")
        async with store.reader() as session:
            author_id = await _behalf_of(session, desk, reply.on_behalf_of)
    async with store.writer(desk.account_id, actor_user_id=author_id) as w:
        conversation = await reads.find_ticket(w.session, desk, request.match_info["ticket_id"])
        cc = await _addressees(w, desk, reply.cc, field="cc")
        bcc = await _addressees(w, desk, reply.bcc, field="bcc")
        data = sb.new_message(part="reply", content=content, sender_kind="agent", sender_id=author_id, cc=cc, bcc=bcc)
        message = await w.create_message(conversation, data)
        await w.link_attachments(
            message, await reads.pending_uploads(w, desk, content.attachment_ids or []), field="attachment_ids"
        )
        message_id = message.id
    async with store.reader() as session:
        thread = await load_thread(session, request, desk, request.match_info["ticket_id"])
    created = thread.reply(thread.by_internal_id(thread.parts.replies, message_id))
    return json_response(sb.SBReplyEnvelope(reply=created).to_wire(), status=201)


# -- comments --------------------------------------------------------------------------------------
@router.get(r"/tickets/{ticket_id:[0-9]+}/comments", summary="List a ticket's comments", query=ThreadQuery)
async def list_comments(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    async with _reader(request) as session:
        thread = await load_thread(session, request, desk, request.match_info["ticket_id"])
    comments = [thread.comment(message) for message in thread.parts.comments]
    return json_response(sb.SBCommentList(comments=comments).to_wire())


@router.post(
    r"/tickets/{ticket_id:[0-9]+}/comments",
    summary="Comment on a ticket (a private note)",
    body=sb.SBCommentWriteEnvelope,
    status=201,
)
async def create_comment(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    author_id = desk.require_user()
    _, content = _written_part(await wire.read_body(request), "comment")
    store = request.config_dict[appkeys.STORE]
    async with store.writer(desk.account_id, actor_user_id=author_id) as w:
        conversation = await reads.find_ticket(w.session, desk, request.match_info["ticket_id"])
        data = sb.new_message(part="comment", content=content, sender_kind="agent", sender_id=author_id)
        message = await w.create_message(conversation, data)
        await w.link_attachments(
            message, await reads.pending_uploads(w, desk, content.attachment_ids or []), field="attachment_ids"
        )
        message_id = message.id
    async with store.reader() as session:
        thread = await load_thread(session, request, desk, request.match_info["ticket_id"])
    created = thread.comment(thread.by_internal_id(thread.parts.comments, message_id))
    return json_response(sb.SBCommentEnvelope(comment=created).to_wire(), status=201)


# -- attachments -----------------------------------------------------------------------------------
def _file_name(raw: str | None) -> str:
    """Keep an uploaded file's base name, at most 255 characters with its extension."""
    name = _UNSAFE_HEADER.sub("", (raw or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[: 254 - len(extension)]}.{extension}" if dot and len(extension) < 16 else name[:255]
    return name or "attachment"


def _content_type(raw: str | None) -> str:
    """Keep the type a client declared for a file, unless it cannot be stored or sent back as a header."""
    value = (raw or "").strip()
    if not value or len(value) > 255 or _UNSAFE_HEADER.search(value) or "/" not in value:
        return "application/octet-stream"
    return value


def _attachment_view(request: web.Request, desk: Desk, row: Attachment, legacy: sb.LegacyRefs) -> sb.SBAttachment:
    url = reads.attachment_url(request, desk, legacy.legacy_id("attachment", row.id))
    return sb.attachment_to_legacy(attachment=reads.attachment_record(row, url), legacy=legacy)


@router.post("/attachments", summary="Upload attachments (multipart files[])", status=201)
async def upload_attachments(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    user_id = desk.require_user()
    if request.content_type != "multipart/form-data":
        raise BadRequest("Upload files as multipart/form-data in files[]", field="files")
    form = await request.post()
    uploads = [item for key in _UPLOAD_KEYS for item in form.getall(key, []) if isinstance(item, web.FileField)]
    if not uploads:
        raise BadRequest("files[] must hold at least one file", field="files")
    files = [
        AttachmentData(
            file_name=_file_name(upload.filename),
            content_type=_content_type(upload.content_type),
            data=await asyncio.to_thread(upload.file.read),
        )
        for upload in uploads
    ]
    async with request.config_dict[appkeys.STORE].writer(desk.account_id, actor_user_id=user_id) as w:
        rows = [await w.add_attachment(None, item) for item in files]
    views = [_attachment_view(request, desk, row, sb.NO_LEGACY) for row in rows]
    body: dict[str, Any] = sb.SBAttachmentEnvelope(attachment=views[0]).to_wire()
    if len(views) > 1:
        body["attachments"] = [view.to_wire() for view in views]
    return json_response(body, status=201)


async def find_attachment(session: AsyncSession, desk: Desk, raw: str) -> Attachment:
    """Find the attachment a client names by the id it was shown; another company's is not found."""
    shown_id = _shown_id(raw)
    mapped = await reads.internal_id(session, desk.account_id, "attachment", shown_id)
    if mapped is None and shown_id > _MAX_ID:
        raise NotFound("Attachment not found", field="id")
    row = await session.get(Attachment, mapped if mapped is not None else shown_id)
    if row is None or row.account_id != desk.account_id:
        raise NotFound("Attachment not found", field="id")
    if mapped is None:
        legacy = await reads.legacy_refs(session, desk.account_id, {"attachment": {row.id}})
        if legacy.legacy_id("attachment", row.id) != shown_id:
            raise NotFound("Attachment not found", field="id")
    return row


def _disposition(file_name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact one in RFC 5987 form."""
    exact = _UNSAFE_HEADER.sub("", file_name)
    plain = exact.replace('"', "").replace("\\", "")
    ascii_name = plain.encode("ascii", "replace").decode().replace("?", "_") or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(exact, safe='')}"


@router.get(r"/attachments/{id:[0-9]+}", summary="Download an attachment's file", query=AttachmentQuery)
async def download_attachment(request: web.Request) -> web.StreamResponse:
    desk = auth.desk(request)
    async with _reader(request) as session:
        row = await find_attachment(session, desk, request.match_info["id"])
    folder = request.config_dict[appkeys.STORE].attachments_dir
    path = Path(folder) / row.storage_key if folder is not None and row.storage_key else None
    if path is None or not path.is_file():
        raise NotFound("The attachment's file is not stored here", field="id")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": _content_type(row.content_type),
            "Content-Disposition": _disposition(row.file_name),
            "X-Content-Type-Options": "nosniff",
        },
    )
