"""A bureau's reporting rules (report day, unit head approval): tasks' lights, reports and reminders all read them,
so they live with the bureau."""

import unicodedata
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.service import record
from backend.core.actor import Actor
from backend.errors import InvalidInput
from backend.i18n import _
from backend.tenancy import policy
from backend.tenancy.models import BureauSettings


async def get_bureau_settings(session: AsyncSession, tenant_id: uuid.UUID) -> BureauSettings:
    """The bureau's rules; a bureau without a row has the defaults (report day 25, no unit head approval)."""
    found = await session.get(BureauSettings, tenant_id)
    return found if found is not None else BureauSettings(tenant_id=tenant_id)


async def update_bureau_settings(
    session: AsyncSession, actor: Actor, *, report_day: int | str, unit_head_approval: bool
) -> BureauSettings:
    """The admin sets the report day (1–31, the month's end when shorter) and whether unit heads approve first."""
    policy.require_manage_report_settings(actor)
    try:
        day = report_day if isinstance(report_day, int) else int(unicodedata.normalize("NFKC", report_day).strip())
    except ValueError:
        day = 0
    if not 1 <= day <= 31:
        raise InvalidInput(_("报送日请填写 1 到 31 之间的数字（超过当月天数时按月末计）。"), field="report_day")
    found = await session.get(BureauSettings, actor.tenant_id)
    before = {"report_day": found.report_day, "unit_head_approval": found.unit_head_approval} if found else None
    settings = found or BureauSettings(tenant_id=actor.tenant_id)
    settings.report_day, settings.unit_head_approval = day, bool(unit_head_approval)
    session.add(settings)
    await session.flush()
    after = {"report_day": day, "unit_head_approval": bool(unit_head_approval)}
    await record(session, actor, "bureau_settings.update", object_type="bureau_settings", object_id=actor.tenant_id,
                 summary=_("报送规则：每月 %(day)s 日报送，%(approval)s", day=day,
                           approval=_("需单位负责人审核") if unit_head_approval else _("无需单位负责人审核")),
                 details={"before": before, "after": after})
    return settings
