"""An admin's password reset: a one-time password that is never audited, and never for an account that serves
(or ever served) another bureau."""

import pytest

from backend.accounts.models import User
from backend.accounts.service import authenticate
from backend.core.roles import Role
from backend.core.security import verify_password
from backend.db import unit_of_work
from backend.errors import Conflict, NotAuthenticated
from backend.tenancy import service as tenancy
from tests.support.fixtures import PASSWORD
from tests.tenancy.helpers import admin, events


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
