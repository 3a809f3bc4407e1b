"""Fixtures and factories that build data through the services, never through hand-written SQL."""

import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import httpx
import pytest
from PIL import Image
from sqlmodel import select

import backend.wiring  # noqa: F401 — as web, the worker and the CLI do: tasks announce their changes (core/events.py)
from backend.accounts.models import User
from backend.accounts.service import create_api_token, create_user
from backend.assessments import rubric as rubrics
from backend.assessments import service as assessments
from backend.bulletins import service as bulletins
from backend.core import once
from backend.core.actor import Actor
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.delivery import service as delivery
from backend.notifications import service as notifications
from backend.plans import service as plans
from backend.reminders import service as reminders
from backend.reminders.sweep import sweep_bureau
from backend.reports import attaching, lights
from backend.reports import service as reports
from backend.reviews import service as reviews
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import TaskTarget
from backend.tenancy import service as tenancy
from backend.tenancy.acting import actor_for
from backend.tenancy.bureau_settings import update_bureau_settings
from backend.tenancy.models import Tenant, Unit, UnitKind

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


def policy_form(**overrides: object) -> reminders.PolicyForm:
    """The reminder rules' form with the defaults, as an admin would leave it, changed where given."""
    values = {"enabled": True, "deadline_workdays": "7,3,1", "report_day_workdays": "3,0",
              "escalate_unit_head_after": "1", "escalate_leaders_after": "5", "quiet_start": "22:00",
              "quiet_end": "07:00", "nudge_interval_hours": "24", "daily_digest_at": "07:30",
              "weekly_digest_weekday": "1"}
    return reminders.PolicyForm(**(values | overrides))


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def create_bureau(name: str | None = None, *, whole_loop: bool = False, emails: bool = False,
                        timezone: str | None = None) -> Bureau:
    """A bureau with an office and a school, one person per role (unit roles in the school) and a published plan,
    in `timezone` (the platform's default without one).
    `whole_loop` also takes an extra task once round the loop, so that every tenant table has rows; `emails` gives
    each person an e-mail address (then every notification also queues an e-mail)."""
    suffix = uuid.uuid4().hex[:8]
    async with unit_of_work() as session:
        tenant = await tenancy.create_tenant(session, None, name=(name or "测试教育局") + suffix, code="t" + suffix,
                                             timezone=timezone)
        users = {
            role: await create_user(session, username=f"{role.value}-{suffix}", display_name=f"{role.value}{suffix}",
                                    password=PASSWORD, email=f"{role.value}-{suffix}@bureau.test" if emails else None)
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
        await once.claim(session, admin, uuid.uuid4(), route="/fixtures")
        draft = await plans.start_import(session, admin, filename="", pasted=SMALL_PLAN)
        await plans.publish(session, admin, draft.id, version=draft.version, confirm_dates=True)
        # Tests run at any hour: the test bureau keeps no quiet hours unless a test sets them.
        await reminders.update_policy(session, admin, policy_form(quiet_start="00:00", quiet_end="00:00"))
        if whole_loop:
            await _whole_loop(session, admin, actors, office, school, suffix)
    return Bureau(tenant=tenant, units={"office": office, "school": school}, users=users, actors=actors)


async def _whole_loop(session, admin: Actor, actors: dict[Role, Actor], office: Unit, school: Unit, suffix: str):
    """An ad-hoc task taken once round the loop (owner, evidence, report, contribution, review, extension, light),
    so every tenant table has a row of each bureau; the plan's own tasks stay untouched for the tests."""
    supervisor = actors[Role.supervisor]
    clerk = await create_user(session, username=f"office-{suffix}", display_name=f"办公室经办{suffix}",
                              password=PASSWORD)
    membership = await tenancy.add_member(session, admin, tenant_id=admin.tenant_id, user=clerk, role=Role.unit_staff,
                                          unit_id=office.id)
    office_clerk = await actor_for(session, clerk, admin.tenant_id)
    await update_bureau_settings(session, admin, report_day=25, unit_head_approval=False)
    [task] = await tasks.create_tasks(session, supervisor, 2026, [tasks.NewTask(
        title="临时交办：全覆盖样例", description="样例任务。", deadline=date(2026, 12, 31),
        targets=[{"value": 10, "unit": "次", "comparator": "不少于", "text": "不少于10次"}],
        lead_unit_ids=[office.id], co_unit_ids=[school.id])])
    await tasks.set_owners(session, supervisor, task.id, [membership.id])
    target = (await session.exec(select(TaskTarget).where(TaskTarget.task_id == task.id))).one()
    report = await reports.save_report(session, office_clerk, task.id, progress="已开展两次。", percent=20,
                                       target_actuals={str(target.id): "2"}, version=0)
    await attaching.upload(session, office_clerk, task.id, filename="样例.png", chunks=_one(PNG), report_id=report.id)
    await reports.submit_report(session, office_clerk, report.id, version=report.version)
    await reports.contribute(session, actors[Role.unit_staff], report.id, text="配合单位已参加。")
    await reports.review(session, supervisor, report.id, accept=False, comment="请补充照片说明。",
                         version=report.version)
    await lifecycle.request_extension(session, office_clerk, task.id, requested_deadline=date(2027, 1, 31),
                                      reason="样例")
    await lights.refresh_lights(session, admin.tenant_id, today=date(2027, 3, 1), trigger="样例",
                                   task_ids=[task.id])
    await reminders.nudge(session, supervisor, task.id, message="样例催办")
    await sweep_bureau(session, admin.tenant_id, "Asia/Shanghai", datetime(2027, 3, 1, 9, tzinfo=UTC))
    await notifications.update_preferences(session, office_clerk, email=True, sms=True, phone="13800138000",
                                           daily_digest=True, weekly_digest=False)
    await delivery.add_channel(session, admin, kind="wecom", url="http://127.0.0.1:9/robot")
    await delivery.queue_message(session, admin.tenant_id, dedupe_key=f"sample:{suffix}", channel="inapp",
                                 recipient=str(office_clerk.membership_id), subject="样例", body_text="样例")
    bulletin, _new = await bulletins.draft_for_month(session, admin.tenant_id, 2026, 10, today=date(2026, 11, 1),
                                                     actor=supervisor)
    await bulletins.publish(session, supervisor, bulletin.id, version=bulletin.version)
    # 季点评 and 年考核 once round: the rubric saved; the current quarter rated, remarked and published; the year
    # opened, self-scored, adjusted, published and appealed.
    await rubrics.update_rubric(session, admin, rubrics.RubricForm(
        completion_weight="40", timeliness_weight="20", rating_weight="30", bonus_weight="10", rating_scale="grade",
        self_scoring=True, appeal_days="5"))
    today = reviews.local_today(admin.timezone)
    review = await reviews.open_review(session, supervisor, year=today.year, quarter=(today.month - 1) // 3 + 1)
    await reviews.rate_unit(session, supervisor, review.id, office.id, {str(task.id): reviews.RatingEntry("excellent")},
                            version=review.version)
    await reviews.add_remark(session, actors[Role.leader], review.id, text_="样例点评")
    await reviews.publish_review(session, supervisor, review.id, version=review.version)
    assessment = await assessments.open_assessment(session, supervisor, year=today.year)
    await assessments.self_score(session, actors[Role.unit_head], assessment.id, total="80", note="样例")
    await assessments.adjust(session, supervisor, assessment.id, unit_id=office.id, points="1", reason="样例",
                             version=assessment.version)
    await assessments.publish(session, supervisor, assessment.id, version=assessment.version)
    await assessments.file_appeal(session, actors[Role.unit_head], assessment.id, text_="样例申诉")


async def _one(data: bytes):
    yield data


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
async def bureau() -> Bureau:
    return await create_bureau()


@pytest.fixture
async def other_bureau() -> Bureau:
    return await create_bureau("另一个教育局")


@pytest.fixture(scope="module")
async def whole_bureau() -> Bureau:
    """A bureau with rows in every tenant table (create_bureau's whole loop), so that no table escapes a check; one
    per module, as building it is costly: the tests that take it read it, are refused, or change it in the
    module's one test that does."""
    return await create_bureau(whole_loop=True)


@pytest.fixture(scope="module")
async def other_whole_bureau() -> Bureau:
    return await create_bureau("另一个教育局", whole_loop=True)


@pytest.fixture
def clock():
    """`clock(moment)` moves Luoshi's one clock (backend.core.clock) to `moment` for the rest of the test, running on
    from there: pages, services, job functions and row timestamps alike, in every task and thread; each bureau's
    dates follow in its own zone. A naive moment is UTC. `clock_at` blocks inside still hold their own moment."""
    from backend.core import clock as luoshi_clock

    yield luoshi_clock.move_to
    luoshi_clock.move_to(None)


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
