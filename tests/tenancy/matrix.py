"""The tenancy routes' permission matrix and what the route tests share: fresh objects to aim at, a snapshot of
everything a refused request must leave as it was, and the refusals' messages.

Pages are called by signed-in browsers (with the page's CSRF token); the API with bearer tokens made by
`create_api_token`. Every call that is refused must leave the bureau exactly as it was.
"""

import uuid
from dataclasses import dataclass, field

import httpx
from sqlmodel import select

from backend.accounts.models import ApiToken
from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tenancy import service as tenancy
from backend.tenancy.models import Invitation
from tests.support.fixtures import ROLES, Bureau, unique
from tests.tenancy.helpers import accept

ROLE_DENIED = "您的角色无权进行此操作。如需权限，请联系本局系统管理员。"
OPERATOR_ONLY = "只有平台运维人员可以管理教育局。"
CSRF_FAILED = "页面已过期或来源无法验证（CSRF 校验失败）。请刷新页面后重新提交，已保存的内容不会丢失。"
BAD_PATH = "找不到您要的内容，链接可能有误。"
BAD_INVITE = "邀请链接无效或已被使用。请向本局管理员索取新的邀请链接。"
TARGET_PASSWORD = "Target-Person-77!"


async def bearer(bureau: Bureau, role: Role, name: str = "矩阵测试") -> tuple[uuid.UUID, str]:
    async with unit_of_work(bureau.tenant.id) as session:
        token, raw = await create_api_token(session, bureau.actors[role], name=name)
    return token.id, raw


async def snapshot(bureau: Bureau) -> dict:
    """Everything a refused request must not have changed, read as the bureau's own admin."""
    admin = bureau.actors[Role.admin]
    async with unit_of_work(bureau.tenant.id) as session:
        units = sorted((str(n.unit.id), n.unit.name, n.unit.kind, str(n.unit.parent_id))
                       for n in await tenancy.list_units(session, admin))
        members = sorted(
            (str(r.membership.id), r.membership.role, str(r.membership.unit_id), r.membership.is_active,
             r.user.username, r.user.display_name, r.user.password_hash, r.user.must_change_password)
            for r in await tenancy.list_members(session, admin)
        )
        invitations = sorted((str(i.id), str(i.accepted_at)) for i in (await session.exec(select(Invitation))).all())
        tokens = sorted((str(t.id), t.name, str(t.revoked_at)) for t in (await session.exec(select(ApiToken))).all())
    return {"units": units, "members": members, "invitations": invitations, "tokens": tokens}


@dataclass
class Targets:
    """Fresh objects of one bureau that the routes under test act on."""

    unit_id: uuid.UUID
    unit_name: str
    member_id: uuid.UUID
    member_username: str
    member_name: str
    invitation_id: uuid.UUID
    tokens: dict[Role, uuid.UUID] = field(default_factory=dict)  # one per role, to revoke
    bearers: dict[Role, str] = field(default_factory=dict)  # one per role, to call the API with

    def path(self, template: str, role: Role) -> str:
        return template.format(unit=self.unit_id, member=self.member_id, invitation=self.invitation_id,
                               token=self.tokens[role])


async def make_targets(bureau: Bureau, *, member_active: bool = True) -> Targets:
    admin = bureau.actors[Role.admin]
    unit_name, member_name, username = unique("空单位"), unique("目标人员"), unique("target-")
    async with unit_of_work(bureau.tenant.id) as session:
        unit = await tenancy.create_unit(session, admin, name=unit_name)
        _invitation, raw = await tenancy.invite(session, admin, display_name=member_name, role=Role.leader,
                                                unit_id=None)
        pending = await tenancy.invite(session, admin, display_name=unique("待撤销"), role=Role.unit_staff,
                                       unit_id=bureau.units["school"].id)
    user = await accept(raw, username, TARGET_PASSWORD)
    async with unit_of_work(bureau.tenant.id) as session:
        row = next(r for r in await tenancy.list_members(session, admin) if r.user.id == user.id)
        if not member_active:
            await tenancy.set_member_active(session, admin, row.membership.id, active=False)
    targets = Targets(unit.id, unit_name, row.membership.id, username, member_name, pending[0].id)
    for role in ROLES:
        targets.tokens[role], _raw = await bearer(bureau, role, name=unique("待吊销"))
        _id, targets.bearers[role] = await bearer(bureau, role)
    return targets


def assert_denied_page(response: httpx.Response, message: str = ROLE_DENIED, status: int = 403) -> None:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def assert_denied_json(response: httpx.Response, message: str = ROLE_DENIED, status: int = 403) -> None:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.json()["detail"] == message



# --- the permission matrix -------------------------------------------------------------------------------

