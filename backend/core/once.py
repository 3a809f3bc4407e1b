"""One guard against a creating request applied twice (issue 14, finding 18).

Every form carries a hidden `form_key` (a fresh UUID rendered by the `csrf()` macro); API clients send an
`Idempotency-Key` header. A creating route claims the key first: one row per (bureau, person, key), inserted in the
request's own transaction. A second request with the same key waits on that row's unique index until the first
commits, then finds what the first made and answers with it (the page it redirected to, or the API's first body)
instead of creating another. If the first rolled back, the row is gone and the second creates; if the first only
re-rendered its form with a message (nothing created), the row has no result and the next submission claims it.

Without a key (an old page, a script) a route works as before: the key is a guard for the people who send it.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Column, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel, col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import get_settings
from backend.core import clock
from backend.core.actor import Actor
from backend.core.models import id_field, tenant_field, timestamp_field
from backend.errors import Conflict, InvalidInput
from backend.i18n import _

FORM_FIELD = "form_key"
HEADER = "Idempotency-Key"


class FormSubmission(SQLModel, table=True):
    """A creating request's key and what it made: `location` for a page, `body` for the API (null until done)."""

    __tablename__ = "form_submissions"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "key"),)
    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    user_id: uuid.UUID = Field(foreign_key="users.id")
    key: uuid.UUID
    route: str = Field(max_length=200)
    location: str = Field(default="", max_length=500)
    status_code: int | None = None
    body: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    created_at: datetime = timestamp_field()


@dataclass
class Earlier:
    """What the first request with this key made."""

    location: str
    status_code: int | None
    body: Any


def new_form_key() -> str:
    return str(uuid.uuid4())


def _parse(raw: object, *, strict: bool) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(str(raw).strip())
    except ValueError:
        if strict:
            raise InvalidInput(_("Idempotency-Key 须为 UUID。"), field=HEADER) from None
        return None


async def claim(session: AsyncSession, actor: Actor, raw_key: object, *, route: str, strict: bool = False
                ) -> Earlier | None:
    """Claims the key for this request; returns what an earlier request with the same key made, if it made
    something (then the caller answers with it and creates nothing). `strict`: a malformed key is refused (API)."""
    key = _parse(raw_key, strict=strict)
    if key is None:
        return None
    claimed = (await session.execute(text("""
        INSERT INTO form_submissions (id, tenant_id, user_id, key, route, location, created_at)
        VALUES (:id, :tenant, :user, :key, :route, '', now())
        ON CONFLICT (tenant_id, user_id, key) DO UPDATE SET route = EXCLUDED.route, created_at = now()
            WHERE form_submissions.location = '' AND form_submissions.status_code IS NULL
        RETURNING id
    """).bindparams(id=uuid.uuid4(), tenant=actor.tenant_id, user=actor.user_id, key=key, route=route))).first()
    if claimed is not None:
        return None
    row = (await session.execute(text(
        "SELECT route, location, status_code, body FROM form_submissions "
        "WHERE tenant_id = :tenant AND user_id = :user AND key = :key"
    ).bindparams(tenant=actor.tenant_id, user=actor.user_id, key=key))).one()
    if row.route != route:
        raise Conflict(_("这个提交编号已用于另一项操作，请刷新页面后重新提交。"))
    return Earlier(location=row.location, status_code=row.status_code, body=row.body)


async def settle(session: AsyncSession, actor: Actor, raw_key: object, *, location: str = "",
                 status_code: int | None = None, body: Any = None) -> None:
    """Records what this request made under its key (in the same transaction as the making)."""
    key = _parse(raw_key, strict=False)
    if key is None:
        return
    await session.execute(text(
        "UPDATE form_submissions SET location = :location, status_code = :status, body = CAST(:body AS jsonb) "
        "WHERE tenant_id = :tenant AND user_id = :user AND key = :key"
    ).bindparams(location=location, status=status_code, body=None if body is None else _json(body),
                 tenant=actor.tenant_id, user=actor.user_id, key=key))


def _json(body: Any) -> str:
    return json.dumps(jsonable_encoder(body), ensure_ascii=False)


async def earlier_page(request: Request, session: AsyncSession, actor: Actor, key: object) -> Response | None:
    """For a creating form: the redirect to what the same form (same `form_key`) already made, or None to go on."""
    from backend.core.forms import see_other  # forms → templating → this module (the form_key global)

    earlier = await claim(session, actor, key, route=request.url.path)
    return None if earlier is None else see_other(request, earlier.location)


async def earlier_answer(request: Request, session: AsyncSession, actor: Actor) -> Response | None:
    """For a creating API route: the first answer given to this `Idempotency-Key`, or None to go on."""
    earlier = await claim(session, actor, request.headers.get(HEADER), route=request.url.path, strict=True)
    if earlier is None:
        return None
    return JSONResponse(earlier.body, status_code=earlier.status_code or 200)


async def purge_old(session: AsyncSession) -> int:
    """Drops the keys older than `LUOSHI_FORM_KEY_DAYS` in the session's bureau: a form is not sent twice days
    apart by accident, and the table would otherwise grow with every creating request for ever."""
    since = clock.now() - timedelta(days=get_settings().form_key_days)
    result = await session.exec(delete(FormSubmission).where(col(FormSubmission.created_at) < since))
    return result.rowcount
