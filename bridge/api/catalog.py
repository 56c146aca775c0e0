"""Native API: account configuration (spec "Labels", "Canned Responses", "Automation Rules", "Webhooks",
"Custom Attributes", "Campaigns").

Shapes follow Chatwoot: labels and automation rules are wrapped in ``payload``, webhooks in
``payload.webhooks`` / ``payload.webhook``, the other lists are bare arrays. Every delete answers 204,
as deletes do everywhere else in the native API.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import case, func, or_, select

from bridge import appkeys, render
from bridge.api.common import native_router, path_id, principal, store
from bridge.errors import NotFound
from bridge.models import (
    AccountUser,
    AutomationRule,
    Base,
    Campaign,
    CannedResponse,
    CustomAttributeDefinition,
    Inbox,
    Label,
    User,
    Webhook,
)
from bridge.net import check_outbound_url
from bridge.routing import json_response, no_content, parse_body, parse_query
from bridge.schemas import (
    AttributeDisplayType,
    AttributeModel,
    AutomationAction,
    AutomationEvent,
    AutomationRuleData,
    CampaignData,
    CannedResponseData,
    CustomAttributeData,
    LabelData,
    WebhookData,
)

router = native_router("Catalog")
R = TypeVar("R", bound=Base)


async def _owned(request: web.Request, model: type[R], what: str) -> R:
    """Load the ``{id}`` row of this account; anything else (another account's too) is 404."""
    row_id = path_id(request, what=what)
    async with store(request).reader() as session:
        row = await session.get(model, row_id)
    if row is None or getattr(row, "account_id", None) != principal(request).account_id:
        raise NotFound(f"{what} not found", field="id")
    return row


async def _delete(request: web.Request, model: type[Base], what: str) -> web.Response:
    row_id = path_id(request, what=what)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        await w.get_row(model, row_id, what=what)
        await w.delete_row(model, row_id)
    return no_content()


# -- labels --------------------------------------------------------------------------------------
class LabelCreate(LabelData):
    title: str = Field(min_length=1, max_length=255)


@router.get("/labels", summary="List the account's labels", tag="Labels")
async def list_labels(request: web.Request) -> web.Response:
    async with store(request).reader() as session:
        rows = (
            await session.execute(
                select(Label).where(Label.account_id == principal(request).account_id).order_by(Label.title)
            )
        ).scalars()
        return json_response({"payload": [render.label(row) for row in rows]})


@router.post("/labels", summary="Create a label", auth="admin", body=LabelCreate, tag="Labels")
async def create_label(request: web.Request) -> web.Response:
    body = await parse_body(request, LabelCreate)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.create_label(body)
    return json_response(render.label(row))


@router.get("/labels/{id}", summary="Get a label", tag="Labels")
async def get_label(request: web.Request) -> web.Response:
    return json_response(render.label(await _owned(request, Label, "Label")))


@router.patch(
    "/labels/{id}",
    summary="Update a label (a new title is renamed on every conversation)",
    auth="admin",
    body=LabelData,
    tag="Labels",
)
async def update_label(request: web.Request) -> web.Response:
    label_id = path_id(request, what="Label")
    body = await parse_body(request, LabelData)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.update_label(label_id, body)
    return json_response(render.label(row))


@router.delete(
    "/labels/{id}", summary="Delete a label (and remove it from conversations)", auth="admin", status=204, tag="Labels"
)
async def delete_label(request: web.Request) -> web.Response:
    label_id = path_id(request, what="Label")
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        await w.delete_label(label_id)
    return no_content()


# -- canned responses ----------------------------------------------------------------------------
class CannedQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    search: str | None = Field(default=None, max_length=255)


class CannedCreate(CannedResponseData):
    short_code: str = Field(min_length=1, max_length=255)
    content: str = Field(min_length=1)


@router.get(
    "/canned_responses",
    summary="List canned responses; search matches short code or content",
    query=CannedQuery,
    tag="Canned Responses",
)
async def list_canned_responses(request: web.Request) -> web.Response:
    query = parse_query(request, CannedQuery)
    statement = select(CannedResponse).where(CannedResponse.account_id == principal(request).account_id)
    if query.search:
        term = query.search.lower()
        in_code = func.lower(CannedResponse.short_code).contains(term, autoescape=True)
        statement = statement.where(
            or_(in_code, func.lower(CannedResponse.content).contains(term, autoescape=True))
        ).order_by(case((in_code, 0), else_=1))
    async with store(request).reader() as session:
        rows = (await session.execute(statement.order_by(CannedResponse.id))).scalars()
        return json_response([render.canned_response(row) for row in rows])


@router.post("/canned_responses", summary="Create a canned response", body=CannedCreate, tag="Canned Responses")
async def create_canned_response(request: web.Request) -> web.Response:
    body = await parse_body(request, CannedCreate)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.create_canned_response(body)
    return json_response(render.canned_response(row))


@router.get("/canned_responses/{id}", summary="Get a canned response", tag="Canned Responses")
async def get_canned_response(request: web.Request) -> web.Response:
    return json_response(render.canned_response(await _owned(request, CannedResponse, "Canned response")))


@router.patch(
    "/canned_responses/{id}", summary="Update a canned response", body=CannedResponseData, tag="Canned Responses"
)
async def update_canned_response(request: web.Request) -> web.Response:
    row_id = path_id(request, what="Canned response")
    body = await parse_body(request, CannedResponseData)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.update_canned_response(row_id, body)
    return json_response(render.canned_response(row))


@router.delete("/canned_responses/{id}", summary="Delete a canned response", status=204, tag="Canned Responses")
async def delete_canned_response(request: web.Request) -> web.Response:
    return await _delete(request, CannedResponse, "Canned response")


# -- automation rules ----------------------------------------------------------------------------
class AutomationRuleCreate(AutomationRuleData):
    name: str = Field(min_length=1, max_length=255)
    event_name: AutomationEvent
    actions: list[AutomationAction] = Field(min_length=1)


@router.get("/automation_rules", summary="List automation rules", auth="admin", tag="Automation Rules")
async def list_automation_rules(request: web.Request) -> web.Response:
    async with store(request).reader() as session:
        rows = (
            await session.execute(
                select(AutomationRule)
                .where(AutomationRule.account_id == principal(request).account_id)
                .order_by(AutomationRule.id)
            )
        ).scalars()
        return json_response({"payload": [render.automation_rule(row) for row in rows]})


@router.post(
    "/automation_rules",
    summary="Create an automation rule",
    auth="admin",
    body=AutomationRuleCreate,
    tag="Automation Rules",
)
async def create_automation_rule(request: web.Request) -> web.Response:
    body = await parse_body(request, AutomationRuleCreate)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.create_automation_rule(body)
    return json_response({"payload": render.automation_rule(row)})


@router.get("/automation_rules/{id}", summary="Get an automation rule", auth="admin", tag="Automation Rules")
async def get_automation_rule(request: web.Request) -> web.Response:
    row = await _owned(request, AutomationRule, "Automation rule")
    return json_response({"payload": render.automation_rule(row)})


@router.patch(
    "/automation_rules/{id}",
    summary="Update an automation rule",
    auth="admin",
    body=AutomationRuleData,
    tag="Automation Rules",
)
async def update_automation_rule(request: web.Request) -> web.Response:
    row_id = path_id(request, what="Automation rule")
    body = await parse_body(request, AutomationRuleData)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.update_automation_rule(row_id, body)
    return json_response({"payload": render.automation_rule(row)})


@router.delete(
    "/automation_rules/{id}", summary="Delete an automation rule", auth="admin", status=204, tag="Automation Rules"
)
async def delete_automation_rule(request: web.Request) -> web.Response:
    return await _delete(request, AutomationRule, "Automation rule")


# -- webhooks ------------------------------------------------------------------------------------
class WebhookCreate(WebhookData):
    url: str = Field(min_length=1, max_length=2048)


async def _check_url(request: web.Request, url: str | None) -> None:
    if url is not None:
        await check_outbound_url(url, allow_private=request.app[appkeys.SETTINGS].allow_private_urls)


@router.get("/webhooks", summary="List webhooks", auth="admin", tag="Webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    async with store(request).reader() as session:
        rows = (
            await session.execute(
                select(Webhook).where(Webhook.account_id == principal(request).account_id).order_by(Webhook.id)
            )
        ).scalars()
        return json_response({"payload": {"webhooks": [render.webhook(row) for row in rows]}})


@router.post(
    "/webhooks",
    summary="Add a webhook (every event unless subscriptions are given)",
    auth="admin",
    body=WebhookCreate,
    tag="Webhooks",
)
async def create_webhook(request: web.Request) -> web.Response:
    body = await parse_body(request, WebhookCreate)
    await _check_url(request, body.url)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.create_webhook(body)
    return json_response({"payload": {"webhook": render.webhook(row)}})


@router.patch("/webhooks/{id}", summary="Update a webhook", auth="admin", body=WebhookData, tag="Webhooks")
async def update_webhook(request: web.Request) -> web.Response:
    row_id = path_id(request, what="Webhook")
    body = await parse_body(request, WebhookData)
    await _check_url(request, body.url)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.update_webhook(row_id, body)
    return json_response({"payload": {"webhook": render.webhook(row)}})


@router.delete("/webhooks/{id}", summary="Delete a webhook", auth="admin", status=204, tag="Webhooks")
async def delete_webhook(request: web.Request) -> web.Response:
    return await _delete(request, Webhook, "Webhook")


# -- custom attribute definitions ----------------------------------------------------------------
# Chatwoot's payload may give both enums as their integer positions.
DISPLAY_TYPES: tuple[str, ...] = ("text", "number", "currency", "percent", "link", "date", "list", "checkbox")
ATTRIBUTE_MODELS: tuple[str, ...] = ("conversation_attribute", "contact_attribute")


def _by_position(value: Any, names: tuple[str, ...]) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    return value


class CustomAttributeIn(CustomAttributeData):
    @field_validator("attribute_display_type", mode="before")
    @classmethod
    def _display_type(cls, value: Any) -> Any:
        return _by_position(value, DISPLAY_TYPES)

    @field_validator("attribute_model", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        return _by_position(value, ATTRIBUTE_MODELS)


class CustomAttributeCreate(CustomAttributeIn):
    attribute_display_name: str = Field(min_length=1, max_length=255)
    attribute_display_type: AttributeDisplayType
    attribute_model: AttributeModel


class CustomAttributeQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    attribute_model: AttributeModel | None = None

    @field_validator("attribute_model", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        return _by_position(value, ATTRIBUTE_MODELS)


@router.get(
    "/custom_attribute_definitions",
    summary="List custom attribute definitions, optionally of one model",
    query=CustomAttributeQuery,
    tag="Custom Attributes",
)
async def list_custom_attributes(request: web.Request) -> web.Response:
    query = parse_query(request, CustomAttributeQuery)
    statement = select(CustomAttributeDefinition).where(
        CustomAttributeDefinition.account_id == principal(request).account_id
    )
    if query.attribute_model is not None:
        statement = statement.where(CustomAttributeDefinition.attribute_model == query.attribute_model)
    async with store(request).reader() as session:
        rows = (await session.execute(statement.order_by(CustomAttributeDefinition.id))).scalars()
        return json_response([render.custom_attribute(row) for row in rows])


@router.post(
    "/custom_attribute_definitions",
    summary="Define a custom attribute (the key is derived from the display name when absent)",
    auth="admin",
    body=CustomAttributeCreate,
    tag="Custom Attributes",
)
async def create_custom_attribute(request: web.Request) -> web.Response:
    body = await parse_body(request, CustomAttributeCreate)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.create_custom_attribute(body)
    return json_response(render.custom_attribute(row))


@router.get("/custom_attribute_definitions/{id}", summary="Get a custom attribute definition", tag="Custom Attributes")
async def get_custom_attribute(request: web.Request) -> web.Response:
    row = await _owned(request, CustomAttributeDefinition, "Custom attribute")
    return json_response(render.custom_attribute(row))


@router.patch(
    "/custom_attribute_definitions/{id}",
    summary="Update a custom attribute definition (its model cannot change)",
    auth="admin",
    body=CustomAttributeIn,
    tag="Custom Attributes",
)
async def update_custom_attribute(request: web.Request) -> web.Response:
    row_id = path_id(request, what="Custom attribute")
    body = await parse_body(request, CustomAttributeIn)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.update_custom_attribute(row_id, body)
    return json_response(render.custom_attribute(row))


@router.delete(
    "/custom_attribute_definitions/{id}",
    summary="Delete a custom attribute definition",
    auth="admin",
    status=204,
    tag="Custom Attributes",
)
async def delete_custom_attribute(request: web.Request) -> web.Response:
    return await _delete(request, CustomAttributeDefinition, "Custom attribute")


# -- campaigns -----------------------------------------------------------------------------------
class CampaignCreate(CampaignData):
    title: str = Field(min_length=1, max_length=255)
    message: str = Field(min_length=1)
    inbox_id: int


async def _render_campaigns(request: web.Request, rows: list[Campaign]) -> list[dict[str, Any]]:
    """Render campaigns with their inbox and sender, loaded in two queries."""
    account_id = principal(request).account_id
    inbox_ids = {row.inbox_id for row in rows}
    sender_ids = {row.sender_id for row in rows if row.sender_id is not None}
    async with store(request).reader() as session:
        inboxes = {
            i.id: i
            for i in (
                await session.execute(select(Inbox).where(Inbox.account_id == account_id, Inbox.id.in_(inbox_ids)))
            ).scalars()
        }
        members = select(User).join(
            AccountUser, (AccountUser.user_id == User.id) & (AccountUser.account_id == account_id)
        )
        senders = {u.id: u for u in (await session.execute(members.where(User.id.in_(sender_ids)))).scalars()}
    return [
        render.campaign(
            row,
            inbox_row=inboxes.get(row.inbox_id),
            sender=senders.get(row.sender_id) if row.sender_id is not None else None,
        )
        for row in rows
    ]


@router.get("/campaigns", summary="List campaigns", tag="Campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    async with store(request).reader() as session:
        rows = list(
            (
                await session.execute(
                    select(Campaign).where(Campaign.account_id == principal(request).account_id).order_by(Campaign.id)
                )
            ).scalars()
        )
    return json_response(await _render_campaigns(request, rows))


@router.post("/campaigns", summary="Create a campaign", auth="admin", body=CampaignCreate, tag="Campaigns")
async def create_campaign(request: web.Request) -> web.Response:
    body = await parse_body(request, CampaignCreate)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.create_campaign(body)
    return json_response((await _render_campaigns(request, [row]))[0])


@router.get("/campaigns/{id}", summary="Get a campaign", tag="Campaigns")
async def get_campaign(request: web.Request) -> web.Response:
    row = await _owned(request, Campaign, "Campaign")
    return json_response((await _render_campaigns(request, [row]))[0])


@router.patch("/campaigns/{id}", summary="Update a campaign", auth="admin", body=CampaignData, tag="Campaigns")
async def update_campaign(request: web.Request) -> web.Response:
    row_id = path_id(request, what="Campaign")
    body = await parse_body(request, CampaignData)
    async with store(request).writer(principal(request).account_id, actor_user_id=principal(request).user_id) as w:
        row = await w.update_campaign(row_id, body)
    return json_response((await _render_campaigns(request, [row]))[0])


@router.delete("/campaigns/{id}", summary="Delete a campaign", auth="admin", status=204, tag="Campaigns")
async def delete_campaign(request: web.Request) -> web.Response:
    return await _delete(request, Campaign, "Campaign")
