"""Tasks: 我的任务 / the supervisor's board, the task's page (台账), 签收, 退回, 延期, 交办 (one or many)."""

import copy
import uuid
from datetime import date
from typing import Annotated, Any, overload
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse

from backend.core import once
from backend.core.clock import local_today
from backend.core.downloads import XLSX
from backend.core.feedback import done
from backend.core.forms import form_error, safe_next, see_other, unless_correctable
from backend.core.templating import render
from backend.core.versions import form_version
from backend.deps import ApiActor, CurrentActor, DbSession
from backend.errors import DomainError, InvalidInput
from backend.evidence import service as evidence
from backend.i18n import _
from backend.plans import board, rollover
from backend.plans import service as plans
from backend.plans.page import plan_page_context
from backend.reminders import service as reminders
from backend.reports import ledger
from backend.reports import service as reports
from backend.tasks import lifecycle
from backend.tasks import service as tasks
from backend.tasks.models import TaskState, evidence_rule_label, state_label
from backend.tasks.schemas import AssignIn, EvidenceRuleIn, ExtensionIn, ReasonIn, TaskPublic, VersionIn
from backend.tenancy import service as tenancy

pages = APIRouter(tags=["tasks"], include_in_schema=False)
api = APIRouter(tags=["tasks"])

LIGHT_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}


def today_for(actor) -> date:
    return local_today(actor.timezone)


def _uuid(value: str, field: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(_("所选项目无效，请重新选择。"), field=field) from None


def _date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("日期格式不对，请按 2024-06-30 的格式填写。"), field=field) from None


@overload
def _whole(value: str, default: int) -> int: ...


@overload
def _whole(value: str, default: None = None) -> int | None: ...


def _whole(value: str, default: int | None = None) -> int | None:
    """A whole number from a query or form field; `default` for anything else ("abc", "²" or 5,000 digits, which
    str.isdigit() lets through to an int() that fails)."""
    return int(value) if value.isdecimal() and len(value) <= 9 else default


@pages.get("/tasks")
async def board_page(
    request: Request, session: DbSession, actor: CurrentActor, unit: str = "", plan: str = "", section: str = "",
    state: str = "", light: str = "", q: str = "", page: str = "1",
):
    filters = board.BoardFilter(unit_id=_uuid(unit, "unit"), plan_id=_uuid(plan, "plan"),
                                section_id=_uuid(section, "section"), state=state, light=light, query=q[:100],
                                page=_whole(page, 1))
    result = await board.board(session, actor, filters)
    rows = result.rows
    context = {
        "rows": rows, "filters": filters,
        "values": {"unit": unit, "plan": plan, "section": section, "state": state, "light": light, "q": q},
        "state_label": state_label, "states": list(TaskState), "light_labels": LIGHT_LABELS, "board": result,
        "nodes": await tenancy.list_units(session, actor) if result.whole_bureau else [],
        "plans": await plans.list_plans(session, actor) if result.whole_bureau else [],
        "sections": await plans.list_sections(session, actor, _uuid(plan, "plan")) if plan else [],
        "today": today_for(actor),
    }
    block = "results" if request.headers.get("hx-request") and request.headers.get("hx-target") == "results" else None
    return render(request, "tasks/board.html", context, block=block)


async def _task_context(session, actor, task_id: uuid.UUID) -> dict[str, Any]:
    view = await tasks.task_view(session, actor, task_id)
    context: dict[str, Any] = {"view": view, "state_label": state_label, "light_labels": LIGHT_LABELS,
                               "evidence_rule_label": evidence_rule_label,
                               "today": today_for(actor),
                               "rollup": tasks.rollup_label(view.task, [a.assignment for a in view.assignments]),
                               "can_tick": view.may_tick}
    if view.may_assign:
        context["nodes"] = await tasks.units_to_assign(session, actor)
    if view.may_name_owners:
        unit_ids = {row.assignment.unit_id for row in view.assignments}
        context["owner_candidates"] = [row for row in await tenancy.list_members(session, actor)
                                       if row.membership.is_active and row.membership.unit_id in unit_ids]
    # The 台账's reports and evidence come from their own domains.
    context["reports"] = await reports.reports_for_task(session, actor, task_id)
    context["evidence"] = await evidence.list_evidence(session, actor, task_id)
    context["notices"] = await reminders.notices_of_task(session, actor, view.task)
    context["nudges"] = await reminders.nudges_of_task(session, view.task)
    context["carry"] = await rollover.carry_links(session, actor, view.task)
    context["place"] = await plans.place_in_plan(session, view.task)
    return context


