"""The reports' clock: every report decision is dated by `now()`, which `clock_at` can hold at another moment."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from backend.core.actor import Actor
from backend.core.models import utcnow

_held_clock: ContextVar[datetime | None] = ContextVar("report_clock", default=None)


def now() -> datetime:
    """The clock of every report decision: the real time, unless `clock_at` holds another moment."""
    return _held_clock.get() or utcnow()


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Runs the report services as of `moment` (UTC if naive) inside the block, in this task only: how the demo
    files a year of reports on their own dates, and how tests move the clock. Requests never set it."""
    token = _held_clock.set(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    try:
        yield
    finally:
        _held_clock.reset(token)


def local_today(actor: Actor) -> date:
    """Today in the bureau's time zone: report days and deadlines are dates people mean there."""
    return now().astimezone(ZoneInfo(actor.timezone or "Asia/Shanghai")).date()


