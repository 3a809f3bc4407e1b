"""Who acts in a bureau: the bureaus a person may enter, the acting member (an Actor) for a signed-in user or an API
token, and a unit's name. It joins accounts (users, tokens) with memberships, so it lives in tenancy, above accounts."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import ApiToken, User, WebSession
from backend.audit.service import record
from backend.core import clock
from backend.core.actor import Actor
from backend.core.roles import Role
from backend.core.security import token_hash
from backend.db import set_context
from backend.errors import NotAuthenticated, NotFound
from backend.i18n import _
from backend.tenancy.models import Membership, Tenant, Unit


@dataclass
class BureauChoice:
    tenant: Tenant
    membership_id: uuid.UUID
    role: Role


async def bureaus_of(session: AsyncSession, user: User) -> list[BureauChoice]:
    memberships = func.luoshi_user_tenants(user.id).table_valued("tenant_id", "membership_id", "role")
    rows = (await session.exec(select(memberships.c.tenant_id, memberships.c.membership_id, memberships.c.role))).all()
    if not rows:
        return []
    found = await session.exec(select(Tenant).where(col(Tenant.id).in_([r[0] for r in rows])))
    tenants = {t.id: t for t in found.all()}
    choices = [BureauChoice(tenants[r[0]], r[1], Role(r[2])) for r in rows]
    return sorted(choices, key=lambda c: c.tenant.name)


async def actor_for(
    session: AsyncSession, user: User, tenant_id: uuid.UUID, *, ip: str | None = None, request_id: str | None = None
) -> Actor:
    """Scopes the session to the bureau and loads the person's membership there."""
    await set_context(session, tenant_id)
    row = (await session.exec(
        select(Membership, Tenant.name, Tenant.timezone).join(Tenant, col(Tenant.id) == Membership.tenant_id)
        .where(Membership.user_id == user.id, col(Membership.is_active), col(Tenant.is_active))
    )).first()
    if row is None:
        raise NotFound(_("您不是该教育局的成员，或账号已被停用。"))
    membership, tenant_name, timezone = row
    return Actor(
        user_id=user.id, display_name=user.display_name, tenant_id=tenant_id, membership_id=membership.id,
        role=Role(membership.role), unit_id=membership.unit_id, tenant_name=tenant_name, timezone=timezone, ip=ip,
        request_id=request_id,
    )


def token_refusal(token: ApiToken, membership: Membership, user: User, tenant: Tenant | None) -> str | None:
    """The one lifecycle rule of an API token: why it may not be used now, or None when it may (issue 14,
    finding 11). A password change or reset ends every token made before it, in every bureau (rows of other bureaus
    are out of reach, so this is checked here rather than by revoking them); "must change password" stops them all
    until it is done; and every token expires."""
    if token.revoked_at is not None or not membership.is_active or not user.is_active:
        return _("API 令牌无效或已被吊销。")
    if tenant is None or not tenant.is_active:
        return _("API 令牌无效或已被吊销。")
    if user.must_change_password:
        return _("账号需要先修改密码：请登录网页修改密码后，再创建新的 API 令牌。")
    if user.password_changed_at is not None and token.created_at < user.password_changed_at:
        return _("账号密码已修改（或被重置），此前创建的 API 令牌已失效。请登录网页创建新的令牌。")
    if token.expires_at <= clock.now():
        return _("API 令牌已过期。请登录网页创建新的令牌。")
    return None


async def actor_for_token(
    session: AsyncSession, raw: str, *, ip: str | None = None, request_id: str | None = None
) -> Actor:
    unauthenticated = NotAuthenticated(_("API 令牌无效或已被吊销。"))
    digest = token_hash(raw)
    tenant_id = (await session.exec(select(func.luoshi_token_tenant(digest)))).one()
    if tenant_id is None:
        raise unauthenticated
    await set_context(session, tenant_id)
    row = (await session.exec(
        select(ApiToken, Membership, User)
        .join(Membership, col(Membership.id) == ApiToken.membership_id)
        .join(User, col(User.id) == Membership.user_id)
        .where(ApiToken.token_hash == digest)
    )).first()
    if row is None:
        raise unauthenticated
    token, membership, user = row
    refusal = token_refusal(token, membership, user, await session.get(Tenant, tenant_id))
    if refusal is not None:
        raise NotAuthenticated(refusal)
    if token.last_used_at is None or clock.now() - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = clock.now()
        session.add(token)
    return Actor(user_id=user.id, display_name=user.display_name, tenant_id=tenant_id, membership_id=membership.id,
                 role=Role(membership.role), unit_id=membership.unit_id, ip=ip, request_id=request_id)


async def unit_name(session: AsyncSession, unit_id: uuid.UUID | None) -> str | None:
    if unit_id is None:
        return None
    unit = await session.get(Unit, unit_id)
    return unit.name if unit else None


async def choose_bureau(session: AsyncSession, web_session: WebSession, user: User, tenant_id: uuid.UUID) -> Actor:
    actor = await actor_for(session, user, tenant_id)
    web_session.current_tenant_id = tenant_id
    session.add(web_session)
    await record(session, actor, "login", summary=_("%(name)s 登录", name=user.display_name))
    return actor