@pages.get("/tasks/new")
async def new_task_page(request: Request, session: DbSession, actor: CurrentActor):
    return render(request, "tasks/new.html", {"nodes": await tasks.units_to_assign(session, actor)})


@pages.post("/tasks/new")
async def create_task_page(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    if (earlier := await once.earlier_page(request, session, actor, form.get(once.FORM_FIELD))) is not None:
        return earlier  # the same form sent again (a double click, a retry): the task it already made
    values = {k: str(form.get(k, "")) for k in ("title", "description", "deadline", "lead_unit_id", "priority")}
    try:
        task = await tasks.create_adhoc_task(
            session, actor, title=values["title"], description=values["description"],
            deadline=_date(values["deadline"], "deadline"), lead_unit_id=_uuid(values["lead_unit_id"], "lead_unit_id"),
            co_unit_ids=[u for u in (_uuid(str(v), "co_unit_ids") for v in form.getlist("co_unit_ids")) if u],
            priority=values["priority"],
        )
    except DomainError as error:
        unless_correctable(error)
        return form_error(request, "tasks/new.html", error, values, {"nodes": await tenancy.list_units(session, actor)})
    await once.settle(session, actor, form.get(once.FORM_FIELD), location=f"/tasks/{task.id}")
    return done(request, f"/tasks/{task.id}", _("已创建任务 %(number)s。", number=task.number))


@pages.get("/tasks/rollover")
async def rollover_page(request: Request, session: DbSession, actor: CurrentActor, year: str = "", done: str = ""):
    """年度结转: the preview of what would be carried (GET), confirmed by the form below it (POST)."""
    from_year = _whole(year) or rollover.default_year(today_for(actor))
    context = {"preview": await rollover.preview(session, actor, from_year), "state_label": state_label,
               "done": _whole(done)}
    return render(request, "tasks/rollover.html", context)


@pages.post("/tasks/rollover")
async def rollover_run(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("year", "fingerprint", "deadline", "confirmed")}
    from_year = _whole(values["year"], 0)
    try:
        result = await rollover.roll_over_year(
            session, actor, from_year, fingerprint=values["fingerprint"], confirmed=values["confirmed"] == "1",
            deadline=_date(values["deadline"], "deadline"))
    except DomainError as error:
        unless_correctable(error)
        context = {"preview": await rollover.preview(session, actor, rollover.check_year(from_year)),
                   "state_label": state_label, "done": None}
        return form_error(request, "tasks/rollover.html", error, values, context)
    return see_other(request, f"/tasks/rollover?year={result.from_year}&done={result.created}")


@pages.get("/tasks/{task_id}")
async def task_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID):
    return render(request, "tasks/task.html", await _task_context(session, actor, task_id))


async def _act(request: Request, session, actor, task_id: uuid.UUID, action, values: dict[str, str], *, place: str,
               fields: tuple[str, ...] = (), renamed: dict[str, str] | None = None):
    """Runs one task action, which returns the sentence that says what it did; that sentence, or the refusal with
    what was typed, appears once beside the form the person used (`place`). A refusal about one of the form's
    `fields` stays beside that field (`renamed` when the page names it differently, e.g. two forms' "reason");
    any other refusal is said at the place, not at the top of the page as well. A form on another page (the
    home page's to-do list) sends `next` to come back there, where the sentence is said."""
    try:
        message = await action()
    except DomainError as error:
        unless_correctable(error)
        field = (renamed or {}).get(error.field or "", error.field)
        shown = copy.copy(error)
        shown.field = field if field in fields else None
        context = {**await _task_context(session, actor, task_id), "acted": place}
        return form_error(request, "tasks/task.html", shown, values, context)
    back = safe_next(str((await request.form()).get("next") or ""), f"/tasks/{task_id}")
    return done(request, back, message, place=place)


