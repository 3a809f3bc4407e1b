"""`luoshi demo-year`: the demo bureau's year, filed through the services month by month as of each day.

The units' monthly reports (most on time, some late, some missing), returns with comments and the fixes, a few
reports marked exemplary, an extension, and completions requested and approved (one refused first). Everything
is drawn from a seeded random generator per task and month, so two runs file the same year; each event runs in
its own transaction with the reports' clock held at its moment (`core.clock.clock_at`), as a request made
that day would. A second run carries on after the first one's `--until` and never files anything twice.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import col, select, update

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.audit.service import record
from backend.bulletins import service as bulletins
from backend.bulletins.exemplary import mark_exemplary
from backend.bulletins.models import Bulletin, BulletinState
from backend.core import clock
from backend.core.actor import Actor
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.demo import DEMO_CODE, DEMO_PASSWORD, DEMO_PEOPLE, ensure_demo_bureau, luoshi_command
from backend.i18n import _
from backend.reports import service as reports
from backend.reports.models import ProgressReport, ReportKind, ReportState
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import (
    AssignmentKind,
    ExtensionRequest,
    ExtensionState,
    Task,
    TaskAssignment,
    TaskState,
    TaskTarget,
)
from backend.tenancy.acting import actor_for
from backend.tenancy.models import Tenant, Unit

SEED = 2026
YEAR = 2026
REPORT_DAY = 25  # the demo bureau keeps the default report day
ON_TIME, LATE = 0.70, 0.85  # a draw below 0.70 files on time, below 0.85 late, else the month is missed
RETURNED, EXEMPLARY = 0.12, 0.3  # of the reports reviewed: returned; of those accepted on time: exemplary

# Who files each unit's reports: its 经办人 where it has one (the school's 刘经办, whose reports 陈校长 approves
# first: the demo bureau asks for unit-head approval), else its head. All of them are in the demo's login list.
UNIT_PEOPLE = [(Role(role), username, unit) for role, username, _name, unit in DEMO_PEOPLE if unit]
STAFFED = {unit for role, _username, unit in UNIT_PEOPLE if role == Role.unit_staff}
FILERS = [username for role, username, unit in UNIT_PEOPLE if role == Role.unit_staff or unit not in STAFFED]
APPROVERS = [username for role, username, unit in UNIT_PEOPLE if role == Role.unit_head and unit in STAFFED]
# Ad-hoc tasks (交办事项) for two schools, so the demo's principal and clerk have work of their own.
ADHOC = [("第一实验小学", "开展“书香校园”读书月活动", "4月组织读书月，形成活动总结和照片台账。", date(YEAR, 6, 30)),
         ("城关中学", "完成学校食堂“明厨亮灶”改造", "年内完成食堂后厨视频监控改造并接入监管平台。", date(YEAR, 10, 31))]
# What happens to a task beside its monthly reports, by a word of its title: (month, day, action, detail).
STORIES: dict[str, list[tuple[int, int, str, str]]] = {
    "清廉学校": [(6, 24, "completion", "清廉学校建设评估已完成，覆盖率达92%。"),
                 (6, 26, "refuse", "请补充各校评估报告和覆盖率统计表。"),
                 (7, 10, "completion", "已补充评估报告和统计表，清廉学校覆盖率92%。"), (7, 13, "approve", "")],
    "学校建设": [(8, 20, "extension", "两所幼儿园受雨季影响工期顺延，申请延至11月底。"), (8, 21, "grant", ""),
                 (11, 16, "completion", "3所中小学、2所幼儿园已投入使用，新增学位1860个。"), (11, 18, "approve", "")],
    "课堂教学": [(9, 22, "completion", "作业管理办法已出台，两次教学视导已完成。"), (9, 25, "approve", "")],
    "书香校园": [(6, 12, "completion", "读书月活动已完成，形成活动总结和照片台账。"), (6, 15, "approve", "")],
}
PROGRESS = ["召开专题推进会，细化责任分工和时间节点。", "完成阶段性工作任务，形成工作台账。",
            "开展督导检查，督促整改发现的问题。", "组织业务培训和经验交流，推广典型做法。",
            "对照目标逐项梳理进度，调度重点环节。", "完成本月计划事项，相关资料已归档。"]
PROBLEMS = ["", "", "部分学校进度不均衡。", "经费拨付进度偏慢。", "专业人员不足。"]
NEXT_STEPS = ["继续按计划推进，下月完成阶段验收。", "加强调度，逐校跟进薄弱环节。", "做好资料归集和总结提炼。"]
RETURN_COMMENTS = ["进展表述过于笼统，请补充具体数据。", "请补充佐证材料的说明。", "请写明存在问题和下步措施。"]


@dataclass(order=True)
class Event:
    at: datetime  # UTC
    kind: str = field(compare=False)  # report, return, revise, accept, completion, approve, refuse, extension, grant
    task: str = field(compare=False)  # the task's number
    period: str = field(default="", compare=False)
    text: str = field(default="", compare=False)
    percent: int = field(default=0, compare=False)
    late: bool = field(default=False, compare=False)
    exemplary: bool = field(default=False, compare=False)


def at_local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), clock.zone()).astimezone(UTC)


def _month_events(number: str, title: str, month: int, seed: int) -> list[Event]:
    """One task's month: its report (on time, late or missing), the review, and a fix when it is returned."""
    draw = random.Random(f"{seed}:{number}:{month}")
    period = f"{YEAR}-{month:02d}"
    fate = draw.random()
    if fate >= LATE:
        return []
    late = fate >= ON_TIME
    filed = date(YEAR, month, draw.randint(26, 28) if late else draw.randint(10, REPORT_DAY))
    percent = min(95, month * 8 + draw.randint(0, 6))
    text = f"{month}月：{draw.choice(PROGRESS)}"
    events = [Event(at_local(filed, 10), "report", number, period, text, percent, late)]
    reviewed = filed + timedelta(days=1)
    if draw.random() < RETURNED:
        events += [Event(at_local(reviewed, 9), "return", number, period, draw.choice(RETURN_COMMENTS)),
                   Event(at_local(reviewed, 16), "revise", number, period, text + "（已补充具体数据和佐证说明。）"),
                   Event(at_local(reviewed + timedelta(days=1), 9), "accept", number, period)]
    else:
        events.append(Event(at_local(reviewed, 9), "accept", number, period,
                            exemplary=not late and draw.random() < EXEMPLARY))
    return events


