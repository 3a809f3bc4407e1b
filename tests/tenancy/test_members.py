"""Members: changing a role and unit, deactivating (which revokes API tokens), who may manage and list
members, and that other bureaus' members are out of reach."""

import uuid

import pytest
from sqlmodel import select

from backend.accounts.models import ApiToken
from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import InvalidInput, NotAuthenticated, NotFound
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for_token
from backend.tenancy.models import Invitation
from tests.tenancy.helpers import admin, events, member


async def test_change_role_and_unit(bureau):
    staff = bureau.actors[Role.unit_staff]
    async with unit_of_work(bureau.tenant.id) as session:
        row = await tenancy.change_role(session, admin(bureau), staff.membership_id, role=Role.unit_head,
                                        unit_id=bureau.units["office"].id)
    assert (row.membership.role, row.membership.unit_id) == (Role.unit_head, bureau.units["office"].id)
    async with unit_of_work(bureau.tenant.id) as session:
        row = await tenancy.change_role(session, admin(bureau), staff.membership_id, role=Role.supervisor,
                                        unit_id=bureau.units["office"].id)
    assert (row.membership.role, row.membership.unit_id) == (Role.supervisor, None)
    changed = [e for e in await events(bureau, "member.role") if e.object_id == str(staff.membership_id)]
    assert len(changed) == 2
    assert changed[-1].details["before"] == {"role": "unit_staff", "unit_id": str(bureau.units["school"].id)}
    assert "督查督办人员" in changed[0].summary


@pytest.mark.parametrize("role", [Role.unit_head, Role.unit_staff])
async def test_unit_roles_need_a_unit(bureau, role):
    leader = bureau.actors[Role.leader]
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.change_role(session, admin(bureau), leader.membership_id, role=role, unit_id=None)
    assert caught.value.field == "unit_id"
    assert (await member(bureau, leader.membership_id)).membership.role == Role.leader


async def test_change_role_to_a_unit_of_another_bureau_is_not_found(bureau, other_bureau):
    staff = bureau.actors[Role.unit_staff]
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(NotFound):
            await tenancy.change_role(session, admin(bureau), staff.membership_id, role=Role.unit_staff,
                                      unit_id=other_bureau.units["office"].id)
    assert (await member(bureau, staff.membership_id)).membership.unit_id == bureau.units["school"].id


@pytest.mark.parametrize("role", [Role.supervisor, Role.unit_staff])
async def test_admin_cannot_demote_self(bureau, role):
    me = admin(bureau)
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.change_role(session, me, me.membership_id, role=role, unit_id=bureau.units["school"].id)
    assert "不能取消自己的管理员角色" in caught.value.message
    assert (await member(bureau, me.membership_id)).membership.role == Role.admin
    assert [e for e in await events(bureau, "member.role")] == []


async def test_admin_cannot_deactivate_self(bureau):
    me = admin(bureau)
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.set_member_active(session, me, me.membership_id, active=False)
    assert caught.value.message == "不能停用自己的账号。"
    assert (await member(bureau, me.membership_id)).membership.is_active


async def test_deactivation_revokes_api_tokens_and_reactivation_records(bureau):
    supervisor = bureau.actors[Role.supervisor]
    async with unit_of_work(bureau.tenant.id) as session:
        _token, raw = await create_api_token(session, supervisor, name="同步脚本")
    async with unit_of_work() as session:
        assert (await actor_for_token(session, raw)).membership_id == supervisor.membership_id
    async with unit_of_work(bureau.tenant.id) as session:
        row = await tenancy.set_member_active(session, admin(bureau), supervisor.membership_id, active=False)
    assert row.membership.is_active is False
    async with unit_of_work(bureau.tenant.id) as session:
        tokens = (await session.exec(
            select(ApiToken).where(ApiToken.membership_id == supervisor.membership_id))).all()
    assert len(tokens) == 2 and all(t.revoked_at is not None for t in tokens)
    async with unit_of_work() as session:
        with pytest.raises(NotAuthenticated):
            await actor_for_token(session, raw)
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(NotFound):
            from backend.tenancy.acting import actor_for

            await actor_for(session, bureau.users[Role.supervisor], bureau.tenant.id)
    async with unit_of_work(bureau.tenant.id) as session:
        await tenancy.set_member_active(session, admin(bureau), supervisor.membership_id, active=True)
    # Reactivation does not bring revoked tokens back.
    async with unit_of_work() as session:
        with pytest.raises(NotAuthenticated):
            await actor_for_token(session, raw)
    deactivated = await events(bureau, "member.deactivate")
    activated = await events(bureau, "member.activate")
    assert [e.object_id for e in deactivated] == [str(supervisor.membership_id)]
    assert "停用" in deactivated[0].summary and supervisor.display_name in deactivated[0].summary
    assert [e.object_id for e in activated] == [str(supervisor.membership_id)]


@pytest.mark.parametrize("role", [Role.supervisor, Role.leader, Role.unit_head, Role.unit_staff])
async def test_only_admin_manages_members(bureau, role):
    actor = bureau.actors[role]
    target = bureau.actors[Role.unit_staff if role != Role.unit_staff else Role.leader].membership_id
    async with unit_of_work(bureau.tenant.id) as session:
        for call in (
            tenancy.invite(session, actor, display_name="越权", role=Role.admin, unit_id=None),
            tenancy.change_role(session, actor, target, role=Role.admin, unit_id=None),
            tenancy.set_member_active(session, actor, target, active=False),
            tenancy.reset_password(session, actor, target),
            tenancy.list_pending_invitations(session, actor),
            tenancy.revoke_invitation(session, actor, uuid.uuid4()),
        ):
            with pytest.raises(Exception) as caught:
                await call
            assert caught.value.status_code == 403, call
    row = await member(bureau, target)
    assert row.membership.is_active and row.membership.role != Role.admin


async def test_members_list_by_role(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        everyone = await tenancy.list_members(session, admin(bureau))
        for role in (Role.supervisor, Role.leader):
            assert len(await tenancy.list_members(session, bureau.actors[role])) == 5
        own_unit = await tenancy.list_members(session, bureau.actors[Role.unit_head])
        with pytest.raises(Exception) as caught:
            await tenancy.list_members(session, bureau.actors[Role.unit_staff])
    assert len(everyone) == 5
    assert {r.membership.role for r in own_unit} == {Role.unit_head, Role.unit_staff}
    assert caught.value.status_code == 403


async def test_members_of_another_bureau_are_not_found(bureau, other_bureau):
    foreign = other_bureau.actors[Role.leader].membership_id
    async with unit_of_work(bureau.tenant.id) as session:
        for call in (
            tenancy.get_member(session, admin(bureau), foreign),
            tenancy.change_role(session, admin(bureau), foreign, role=Role.admin, unit_id=None),
            tenancy.set_member_active(session, admin(bureau), foreign, active=False),
            tenancy.reset_password(session, admin(bureau), foreign),
        ):
            with pytest.raises(NotFound):
                await call
    async with unit_of_work(other_bureau.tenant.id) as session:
        pending = await tenancy.list_pending_invitations(session, admin(other_bureau))
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(NotFound):
            await tenancy.revoke_invitation(session, admin(bureau), pending[0].id)
    row = await member(other_bureau, foreign)
    assert (row.membership.role, row.membership.is_active, row.user.must_change_password) == (
        Role.leader, True, False)
    async with unit_of_work(other_bureau.tenant.id) as session:
        assert pending[0].id in {i.id for i in await tenancy.list_pending_invitations(session, admin(other_bureau))}
        assert await session.get(Invitation, pending[0].id) is not None