@pages.get("/tasks/{task_id}/ledger.xlsx")
async def ledger_xlsx(session: DbSession, actor: CurrentActor, task_id: uuid.UUID):
    data = await ledger.ledger(session, actor, task_id)
    return Response(ledger.workbook(data), media_type=XLSX, headers=_attachment(f"{data.view.task.number}_台账.xlsx"))


@pages.get("/tasks/{task_id}/evidence.zip")
async def evidence_zip(session: DbSession, actor: CurrentActor, task_id: uuid.UUID):
    data = await ledger.ledger(session, actor, task_id)
    held = await ledger.claim_evidence_zip(actor, data)  # 413 past the size limit, 429 while one is under way
    try:
        spool = await ledger.evidence_zip(actor.tenant_id, data)
    except BaseException:
        await held.release()
        raise

    async def chunks():
        try:
            with spool:
                while chunk := spool.read(256 * 1024):
                    yield chunk
        finally:
            await held.release()

    return StreamingResponse(chunks(), media_type="application/zip",
                             headers=_attachment(f"{data.view.task.number}_佐证材料.zip"))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename=\"ledger\"; filename*=UTF-8''{quote(filename)}"}


@pages.post("/tasks/{task_id}/acknowledge")
async def acknowledge_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                           version: Annotated[str, Form()] = ""):
    async def action():
        await lifecycle.acknowledge(session, actor, task_id, version=form_version(version))
        return _("已签收。请按时限办理，并在每个报送日前填报进展。")

    return await _act(request, session, actor, task_id, action, {}, place="mine")


@pages.post("/tasks/{task_id}/nudge")
async def nudge_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                     message: Annotated[str, Form()] = ""):
    async def action():
        await reminders.nudge(session, actor, task_id, message=message)
        return _("已催办%(units)s，对方会在通知中心和已开通的渠道收到提醒。",
                 units="、".join(await tasks.open_unit_names(session, task_id)))

    return await _act(request, session, actor, task_id, action, {"message": message}, place="nudge",
                      fields=("message",))


@pages.post("/tasks/{task_id}/send-back")
async def send_back_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                         reason: Annotated[str, Form()] = "", version: Annotated[str, Form()] = ""):
    async def action():
        await lifecycle.send_back(session, actor, task_id, reason=reason, version=form_version(version))
        return _("已退回这项任务，督查督办人员会重新交办。")

    return await _act(request, session, actor, task_id, action, {"reason": reason}, place="mine", fields=("reason",))


@pages.post("/tasks/{task_id}/cancel")
async def cancel_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                      reason: Annotated[str, Form()] = "", version: Annotated[str, Form()] = ""):
    async def action():
        await lifecycle.cancel(session, actor, task_id, reason=reason, version=form_version(version))
        return _("已取消这项任务，承办单位会收到通知。")

    return await _act(request, session, actor, task_id, action, {"cancel_reason": reason}, place="cancel")


@pages.post("/tasks/{task_id}/extension")
async def extension_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                         requested_deadline: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = ""):
    async def action():
        wanted = _date(requested_deadline, "requested_deadline")
        if wanted is None:
            raise InvalidInput(_("请填写申请延至的日期。"), field="requested_deadline")
        asked = await lifecycle.request_extension(session, actor, task_id, requested_deadline=wanted, reason=reason)
        return _("已提交延期申请（申请延至 %(d)s），等待督查督办人员或局领导审批；审批后会通知本单位。",
                 d=asked.requested_deadline)

    return await _act(request, session, actor, task_id, action,
                      {"requested_deadline": requested_deadline, "extension_reason": reason}, place="extension",
                      fields=("requested_deadline", "extension_reason"), renamed={"reason": "extension_reason"})


