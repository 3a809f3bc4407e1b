"""A cron tick (a job that names no bureau and fans out one job per active bureau) run on a real arq worker, with
only the test's own bureaus' jobs run after it: the test database also holds every bureau the test process made
before, and running theirs would make the test slower the later it runs and tie it to what else the run made."""

from arq import Worker
from arq.constants import default_queue_name
from sqlmodel import col, select

from backend.core.jobs import enqueue, redis_settings
from backend.core.redis import get_redis
from backend.db import unit_of_work
from backend.tenancy.models import Tenant
from tests.support.fixtures import Bureau
from workers.settings import WorkerSettings


async def run_worker(max_burst_jobs: int = -1) -> tuple[int, int]:
    """Runs what is queued (at most `max_burst_jobs` jobs, if given) and returns (jobs complete, jobs failed)."""
    worker = Worker(functions=WorkerSettings.functions, redis_settings=redis_settings(), burst=True,
                    handle_signals=False, poll_delay=0.05, max_burst_jobs=max_burst_jobs)
    await worker.main()
    await worker.close()
    return worker.jobs_complete, worker.jobs_failed


async def run_tick(name: str, at: str, bureaus: list[Bureau]) -> list[str]:
    """Sends job `name` as the cron does (no bureau, as of `at`), runs it alone, then runs the jobs it queued for
    `bureaus` and drops the others unrun. Returns the ids of every job the tick queued."""
    await enqueue(name, at=at)
    assert await run_worker(max_burst_jobs=1) == (1, 0)
    redis = get_redis()
    queued = [job_id.decode() for job_id in await redis.zrange(default_queue_name, 0, -1)]
    ours = [job_id for job_id in queued if any(str(bureau.tenant.id) in job_id for bureau in bureaus)]
    others = set(queued) - set(ours)
    if others:
        await redis.zrem(default_queue_name, *others)
    assert await run_worker() == (len(ours), 0)
    return queued


async def active_bureau_ids() -> list[str]:
    async with unit_of_work() as session:
        return [str(tenant_id) for tenant_id in (await session.exec(select(Tenant.id).where(col(Tenant.is_active))))]