ALL = frozenset(ROLES)
ADMIN = frozenset({Role.admin})
MEMBERS_READ = frozenset({Role.admin, Role.supervisor, Role.leader, Role.unit_head})
AUDIT_READ = frozenset({Role.admin, Role.supervisor, Role.leader})
NOBODY = frozenset()


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    allowed: frozenset
    ok: int
    body: dict | None = None
    member_active: bool = True
    denied_status: int = 403
    denied_message: str = ROLE_DENIED

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def body_for(case: Case, bureau: Bureau) -> dict | None:
    """Bodies are templates: {school}/{office} become the bureau's unit ids, {unique} a fresh name."""
    if case.body is None:
        return None
    values = {"school": str(bureau.units["school"].id), "office": str(bureau.units["office"].id)}
    return {k: (v.format(unique=unique("名"), **values) if isinstance(v, str) else v) for k, v in case.body.items()}


PAGE_CASES = [
    Case("GET", "/", ALL, 200),
    Case("GET", "/admin/units", ADMIN, 200),
    Case("POST", "/admin/units", ADMIN, 303, {"name": "{unique}", "kind": "school", "parent_id": "{office}"}),
    Case("GET", "/admin/units/{unit}", ADMIN, 200),
    Case("POST", "/admin/units/{unit}", ADMIN, 303, {"name": "{unique}", "kind": "office", "parent_id": "{school}"}),
    Case("POST", "/admin/units/{unit}/delete", ADMIN, 303, {}),
    Case("GET", "/admin/members", MEMBERS_READ, 200),
    Case("POST", "/admin/members/invite", ADMIN, 200, {"display_name": "{unique}", "role": "unit_staff",
                                                       "unit_id": "{school}"}),
    Case("POST", "/admin/invitations/{invitation}/revoke", ADMIN, 303, {}),
    Case("POST", "/admin/members/{member}/role", ADMIN, 303, {"role": "unit_head", "unit_id": "{school}"}),
    Case("POST", "/admin/members/{member}/deactivate", ADMIN, 303, {}),
    Case("POST", "/admin/members/{member}/activate", ADMIN, 303, {}, member_active=False),
    Case("POST", "/admin/members/{member}/reset-password", ADMIN, 200, {}),
    Case("GET", "/account/tokens", ALL, 200),
    Case("POST", "/account/tokens", ALL, 200, {"name": "{unique}"}),
    Case("POST", "/account/tokens/{token}/revoke", ALL, 303, {}),
    Case("GET", "/audit", AUDIT_READ, 200),
    Case("GET", "/operator/tenants", NOBODY, 200, denied_message=OPERATOR_ONLY),
    Case("POST", "/operator/tenants", NOBODY, 200, {"name": "{unique}", "code": "x", "admin_name": "x",
                                                    "admin_username": "{unique}"}, denied_message=OPERATOR_ONLY),
]

API_CASES = [
    Case("GET", "/api/v1/me", ALL, 200),
    Case("GET", "/api/v1/units", ALL, 200),
    Case("POST", "/api/v1/units", ADMIN, 201, {"name": "{unique}", "kind": "school", "parent_id": "{office}"}),
    Case("PUT", "/api/v1/units/{unit}", ADMIN, 200, {"name": "{unique}", "kind": "office", "parent_id": None}),
    Case("DELETE", "/api/v1/units/{unit}", ADMIN, 204),
    Case("GET", "/api/v1/members", MEMBERS_READ, 200),
    Case("PUT", "/api/v1/members/{member}", ADMIN, 200, {"role": "unit_staff", "unit_id": "{school}"}),
    Case("POST", "/api/v1/members/{member}/deactivate", ADMIN, 200),
    Case("POST", "/api/v1/invitations", ADMIN, 201, {"display_name": "{unique}", "role": "leader"}),
    Case("GET", "/api/v1/tokens", ALL, 200),
    Case("POST", "/api/v1/tokens", ALL, 201, {"name": "{unique}"}),
    Case("DELETE", "/api/v1/tokens/{token}", ALL, 204),
    Case("GET", "/api/v1/audit-events", AUDIT_READ, 200),
    # Operator routes read only the browser session: a bureau's bearer token does not sign anyone in there.
    Case("GET", "/api/v1/tenants", NOBODY, 200, denied_status=401, denied_message="请先登录。"),
    Case("POST", "/api/v1/tenants", NOBODY, 201, {"name": "{unique}", "code": "x", "admin_name": "x",
                                                  "admin_username": "{unique}"},
         denied_status=401, denied_message="请先登录。"),
]


def in_refusal_order(roles) -> list[Role]:
    """Refused roles first, so that an allowed change (made last) cannot hide a refused one."""
    return sorted(roles, key=lambda r: r == Role.admin)

