"""Bureaus, their unit tree and their members."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import ApiToken, User
from backend.accounts.service import create_user
from backend.audit.service import record
from backend.config import get_settings
from backend.core import attempts, clock
from backend.core.actor import Actor, Operator
from backend.core.redis import get_redis
from backend.core.roles import Role, role_label
from backend.core.security import hash_password, new_token, temporary_password, token_hash
from backend.core.text import check_length
from backend.db import set_context
from backend.errors import Conflict, DomainError, InvalidInput, NotFound, TooManyAttempts
from backend.i18n import _
from backend.tenancy import policy
from backend.tenancy.models import Invitation, Membership, Tenant, Unit, UnitKind

# --- bureaus ---------------------------------------------------------------------------------------------


async def create_tenant(
    session: AsyncSession, operator: Operator | None, *, name: str, code: str, timezone: str | None = None
) -> Tenant:
    """Creates a bureau and leaves the session scoped to it, so its first units and members can follow."""
    name, code = name.strip(), code.strip().lower()
    if not name:
        raise InvalidInput(_("请填写教育局名称。"), field="name")
    check_length(name, limit=100, label=_("教育局名称"), field="name")
    if not code or len(code) > 40 or not code.replace("-", "").isalnum() or not code.isascii():
        raise InvalidInput(_("简称只能使用英文字母、数字和连字符，例如 taicang。"), field="code")
    # Two identical creations at once (a double click, a retried script) queue here, so the second sees the first
    # bureau and gets the message below instead of the unique index's error.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('tenant-create'))"))
    clash = await session.exec(select(Tenant).where((Tenant.name == name) | (Tenant.code == code)))
    if clash.first():
        raise Conflict(_("已有同名或同简称的教育局，请换一个名称或简称。"), field="name")
    tenant = Tenant(name=name, code=code, timezone=timezone or get_settings().default_timezone)
    session.add(tenant)
    await session.flush()
    await set_context(session, tenant.id)
    await record(
        session, operator, "tenant.create", tenant_id=tenant.id, object_type="tenant", object_id=tenant.id,
        summary=_("创建教育局“%(name)s”", name=name),
    )
    return tenant


async def open_bureau(
    session: AsyncSession, operator: Operator, *, name: str, code: str, admin_name: str, admin_username: str
) -> tuple[Tenant, str]:
    """A new bureau with its first administrator, who gets a one-time password to change at first login."""
    if not admin_name.strip():
        raise InvalidInput(_("请填写该局系统管理员的姓名。"), field="admin_name")
    check_length(admin_name.strip(), limit=50, label=_("管理员姓名"), field="admin_name")
    tenant = await create_tenant(session, operator, name=name, code=code)
    password = temporary_password()
    try:
        admin = await create_user(session, username=admin_username, display_name=admin_name, password=password,
                                  must_change_password=True)
    except DomainError as error:  # the operator's form calls the login name field admin_username
        error.field = "admin_" + error.field if error.field else None
        raise
    await add_member(session, None, tenant_id=tenant.id, user=admin, role=Role.admin)
    return tenant, password


async def list_tenants(session: AsyncSession, operator: Operator) -> list[Tenant]:
    """The operator sees the bureaus themselves, never their content."""
    return list((await session.exec(select(Tenant).order_by(col(Tenant.created_at)))).all())


# --- units -----------------------------------------------------------------------------------------------


@dataclass
class UnitNode:
    unit: Unit
    depth: int
    member_count: int


async def list_units(session: AsyncSession, actor: Actor) -> list[UnitNode]:
    """The unit tree flattened in display order, with member counts: two queries whatever its size."""
    policy.require_read_units(actor)
    units = (await session.exec(select(Unit).order_by(col(Unit.sort_order), col(Unit.name)))).all()
    counts = dict(
        (await session.exec(
            select(Membership.unit_id, func.count()).where(col(Membership.is_active)).group_by(col(Membership.unit_id))
        )).all()
    )
    children: dict[uuid.UUID | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered: list[UnitNode] = []

    def walk(parent: uuid.UUID | None, depth: int) -> None:
        for unit in children.get(parent, []):
            ordered.append(UnitNode(unit, depth, counts.get(unit.id, 0)))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return ordered


async def get_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(_("找不到该单位，它可能已被删除。"))
    return unit


async def _check_parent(session: AsyncSession, actor: Actor, unit: Unit | None, parent_id: uuid.UUID | None) -> None:
    if parent_id is None:
        return
    parent: Unit | None = await get_unit(session, actor, parent_id)
    while parent is not None:
        if unit is not None and parent.id == unit.id:
            raise InvalidInput(_("不能把单位移到它自己或它的下级单位之下。"), field="parent_id")
        parent = await session.get(Unit, parent.parent_id) if parent.parent_id else None


async def _check_name_free(session: AsyncSession, name: str, unit_id: uuid.UUID | None) -> None:
    """A duplicate name is found before anything is written: a failed write would end the request's transaction."""
    query = select(Unit.id).where(Unit.name == name)
    if unit_id is not None:
        query = query.where(Unit.id != unit_id)
    if (await session.exec(query)).first() is not None:
        raise Conflict(_("本局已有名为“%(name)s”的单位，请换一个名称。", name=name), field="name")