def schedule(tasks_by_number: dict[str, str], *, seed: int = SEED) -> list[Event]:
    """The year's events in time order, from the tasks' numbers and titles. A task's monthly report stops after
    the month its completion is approved, and in a month it asks for completion the request is the report."""
    events: list[Event] = []
    for number, title in tasks_by_number.items():
        story = next((s for word, s in STORIES.items() if word in title), [])
        closing = {month for month, _day, kind, _text in story if kind == "completion"}
        done_in = max((month for month, _day, kind, _text in story if kind == "approve"), default=13)
        for month in range(1, min(done_in, 12) + 1):
            if month not in closing:
                events += _month_events(number, title, month, seed)
        events += [Event(at_local(date(YEAR, month, day), 11), kind, number, text=text, percent=100)
                   for month, day, kind, text in story]
    return sorted(events)


@dataclass
class YearRun:
    filed: list[Event] = field(default_factory=list)
    skipped_before: datetime | None = None  # events up to here were filed by an earlier run

    def count(self, kind: str, **match) -> int:
        return sum(1 for e in self.filed if e.kind == kind and all(getattr(e, k) == v for k, v in match.items()))


@dataclass
class Cast:
    tenant_id: uuid.UUID
    supervisor: Actor
    clerks: dict[uuid.UUID, Actor]  # unit id → who files the unit's reports
    heads: dict[uuid.UUID, Actor]  # unit id → the head who approves them first (units with a 经办人)
    tasks: dict[str, Task]


