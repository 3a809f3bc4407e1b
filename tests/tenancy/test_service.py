"""Tenancy services: the unit tree, members, invitations, and the audit event each change leaves behind."""

import uuid
from datetime import date

import pytest
from sqlmodel import col, select

from backend.accounts.models import ApiToken, User
from backend.accounts.service import authenticate, create_api_token
from backend.audit.service import list_events
from backend.config import get_settings
from backend.core.roles import Role
from backend.core.security import verify_password
from backend.db import unit_of_work
from backend.delivery import service as delivery
from backend.delivery.models import ChannelConfig
from backend.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from backend.tasks import service as tasks
from backend.tasks import unit_removal
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for_token
from backend.tenancy.models import Invitation, UnitKind
from tests.support.fixtures import PASSWORD, Bureau, unique

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


# --- units -----------------------------------------------------------------------------------------------


async def test_create_unit_under_parent_and_tree_order(bureau):
    name = unique("教研室")
    async with unit_of_work(bureau.tenant.id) as session:
        unit = await tenancy.create_unit(session, admin(bureau), name=f"  {name}  ", kind=UnitKind.other,
                                         parent_id=bureau.units["school"].id)
    assert unit.name == name and unit.kind == UnitKind.other and unit.tenant_id == bureau.tenant.id
    tree = await unit_names(bureau)
    assert tree[name] == (2, bureau.units["school"].id)
    assert tree["实验小学"][0] == 1 and tree["办公室"][0] == 0
    created = await events(bureau, "unit.create")
    assert any(e.object_id == str(unit.id) and name in e.summary and e.actor_name == admin(bureau).display_name
               for e in created)


async def test_create_unit_requires_a_name(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.create_unit(session, admin(bureau), name="   ")
    assert caught.value.field == "name" and "请填写单位名称" in caught.value.message


async def test_rename_unit_records_before(bureau):
    office = bureau.units["office"]
    async with unit_of_work(bureau.tenant.id) as session:
        await tenancy.update_unit(session, admin(bureau), office.id, name="局办公室", kind=UnitKind.office,
                                  parent_id=None)
    assert "局办公室" in await unit_names(bureau)
    updated = [e for e in await events(bureau, "unit.update") if e.object_id == str(office.id)]
    assert len(updated) == 1
    assert "局办公室" in updated[0].summary and updated[0].details["before"]["name"] == "办公室"


async def test_move_unit_to_another_parent(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        other = await tenancy.create_unit(session, admin(bureau), name="基础教育科")
    school = bureau.units["school"]
    async with unit_of_work(bureau.tenant.id) as session:
        await tenancy.update_unit(session, admin(bureau), school.id, name=school.name, kind=school.kind,
                                  parent_id=other.id)
    assert (await unit_names(bureau))["实验小学"] == (1, other.id)
    moved = [e for e in await events(bureau, "unit.update") if e.object_id == str(school.id)]
    assert moved and moved[0].details["before"]["parent_id"] == str(bureau.units["office"].id)


@pytest.mark.parametrize("target", ["self", "child", "grandchild"])
async def test_move_refuses_a_cycle(bureau, target):
    office, school = bureau.units["office"], bureau.units["school"]
    async with unit_of_work(bureau.tenant.id) as session:
        grandchild = await tenancy.create_unit(session, admin(bureau), name="一年级组", parent_id=school.id)
    parent = {"self": office.id, "child": school.id, "grandchild": grandchild.id}[target]
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.update_unit(session, admin(bureau), office.id, name=office.name, kind=office.kind,
                                      parent_id=parent)
    assert caught.value.field == "parent_id" and "不能把单位移到它自己或它的下级单位之下" in caught.value.message
    assert (await unit_names(bureau))["办公室"] == (0, None)




@pytest.mark.parametrize("how", ["create", "rename"])
async def test_duplicate_unit_name_is_a_conflict_naming_the_unit(bureau, how):
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict) as caught:
            if how == "create":
                await tenancy.create_unit(session, admin(bureau), name=" 实验小学 ")
            else:
                await tenancy.update_unit(session, admin(bureau), bureau.units["office"].id, name="实验小学",
                                          kind=UnitKind.office, parent_id=None)
    assert caught.value.field == "name"
    assert caught.value.message == "本局已有名为“实验小学”的单位，请换一个名称。"
    assert set(await unit_names(bureau)) == {"办公室", "实验小学"}


@pytest.mark.parametrize("what", ["unit", "username", "rename"])
async def test_session_still_usable_after_a_duplicate(bureau, what):
    """Routes re-render the form after a Conflict, reading from the same session."""
    async with unit_of_work(bureau.tenant.id) as session:
        invitation, raw = await tenancy.invite(session, admin(bureau), display_name="陈老师", role=Role.leader,
                                               unit_id=None)
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict):
            if what == "unit":
                await tenancy.create_unit(session, admin(bureau), name="实验小学")
            elif what == "rename":
                await tenancy.update_unit(session, admin(bureau), bureau.units["office"].id, name="实验小学",
                                          kind=UnitKind.office, parent_id=None)
            else:
                await tenancy.accept_invitation(session, raw, username=bureau.username(Role.leader),
                                                password=NEW_PASSWORD, password_again=NEW_PASSWORD)
        assert len(await tenancy.list_units(session, admin(bureau))) == 2
        await tenancy.create_unit(session, admin(bureau), name=unique("之后的单位"))
    assert len(await unit_names(bureau)) == 3


