"""The unit tree: creating, renaming, moving and deleting units, who may, and the audit event each change
leaves behind."""

from datetime import date

import pytest
from sqlmodel import select

from backend.core.roles import Role
from backend.db import unit_of_work
from backend.delivery import service as delivery
from backend.delivery.models import ChannelConfig
from backend.errors import Conflict, InvalidInput, NotFound
from backend.tasks import service as tasks
from backend.tasks import unit_removal
from backend.tenancy import service as tenancy
from backend.tenancy.models import UnitKind
from tests.support.fixtures import unique
from tests.tenancy.helpers import NEW_PASSWORD, accept, admin, events, invite, unit_names


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
    invitation, raw = await invite(bureau, "陈老师")
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
    user = await accept(raw, unique("li-"))
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
