"""The 1st-of-the-month draft, run by a real arq worker as of a chosen moment, as the cron would."""

from arq import Worker
from sqlmodel import select

from backend.bulletins.models import Bulletin, BulletinState
from backend.core.jobs import enqueue, redis_settings
from backend.db import unit_of_work
from tests.bulletins.scenario import build
from tests.support.cron import active_bureau_ids, run_tick
from workers.settings import WorkerSettings


async def run_job_at(at: str, tenant_id) -> dict:
    await enqueue("draft_bulletins", at=at, tenant_id=str(tenant_id))
    worker = Worker(functions=WorkerSettings.functions, redis_settings=redis_settings(), burst=True,
                    handle_signals=False, poll_delay=0.05, max_jobs=1)
    await worker.main()
    await worker.close()
    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    return worker


async def bulletins_of(tenant_id) -> list[Bulletin]:
    async with unit_of_work(tenant_id) as session:
        return list((await session.exec(select(Bulletin).order_by(Bulletin.year, Bulletin.month))).all())


async def test_the_job_drafts_last_month_once_on_the_first(bureau, clock):
    s = await build(bureau, clock)
    y = s.year
    # 31 March, 23:00 UTC is already 1 April, 07:00 in Beijing: the bureau's date decides.
    await run_job_at(f"{y}-03-31T23:00:00+00:00", s.tenant_id)
    [bulletin] = await bulletins_of(s.tenant_id)
    assert (bulletin.year, bulletin.month, bulletin.state, bulletin.issue_no) == (y, 3, BulletinState.draft, None)
    # The same numbers as test_figures counts by hand: 4 due, 3 filed, 1 missing.
    assert (bulletin.figures["totals"]["due"], bulletin.figures["totals"]["filed"],
            bulletin.figures["totals"]["missing"]) == (4, 3, 1)
    # A supervisor writes a foreword; the job runs again the same day (second tick, restarted worker): nothing new,
    # nothing overwritten.
    async with unit_of_work(s.tenant_id) as session:
        row = await session.get(Bulletin, bulletin.id)
        row.foreword = "按语"
        session.add(row)
    await run_job_at(f"{y}-04-01T06:20:00+08:00", s.tenant_id)
    # On other days it drafts nothing new (2 April: March has its bulletin; 31 March in Beijing, although 1 April
    # is near: not the first week).
    await run_job_at(f"{y}-04-02T06:20:00+08:00", s.tenant_id)
    await run_job_at(f"{y}-03-31T06:20:00+08:00", s.tenant_id)
    [again] = await bulletins_of(s.tenant_id)
    assert (again.id, again.foreword, again.figures) == (bulletin.id, "按语", bulletin.figures)


async def test_a_worker_down_on_the_first_drafts_in_the_first_week(bureau, clock):
    s = await build(bureau, clock)
    y = s.year
    await run_job_at(f"{y}-05-08T06:20:00+08:00", s.tenant_id)  # the 8th: past the first week, April is left alone
    assert await bulletins_of(s.tenant_id) == []
    await run_job_at(f"{y}-04-03T06:20:00+08:00", s.tenant_id)  # down on 1 and 2 April: the 3rd drafts March
    assert [(b.year, b.month) for b in await bulletins_of(s.tenant_id)] == [(y, 3)]


async def test_the_tick_fans_out_per_bureau(bureau):
    """The cron's tick names no bureau: it queues one job per active bureau, each as of the tick's moment."""
    queued = await run_tick("draft_bulletins", "2026-06-12T06:20:00+08:00", [bureau])
    assert sorted(queued) == sorted(f"bulletin:{tenant_id}:2026-06-12T06:20:00+08:00"
                                    for tenant_id in await active_bureau_ids())
    assert await bulletins_of(bureau.tenant.id) == []  # 12 June is past the first week