async def _cast() -> Cast:
    """The demo bureau with its people and the two ad-hoc tasks (made once, through the services)."""
    await ensure_demo_bureau()
    async with unit_of_work() as session:
        tenant = (await session.exec(select(Tenant).where(Tenant.code == DEMO_CODE))).one()
    async with unit_of_work(tenant.id) as session:
        wanted = ["admin", "duban", *FILERS, *APPROVERS]
        users = {u.username: u for u in (await session.exec(select(User).where(col(User.username).in_(wanted)))).all()}
        units = {u.name: u for u in (await session.exec(select(Unit))).all()}
        supervisor = await actor_for(session, users["duban"], tenant.id)
        titles = set((await session.exec(select(Task.title))).all())
        for unit, title, description, deadline in ADHOC:
            if title not in titles:
                await tasks.create_adhoc_task(session, supervisor, title=title, description=description,
                                              deadline=deadline, lead_unit_id=units[unit].id, co_unit_ids=[])
        clerks: dict[uuid.UUID, Actor] = {}
        heads: dict[uuid.UUID, Actor] = {}
        for usernames, found in ((FILERS, clerks), (APPROVERS, heads)):
            for username in usernames:
                person = await actor_for(session, users[username], tenant.id)
                assert person.unit_id is not None  # filers and approvers are unit members
                found[person.unit_id] = person
        found_tasks = (await session.exec(select(Task).where(Task.year == YEAR).order_by(col(Task.seq)))).all()
    return Cast(tenant.id, supervisor, clerks, heads, {t.number: t for t in found_tasks})


async def _through_head(session, cast: Cast, report: ProgressReport) -> None:
    """A report waiting for its unit head is approved by the head at once (the principal's step in the demo)."""
    head = cast.heads.get(report.unit_id)
    if head is not None and report.state == ReportState.awaiting_unit_head:
        await reports.unit_head_decide(session, head, report.id, approve=True, version=report.version)


async def _lead_of(session, task_id: uuid.UUID) -> uuid.UUID:
    return (await session.exec(select(TaskAssignment.unit_id).where(
        TaskAssignment.task_id == task_id, TaskAssignment.kind == AssignmentKind.lead))).one()


async def _report(session, task_id: uuid.UUID, unit_id: uuid.UUID, period: str) -> ProgressReport | None:
    return (await session.exec(select(ProgressReport).where(
        ProgressReport.task_id == task_id, ProgressReport.unit_id == unit_id, ProgressReport.period == period,
        ProgressReport.kind == ReportKind.periodic))).first()


async def _date_the_plan(cast: Cast, moment: datetime) -> None:
    """The demo's plan was loaded today, but in the year it is played it was published and assigned in January: its
    tasks and assignments are dated then, or every month before today would show nothing due (the 月通报 and the
    年考核 count a month's reports only for work that had been given by its report day)."""
    async with unit_of_work(cast.tenant_id) as session:
        task_ids = select(Task.id).where(Task.year == YEAR)
        await session.exec(update(Task).where(col(Task.id).in_(task_ids), col(Task.created_at) > moment)
                           .values(created_at=moment))
        await session.exec(update(TaskAssignment).where(col(TaskAssignment.task_id).in_(task_ids),
                                                        col(TaskAssignment.created_at) > moment)
                           .values(created_at=moment))


async def _acknowledge_all(cast: Cast) -> None:
    """In the first days of January every unit signs for its tasks (签收)."""
    async with unit_of_work(cast.tenant_id) as session:
        waiting = (await session.exec(select(TaskAssignment.task_id, TaskAssignment.unit_id).where(
            TaskAssignment.state == TaskState.assigned))).all()
    for task_id, unit_id in waiting:
        if unit_id in cast.clerks:
            async with unit_of_work(cast.tenant_id) as session:
                await lifecycle.acknowledge(session, cast.clerks[unit_id], task_id, version=None)


