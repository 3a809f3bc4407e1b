"""Fixtures and factories that build data through the services, never through hand-written SQL."""

import re
import uuid
from dataclasses import dataclass, field

import httpx
import pytest

from backend.accounts.models import User
from backend.accounts.service import actor_for, create_api_token, create_user
from backend.core.actor import Actor
from backend.db import unit_of_work
from backend.plans import service as plans
from backend.tenancy import service as tenancy
from backend.tenancy.models import Role, Tenant, Unit, UnitKind

PASSWORD = "Correct-Horse-42"
SMALL_PLAN = """2024年教育工作要点
一、加强党的建设
1.深化理论学习。一是开展专题学习不少于12次；二是组织全员培训。（责任单位：办公室；配合单位：实验小学）
二、推进教育现代化
2.新改扩建中小学26所，6月底前完成规划。
"""
ROLES = [Role.admin, Role.supervisor, Role.leader, Role.unit_head, Role.unit_staff]


@dataclass
class Bureau:
    tenant: Tenant
    units: dict[str, Unit]
    users: dict[Role, User]
    actors: dict[Role, Actor] = field(default_factory=dict)

    def username(self, role: Role) -> str:
        return self.users[role].username


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def create_bureau(name: str | None = None) -> Bureau:
    """A bureau with an office and a school, and one person per role (unit roles in the school)."""
    suffix = uuid.uuid4().hex[:8]
    async with unit_of_work() as session:
        tenant = await tenancy.create_tenant(session, None, name=(name or "测试教育局") + suffix, code="t" + suffix)
        users = {
            role: await create_user(session, username=f"{role.value}-{suffix}", display_name=f"{role.value}{suffix}",
                                    password=PASSWORD)
            for role in ROLES
        }
        await tenancy.add_member(session, None, tenant_id=tenant.id, user=users[Role.admin], role=Role.admin)
        admin = await actor_for(session, users[Role.admin], tenant.id)
        office = await tenancy.create_unit(session, admin, name="办公室", kind=UnitKind.office)
        school = await tenancy.create_unit(session, admin, name="实验小学", kind=UnitKind.school, parent_id=office.id)
        for role in ROLES[1:]:
            await tenancy.add_member(session, admin, tenant_id=tenant.id, user=users[role], role=role,
                                     unit_id=school.id if role.needs_unit else None)
        actors = {role: await actor_for(session, users[role], tenant.id) for role in ROLES}
        # One row of every tenant table, so isolation tests cover them all.
        await tenancy.invite(session, admin, display_name="待邀请人", role=Role.unit_staff, unit_id=school.id)
        await create_api_token(session, actors[Role.supervisor], name="脚本")
        draft = await plans.start_import(session, admin, filename="", pasted=SMALL_PLAN)
        await plans.publish(session, admin, draft.id, version=draft.version)
    return Bureau(tenant=tenant, units={"office": office, "school": school}, users=users, actors=actors)


@pytest.fixture
async def bureau() -> Bureau:
    return await create_bureau()


@pytest.fixture
async def other_bureau() -> Bureau:
    return await create_bureau("另一个教育局")


@pytest.fixture
def app():
    from backend.web import create_app

    return create_app()


def make_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.1.2.3", 5555)),
                             base_url="http://testserver", follow_redirects=False)


@pytest.fixture
async def client(app):
    async with make_client(app) as c:
        yield c


CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


async def csrf_of(client: httpx.AsyncClient, path: str = "/login") -> str:
    response = await client.get(path)
    match = CSRF_RE.search(response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    token = await csrf_of(client)
    return await client.post("/login", data={"username": username, "password": password, "csrf_token": token})


async def post_form(client: httpx.AsyncClient, path: str, data: dict, *, page: str = "/") -> httpx.Response:
    """Posts like a browser does: with the CSRF token taken from a page of the signed-in person."""
    token = await csrf_of(client, page)
    return await client.post(path, data={**data, "csrf_token": token})


@pytest.fixture
async def signed_in(app):
    """`await signed_in(bureau, role)` gives a client logged in as that member."""
    clients: list[httpx.AsyncClient] = []

    async def make(bureau: Bureau, role: Role) -> httpx.AsyncClient:
        c = make_client(app)
        clients.append(c)
        response = await login(c, bureau.username(role))
        assert response.status_code == 303, response.text
        return c

    yield make
    for c in clients:
        await c.aclose()