@pages.post("/tasks/{task_id}/extensions/{request_id}")
async def decide_extension_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                                request_id: uuid.UUID, decision: Annotated[str, Form()] = "",
                                comment: Annotated[str, Form()] = ""):
    async def action():
        decided = await lifecycle.decide_extension(session, actor, request_id, approve=decision == "approve",
                                                   comment=comment)
        if decided.state == "approved":
            return _("已批准延期，时限改为 %(d)s，已通知承办单位。", d=decided.requested_deadline)
        return _("已驳回延期申请，时限仍为 %(d)s，已通知承办单位。", d=decided.current_deadline)

    return await _act(request, session, actor, task_id, action, {"comment": comment}, place="extensions")


@pages.post("/tasks/{task_id}/evidence-rule")
async def evidence_rule_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                             evidence_rule: Annotated[str, Form()] = "", evidence_reason: Annotated[str, Form()] = "",
                             version: Annotated[str, Form()] = ""):
    async def action():
        task = await tasks.set_evidence_rule(session, actor, task_id, rule=evidence_rule, reason=evidence_reason,
                                             version=form_version(version))
        return _("已保存佐证材料要求：%(rule)s。承办单位在任务页和报送表上都能看到。",
                 rule=evidence_rule_label(task.evidence_rule))

    return await _act(request, session, actor, task_id, action,
                      {"evidence_rule": evidence_rule, "evidence_reason": evidence_reason}, place="evidence_rule",
                      fields=("evidence_rule", "evidence_reason"))


@pages.post("/tasks/{task_id}/measures/{item_id}")
async def tick_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID,
                    item_id: uuid.UUID, done: Annotated[str, Form()] = ""):
    async def action():
        await tasks.tick_measure(session, actor, task_id, item_id, done=done == "1")
        return _("已标为完成。") if done == "1" else _("已取消完成标记。")

    return await _act(request, session, actor, task_id, action, {}, place="measures")


@pages.post("/tasks/{task_id}/owners")
async def owners_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID):
    form = await request.form()
    chosen = [u for u in (_uuid(str(v), "owner_ids") for v in form.getlist("owner_ids")) if u]
    async def action():
        await tasks.set_owners(session, actor, task_id, chosen)
        return _("已保存责任人。") if chosen else _("已清除责任人。")

    return await _act(request, session, actor, task_id, action, {}, place="owners")


@pages.post("/tasks/{task_id}/assign")
async def assign_page(request: Request, session: DbSession, actor: CurrentActor, task_id: uuid.UUID):
    form = await request.form()
    values = {"lead_unit_id": str(form.get("lead_unit_id", "")), "deadline": str(form.get("deadline", ""))}

    async def action():
        task = await tasks.get_task(session, actor, task_id, for_update=True)
        tasks.check_version(task, form_version(form.get("version")))
        lead = _uuid(values["lead_unit_id"], "lead_unit_id")
        co = [u for u in (_uuid(str(v), "co_unit_ids") for v in form.getlist("co_unit_ids")) if u]
        task = await tasks.assign_units(session, actor, task, lead_unit_ids=[lead] if lead else [], co_unit_ids=co,
                                        deadline=_date(values["deadline"], "deadline"))
        return _("已交办给%(units)s，时限 %(d)s；各单位会收到通知。",
                 units="、".join(await tasks.open_unit_names(session, task_id)), d=task.deadline)

    return await _act(request, session, actor, task_id, action, values, place="assign",
                      fields=("lead_unit_id", "deadline"))