async def _play(cast: Cast, event: Event) -> bool:
    """Files one event as of its moment; False when the task is no longer where the event expects it."""
    task = cast.tasks[event.task]
    supervisor = cast.supervisor
    async with unit_of_work(cast.tenant_id) as session:
        lead = await _lead_of(session, task.id)
        clerk = cast.clerks[lead]
        current = (await session.exec(select(Task).where(Task.id == task.id))).one()
        report = await _report(session, task.id, lead, event.period) if event.period else None
        if event.kind == "report":
            if report is not None or current.state not in (TaskState.acknowledged, TaskState.in_progress,
                                                           TaskState.assigned):
                return False
            targets = (await session.exec(select(TaskTarget).where(TaskTarget.task_id == task.id))).all()
            actuals = {str(t.id): round(t.value * event.percent / 100, 1) for t in targets}
            draw = random.Random(f"{event.task}:{event.period}:text")
            saved = await reports.save_report(session, clerk, task.id, period=event.period, progress=event.text,
                                              problems=draw.choice(PROBLEMS), next_steps=draw.choice(NEXT_STEPS),
                                              percent=event.percent, target_actuals=actuals, version=0)
            await _through_head(session, cast, await reports.submit_report(session, clerk, saved.id,
                                                                            version=saved.version))
        elif event.kind in ("return", "accept"):
            if report is None or report.state != ReportState.submitted:
                return False
            await reports.review(session, supervisor, report.id, accept=event.kind == "accept", comment=event.text,
                                 version=report.version)
            if event.exemplary:
                await mark_exemplary(session, supervisor, report.id, exemplary=True)
        elif event.kind == "revise":
            if report is None or report.state != ReportState.returned:
                return False
            saved = await reports.save_report(session, clerk, task.id, period=event.period, progress=event.text,
                                              problems=report.problems, next_steps=report.next_steps,
                                              percent=report.percent, version=report.version)
            await _through_head(session, cast, await reports.submit_report(session, clerk, saved.id,
                                                                            version=saved.version))
        elif event.kind == "completion":
            if current.state not in (TaskState.acknowledged, TaskState.in_progress, TaskState.assigned):
                return False
            await _through_head(session, cast, await reports.request_completion(session, clerk, task.id,
                                                                                 summary=event.text, version=None))
        elif event.kind in ("approve", "refuse"):
            request = (await session.exec(select(ProgressReport).where(
                ProgressReport.task_id == task.id, ProgressReport.kind == ReportKind.completion,
                ProgressReport.state == ReportState.submitted))).first()
            if request is None:
                return False
            await reports.decide_completion(session, supervisor, request.id, approve=event.kind == "approve",
                                            comment=event.text, version=request.version,
                                            override_reason=event.text or _("经核对佐证材料，同意办结"))
        elif event.kind == "extension":
            await lifecycle.request_extension(session, clerk, task.id, requested_deadline=date(YEAR, 11, 30),
                                              reason=event.text)
        elif event.kind == "grant":
            pending = (await session.exec(select(ExtensionRequest).where(
                ExtensionRequest.task_id == task.id, ExtensionRequest.state == ExtensionState.pending))).first()
            if pending is None:
                return False
            await lifecycle.decide_extension(session, supervisor, pending.id, approve=True, comment="同意。")
    return True


