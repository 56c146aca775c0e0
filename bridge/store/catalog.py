"""Writes for account-level configuration: labels, canned responses, automations, webhooks, attributes, campaigns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, inspect, select, update

from bridge.errors import Unprocessable
from bridge.models import (
    AutomationRule,
    Base,
    Campaign,
    CannedResponse,
    ConversationLabel,
    CustomAttributeDefinition,
    Inbox,
    Label,
    Webhook,
)
from bridge.schemas import (
    WEBHOOK_EVENTS,
    AutomationRuleData,
    CampaignData,
    CannedResponseData,
    CustomAttributeData,
    LabelData,
    WebhookData,
    slugify_key,
)
from bridge.store.core import WriterBase


def _require(data: object, *fields: str) -> None:
    for name in fields:
        value = getattr(data, name)
        if value is None or value == "" or value == []:
            raise Unprocessable("can't be blank", field=name, code="blank")


def _no_nulls(model: type[Base], data: Any) -> None:
    """422 for an explicit ``null`` sent for a column that cannot hold one (rather than a database error)."""
    columns = inspect(model).columns
    for name, value in data.changes().items():
        if value is None and name in columns and not columns[name].nullable:
            raise Unprocessable("can't be null", field=name, code="blank")


class CatalogWrites(WriterBase):
    # -- labels ---------------------------------------------------------------------------------
    async def create_label(self, data: LabelData) -> Label:
        _require(data, "title")
        _no_nulls(Label, data)
        return await self.insert_row(Label, self.creation_values(data), unique_field="title")

    async def update_label(self, label_id: int, data: LabelData) -> Label:
        """Update a label; a new title is carried over to every conversation that has the old one."""
        row = await self.get_row(Label, label_id, what="Label")
        _no_nulls(Label, data)
        old_title = row.title
        row = await self.update_row(Label, label_id, self.update_values(data), unique_field="title")
        if row.title != old_title:
            await self.session.execute(
                update(ConversationLabel)
                .where(ConversationLabel.account_id == self.account_id, ConversationLabel.title == old_title)
                .values(title=row.title)
            )
        return row

    async def delete_label(self, label_id: int) -> None:
        await self.get_row(Label, label_id, what="Label")
        row = await self.delete_row(Label, label_id)
        await self.session.execute(
            delete(ConversationLabel).where(
                ConversationLabel.account_id == self.account_id, ConversationLabel.title == row.title
            )
        )

    # -- canned responses -----------------------------------------------------------------------
    async def create_canned_response(self, data: CannedResponseData) -> CannedResponse:
        _require(data, "short_code", "content")
        _no_nulls(CannedResponse, data)
        return await self.insert_row(CannedResponse, self.creation_values(data), unique_field="short_code")

    async def update_canned_response(self, row_id: int, data: CannedResponseData) -> CannedResponse:
        await self.get_row(CannedResponse, row_id, what="Canned response")
        _no_nulls(CannedResponse, data)
        return await self.update_row(CannedResponse, row_id, self.update_values(data), unique_field="short_code")

    # -- automation rules -----------------------------------------------------------------------
    async def create_automation_rule(self, data: AutomationRuleData) -> AutomationRule:
        _require(data, "name", "event_name", "actions")
        _no_nulls(AutomationRule, data)
        return await self.insert_row(AutomationRule, self.creation_values(data))

    async def update_automation_rule(self, row_id: int, data: AutomationRuleData) -> AutomationRule:
        await self.get_row(AutomationRule, row_id, what="Automation rule")
        _no_nulls(AutomationRule, data)
        return await self.update_row(AutomationRule, row_id, self.update_values(data))

    # -- webhooks -------------------------------------------------------------------------------
    async def create_webhook(self, data: WebhookData) -> Webhook:
        """Add a webhook; without ``subscriptions`` it receives every event."""
        _require(data, "url")
        _no_nulls(Webhook, data)
        await self._url_free(data.url or "")
        values = self.creation_values(data)
        values.setdefault("subscriptions", list(WEBHOOK_EVENTS))
        return await self.insert_row(Webhook, values)

    async def update_webhook(self, row_id: int, data: WebhookData) -> Webhook:
        await self.get_row(Webhook, row_id, what="Webhook")
        _no_nulls(Webhook, data)
        if data.url is not None:
            await self._url_free(data.url, except_id=row_id)
        return await self.update_row(Webhook, row_id, self.update_values(data))

    async def _url_free(self, url: str, *, except_id: int | None = None) -> None:
        """422 when another webhook of this account already posts to ``url`` (events would arrive twice)."""
        query = select(Webhook.id).where(Webhook.account_id == self.account_id, Webhook.url == url)
        if except_id is not None:
            query = query.where(Webhook.id != except_id)
        if (await self.session.execute(query.limit(1))).first() is not None:
            raise Unprocessable("has already been taken", field="url", code="taken")

    # -- custom attribute definitions -----------------------------------------------------------
    async def create_custom_attribute(self, data: CustomAttributeData) -> CustomAttributeDefinition:
        _require(data, "attribute_display_name", "attribute_display_type", "attribute_model")
        _no_nulls(CustomAttributeDefinition, data)
        values = self.creation_values(data)
        values.setdefault("attribute_key", slugify_key(data.attribute_display_name or ""))
        return await self.insert_row(CustomAttributeDefinition, values, unique_field="attribute_key")

    async def update_custom_attribute(self, row_id: int, data: CustomAttributeData) -> CustomAttributeDefinition:
        """Update a definition; its model (contact or conversation) is fixed once created."""
        await self.get_row(CustomAttributeDefinition, row_id, what="Custom attribute")
        _no_nulls(CustomAttributeDefinition, data)
        values = self.update_values(data, exclude=frozenset({"attribute_model"}))
        return await self.update_row(CustomAttributeDefinition, row_id, values, unique_field="attribute_key")

    # -- campaigns ------------------------------------------------------------------------------
    async def create_campaign(self, data: CampaignData) -> Campaign:
        _require(data, "title", "message", "inbox_id")
        _no_nulls(Campaign, data)
        await self.require_in_account(Inbox, data.inbox_id, "inbox_id")
        await self._check_sender(data)
        return await self.insert_row(Campaign, self.creation_values(data))

    async def update_campaign(self, row_id: int, data: CampaignData) -> Campaign:
        await self.get_row(Campaign, row_id, what="Campaign")
        _no_nulls(Campaign, data)
        await self.require_in_account(Inbox, data.inbox_id, "inbox_id")
        await self._check_sender(data)
        return await self.update_row(Campaign, row_id, self.update_values(data))

    async def _check_sender(self, data: CampaignData) -> None:
        if data.sender_id is not None:
            await self.require_agents([data.sender_id], field="sender_id")