def _clean_unit_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(_("请填写单位名称。"), field="name")
    if len(name) > 100:
        raise InvalidInput(_("单位名称不能超过 100 个字。"), field="name")
    return name


async def units_to_manage(session: AsyncSession, actor: Actor) -> list[UnitNode]:
    """The unit tree on the page where units are added, renamed and moved."""
    policy.require_manage_units(actor)
    return await list_units(session, actor)


async def unit_to_edit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> Unit:
    policy.require_manage_units(actor)
    return await get_unit(session, actor, unit_id)


async def create_unit(
    session: AsyncSession, actor: Actor, *, name: str, kind: UnitKind = UnitKind.office,
    parent_id: uuid.UUID | None = None,
) -> Unit:
    policy.require_manage_units(actor)
    await _check_parent(session, actor, None, parent_id)
    name = _clean_unit_name(name)
    await _check_name_free(session, name, None)
    unit = Unit(tenant_id=actor.tenant_id, name=name, kind=UnitKind(kind), parent_id=parent_id)
    session.add(unit)
    await session.flush()
    await record(session, actor, "unit.create", object_type="unit", object_id=unit.id,
                 summary=_("新建单位“%(name)s”", name=unit.name))
    return unit


async def update_unit(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID, *, name: str, kind: UnitKind,
    parent_id: uuid.UUID | None,
) -> Unit:
    policy.require_manage_units(actor)
    unit = await get_unit(session, actor, unit_id)
    await _check_parent(session, actor, unit, parent_id)
    name = _clean_unit_name(name)
    await _check_name_free(session, name, unit.id)
    before = {"name": unit.name, "kind": unit.kind, "parent_id": str(unit.parent_id or "")}
    unit.name, unit.kind, unit.parent_id = name, UnitKind(kind), parent_id
    session.add(unit)
    await session.flush()
    await record(session, actor, "unit.update", object_type="unit", object_id=unit.id,
                 summary=_("修改单位“%(name)s”", name=unit.name), details={"before": before})
    return unit


# --- members ---------------------------------------------------------------------------------------------


@dataclass
class MemberRow:
    membership: Membership
    user: User
    unit: Unit | None


async def list_members(session: AsyncSession, actor: Actor) -> list[MemberRow]:
    policy.require_read_members(actor)
    query = (
        select(Membership, User, Unit)
        .join(User, col(User.id) == Membership.user_id)
        .join(Unit, col(Unit.id) == Membership.unit_id, isouter=True)
        .order_by(col(Membership.is_active).desc(), col(User.display_name))
    )
    if policy.sees_own_unit_members_only(actor):
        query = query.where(Membership.unit_id == actor.unit_id)
    return [MemberRow(m, u, unit) for m, u, unit in (await session.exec(query)).all()]


async def get_member(session: AsyncSession, actor: Actor, membership_id: uuid.UUID) -> MemberRow:
    row = (await session.exec(
        select(Membership, User).join(User, col(User.id) == Membership.user_id).where(Membership.id == membership_id)
    )).first()
    if row is None:
        raise NotFound(_("找不到该人员，可能已被移出本局。"))
    membership, user = row
    unit = await session.get(Unit, membership.unit_id) if membership.unit_id else None
    return MemberRow(membership, user, unit)


async def _check_role_unit(session: AsyncSession, actor: Actor, role: Role, unit_id: uuid.UUID | None) -> None:
    if role.needs_unit and unit_id is None:
        raise InvalidInput(_("单位负责人和经办人必须选择所在单位。"), field="unit_id")
    if unit_id is not None:
        await get_unit(session, actor, unit_id)


async def add_member(
    session: AsyncSession, actor: Actor | None, *, tenant_id: uuid.UUID, user: User, role: Role,
    unit_id: uuid.UUID | None = None,
) -> Membership:
    """Used by the CLI, the demo and invitation acceptance; `actor` None means the platform itself."""
    if actor is not None:
        policy.require_manage_members(actor)
    role = Role(role)
    if role.needs_unit and unit_id is None:
        raise InvalidInput(_("单位负责人和经办人必须选择所在单位。"), field="unit_id")
    existing = (await session.exec(select(Membership).where(Membership.user_id == user.id))).first()
    if existing:
        raise Conflict(_("“%(name)s”已是本局成员。", name=user.display_name))
    membership = Membership(
        tenant_id=tenant_id, user_id=user.id, role=role, unit_id=unit_id if role.needs_unit else None
    )
    session.add(membership)
    await session.flush()
    await record(session, actor, "member.add", tenant_id=tenant_id, object_type="membership", object_id=membership.id,
                 summary=_("%(name)s 加入本局，角色：%(role)s", name=user.display_name, role=role_label(role)))
    return membership


