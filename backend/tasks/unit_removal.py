"""Deleting a unit: refused while it has sub-units, people, pending invitations or tasks (the 台账 keeps those), and
its group robots go with it. It reads tasks and delivery's robots, so it sits in tasks, above both, not in tenancy."""

import uuid

from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.core.actor import Actor
from backend.delivery.models import ChannelConfig
from backend.errors import Conflict
from backend.i18n import _
from backend.tasks.models import TaskAssignment
from backend.tenancy import policy
from backend.tenancy.models import Invitation, Membership, Unit
from backend.tenancy.service import get_unit


async def delete_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> None:
    """Refuses while the unit still has sub-units or people: their work would be orphaned."""
    policy.require_manage_units(actor)
    unit = await get_unit(session, actor, unit_id)
    has_children = (await session.exec(select(func.count()).where(Unit.parent_id == unit.id))).one()
    if has_children:
        raise Conflict(_("“%(name)s”下还有下级单位，请先移走或删除下级单位。", name=unit.name))
    has_members = (await session.exec(
        select(func.count()).select_from(Membership).where(Membership.unit_id == unit.id)
    )).one()
    if has_members:
        raise Conflict(_("“%(name)s”还有 %(n)s 名人员（含已停用的），请先在“人员与角色”中把他们调到其他单位。",
                         name=unit.name, n=has_members))
    pending = (await session.exec(
        select(func.count()).select_from(Invitation)
        .where(Invitation.unit_id == unit.id, col(Invitation.accepted_at).is_(None))
    )).one()
    if pending:
        raise Conflict(_("“%(name)s”还有未处理的邀请，请先撤销邀请。", name=unit.name))
    assigned = (await session.exec(
        select(func.count()).select_from(TaskAssignment).where(TaskAssignment.unit_id == unit.id))).one()
    if assigned:
        raise Conflict(_("“%(name)s”承办过 %(n)s 项任务，台账要保留，不能删除；可以改名或把人员调走。",
                         name=unit.name, n=assigned))
    # Accepted invitations keep their history; they just no longer point at the unit. Its group robots go with it.
    await session.exec(update(Invitation).where(col(Invitation.unit_id) == unit.id).values(unit_id=None))
    await session.exec(delete(ChannelConfig).where(col(ChannelConfig.unit_id) == unit.id))
    await session.delete(unit)
    await session.flush()
    await record(session, actor, "unit.delete", object_type="unit", object_id=unit_id,
                 summary=_("删除单位“%(name)s”", name=unit.name))
