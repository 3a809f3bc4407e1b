"""Small helpers for the tenancy tests: each call is one unit of work, as a request would be, made by the bureau's
admin unless said otherwise."""

import uuid

from backend.accounts.models import User
from backend.audit.service import list_events
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tenancy import service as tenancy
from backend.tenancy.models import Invitation
from tests.support.fixtures import Bureau

NEW_PASSWORD = "Fresh-Start-2024!"


def admin(bureau: Bureau):
    return bureau.actors[Role.admin]


async def events(bureau: Bureau, action: str):
    async with unit_of_work(bureau.tenant.id) as session:
        return await list_events(session, admin(bureau), action=action)


async def unit_names(bureau: Bureau) -> dict[str, tuple[int, uuid.UUID | None]]:
    async with unit_of_work(bureau.tenant.id) as session:
        nodes = await tenancy.list_units(session, admin(bureau))
    return {n.unit.name: (n.depth, n.unit.parent_id) for n in nodes}


async def member(bureau: Bureau, membership_id: uuid.UUID) -> tenancy.MemberRow:
    async with unit_of_work(bureau.tenant.id) as session:
        return await tenancy.get_member(session, admin(bureau), membership_id)


async def invite(bureau: Bureau, display_name: str, role: Role = Role.leader,
                 unit_id: uuid.UUID | None = None) -> tuple[Invitation, str]:
    """An invitation by the bureau's admin, and its raw link token."""
    async with unit_of_work(bureau.tenant.id) as session:
        return await tenancy.invite(session, admin(bureau), display_name=display_name, role=role, unit_id=unit_id)


async def accept(raw: str, username: str, password: str = NEW_PASSWORD, password_again: str | None = None) -> User:
    """The invitee opens the link and chooses a login name and password."""
    async with unit_of_work() as session:
        return await tenancy.accept_invitation(session, raw, username=username, password=password,
                                               password_again=password if password_again is None else password_again)
