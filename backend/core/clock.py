"""The one clock of Luoshi: the moment now, "today" in a bureau's time zone, and how a time is written.

Everything that asks the time goes through `now()`, looked up on this module at the call (`clock.now()`, or a
function here that calls it), so that one switch moves it everywhere:
- `clock_at(moment)` holds another moment for a block, in this task and the tasks it starts: how `demo-year` files
  a year of work on its own dates and how an operator runs the reminder rules as of another time. Requests never
  set it.
- `move_to(moment)` sets the whole process's clock to `moment`, from where it runs on (so that what happens later
  in a test still happens later): how tests move it for the app, the jobs and the services alike (the `clock`
  fixture of tests/support/fixtures.py). Nothing else calls it.
Times are stored in UTC; dates people mean (deadlines, report days, the bulletin's month) are in the bureau's zone.
"""

import time as monotonic
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.config import get_settings

MINUTE = "%Y-%m-%d %H:%M"  # how a moment is shown to people: in pages, documents, messages
_held: ContextVar[datetime | None] = ContextVar("luoshi_clock", default=None)
_moved: tuple[datetime, float] | None = None  # (moment, monotonic time of the move)


def now() -> datetime:
    """The current moment (aware, UTC): the real time unless `clock_at` holds another or `move_to` moved it."""
    held = _held.get()
    if held is not None:
        return held
    if _moved is not None:
        return _moved[0] + timedelta(seconds=monotonic.monotonic() - _moved[1])
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A naive moment is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Runs the block as of `moment` (UTC if naive), in this task and the tasks it starts."""
    token = _held.set(aware(moment))
    try:
        yield
    finally:
        _held.reset(token)


def move_to(moment: datetime | None) -> None:
    """Sets the process's clock to `moment` (UTC if naive), running on from there; None goes back to real time."""
    global _moved
    _moved = None if moment is None else (aware(moment), monotonic.monotonic())


def zone(timezone: str | None = None) -> ZoneInfo:
    """A bureau's zone; the platform's default (settings) for a bureau without one."""
    return ZoneInfo(timezone or get_settings().default_timezone)


def local_now(timezone: str | None = None, at: datetime | None = None) -> datetime:
    """`at` (default: now) on the bureau's wall clock."""
    return (at or now()).astimezone(zone(timezone))


def local_today(timezone: str | None = None) -> date:
    """Today in the bureau's zone: report days and deadlines are dates people mean there."""
    return local_now(timezone).date()


def local_midnight(day: date, timezone: str | None = None) -> datetime:
    """The moment a bureau-local day begins."""
    return datetime.combine(day, time.min, zone(timezone))


def parse_moment(at: str | None) -> datetime:
    """An ISO time given by an operator or a job (a naive one is UTC), or now."""
    return aware(datetime.fromisoformat(at)) if at else now()


def localtime(value: datetime | None, fmt: str = MINUTE, timezone: str | None = None) -> str:
    """A stored (UTC) moment written on the bureau's wall clock; "" for none."""
    return "" if value is None else value.astimezone(zone(timezone)).strftime(fmt)
