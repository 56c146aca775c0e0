"""Service routes: health, the generated OpenAPI document, attachment files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy import text

from bridge import appkeys
from bridge.api.common import ACCOUNT, path_id, principal, store
from bridge.errors import NotFound
from bridge.models import Attachment
from bridge.openapi import build_openapi
from bridge.routing import Router, json_response

router = Router("native", "Service")


@router.get("/healthz", summary="Liveness and database check", auth="public")
async def healthz(request: web.Request) -> web.Response:
    async with store(request).reader() as session:
        await session.execute(text("SELECT 1"))
    return json_response({"status": "ok"})


@router.get("/openapi.json", summary="This service's OpenAPI document", auth="public")
async def openapi(request: web.Request) -> web.Response:
    return json_response(build_openapi(request.app))


@router.get(ACCOUNT + "/attachments/{id}/file", summary="Download an attachment's file", tag="Messages")
async def attachment_file(request: web.Request) -> web.StreamResponse:
    attachment_id = path_id(request, what="Attachment")
    async with store(request).reader() as session:
        row = await session.get(Attachment, attachment_id)
    if row is None or row.account_id != principal(request).account_id or not row.storage_key:
        raise NotFound("Attachment not found", field="id")
    path = Path(request.app[appkeys.SETTINGS].attachments_dir) / row.storage_key
    if not path.exists():
        raise NotFound("Attachment file is missing", field="id")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": row.content_type,
            "Content-Disposition": f'attachment; filename="{row.file_name.replace(chr(34), "")}"',
        },
    )