async def run_demo_year(until: date, *, seed: int = SEED) -> YearRun:
    """Files the demo bureau's year up to the end of `until` (bureau time); returns what it filed."""
    cast = await _cast()
    async with unit_of_work(cast.tenant_id) as session:
        last = (await session.exec(select(AuditEvent.details).where(AuditEvent.action == "demo.year")
                                   .order_by(col(AuditEvent.occurred_at).desc()).limit(1))).first()
    run = YearRun(skipped_before=datetime.fromisoformat(last["until"]) if last else None)
    end = at_local(until + timedelta(days=1), 0)
    if run.skipped_before is None:
        await _date_the_plan(cast, at_local(date(YEAR, 1, 5), 8))
        with clock.clock_at(at_local(date(YEAR, 1, 5), 9)):
            await _acknowledge_all(cast)
    for event in schedule({n: t.title for n, t in cast.tasks.items()}, seed=seed):
        if event.at >= end or (run.skipped_before is not None and event.at < run.skipped_before):
            continue
        with clock.clock_at(event.at):
            if await _play(cast, event):
                run.filed.append(event)
    async with unit_of_work(cast.tenant_id) as session:
        await record(session, None, "demo.year", tenant_id=cast.tenant_id, object_type="tenant",
                     object_id=cast.tenant_id,
                     summary=_("演示：按日期补录 %(year)s 年的报送与审核，至 %(until)s", year=YEAR, until=until),
                     details={"until": max(end, run.skipped_before or end).isoformat(), "filed": len(run.filed)})
    await _redraft_bulletins(cast, until)
    return run


async def _redraft_bulletins(cast: Cast, until: date) -> None:
    """The worker drafts last month's 月通报 when it starts, which may be before this run filed that month (zeros,
    and a task done since shown as 超期): every draft of the year is recomputed from the year as now filed, and
    last month's is drafted if the worker has not yet."""
    last_month = until.replace(day=1) - timedelta(days=1)
    async with unit_of_work(cast.tenant_id) as session:
        fresh = set()
        if last_month.year == YEAR:
            drafted, new = await bulletins.draft_for_month(session, cast.tenant_id, YEAR, last_month.month,
                                                           today=until)
            fresh = {drafted.id} if new else set()
        drafts = (await session.exec(select(Bulletin.id).where(
            Bulletin.year == YEAR, Bulletin.state == BulletinState.draft))).all()
        for bulletin_id in set(drafts) - fresh:
            await bulletins.regenerate(session, cast.supervisor, bulletin_id, version=None)


def summary_lines(run: YearRun, until: date) -> list[str]:
    """What the run filed and what to look at next."""
    on_time, late = run.count("report", late=False), run.count("report", late=True)
    return [
        _("示范县教育局 %(year)s 年已按日期补录至 %(until)s：", year=YEAR, until=until),
        "  " + _("月度进展报告 %(n)s 份（按时 %(on_time)s，逾期 %(late)s），退回后修改 %(revised)s 份，"
          "评为典型 %(exemplary)s 份；",
          n=on_time + late, on_time=on_time, late=late, revised=run.count("revise"),
          exemplary=sum(1 for e in run.filed if e.exemplary)),
        "  " + _("申请办结 %(asked)s 次，批准 %(approved)s 次，退回 %(refused)s 次；批准延期 %(granted)s 次。",
          asked=run.count("completion"), approved=run.count("approve"), refused=run.count("refuse"),
          granted=run.count("grant")),
        "",
        _("接下来（luoshi demo 运行时打开网站，各演示账号的密码都是 %(password)s）：", password=DEMO_PASSWORD),
        "  " + _("1. 以 duban（李督办）登录：/tasks 看红黄绿灯和进度，/reviews 看待审核的报告，/plans 看工作要点；"),
        "  " + _("2. 月通报：/bulletins 生成、编辑并发布上月通报，导出 Word 和 PDF；"),
        "  " + _("3. 季点评：/quarterly 评分、点评并发布；年考核：/assessments 打分、公示、导出；"),
        "  " + _("4. 年度结转：/tasks/rollover 预览未完成的任务，确认后结转到 %(next)s 年；", next=YEAR + 1),
        "  " + _("5. 以 jingban（经办人）、xiaozhang（校长，审核本校报告）或 bangong、jijiao（科室负责人）登录，"
          "看本单位的任务、报送和台账；"),
        "  " + _("6. 移动时钟，看提醒与督办单（另开一个终端）：%(luoshi)s remind --at %(year)s-12-21T09:00+08:00",
                 luoshi=luoshi_command(with_services=True), year=YEAR),
    ]
