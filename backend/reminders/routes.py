"""The bureau's reminder rules (admin) and a 督办单's Word document. The nudge button lives on the task page."""

import uuid
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request

from backend.core.downloads import DOCX, attachment
from backend.core.forms import form_error, see_other
from backend.core.templating import render
from backend.deps import CurrentActor, DbSession
from backend.errors import InvalidInput
from backend.i18n import _
from backend.reminders import service as reminders
from backend.reminders.notice_doc import notice_number, render_notice

pages = APIRouter(tags=["reminders"], include_in_schema=False)

FIELDS = ("deadline_workdays", "report_day_workdays", "escalate_unit_head_after", "escalate_leaders_after",
          "quiet_start", "quiet_end", "nudge_interval_hours", "daily_digest_at", "weekly_digest_weekday")


def _context() -> dict:
    weekdays = [_("星期一"), _("星期二"), _("星期三"), _("星期四"), _("星期五"), _("星期六"), _("星期日")]
    return {"weekdays": list(enumerate(weekdays, start=1)), "notices": {"saved": _("提醒与督办规则已保存。")}}


@pages.get("/admin/reminders")
async def rules_page(request: Request, session: DbSession, actor: CurrentActor):
    actor.require("units.manage")
    policy = await reminders.get_policy(session, actor.tenant_id)
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
    issued = notice.issued_at.astimezone(ZoneInfo(actor.timezone))
    data = render_notice(notice, task, unit_name, actor.tenant_name, issued)
    filename = f"{notice_number(notice)}_{task.number}.docx"
    return attachment(data, DOCX, filename)
