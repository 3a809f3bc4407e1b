"""Keeping each process's copy of the holiday table current: the web process every few minutes, the worker at
start and at every sweep (the sweeps are where working days decide reminders and 督办单)."""

import asyncio
import logging

from backend.db import unit_of_work
from backend.holidays.service import load_calendar

log = logging.getLogger("luoshi.calendar")
REFRESH_SECONDS = 300


async def refresh_calendar() -> None:
    async with unit_of_work() as session:
        await load_calendar(session)


async def keep_calendar_fresh() -> None:
    """Runs for the life of the web process; a failed read keeps the copy it had and tries again later."""
    while True:
        try:
            await refresh_calendar()
        except Exception:  # noqa: BLE001 — the database away for a moment must not end the loop
            log.warning("holiday calendar not refreshed", exc_info=True)
        await asyncio.sleep(REFRESH_SECONDS)
