"""Evidence uploaded on the report form belongs to the report and is frozen when the report is submitted."""

from sqlmodel import select

from backend.db import unit_of_work
from backend.evidence.models import Evidence
from backend.reports import service as reports
from backend.tasks import service as tasks
from backend.tasks.models import Task, TaskState
from backend.tenancy.models import Role
from tests.evidence.samples import jpeg
from tests.support.fixtures import csrf_of


async def test_upload_from_the_report_form(signed_in, bureau):
    async with unit_of_work(bureau.tenant.id) as session:
        task = (await session.exec(select(Task).where(Task.state == TaskState.unassigned))).first()
        await tasks.assign_units(session, bureau.actors[Role.supervisor], task,
                                 lead_unit_ids=[bureau.units["school"].id], co_unit_ids=[])
        report = await reports.save_report(session, bureau.actors[Role.unit_staff], task.id, progress="已选址。",
                                           percent=10, version=0)
    staff = await signed_in(bureau, Role.unit_staff)
    form = await staff.get(f"/tasks/{task.id}/report")
    assert "本期佐证材料" in form.text and f'name="report_id" value="{report.id}"' in form.text
    token = await csrf_of(staff, f"/tasks/{task.id}/report")
    uploaded = await staff.post(f"/tasks/{task.id}/evidence", data={"csrf_token": token, "report_id": str(report.id)},
                                files={"file": ("选址照片.jpg", jpeg(), "image/jpeg")})
    assert uploaded.status_code == 303 and uploaded.headers["location"] == f"/tasks/{task.id}/report"
    async with unit_of_work(bureau.tenant.id) as session:
        fresh = await session.get(type(report), report.id)
        await reports.submit_report(session, bureau.actors[Role.unit_staff], report.id, version=fresh.version)
        item = (await session.exec(select(Evidence).where(Evidence.task_id == task.id))).one()
    assert item.report_id == report.id and item.submitted
