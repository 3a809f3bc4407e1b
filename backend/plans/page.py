"""What the plan's page (plans/plan.html) shows, for every route that renders it: the plan and, for those who
assign, the units and a suggested lead unit for each unassigned task."""

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.plans import document as drafts
from backend.plans.service import get_plan
from backend.plans.suggestions import suggest_lead_units
from backend.tasks.models import state_label
from backend.tenancy.service import list_units


async def plan_page_context(
    session: AsyncSession, actor: Actor, plan_id: uuid.UUID, *, query: str = ""
) -> dict[str, Any]:
    view = await get_plan(session, actor, plan_id, query=query)
    context: dict[str, Any] = {"view": view, "state_label": state_label, "highlight": drafts.highlight,
                               "group_heading": drafts.group_heading}
    if view.may_assign:
        open_tasks = [row.task for _s, items in view.sections for _i, row in items
                      if row is not None and row.task.state == "unassigned"]
        context["nodes"] = await list_units(session, actor)
        context["suggestions"] = await suggest_lead_units(session, actor, open_tasks)
    return context