async def change_role(
    session: AsyncSession, actor: Actor, membership_id: uuid.UUID, *, role: Role, unit_id: uuid.UUID | None
) -> MemberRow:
    policy.require_manage_members(actor)
    row = await get_member(session, actor, membership_id)
    role = Role(role)
    await _check_role_unit(session, actor, role, unit_id)
    if row.membership.id == actor.membership_id and role != Role.admin:
        raise InvalidInput(_("不能取消自己的管理员角色，请让另一位管理员操作。"), field="role")
    before = {"role": row.membership.role, "unit_id": str(row.membership.unit_id or "")}
    row.membership.role, row.membership.unit_id = role, unit_id if role.needs_unit else None
    session.add(row.membership)
    await session.flush()
    await record(session, actor, "member.role", object_type="membership", object_id=membership_id,
                 summary=_("%(name)s 的角色改为%(role)s", name=row.user.display_name, role=role_label(role)),
                 details={"before": before})
    return await get_member(session, actor, membership_id)


async def set_member_active(
    session: AsyncSession, actor: Actor, membership_id: uuid.UUID, *, active: bool
) -> MemberRow:
    policy.require_manage_members(actor)
    row = await get_member(session, actor, membership_id)
    if row.membership.id == actor.membership_id:
        raise InvalidInput(_("不能停用自己的账号。"))
    row.membership.is_active = active
    session.add(row.membership)
    if not active:
        tokens = await session.exec(select(ApiToken).where(ApiToken.membership_id == membership_id))
        for token in tokens.all():
            token.revoked_at = token.revoked_at or clock.now()
            session.add(token)
    await session.flush()
    action, summary = ("member.activate", _("启用 %(name)s")) if active else ("member.deactivate", _("停用 %(name)s"))
    await record(session, actor, action, object_type="membership", object_id=membership_id,
                 summary=summary % {"name": row.user.display_name})
    return row


async def require_account_of_this_bureau(session: AsyncSession, actor: Actor, user: User) -> None:
    """The one guard for a bureau admin changing someone's credentials (password, login name, e-mail): only an
    account that has never served another bureau is theirs. Any membership elsewhere counts — active or not, in a
    bureau that is suspended or not — since it can come back and the admin would then be that person there."""
    elsewhere = (await session.exec(select(func.luoshi_user_serves_other_tenant(user.id, actor.tenant_id)))).one()
    if elsewhere:
        raise Conflict(_("%(name)s 的账号同时用于（或曾用于）其他教育局，本局管理员不能修改其密码或登录信息。"
                         "请本人修改，或请平台运维处理。", name=user.display_name))


async def reset_password(session: AsyncSession, actor: Actor, membership_id: uuid.UUID) -> str:
    """Gives a one-time password to pass on; the person must choose a new one when they log in."""
    policy.require_manage_members(actor)
    row = await get_member(session, actor, membership_id)
    await require_account_of_this_bureau(session, actor, row.user)
    password = temporary_password()
    row.user.password_hash = await hash_password(password)
    row.user.must_change_password = True
    row.user.password_changed_at = clock.now()  # ends the API tokens made before it (tenancy.acting.token_refusal)
    row.user.failed_logins = 0
    row.user.locked_until = None
    await attempts.clear(get_redis(), attempts.key("login-account", row.user.username))
    session.add(row.user)
    await session.flush()
    await record(session, actor, "member.reset_password", object_type="membership", object_id=membership_id,
                 summary=_("重置 %(name)s 的密码", name=row.user.display_name))
    return password


# --- invitations -----------------------------------------------------------------------------------------


async def invite(
    session: AsyncSession, actor: Actor, *, display_name: str, role: Role, unit_id: uuid.UUID | None
) -> tuple[Invitation, str]:
    """Returns the invitation and the link's raw token, which is shown once and never stored."""
    policy.require_manage_members(actor)
    display_name = " ".join(display_name.split())
    if not display_name:
        raise InvalidInput(_("请填写被邀请人的姓名。"), field="display_name")
    check_length(display_name, limit=50, label=_("姓名"), field="display_name")
    role = Role(role)
    await _check_role_unit(session, actor, role, unit_id)
    raw = new_token()
    invitation = Invitation(
        tenant_id=actor.tenant_id, token_hash=token_hash(raw), display_name=display_name, role=role,
        unit_id=unit_id if role.needs_unit else None, created_by=actor.user_id,
        expires_at=clock.now() + timedelta(days=get_settings().invite_valid_days),
    )
    session.add(invitation)
    await session.flush()
    await record(session, actor, "member.invite", object_type="invitation", object_id=invitation.id,
                 summary=_("邀请 %(name)s 担任%(role)s", name=display_name, role=role_label(role)))
    return invitation, raw


