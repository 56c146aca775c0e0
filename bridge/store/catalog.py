"""Writes for account-level configuration: labels, canned responses, automations, webhooks, attributes, campaigns."""

from __future__ import annotations

from sqlalchemy import delete, update

from bridge.errors import Unprocessable
from bridge.models import (
    AutomationRule,
    Campaign,
    CannedResponse,
    ConversationLabel,
    CustomAttributeDefinition,
    Inbox,
    Label,
    Webhook,
)
from bridge.schemas import (
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


class CatalogWrites(WriterBase):
    async def create_label(self, data: LabelData) -> Label:
        _require(data, "title")
        return await self.insert_row(Label, self.creation_values(data), unique_field="title")

    async def update_label(self, label_id: int, data: LabelData) -> Label:
        row = await self.get_row(Label, label_id, what="Label")
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
        row = await self.delete_row(Label, label_id)
        await self.session.execute(
            delete(ConversationLabel).where(
                ConversationLabel.account_id == self.account_id, ConversationLabel.title == row.title
            )
        )

    async def create_canned_response(self, data: CannedResponseData) -> CannedResponse:
        _require(data, "short_code", "content")
        return await self.insert_row(CannedResponse, self.creation_values(data), unique_field="short_code")

    async def update_canned_response(self, row_id: int, data: CannedResponseData) -> CannedResponse:
        return await self.update_row(CannedResponse, row_id, self.update_values(data), unique_field="short_code")

    async def create_automation_rule(self, data: AutomationRuleData) -> AutomationRule:
        _require(data, "name", "event_name", "actions")
        return await self.insert_row(AutomationRule, self.creation_values(data))

    async def update_automation_rule(self, row_id: int, data: AutomationRuleData) -> AutomationRule:
        return await self.update_row(AutomationRule, row_id, self.update_values(data))

    async def create_webhook(self, data: WebhookData) -> Webhook:
        _require(data, "url")
        values = self.creation_values(data)
        values.setdefault("subscriptions", [])
        return await self.insert_row(Webhook, values)

    async def update_webhook(self, row_id: int, data: WebhookData) -> Webhook:
        return await self.update_row(Webhook, row_id, self.update_values(data))

    async def create_custom_attribute(self, data: CustomAttributeData) -> CustomAttributeDefinition:
        _require(data, "attribute_display_name", "attribute_display_type", "attribute_model")
        values = self.creation_values(data)
        values.setdefault("attribute_key", slugify_key(data.attribute_display_name or ""))
        return await self.insert_row(CustomAttributeDefinition, values, unique_field="attribute_key")

    async def update_custom_attribute(self, row_id: int, data: CustomAttributeData) -> CustomAttributeDefinition:
        values = self.update_values(data, exclude=frozenset({"attribute_model"}))
        return await self.update_row(CustomAttributeDefinition, row_id, values, unique_field="attribute_key")

    async def create_campaign(self, data: CampaignData) -> Campaign:
        _require(data, "title", "message", "inbox_id")
        await self.require_in_account(Inbox, data.inbox_id, "inbox_id")
        await self._check_sender(data)
        return await self.insert_row(Campaign, self.creation_values(data))

    async def update_campaign(self, row_id: int, data: CampaignData) -> Campaign:
        await self.require_in_account(Inbox, data.inbox_id, "inbox_id")
        await self._check_sender(data)
        return await self.update_row(Campaign, row_id, self.update_values(data))

    async def _check_sender(self, data: CampaignData) -> None:
        if data.sender_id is not None:
            await self.require_agents([data.sender_id], field="sender_id")