@pages.post("/plans/{plan_id}/assign")
async def bulk_assign_page(request: Request, session: DbSession, actor: CurrentActor, plan_id: uuid.UUID):
    """Bulk 交办 from the plan view: the chosen tasks all get the same lead, co-units and (optional) deadline."""
    form = await request.form()
    task_ids = [u for u in (_uuid(str(v), "task_ids") for v in form.getlist("task_ids")) if u]
    try:
        if not task_ids:
            raise InvalidInput(_("请先勾选要交办的任务。"), field="task_ids")
        lead = _uuid(str(form.get("lead_unit_id", "")), "lead_unit_id")
        co = [u for u in (_uuid(str(v), "co_unit_ids") for v in form.getlist("co_unit_ids")) if u]
        deadline = _date(str(form.get("deadline", "")), "deadline")
        await tasks.assign_many(session, actor, task_ids, lead_unit_ids=[lead] if lead else [], co_unit_ids=co,
                                deadline=deadline)
    except DomainError as error:
        unless_correctable(error)
        return form_error(request, "plans/plan.html", error, {}, await plan_page_context(session, actor, plan_id))
    return see_other(request, f"/plans/{plan_id}?bulk={len(task_ids)}")


# --- API -------------------------------------------------------------------------------------------------


async def _row(session, actor, task_id: uuid.UUID) -> TaskPublic:
    view = await tasks.task_view(session, actor, task_id)
    lead = [a.unit_name for a in view.assignments if a.assignment.kind != "cooperating"]
    co = [a.unit_name for a in view.assignments if a.assignment.kind == "cooperating"]
    return TaskPublic.model_validate(tasks.TaskRow(view.task, lead, co))


@api.get("/tasks", response_model=list[TaskPublic])
async def api_tasks(session: DbSession, actor: ApiActor, state: str = "", light: str = "", q: str = "",
                    page: int = 1):
    """One page of 100 tasks; ask for page=2 and on while a full page comes back."""
    result = await board.board(session, actor, board.BoardFilter(state=state, light=light, query=q[:100], page=page))
    return [TaskPublic.model_validate(r) for r in result.rows]


@api.get("/tasks/{task_id}", response_model=TaskPublic)
async def api_task(session: DbSession, actor: ApiActor, task_id: uuid.UUID):
    return await _row(session, actor, task_id)


@api.post("/tasks/{task_id}/acknowledge", response_model=TaskPublic)
async def api_acknowledge(session: DbSession, actor: ApiActor, task_id: uuid.UUID, body: VersionIn):
    await lifecycle.acknowledge(session, actor, task_id, version=form_version(body.version))
    return await _row(session, actor, task_id)


@api.post("/tasks/{task_id}/send-back", response_model=TaskPublic)
async def api_send_back(session: DbSession, actor: ApiActor, task_id: uuid.UUID, body: ReasonIn):
    await lifecycle.send_back(session, actor, task_id, reason=body.reason, version=form_version(body.version))
    return await _row(session, actor, task_id)


@api.post("/tasks/{task_id}/extension-requests", status_code=201)
async def api_extension(session: DbSession, actor: ApiActor, task_id: uuid.UUID, body: ExtensionIn) -> dict:
    request = await lifecycle.request_extension(session, actor, task_id, requested_deadline=body.requested_deadline,
                                                reason=body.reason)
    return {"id": str(request.id), "state": request.state}


@api.post("/tasks/{task_id}/evidence-rule", response_model=TaskPublic)
async def api_evidence_rule(session: DbSession, actor: ApiActor, task_id: uuid.UUID, body: EvidenceRuleIn):
    """佐证要求: none, optional or required (with the reason the units read)."""
    await tasks.set_evidence_rule(session, actor, task_id, rule=body.rule, reason=body.reason,
                                  version=form_version(body.version))
    return await _row(session, actor, task_id)


@api.post("/tasks/{task_id}/assign", response_model=TaskPublic)
async def api_assign(session: DbSession, actor: ApiActor, task_id: uuid.UUID, body: AssignIn):
    task = await tasks.get_task(session, actor, task_id, for_update=True)
    tasks.check_version(task, form_version(body.version))
    await tasks.assign_units(session, actor, task, lead_unit_ids=body.lead_unit_ids, co_unit_ids=body.co_unit_ids,
                             deadline=body.deadline)
    return await _row(session, actor, task_id)
