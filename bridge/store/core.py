"""The writer's foundation: one transaction per unit of work, scoped to one account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.errors import Conflict, NotFound, Unprocessable
from bridge.models import AccountUser, Attachment, Base, ExternalRef, Webhook, WebhookDelivery, utcnow

T = TypeVar("T", bound=Base)

# Columns a client may never set through a canonical object.
_PROTECTED = frozenset({"id", "account_id"})


class WriterBase:
    """State shared by every writer mixin: session, account, import mode and pending events."""

    def __init__(
        self,
        session: AsyncSession,
        account_id: int,
        *,
        import_mode: bool = False,
        actor_user_id: int | None = None,
        attachments_dir: Any = None,
        max_attachment_bytes: int = 40 * 1024 * 1024,
    ) -> None:
        self.session = session
        self.account_id = account_id
        self.import_mode = import_mode
        self.actor_user_id = actor_user_id
        self.attachments_dir = attachments_dir
        self.max_attachment_bytes = max_attachment_bytes
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.after_commit: list[Callable[[], None]] = []

    # -- events ---------------------------------------------------------------------------------
    def emit(self, event: str, payload: Callable[[], dict[str, Any]]) -> None:
        """Queue a webhook event; import mode emits nothing. ``payload`` is built only when needed."""
        if self.import_mode:
            return
        self.events.append((event, {"event": event, **payload()}))

    async def flush_events(self) -> int:
        """Write one outbox row per (event, subscribed webhook) inside this transaction."""
        if not self.events:
            return 0
        hooks = (
            await self.session.execute(
                select(Webhook.id, Webhook.subscriptions).where(Webhook.account_id == self.account_id)
            )
        ).all()
        rows = [
            {
                "account_id": self.account_id,
                "webhook_id": hook_id,
                "event": event,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": utcnow(),
                "created_at": utcnow(),
            }
            for event, payload in self.events
            for hook_id, subscriptions in hooks
            if event in (subscriptions or [])
        ]
        self.events.clear()
        if rows:
            await self.session.execute(insert(WebhookDelivery), rows)
        return len(rows)

    # -- timestamps -----------------------------------------------------------------------------
    def stamp(self, given: dt.datetime | None) -> dt.datetime:
        """Keep an original timestamp in import mode; otherwise it is now."""
        if self.import_mode and given is not None:
            return given if given.tzinfo else given.replace(tzinfo=dt.UTC)
        return utcnow()

    def creation_values(self, data: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Column values for a new row from a canonical object (unset fields use column defaults)."""
        values = self._settable(data, exclude)
        created = self.stamp(getattr(data, "created_at", None))
        updated = getattr(data, "updated_at", None)
        values["created_at"] = created
        values["updated_at"] = self.stamp(updated) if updated is not None else created
        values["account_id"] = self.account_id
        return values

    def update_values(self, data: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Column values an update touches; ``updated_at`` is now (or the original, on import)."""
        values = self._settable(data, exclude)
        values["updated_at"] = self.stamp(getattr(data, "updated_at", None))
        return values

    @staticmethod
    def _settable(data: Any, exclude: frozenset[str]) -> dict[str, Any]:
        skip = _PROTECTED | exclude | {"created_at", "updated_at"}
        return {k: v for k, v in data.changes().items() if k not in skip}

    # -- generic row helpers --------------------------------------------------------------------
    async def get_row(self, model: type[T], row_id: int, *, what: str | None = None) -> T:
        """Load a row of this account or raise 404 (another account's row is not found either)."""
        row = await self.session.get(model, row_id)
        if row is None or getattr(row, "account_id", None) != self.account_id:
            raise NotFound(f"{what or model.__name__} not found", field="id")
        return row

    async def insert_row(self, model: type[T], values: dict[str, Any], *, unique_field: str | None = None) -> T:
        row = model(**values)
        self.session.add(row)
        await self._flush(unique_field)
        return row

    async def update_row(
        self, model: type[T], row_id: int, values: dict[str, Any], *, unique_field: str | None = None
    ) -> T:
        row = await self.get_row(model, row_id)
        for key, value in values.items():
            setattr(row, key, value)
        await self._flush(unique_field)
        return row

    async def delete_row(self, model: type[T], row_id: int) -> T:
        row = await self.get_row(model, row_id)
        await self.session.delete(row)
        await self.session.flush()
        return row

    async def _flush(self, unique_field: str | None) -> None:
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as err:
            raise Unprocessable("has already been taken", field=unique_field or "id", code="taken") from err

    async def require_in_account(self, model: type[Base], row_id: int | None, field: str) -> None:
        """422 when a referenced id is not an object of this account."""
        if row_id is None:
            return
        found = (
            await self.session.execute(
                select(model.id).where(model.id == row_id, model.account_id == self.account_id)  # type: ignore[attr-defined]
            )
        ).scalar_one_or_none()
        if found is None:
            raise Unprocessable("does not exist in this account", field=field, code="not_found")

    async def require_agents(self, user_ids: Sequence[int], *, field: str = "user_ids") -> None:
        """422 unless every id is an agent of this account."""
        if not user_ids:
            return
        found = set(
            (
                await self.session.execute(
                    select(AccountUser.user_id).where(
                        AccountUser.account_id == self.account_id, AccountUser.user_id.in_(list(user_ids))
                    )
                )
            )
            .scalars()
            .all()
        )
        missing = sorted(set(user_ids) - found)
        if missing:
            raise Unprocessable(f"unknown agent ids {missing}", field=field, code="not_found")

    async def release_files(self, keys: set[str | None] | set[str]) -> None:
        """After commit, delete attachment files no attachment of the account uses any more.

        Files are content-addressed, so identical uploads share one file; call after the rows are gone.
        """
        if not keys:
            return
        wanted = {key for key in keys if key}
        still_used = set(
            (
                await self.session.execute(
                    select(Attachment.storage_key).where(
                        Attachment.account_id == self.account_id, Attachment.storage_key.in_(wanted)
                    )
                )
            )
            .scalars()
            .all()
        )
        orphans = sorted(wanted - still_used)
        if orphans and self.attachments_dir is not None:
            folder = Path(self.attachments_dir)

            def unlink() -> None:
                for key in orphans:
                    (folder / key).unlink(missing_ok=True)

            self.after_commit.append(unlink)

    # -- identity across systems ----------------------------------------------------------------
    async def external_ref(self, provider: str, kind: str, external_id: str) -> int | None:
        """Return the internal id mapped to a legacy id, if any."""
        return (
            await self.session.execute(
                select(ExternalRef.internal_id).where(
                    ExternalRef.account_id == self.account_id,
                    ExternalRef.provider == provider,
                    ExternalRef.kind == kind,
                    ExternalRef.external_id == external_id,
                )
            )
        ).scalar_one_or_none()

    async def record_external_ref(
        self,
        provider: str,
        kind: str,
        external_id: str,
        internal_id: int,
        *,
        source_updated_at: dt.datetime | None = None,
        fingerprint: str | None = None,
        kept: dict[str, Any] | None = None,
    ) -> None:
        """Map a legacy id to an internal id (both directions unique); re-recording updates in place.

        ``kept`` (what the legacy object holds that Supportly has no field for) replaces the stored one when given.
        """
        existing = (
            await self.session.execute(
                select(ExternalRef).where(
                    ExternalRef.account_id == self.account_id,
                    ExternalRef.provider == provider,
                    ExternalRef.kind == kind,
                    ExternalRef.external_id == external_id,
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            if existing.internal_id != internal_id:
                raise Conflict(f"{provider} {kind} {external_id} is already mapped", field="external_id")
            existing.source_updated_at = source_updated_at or existing.source_updated_at
            existing.fingerprint = fingerprint or existing.fingerprint
            if kept is not None:
                existing.kept = dict(kept)
            await self.session.flush()
            return
        await self.insert_row(
            ExternalRef,
            {
                "account_id": self.account_id,
                "provider": provider,
                "kind": kind,
                "external_id": external_id,
                "internal_id": internal_id,
                "source_updated_at": source_updated_at,
                "fingerprint": fingerprint,
                "kept": dict(kept or {}),
            },
            unique_field="internal_id",
        )

    async def forget_external_refs(self, provider: str, kind: str, internal_id: int) -> None:
        """Drop the legacy ids mapped to an internal object that is being deleted."""
        await self.session.execute(
            delete(ExternalRef).where(
                ExternalRef.account_id == self.account_id,
                ExternalRef.provider == provider,
                ExternalRef.kind == kind,
                ExternalRef.internal_id == internal_id,
            )
        )

    async def internal_refs(self, provider: str, kind: str, internal_ids: Sequence[int]) -> dict[int, str]:
        """Map internal ids back to legacy ids."""
        if not internal_ids:
            return {}
        rows = await self.session.execute(
            select(ExternalRef.internal_id, ExternalRef.external_id).where(
                ExternalRef.account_id == self.account_id,
                ExternalRef.provider == provider,
                ExternalRef.kind == kind,
                ExternalRef.internal_id.in_(list(internal_ids)),
            )
        )
        return {int(i): str(e) for i, e in rows.all()}
