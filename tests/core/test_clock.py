"""One clock: each bureau's "today" is its own zone's, at the same moment, in the services, pages and jobs that
turn on a date (backend/core/clock.py; the `clock` fixture moves it everywhere at once)."""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from backend.bulletins.jobs import draft_due
from backend.bulletins.models import Bulletin
from backend.core import clock as luoshi_clock
from backend.core.roles import Role
from backend.db import unit_of_work
from tests.support.fixtures import create_bureau, login, make_client

# 17:30 UTC on 30 November: 1 December 01:30 in Beijing (UTC+8), still 30 November 23:30 in Urumqi (UTC+6).
EVENING = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)


def test_today_is_the_bureaus_own_and_the_fixture_moves_it(clock):
    clock(EVENING)
    assert EVENING <= luoshi_clock.now() < EVENING + timedelta(minutes=1)  # moved, and running on from there
    assert luoshi_clock.local_today("Asia/Shanghai") == date(2026, 12, 1)
    assert luoshi_clock.local_today("Asia/Urumqi") == date(2026, 11, 30)
    assert luoshi_clock.local_today(None) == date(2026, 12, 1)  # the platform's default zone
    with luoshi_clock.clock_at(datetime(2027, 1, 5, 1, 0)):  # a naive moment is UTC; a held block wins
        assert luoshi_clock.local_today("Asia/Shanghai") == date(2027, 1, 5)
    assert luoshi_clock.localtime(EVENING, timezone="Asia/Urumqi") == "2026-11-30 23:30"


async def test_the_monthly_bulletin_is_drafted_on_each_bureaus_own_first_of_the_month(clock):
    beijing = await create_bureau("北京时间局")
    urumqi = await create_bureau("乌鲁木齐局", timezone="Asia/Urumqi")
    clock(EVENING)
    for bureau in (beijing, urumqi):
        await draft_due(luoshi_clock.now(), str(bureau.tenant.id))
    assert await _bulletin_months(beijing) == [(2026, 11)]  # its 1 December: November's bulletin is due
    assert await _bulletin_months(urumqi) == []  # still 30 November there


async def test_a_page_shows_times_on_the_bureaus_clock_and_filters_its_days(app, clock):
    """The audit log of a bureau in Urumqi: an event at 23:30 its time on 30 November is on the 30th there."""
    urumqi = await create_bureau("乌鲁木齐审计局", timezone="Asia/Urumqi")
    clock(EVENING)
    async with unit_of_work(urumqi.tenant.id) as session:
        from backend.audit.service import record

        await record(session, urumqi.actors[Role.admin], "clock.probe", summary="时钟探针")
    async with make_client(app) as browser:
        assert (await login(browser, urumqi.username(Role.admin))).status_code == 303
        on_the_30th = (await browser.get("/audit?since=2026-11-30&until=2026-11-30&action=clock.")).text
        on_the_1st = (await browser.get("/audit?since=2026-12-01&until=2026-12-01&action=clock.")).text
    assert "时钟探针" in on_the_30th and "2026-11-30 23:30" in on_the_30th
    assert "时钟探针" not in on_the_1st


async def _bulletin_months(bureau) -> list[tuple[int, int]]:
    async with unit_of_work(bureau.tenant.id) as session:
        return [(b.year, b.month) for b in (await session.exec(select(Bulletin))).all()]
