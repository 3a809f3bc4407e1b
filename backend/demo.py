"""The demo bureau that `luoshi demo` creates on first start: units and one person per role."""

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio
from sqlmodel import select

import backend.wiring  # noqa: F401 — subscribes the higher layers to core.events (docs/ARCHITECTURE.md)
from backend.accounts.models import User
from backend.accounts.service import create_user
from backend.core.roles import Role
from backend.db import set_context, unit_of_work
from backend.plans import service as plans
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for
from backend.tenancy.bureau_settings import update_bureau_settings
from backend.tenancy.models import Tenant, Unit, UnitKind

DEMO_CODE = "demo"
DEMO_PLAN = Path(__file__).with_name("demo_plan.txt")
DEMO_PASSWORD = "Luoshi@2026demo"  # noqa: S105 — demo only, printed at start


def luoshi_command(*, with_services: bool = False) -> str:
    """How to run `luoshi` from another terminal: the installed script beside this Python (a venv's bin/ is often
    not on PATH), else the module; with_services, after this run's DATABASE_URL and REDIS_URL (the demo's embedded
    ones), so the command works pasted as it is."""
    script = Path(sys.executable).with_name("luoshi")
    command = shlex.quote(str(script)) if script.exists() else f"{shlex.quote(sys.executable)} -m backend.cli"
    if not with_services:
        return command
    services = [f"{name}={shlex.quote(os.environ[name])}" for name in ("DATABASE_URL", "REDIS_URL")
                if os.environ.get(name)]
    return " ".join([*services, command])


@dataclass
class DemoLogin:
    role: str
    username: str
    display_name: str


DEMO_MAIL_DOMAIN = "shifan.edu.example"
DEMO_PEOPLE = [
    ("operator", "operator", "平台运维", None),
    (Role.admin, "admin", "王管理", None),
    (Role.supervisor, "duban", "李督办", None),
    (Role.leader, "juzhang", "张局长", None),
    (Role.unit_head, "xiaozhang", "陈校长", "第一实验小学"),
    (Role.unit_staff, "jingban", "刘经办", "第一实验小学"),
    # The heads of the other units that lead or help with the demo's tasks: they file their units' reports
    # themselves (`luoshi demo-year`); the school's reports go from 刘经办 through 陈校长.
    (Role.unit_head, "bangong", "赵主任", "局办公室"),
    (Role.unit_head, "dudao", "钱主任", "督导室"),
    (Role.unit_head, "jijiao", "孙科长", "基础教育科"),
    (Role.unit_head, "anquan", "周科长", "安全稳定科"),
    (Role.unit_head, "chengguan", "吴校长", "城关中学"),
    (Role.unit_head, "youeryuan", "郑园长", "实验幼儿园"),
]
DEMO_NAMES = {username: name for _role, username, name, _unit in DEMO_PEOPLE}
DEMO_UNITS = [
    ("局办公室", UnitKind.office, None),
    ("督导室", UnitKind.office, None),
    ("基础教育科", UnitKind.office, None),
    ("安全稳定科", UnitKind.office, None),
    ("第一实验小学", UnitKind.school, "基础教育科"),
    ("城关中学", UnitKind.school, "基础教育科"),
    ("实验幼儿园", UnitKind.kindergarten, "基础教育科"),
]


async def _file_chunks(path: Path):
    yield await anyio.Path(path).read_bytes()


async def ensure_demo_bureau() -> list[DemoLogin]:
    """Idempotent: a second start finds the bureau and changes nothing, except that people of the login list a
    bureau made by an earlier version lacks are added (so `demo-year` finds everyone it files as)."""
    logins = [DemoLogin(str(role), username, name) for role, username, name, _unit in DEMO_PEOPLE]
    async with unit_of_work() as session:
        tenant = (await session.exec(select(Tenant).where(Tenant.code == DEMO_CODE))).first()
        if tenant is not None:
            await set_context(session, tenant.id)
            admin_user = (await session.exec(select(User).where(User.username == "admin"))).one()
            admin = await actor_for(session, admin_user, tenant.id)
            units = {u.name: u for u in (await session.exec(select(Unit))).all()}
            await _add_people(session, admin, tenant, units)
            return logins
        tenant = await tenancy.create_tenant(session, None, name="示范县教育局", code=DEMO_CODE)
        admin_user = await _user(session, "admin", DEMO_NAMES["admin"], operator=False)
        await tenancy.add_member(session, None, tenant_id=tenant.id, user=admin_user, role=Role.admin)
        admin = await actor_for(session, admin_user, tenant.id)
        units = {}
        for name, kind, parent in DEMO_UNITS:
            units[name] = await tenancy.create_unit(session, admin, name=name, kind=kind,
                                                    parent_id=units[parent].id if parent else None)
        await _add_people(session, admin, tenant, units)
        # Principals approve their school's reports before the bureau sees them: the loop the demo shows.
        await update_bureau_settings(session, admin, report_day=25, unit_head_approval=True)
        draft = await plans.start_import(session, admin, filename="示范县教育局2026年教育工作要点.txt",
                                         chunks=_file_chunks(DEMO_PLAN))
        await plans.publish(session, admin, draft.id, version=draft.version, confirm_dates=True)
    return logins


async def _user(session, username: str, name: str, *, operator: bool) -> User:
    return await create_user(session, username=username, display_name=name, password=DEMO_PASSWORD,
                             is_operator=operator, email=None if operator else f"{username}@{DEMO_MAIL_DOMAIN}")


async def _add_people(session, admin, tenant: Tenant, units: dict[str, Unit]) -> None:
    """The login list's people who are not there yet, each a member of the bureau in their role and unit."""
    existing = set((await session.exec(select(User.username))).all())
    for role, username, name, unit_name in DEMO_PEOPLE:
        if username in existing:
            continue
        user = await _user(session, username, name, operator=role == "operator")
        if role != "operator":
            await tenancy.add_member(session, admin, tenant_id=tenant.id, user=user, role=Role(role),
                                     unit_id=units[unit_name].id if unit_name else None)