async def test_same_unit_name_is_fine_in_another_bureau(bureau, other_bureau):
    name = unique("督导室")
    for b in (bureau, other_bureau):
        async with unit_of_work(b.tenant.id) as session:
            await tenancy.create_unit(session, admin(b), name=name)
    assert name in await unit_names(bureau) and name in await unit_names(other_bureau)


async def test_delete_refused_while_unit_has_sub_units(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict) as caught:
            await unit_removal.delete_unit(session, admin(bureau), bureau.units["office"].id)
    assert "“办公室”下还有下级单位" in caught.value.message
    assert "办公室" in await unit_names(bureau)


async def test_delete_refused_while_unit_has_members(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        unit = await tenancy.create_unit(session, admin(bureau), name="德育科")
        await tenancy.change_role(session, admin(bureau), bureau.actors[Role.unit_staff].membership_id,
                                  role=Role.unit_staff, unit_id=unit.id)
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict) as caught:
            await unit_removal.delete_unit(session, admin(bureau), unit.id)
    assert "“德育科”还有 1 名人员" in caught.value.message
    assert "德育科" in await unit_names(bureau)


async def test_delete_refused_while_unit_has_pending_invitations(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        unit = await tenancy.create_unit(session, admin(bureau), name="体卫艺科")
        invitation, _raw = await tenancy.invite(session, admin(bureau), display_name="张老师", role=Role.unit_head,
                                                unit_id=unit.id)
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict) as caught:
            await unit_removal.delete_unit(session, admin(bureau), unit.id)
    assert "“体卫艺科”还有未处理的邀请" in caught.value.message
    # Once the invitation is revoked the unit can go.
    async with unit_of_work(bureau.tenant.id) as session:
        await tenancy.revoke_invitation(session, admin(bureau), invitation.id)
        await unit_removal.delete_unit(session, admin(bureau), unit.id)
    assert "体卫艺科" not in await unit_names(bureau)


