"""The bureau's reminder rules (admin), a 督办单's Word document, and 催所有未报单位 (linked from the task list and
the bulletin). The nudge button of one task lives on the task page."""

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from backend.core.clock import local_now, local_today
from backend.core.downloads import DOCX, attachment
from backend.core.forms import form_error, safe_next, see_other, unless_correctable
from backend.core.templating import render
from backend.deps import CurrentActor, DbSession
from backend.errors import DomainError, InvalidInput
from backend.i18n import _
from backend.reminders import service as reminders
from backend.reminders.notice_doc import notice_number, render_notice
from backend.tasks.periods import period_label

pages = APIRouter(tags=["reminders"], include_in_schema=False)

FIELDS = ("deadline_workdays", "report_day_workdays", "escalate_unit_head_after", "escalate_leaders_after",
          "quiet_start", "quiet_end", "nudge_interval_hours", "daily_digest_at", "weekly_digest_weekday")


def _context() -> dict:
    weekdays = [_("星期一"), _("星期二"), _("星期三"), _("星期四"), _("星期五"), _("星期六"), _("星期日")]
    return {"weekdays": list(enumerate(weekdays, start=1)), "notices": {"saved": _("提醒与督办规则已保存。")}}


@pages.get("/admin/reminders")
async def rules_page(request: Request, session: DbSession, actor: CurrentActor):
    policy = await reminders.rules_to_edit(session, actor)
    values = {name: getattr(policy, name) for name in FIELDS} | {"enabled": policy.enabled}
    values["deadline_workdays"] = ",".join(str(n) for n in policy.deadline_workdays)
    values["report_day_workdays"] = ",".join(str(n) for n in policy.report_day_workdays)
    for name in ("quiet_start", "quiet_end", "daily_digest_at"):
        values[name] = values[name].strftime("%H:%M")
    return render(request, "reminders/rules.html", {"values": values, **_context()})


@pages.post("/admin/reminders")
async def save_rules_page(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in FIELDS}
    enabled = form.get("enabled") in ("1", "on", "true")
    try:
        await reminders.update_policy(session, actor, reminders.PolicyForm(enabled=enabled, **values))
    except InvalidInput as error:
        return form_error(request, "reminders/rules.html", error, values | {"enabled": enabled}, _context())
    return see_other(request, "/admin/reminders?notice=saved")


@pages.get("/notices/{notice_id}.docx")
async def notice_docx(request: Request, session: DbSession, actor: CurrentActor, notice_id: uuid.UUID):
    notice, task, unit_name = await reminders.get_notice(session, actor, notice_id)
    issued = local_now(actor.timezone, notice.issued_at)
    data = render_notice(notice, task, unit_name, actor.tenant_name, issued)
    filename = f"{notice_number(notice)}_{task.number}.docx"
    return attachment(data, DOCX, filename)


async def _nudge_page(request: Request, session, actor, values: dict, *, done=None, error: DomainError | None = None):
    context = {"values": values, "done": done, "interval": await reminders.nudge_interval_hours(session, actor),
               "errors": {},
               "period_label": period_label}
    if error is not None:
        return form_error(request, "reminders/nudge_missing.html", error, values, context)
    return render(request, "reminders/nudge_missing.html", context)


@pages.get("/nudges/missing")
async def nudge_missing_page(request: Request, session: DbSession, actor: CurrentActor, period: str = "",
                             next: str = "", sent: str = "", recent: str = "", unstaffed: str = ""):
    """The form (a month, an optional note) and, after a batch, what it did."""
    if not period:
        today = local_today(actor.timezone)
        period = f"{today.year}-{today.month:02d}"
    done = None
    if sent.isdigit():
        done = reminders.BatchNudge(period, int(sent), int(recent) if recent.isdigit() else 0,
                                    int(unstaffed) if unstaffed.isdigit() else 0)
    return await _nudge_page(request, session, actor, {"period": period[:7], "next": safe_next(next, "")}, done=done)


@pages.post("/nudges/missing")
async def nudge_missing_post(request: Request, session: DbSession, actor: CurrentActor):
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in ("period", "message", "next")}
    values["next"] = safe_next(values["next"], "")
    try:
        done = await reminders.nudge_missing(session, actor, period=values["period"], message=values["message"])
    except DomainError as error:
        unless_correctable(error)
        return await _nudge_page(request, session, actor, values, error=error)
    query = urlencode({"period": done.period, "next": values["next"], "sent": done.sent,
                       "recent": done.skipped_recent, "unstaffed": done.skipped_unstaffed})
    return see_other(request, f"/nudges/missing?{query}")
