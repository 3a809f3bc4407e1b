"""The home page's counters: the counted states and whether any plan exists, so it reads tasks and plans."""

from dataclasses import asdict, dataclass
from datetime import date

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor
from backend.plans.models import Plan
from backend.tasks import policy
from backend.tasks.states import StateCounts, count_states


@dataclass(frozen=True)
class TaskSummary(StateCounts):
    """The home page's counters: the counted states (backend/tasks/states.py) and whether any plan exists."""

    plans: int = 0


async def summary(session: AsyncSession, actor: Actor, *, today: date, year: int | None = None) -> TaskSummary:
    """Counts for the home page: the whole bureau, or the tasks the member's own unit leads or is responsible for;
    of one year's tasks when given (the plans counted are then that year's too). Two statements."""
    own_unit = actor.unit_id if actor.unit_id is not None and not policy.may_assign(actor) else None
    counts = await count_states(session, today=today, year=year, unit_id=own_unit)
    plans = select(func.count()).select_from(Plan)
    if year is not None:
        plans = plans.where(Plan.year == year)
    return TaskSummary(**asdict(counts), plans=(await session.exec(plans)).one())