async def test_delete_empty_unit_and_audit(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        unit = await tenancy.create_unit(session, admin(bureau), name="临时小组", parent_id=bureau.units["office"].id)
    async with unit_of_work(bureau.tenant.id) as session:
        await unit_removal.delete_unit(session, admin(bureau), unit.id)
    assert "临时小组" not in await unit_names(bureau)
    deleted = await events(bureau, "unit.delete")
    assert [e.object_id for e in deleted] == [str(unit.id)] and "临时小组" in deleted[0].summary
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(NotFound):
            await tenancy.get_unit(session, admin(bureau), unit.id)




async def test_delete_allowed_after_invitee_moved_out(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        unit = await tenancy.create_unit(session, admin(bureau), name="电教馆")
        _invitation, raw = await tenancy.invite(session, admin(bureau), display_name="李老师", role=Role.unit_staff,
                                                unit_id=unit.id)
    async with unit_of_work() as session:
        user = await tenancy.accept_invitation(session, raw, username=unique("li-"), password=NEW_PASSWORD,
                                               password_again=NEW_PASSWORD)
    async with unit_of_work(bureau.tenant.id) as session:
        row = next(r for r in await tenancy.list_members(session, admin(bureau)) if r.user.id == user.id)
        await tenancy.change_role(session, admin(bureau), row.membership.id, role=Role.unit_staff,
                                  unit_id=bureau.units["school"].id)
    async with unit_of_work(bureau.tenant.id) as session:
        await unit_removal.delete_unit(session, admin(bureau), unit.id)


async def test_deactivated_members_still_hold_their_unit_until_moved(bureau):
    staff = bureau.actors[Role.unit_staff].membership_id
    async with unit_of_work(bureau.tenant.id) as session:
        unit = await tenancy.create_unit(session, admin(bureau), name="装备中心")
        await tenancy.change_role(session, admin(bureau), staff, role=Role.unit_staff, unit_id=unit.id)
        await tenancy.set_member_active(session, admin(bureau), staff, active=False)
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict) as caught:
            await unit_removal.delete_unit(session, admin(bureau), unit.id)
    # The message says deactivated people count, and what to do instead.
    assert "“装备中心”还有 1 名人员（含已停用的）" in caught.value.message and "调到其他单位" in caught.value.message
    async with unit_of_work(bureau.tenant.id) as session:
        await tenancy.change_role(session, admin(bureau), staff, role=Role.unit_staff,
                                  unit_id=bureau.units["school"].id)
        await unit_removal.delete_unit(session, admin(bureau), unit.id)
    assert "装备中心" not in await unit_names(bureau)


@pytest.mark.parametrize("role", [Role.supervisor, Role.leader, Role.unit_head, Role.unit_staff])
async def test_only_admin_manages_units(bureau, role):
    actor = bureau.actors[role]
    office = bureau.units["office"]
    async with unit_of_work(bureau.tenant.id) as session:
        assert len(await tenancy.list_units(session, actor)) == 2
        for call in (
            tenancy.create_unit(session, actor, name="越权单位"),
            tenancy.update_unit(session, actor, office.id, name="越权", kind=UnitKind.office, parent_id=None),
            unit_removal.delete_unit(session, actor, bureau.units["school"].id),
        ):
            with pytest.raises(Exception) as caught:
                await call
            assert caught.value.status_code == 403 and "您的角色无权进行此操作" in caught.value.message
    assert set(await unit_names(bureau)) == {"办公室", "实验小学"}


async def test_units_of_another_bureau_are_not_found(bureau, other_bureau):
    foreign = other_bureau.units["office"]
    async with unit_of_work(bureau.tenant.id) as session:
        for call in (
            tenancy.get_unit(session, admin(bureau), foreign.id),
            tenancy.update_unit(session, admin(bureau), foreign.id, name="x", kind=UnitKind.office, parent_id=None),
            unit_removal.delete_unit(session, admin(bureau), foreign.id),
            tenancy.create_unit(session, admin(bureau), name="挂到别的局", parent_id=foreign.id),
        ):
            with pytest.raises(NotFound):
                await call
    assert (await unit_names(other_bureau))["办公室"] == (0, None)


# --- members and invitations -----------------------------------------------------------------------------


async def test_invite_then_accept_creates_user_and_membership(bureau):
    school = bureau.units["school"]
    async with unit_of_work(bureau.tenant.id) as session:
        invitation, raw = await tenancy.invite(session, admin(bureau), display_name="  王  小明 ", role=Role.unit_head,
                                               unit_id=school.id)
    assert invitation.display_name == "王 小明" and invitation.unit_id == school.id
    assert invitation.token_hash != raw and raw not in invitation.token_hash
    async with unit_of_work() as session:
        opened, tenant = await tenancy.open_invitation(session, raw)
    assert opened.id == invitation.id and tenant.id == bureau.tenant.id
    username = unique("wxm-")
    async with unit_of_work() as session:
        user = await tenancy.accept_invitation(session, raw, username=f" {username} ", password=NEW_PASSWORD,
                                               password_again=NEW_PASSWORD)
    assert user.username == username and user.display_name == "王 小明"
    async with unit_of_work(bureau.tenant.id) as session:
        rows = [r for r in await tenancy.list_members(session, admin(bureau)) if r.user.id == user.id]
        pending = await tenancy.list_pending_invitations(session, admin(bureau))
    assert len(rows) == 1
    assert (rows[0].membership.role, rows[0].membership.unit_id, rows[0].membership.is_active) == (
        Role.unit_head, school.id, True)
    assert invitation.id not in {i.id for i in pending}
    async with unit_of_work() as session:
        signed_in = await authenticate(session, None, username=username, password=NEW_PASSWORD, ip="10.0.0.1")
    assert signed_in.id == user.id
    invited = [e for e in await events(bureau, "member.invite") if e.object_id == str(invitation.id)]
    assert invited and "王 小明" in invited[0].summary and "单位负责人" in invited[0].summary
    added = [e for e in await events(bureau, "member.add") if e.object_id == str(rows[0].membership.id)]
    assert added and "王 小明" in added[0].summary


async def test_invitation_for_a_bureau_wide_role_drops_the_unit(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        invitation, _raw = await tenancy.invite(session, admin(bureau), display_name="赵局长", role=Role.leader,
                                                unit_id=bureau.units["school"].id)
    assert invitation.unit_id is None


@pytest.mark.parametrize("role", [Role.unit_head, Role.unit_staff])
async def test_invitation_for_a_unit_role_needs_a_unit(bureau, role):
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.invite(session, admin(bureau), display_name="钱老师", role=role, unit_id=None)
    assert caught.value.field == "unit_id" and "必须选择所在单位" in caught.value.message


async def test_invitation_needs_a_name_and_an_own_unit(bureau, other_bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.invite(session, admin(bureau), display_name="  ", role=Role.leader, unit_id=None)
        assert caught.value.field == "display_name"
        with pytest.raises(NotFound):
            await tenancy.invite(session, admin(bureau), display_name="孙老师", role=Role.unit_staff,
                                 unit_id=other_bureau.units["school"].id)


async def test_accepting_twice_is_refused_with_a_clear_message(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        _invitation, raw = await tenancy.invite(session, admin(bureau), display_name="周老师", role=Role.supervisor,
                                                unit_id=None)
    async with unit_of_work() as session:
        await tenancy.accept_invitation(session, raw, username=unique("zhou-"), password=NEW_PASSWORD,
                                        password_again=NEW_PASSWORD)
    async with unit_of_work() as session:
        with pytest.raises(NotFound) as caught:
            await tenancy.accept_invitation(session, raw, username=unique("zhou-"), password=NEW_PASSWORD,
                                            password_again=NEW_PASSWORD)
    assert caught.value.message == "邀请链接无效或已被使用。请向本局管理员索取新的邀请链接。"


async def test_expired_invitation_is_refused(bureau, monkeypatch):
    monkeypatch.setattr(get_settings(), "invite_valid_days", -1)
    async with unit_of_work(bureau.tenant.id) as session:
        _invitation, raw = await tenancy.invite(session, admin(bureau), display_name="吴老师", role=Role.leader,
                                                unit_id=None)
    username = unique("wu-")
    async with unit_of_work() as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.accept_invitation(session, raw, username=username, password=NEW_PASSWORD,
                                            password_again=NEW_PASSWORD)
    assert caught.value.message == "邀请链接已过期。请向本局管理员索取新的邀请链接。"
    async with unit_of_work() as session:
        assert (await session.exec(select(User).where(User.username == username))).first() is None


@pytest.mark.parametrize("raw", ["", "not-a-real-token", "x" * 101, "../../etc/passwd", "%00", "邀请"])
async def test_malformed_invitation_token_is_refused(raw):
    async with unit_of_work() as session:
        with pytest.raises(NotFound) as caught:
            await tenancy.accept_invitation(session, raw, username=unique("x-"), password=NEW_PASSWORD,
                                            password_again=NEW_PASSWORD)
    assert "邀请链接无效" in caught.value.message


async def test_revoked_invitation_cannot_be_opened(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        invitation, raw = await tenancy.invite(session, admin(bureau), display_name="郑老师", role=Role.leader,
                                               unit_id=None)
        await tenancy.revoke_invitation(session, admin(bureau), invitation.id)
    async with unit_of_work() as session:
        with pytest.raises(NotFound):
            await tenancy.open_invitation(session, raw)
    revoked = await events(bureau, "member.invite_revoke")
    assert [e.object_id for e in revoked] == [str(invitation.id)] and "郑老师" in revoked[0].summary
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(NotFound):
            await tenancy.revoke_invitation(session, admin(bureau), invitation.id)


async def test_accept_with_mismatched_passwords_or_taken_name_creates_nothing(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        invitation, raw = await tenancy.invite(session, admin(bureau), display_name="冯老师", role=Role.leader,
                                               unit_id=None)
    async with unit_of_work() as session:
        with pytest.raises(InvalidInput) as caught:
            await tenancy.accept_invitation(session, raw, username=unique("feng-"), password=NEW_PASSWORD,
                                            password_again=NEW_PASSWORD + "x")
    assert caught.value.field == "password_again"
    async with unit_of_work() as session:
        with pytest.raises(Conflict) as caught:
            await tenancy.accept_invitation(session, raw, username=bureau.username(Role.leader),
                                            password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert caught.value.field == "username" and "不可用" in caught.value.message
    async with unit_of_work(bureau.tenant.id) as session:
        assert invitation.id in {i.id for i in await tenancy.list_pending_invitations(session, admin(bureau))}


async def test_one_invitation_accepted_by_eight_requests_at_once_makes_one_account(bureau):
    """Issue 14 finding 10: eight concurrent acceptances of one link, each in its own transaction, make exactly
    one account and one membership; the others are told the link has been used."""
    import asyncio

    async with unit_of_work(bureau.tenant.id) as session:
        invitation, raw = await tenancy.invite(session, admin(bureau), display_name="韩老师", role=Role.leader,
                                               unit_id=None)
    names = [unique("han-") for _ in range(8)]

    async def accept(name: str):
        try:
            async with unit_of_work() as session:
                return await tenancy.accept_invitation(session, raw, username=name, password=NEW_PASSWORD,
                                                       password_again=NEW_PASSWORD)
        except (NotFound, Conflict) as refused:
            return refused

    outcomes = await asyncio.gather(*(accept(name) for name in names))
    made = [o for o in outcomes if isinstance(o, User)]
    assert len(made) == 1, outcomes
    assert all("已被使用" in o.message for o in outcomes if not isinstance(o, User))
    async with unit_of_work() as session:
        accounts = (await session.exec(select(User).where(col(User.username).in_(names)))).all()
    assert [a.id for a in accounts] == [made[0].id]
    async with unit_of_work(bureau.tenant.id) as session:
        from backend.tenancy.models import Membership

        memberships = (await session.exec(select(Membership).where(Membership.user_id == made[0].id))).all()
        accepted = await session.get(Invitation, invitation.id)
    assert len(memberships) == 1 and accepted.accepted_user_id == made[0].id


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


async def test_reset_password(bureau):
    leader = bureau.actors[Role.leader]
    async with unit_of_work(bureau.tenant.id) as session:
        password = await tenancy.reset_password(session, admin(bureau), leader.membership_id)
    assert password != PASSWORD
    async with unit_of_work() as session:
        user = await session.get(User, leader.user_id)
        assert user.must_change_password is True
        assert await verify_password(user.password_hash, password)
        assert not await verify_password(user.password_hash, PASSWORD)
        old = await authenticate(session, None, username=bureau.username(Role.leader), password=PASSWORD,
                                 ip="10.0.0.2")
        assert isinstance(old, NotAuthenticated)
    async with unit_of_work() as session:
        fresh = await authenticate(session, None, username=bureau.username(Role.leader), password=password,
                                   ip="10.0.0.2")
        assert isinstance(fresh, User) and fresh.must_change_password
    reset = await events(bureau, "member.reset_password")
    assert [e.object_id for e in reset] == [str(leader.membership_id)]
    assert password not in str(reset[0].details) and password not in reset[0].summary


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


async def test_reset_password_cannot_take_over_an_account_in_another_bureau(bureau, other_bureau):
    # A person who works in both bureaus (added with `luoshi member add`, which goes through add_member).
    shared = other_bureau.users[Role.admin]
    async with unit_of_work(bureau.tenant.id) as session:
        membership = await tenancy.add_member(session, None, tenant_id=bureau.tenant.id, user=shared,
                                              role=Role.leader)
    before = shared.password_hash
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict) as caught:
            await tenancy.reset_password(session, admin(bureau), membership.id)
    assert "其他教育局" in caught.value.message
    async with unit_of_work() as session:
        user = await session.get(User, shared.id)
        assert (user.password_hash, user.must_change_password) == (before, False)
        outcome = await authenticate(session, None, username=shared.username, password=PASSWORD, ip="10.0.0.3")
    assert isinstance(outcome, User)
    assert await events(bureau, "member.reset_password") == []


@pytest.mark.parametrize("elsewhere", ["membership deactivated", "bureau suspended"])
async def test_reset_password_refused_for_an_account_that_ever_served_another_bureau(bureau, other_bureau, elsewhere):
    """Issue 14 finding 4: the other bureau's membership being inactive for a moment (or that bureau suspended)
    must not let this bureau's admin reset the password, then sign in as that person there once it is back."""
    from backend.tenancy.models import Tenant

    shared = other_bureau.users[Role.supervisor]
    async with unit_of_work(bureau.tenant.id) as session:
        membership = await tenancy.add_member(session, None, tenant_id=bureau.tenant.id, user=shared,
                                              role=Role.leader)
    if elsewhere == "membership deactivated":
        async with unit_of_work(other_bureau.tenant.id) as session:
            await tenancy.set_member_active(session, admin(other_bureau),
                                            other_bureau.actors[Role.supervisor].membership_id, active=False)
    else:
        async with unit_of_work() as session:
            tenant = await session.get(Tenant, other_bureau.tenant.id)
            tenant.is_active = False
            session.add(tenant)
    before = shared.password_hash
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict) as caught:
            await tenancy.reset_password(session, admin(bureau), membership.id)
    assert "其他教育局" in caught.value.message and "平台运维" in caught.value.message
    async with unit_of_work() as session:
        user = await session.get(User, shared.id)
        assert (user.password_hash, user.must_change_password) == (before, False)
    assert await events(bureau, "member.reset_password") == []


async def test_delete_refused_for_a_unit_that_took_tasks_and_takes_its_robots_along(bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        busy = await tenancy.create_unit(session, admin(bureau), name="安全科")
        idle = await tenancy.create_unit(session, admin(bureau), name="后勤科")
        await tasks.create_tasks(session, bureau.actors[Role.supervisor], 2026, [tasks.NewTask(
            title="排查", description="", deadline=date(2026, 12, 18), lead_unit_ids=[busy.id])])
        await delivery.add_channel(session, admin(bureau), kind="wecom", url="http://127.0.0.1:9/r", unit_id=idle.id)
    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(Conflict) as caught:
            await unit_removal.delete_unit(session, admin(bureau), busy.id)
        await unit_removal.delete_unit(session, admin(bureau), idle.id)
    assert "“安全科”承办过 1 项任务" in caught.value.message
    async with unit_of_work(bureau.tenant.id) as session:
        assert (await session.exec(select(ChannelConfig).where(ChannelConfig.unit_id == idle.id))).all() == []
    assert "安全科" in await unit_names(bureau) and "后勤科" not in await unit_names(bureau)
