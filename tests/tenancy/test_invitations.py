"""Invitations: an admin invites, the invitee accepts once (even when eight requests race), and expired,
revoked or malformed links are refused with a clear message."""

import pytest
from sqlmodel import col, select

from backend.accounts.models import User
from backend.accounts.service import authenticate
from backend.config import get_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.errors import Conflict, InvalidInput, NotFound
from backend.tenancy import service as tenancy
from backend.tenancy.models import Invitation
from tests.support.fixtures import unique
from tests.tenancy.helpers import NEW_PASSWORD, accept, admin, events, invite


async def test_invite_then_accept_creates_user_and_membership(bureau):
    school = bureau.units["school"]
    invitation, raw = await invite(bureau, "  王  小明 ", Role.unit_head, school.id)
    assert invitation.display_name == "王 小明" and invitation.unit_id == school.id
    assert invitation.token_hash != raw and raw not in invitation.token_hash
    async with unit_of_work() as session:
        opened, tenant = await tenancy.open_invitation(session, raw)
    assert opened.id == invitation.id and tenant.id == bureau.tenant.id
    username = unique("wxm-")
    user = await accept(raw, f" {username} ")
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
    invitation, _raw = await invite(bureau, "赵局长", Role.leader, bureau.units["school"].id)
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
    _invitation, raw = await invite(bureau, "周老师", Role.supervisor)
    await accept(raw, unique("zhou-"))
    with pytest.raises(NotFound) as caught:
        await accept(raw, unique("zhou-"))
    assert caught.value.message == "邀请链接无效或已被使用。请向本局管理员索取新的邀请链接。"


async def test_expired_invitation_is_refused(bureau, monkeypatch):
    monkeypatch.setattr(get_settings(), "invite_valid_days", -1)
    _invitation, raw = await invite(bureau, "吴老师")
    username = unique("wu-")
    with pytest.raises(InvalidInput) as caught:
        await accept(raw, username)
    assert caught.value.message == "邀请链接已过期。请向本局管理员索取新的邀请链接。"
    async with unit_of_work() as session:
        assert (await session.exec(select(User).where(User.username == username))).first() is None


@pytest.mark.parametrize("raw", ["", "not-a-real-token", "x" * 101, "../../etc/passwd", "%00", "邀请"])
async def test_malformed_invitation_token_is_refused(raw):
    with pytest.raises(NotFound) as caught:
        await accept(raw, unique("x-"))
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
    invitation, raw = await invite(bureau, "冯老师")
    with pytest.raises(InvalidInput) as caught:
        await accept(raw, unique("feng-"), password_again=NEW_PASSWORD + "x")
    assert caught.value.field == "password_again"
    with pytest.raises(Conflict) as caught:
        await accept(raw, bureau.username(Role.leader))
    assert caught.value.field == "username" and "不可用" in caught.value.message
    async with unit_of_work(bureau.tenant.id) as session:
        assert invitation.id in {i.id for i in await tenancy.list_pending_invitations(session, admin(bureau))}


async def test_one_invitation_accepted_by_eight_requests_at_once_makes_one_account(bureau):
    """Issue 14 finding 10: eight concurrent acceptances of one link, each in its own transaction, make exactly
    one account and one membership; the others are told the link has been used."""
    import asyncio

    invitation, raw = await invite(bureau, "韩老师")
    names = [unique("han-") for _ in range(8)]

    async def try_accepting(name: str):
        try:
            return await accept(raw, name)  # each in its own transaction
        except (NotFound, Conflict) as refused:
            return refused

    outcomes = await asyncio.gather(*(try_accepting(name) for name in names))
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