async def list_pending_invitations(session: AsyncSession, actor: Actor) -> list[Invitation]:
    policy.require_manage_members(actor)
    query = select(Invitation).where(col(Invitation.accepted_at).is_(None)).order_by(col(Invitation.created_at).desc())
    return list((await session.exec(query)).all())


async def invitations_shown(session: AsyncSession, actor: Actor) -> list[Invitation]:
    """The members page's pending invitations: for those who manage members; the others see none."""
    return await list_pending_invitations(session, actor) if policy.may_manage_members(actor) else []


async def revoke_invitation(session: AsyncSession, actor: Actor, invitation_id: uuid.UUID) -> None:
    policy.require_manage_members(actor)
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None:
        raise NotFound(_("找不到该邀请，它可能已被接受或撤销。"))
    await session.delete(invitation)
    await session.flush()
    await record(session, actor, "member.invite_revoke", object_type="invitation", object_id=invitation_id,
                 summary=_("撤销对 %(name)s 的邀请", name=invitation.display_name))


async def open_invitation(session: AsyncSession, raw_token: str) -> tuple[Invitation, Tenant]:
    """Finds the bureau an invite link belongs to and scopes the session to it."""
    bad_link = NotFound(_("邀请链接无效或已被使用。请向本局管理员索取新的邀请链接。"))
    if not raw_token or len(raw_token) > 100:
        raise bad_link
    digest = token_hash(raw_token)
    tenant_id = (await session.exec(select(func.luoshi_invitation_tenant(digest)))).one()
    if tenant_id is None:
        raise bad_link
    await set_context(session, tenant_id)
    invitation = (await session.exec(select(Invitation).where(Invitation.token_hash == digest))).one()
    if invitation.accepted_at is not None:
        raise bad_link
    if invitation.expires_at < clock.now():
        raise InvalidInput(_("邀请链接已过期。请向本局管理员索取新的邀请链接。"))
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    return invitation, tenant


INVITE_NAME_TRIES = 3


async def accept_invitation(
    session: AsyncSession, raw_token: str, *, username: str, password: str, password_again: str
) -> User:
    invitation, tenant = await open_invitation(session, raw_token)
    username = username.strip()
    # The link is not an oracle for login names (other bureaus' included, issue 14 finding 12): a name in use is
    # refused without saying it is an account, and one link is answered about INVITE_NAME_TRIES such names at most.
    redis, tries = get_redis(), attempts.key("invite-name", str(invitation.id))
    if await attempts.reached(redis, tries, limit=INVITE_NAME_TRIES):
        raise TooManyAttempts(_("此邀请链接已多次尝试不可用的登录名，请联系本局管理员重新邀请。"))
    if password != password_again:
        raise InvalidInput(_("两次输入的密码不一致。"), field="password_again")
    try:
        return await _accept(session, invitation, tenant, username=username, password=password)
    except Conflict as refused:
        if refused.field != "username":
            raise
        await attempts.take(redis, tries, limit=INVITE_NAME_TRIES,
                            window_seconds=get_settings().invite_valid_days * 86400)
        raise Conflict(_("该登录名不可用，请换一个，例如在姓名拼音后加上工号或学校简称。"), field="username") from None


async def _accept(session: AsyncSession, invitation: Invitation, tenant: Tenant, *, username: str,
                  password: str) -> User:
    # Claim the invitation first, conditionally: of requests racing on one link, the first UPDATE wins and holds
    # the row until it commits; the others then find accepted_at set and make nothing (issue 14, finding 10).
    # All of it runs in a savepoint, so a refusal after the claim (a taken name, a weak password) undoes the claim
    # too, even when the caller commits to keep the form's answer.
    async with session.begin_nested():
        claimed = (await session.exec(
            update(Invitation).where(col(Invitation.id) == invitation.id, col(Invitation.accepted_at).is_(None))
            .values(accepted_at=clock.now()).returning(col(Invitation.id))
        )).first()
        if claimed is None:
            raise NotFound(_("邀请链接无效或已被使用。请向本局管理员索取新的邀请链接。"))
        user = await create_user(session, username=username, display_name=invitation.display_name,
                                 password=password)
        await add_member(session, None, tenant_id=tenant.id, user=user, role=invitation.role,
                         unit_id=invitation.unit_id)
        await session.exec(
            update(Invitation).where(col(Invitation.id) == invitation.id).values(accepted_user_id=user.id)
        )
    await session.refresh(invitation)
    return user
