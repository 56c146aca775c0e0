"""Writes for the account and the people in it: agents, tokens, teams, inboxes, contacts, companies."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select, update

from bridge import render
from bridge.auth import hash_token, new_token
from bridge.errors import NotFound, Unprocessable, from_validation_error
from bridge.models import (
    AccessToken,
    Account,
    AccountUser,
    Activity,
    Attachment,
    Company,
    Contact,
    Conversation,
    Inbox,
    InboxMember,
    Message,
    Team,
    TeamMember,
    User,
)
from bridge.schemas import (
    AccountData,
    ActivityData,
    AgentData,
    CompanyData,
    ContactData,
    InboxData,
    TeamData,
)
from bridge.store.core import WriterBase


class PeopleWrites(WriterBase):
    # -- account --------------------------------------------------------------------------------
    async def update_account(self, data: AccountData) -> Account:
        row = await self.session.get(Account, self.account_id)
        assert row is not None  # the account of a writer always exists
        for key, value in self.update_values(data).items():
            setattr(row, key, value)
        await self.session.flush()
        return row

    # -- agents ---------------------------------------------------------------------------------
    async def create_agent(self, data: AgentData) -> tuple[User, AccountUser]:
        """Add an agent: reuse the user with that email, or create one; then the membership."""
        if not data.email or not data.name:
            raise Unprocessable("can't be blank", field="email" if not data.email else "name", code="blank")
        user = (await self.session.execute(select(User).where(User.email == data.email))).scalar_one_or_none()
        if user is None:
            created = self.stamp(data.created_at)
            user = await self.insert_row(
                User,
                {
                    "name": data.name,
                    "display_name": data.display_name,
                    "email": data.email,
                    "avatar_url": data.avatar_url,
                    "created_at": created,
                    "updated_at": created,
                },
                unique_field="email",
            )
        existing = (
            await self.session.execute(
                select(AccountUser).where(AccountUser.account_id == self.account_id, AccountUser.user_id == user.id)
            )
        ).scalar_one_or_none()
        if existing is not None and existing.active:
            raise Unprocessable("has already been taken", field="email", code="taken")
        values: dict[str, Any] = {
            "role": data.role or "agent",
            "availability": data.availability or "online",
            "auto_offline": True if data.auto_offline is None else data.auto_offline,
            "active": True if data.active is None else data.active,
        }
        if existing is not None:
            for key, value in values.items():
                setattr(existing, key, value)
            await self.session.flush()
            return user, existing
        membership = await self.insert_row(
            AccountUser,
            {"account_id": self.account_id, "user_id": user.id, **values, "created_at": self.stamp(None)},
        )
        return user, membership

    async def membership(self, user_id: int) -> tuple[User, AccountUser]:
        """Return an agent of this account, or 404."""
        found = (
            await self.session.execute(
                select(User, AccountUser)
                .join(AccountUser, AccountUser.user_id == User.id)
                .where(AccountUser.account_id == self.account_id, User.id == user_id)
            )
        ).first()
        if found is None:
            raise NotFound("Agent not found", field="id")
        return found[0], found[1]

    async def update_agent(self, user_id: int, data: AgentData) -> tuple[User, AccountUser]:
        user, membership = await self.membership(user_id)
        changes = data.changes()
        for key in ("role", "availability", "auto_offline", "active"):
            if key in changes and changes[key] is not None:
                setattr(membership, key, changes[key])
        for key in ("name", "display_name", "avatar_url"):
            if key in changes and (changes[key] is not None or key != "name"):
                setattr(user, key, changes[key])
        if changes.get("email"):
            user.email = changes["email"]
        await self._flush("email")
        return user, membership

    async def remove_agent(self, user_id: int) -> None:
        """Remove an agent from the account; their conversations here become unassigned."""
        user, membership = await self.membership(user_id)
        await self.session.execute(
            update(Conversation)
            .where(Conversation.account_id == self.account_id, Conversation.assignee_id == user.id)
            .values(assignee_id=None, updated_at=self.stamp(None))
        )
        for model in (TeamMember, InboxMember):
            await self.session.execute(
                delete(model).where(model.account_id == self.account_id, model.user_id == user.id)
            )
        await self.session.delete(membership)
        await self.session.flush()

    async def create_token(self, *, owner_type: str, owner_id: int, name: str | None = None) -> str:
        """Issue a new API token for a user or platform app and return it (only its hash is kept)."""
        token = new_token()
        await self.insert_row(
            AccessToken,
            {"token_hash": hash_token(token), "owner_type": owner_type, "owner_id": owner_id, "name": name},
        )
        return token

    async def register_token(self, token: str, *, owner_type: str, owner_id: int, name: str | None) -> None:
        """Store an existing token (e.g. a legacy client's) as an alias of an owner's credentials."""
        await self.insert_row(
            AccessToken,
            {"token_hash": hash_token(token), "owner_type": owner_type, "owner_id": owner_id, "name": name},
            unique_field="token",
        )

    # -- teams ----------------------------------------------------------------------------------
    async def create_team(self, data: TeamData) -> Team:
        if not data.name:
            raise Unprocessable("can't be blank", field="name", code="blank")
        return await self.insert_row(Team, self.creation_values(data), unique_field="name")

    async def update_team(self, team_id: int, data: TeamData) -> Team:
        return await self.update_row(Team, team_id, self.update_values(data), unique_field="name")

    async def set_team_members(self, team_id: int, user_ids: list[int], *, mode: str) -> list[int]:
        """Add, remove or replace a team's members; every user must be an agent of this account."""
        await self.get_row(Team, team_id, what="Team")
        await self.require_agents(user_ids)
        current = set(
            (await self.session.execute(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))
            .scalars()
            .all()
        )
        wanted = set(user_ids)
        if mode == "add":
            target = current | wanted
        elif mode == "remove":
            target = current - wanted
        else:
            target = wanted
        for user_id in current - target:
            await self.session.execute(
                delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
            )
        for user_id in target - current:
            self.session.add(TeamMember(team_id=team_id, user_id=user_id, account_id=self.account_id))
        await self.session.flush()
        return sorted(target)

    # -- inboxes --------------------------------------------------------------------------------
    async def create_inbox(self, data: InboxData) -> Inbox:
        if not data.name:
            raise Unprocessable("can't be blank", field="name", code="blank")
        if not data.channel_type:
            raise Unprocessable("can't be blank", field="channel.type", code="blank")
        values = self.creation_values(data)
        values["inbox_identifier"] = secrets.token_urlsafe(18)
        if data.channel_type == "web_widget":
            values["website_token"] = secrets.token_urlsafe(18)
        return await self.insert_row(Inbox, values)

    async def update_inbox(self, inbox_id: int, data: InboxData) -> Inbox:
        """Update an inbox; ``channel_config`` keys merge into the stored ones (the channel type never changes)."""
        row = await self.get_row(Inbox, inbox_id, what="Inbox")
        values = self.update_values(data, exclude=frozenset({"channel_type"}))
        if data.channel_config is not None:
            values["channel_config"] = {**(row.channel_config or {}), **data.channel_config}
        return await self.update_row(Inbox, inbox_id, values)

    async def set_inbox_members(self, inbox_id: int, user_ids: list[int], *, mode: str, field: str = "id") -> list[int]:
        """Add, remove or replace an inbox's agents; ``field`` names the inbox id in a 404."""
        inbox = await self.session.get(Inbox, inbox_id)
        if inbox is None or inbox.account_id != self.account_id:
            raise NotFound("Inbox not found", field=field)
        await self.require_agents(user_ids)
        current = set(
            (await self.session.execute(select(InboxMember.user_id).where(InboxMember.inbox_id == inbox_id)))
            .scalars()
            .all()
        )
        wanted = set(user_ids)
        target = current | wanted if mode == "add" else current - wanted if mode == "remove" else wanted
        for user_id in current - target:
            await self.session.execute(
                delete(InboxMember).where(InboxMember.inbox_id == inbox_id, InboxMember.user_id == user_id)
            )
        for user_id in target - current:
            self.session.add(InboxMember(inbox_id=inbox_id, user_id=user_id, account_id=self.account_id))
        await self.session.flush()
        return sorted(target)

    # -- companies ------------------------------------------------------------------------------
    async def create_company(self, data: CompanyData) -> Company:
        if not data.name:
            raise Unprocessable("can't be blank", field="name", code="blank")
        return await self.insert_row(Company, self.creation_values(data))

    async def update_company(self, company_id: int, data: CompanyData) -> Company:
        row = await self.get_row(Company, company_id, what="Company")
        if "name" in data.model_fields_set and not data.name:
            raise Unprocessable("can't be blank", field="name", code="blank")
        for key, value in self.update_values(data).items():
            setattr(row, key, value)
        await self.session.flush()
        return row

    async def delete_company(self, company_id: int) -> Company:
        """Delete a company; its contacts stay, unlinked (each one is a ``contact_updated``)."""
        row = await self.get_row(Company, company_id, what="Company")
        linked = (
            (
                await self.session.execute(
                    select(Contact).where(Contact.account_id == self.account_id, Contact.company_id == company_id)
                )
            )
            .scalars()
            .all()
        )
        now = self.stamp(None)
        for contact in linked:
            contact.company_id = None
            contact.updated_at = now
            self.emit("contact_updated", partial(render.contact, contact))
        await self.session.flush()
        await self.session.delete(row)
        await self.session.flush()
        return row

    # -- contacts -------------------------------------------------------------------------------
    async def create_contact(self, data: ContactData) -> Contact:
        await self.require_in_account(Company, data.company_id, "company_id")
        await self._require_unique_contact(data, None)
        values = self.creation_values(data)
        values.setdefault("last_activity_at", values["created_at"])
        row = await self.insert_row(Contact, values, unique_field=self._contact_unique_field(data))
        self.emit("contact_created", lambda: render.contact(row))
        return row

    async def update_contact(self, contact_id: int, data: ContactData) -> Contact:
        await self.get_row(Contact, contact_id, what="Contact")
        await self.require_in_account(Company, data.company_id, "company_id")
        await self._require_unique_contact(data, contact_id)
        row = await self.update_row(
            Contact, contact_id, self.update_values(data), unique_field=self._contact_unique_field(data)
        )
        self.emit("contact_updated", lambda: render.contact(row))
        return row

    async def delete_contact(self, contact_id: int) -> Contact:
        """Delete a contact; the database cascades its conversations (with messages) and activities."""
        row = await self.get_row(Contact, contact_id, what="Contact")
        keys = set(
            (
                await self.session.execute(
                    select(Attachment.storage_key)
                    .join(Message, Message.id == Attachment.message_id)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(
                        Conversation.account_id == self.account_id,
                        Conversation.contact_id == contact_id,
                        Attachment.storage_key.is_not(None),
                    )
                )
            )
            .scalars()
            .all()
        )
        await self.session.delete(row)
        await self.session.flush()
        await self.release_files(keys)
        return row

    async def _require_unique_contact(self, data: ContactData, contact_id: int | None) -> None:
        """422 ``taken`` naming the field when another contact of the account has this email or identifier."""
        for field, column in (("email", Contact.email), ("identifier", Contact.identifier)):
            value = getattr(data, field)
            if not value or field not in data.model_fields_set:
                continue
            query = select(Contact.id).where(Contact.account_id == self.account_id, column == value)
            if contact_id is not None:
                query = query.where(Contact.id != contact_id)
            if (await self.session.execute(query.limit(1))).first() is not None:
                raise Unprocessable("has already been taken", field=field, code="taken")

    @staticmethod
    def _contact_unique_field(data: ContactData) -> str:
        return "identifier" if data.identifier and not data.email else "email"

    async def find_or_create_contact(self, *, email: str, name: str | None = None) -> Contact:
        """Return the account's contact with this email, creating it when there is none."""
        email = email.strip().lower()
        row = (
            await self.session.execute(
                select(Contact).where(Contact.account_id == self.account_id, Contact.email == email)
            )
        ).scalar_one_or_none()
        if row is not None:
            return row
        try:
            data = ContactData(email=email, name=name or email.split("@", 1)[0])
        except ValidationError as err:
            raise from_validation_error(err) from err
        return await self.create_contact(data)

    # -- activities -----------------------------------------------------------------------------
    async def create_activity(self, contact_id: int, data: ActivityData) -> Activity:
        await self.get_row(Contact, contact_id, what="Contact")
        if not data.activity_type or not data.title:
            raise Unprocessable(
                "can't be blank", field="activity_type" if not data.activity_type else "title", code="blank"
            )
        await self.require_agents([data.user_id] if data.user_id else [], field="user_id")
        values = self.creation_values(data, exclude=frozenset({"metadata"}))
        values["metadata_"] = data.metadata or {}
        values["contact_id"] = contact_id
        return await self.insert_row(Activity, values)

    async def contact_activity(self, contact_id: int, activity_id: int) -> Activity:
        """Load an activity of this contact (in this account), or 404."""
        await self.get_row(Contact, contact_id, what="Contact")
        row = await self.get_row(Activity, activity_id, what="Activity")
        if row.contact_id != contact_id:
            raise NotFound("Activity not found", field="id")
        return row

    async def update_activity(self, contact_id: int, activity_id: int, data: ActivityData) -> Activity:
        row = await self.contact_activity(contact_id, activity_id)
        for field in ("activity_type", "title"):
            if field in data.model_fields_set and not getattr(data, field):
                raise Unprocessable("can't be blank", field=field, code="blank")
        await self.require_agents([data.user_id] if data.user_id else [], field="user_id")
        values = self.update_values(data, exclude=frozenset({"metadata"}))
        if "metadata" in data.model_fields_set:
            values["metadata_"] = data.metadata or {}
        for key, value in values.items():
            setattr(row, key, value)
        await self.session.flush()
        return row

    async def delete_activity(self, contact_id: int, activity_id: int) -> Activity:
        row = await self.contact_activity(contact_id, activity_id)
        await self.session.delete(row)
        await self.session.flush()
        return row
