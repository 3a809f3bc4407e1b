"""A real arq worker on real Redis runs the housekeeping job, with the request id carried into its logs."""

import logging
from datetime import timedelta

from arq import Worker
from sqlmodel import select

from backend.accounts.models import WebSession
from backend.accounts.service import start_session
from backend.core.jobs import enqueue, redis_settings
from backend.core.models import utcnow
from backend.core.observability import request_id_var
from backend.core.roles import Role
from backend.db import unit_of_work
from workers.settings import WorkerSettings


async def test_purge_job_runs_in_worker_with_request_id(bureau, caplog):
    async with unit_of_work() as session:
        _raw, stale = await start_session(session, bureau.users[Role.leader], tenant_id=bureau.tenant.id, ip="x",
                                          user_agent="test")
        stale.last_seen_at = utcnow() - timedelta(days=2)
        _raw, fresh = await start_session(session, bureau.users[Role.leader], tenant_id=bureau.tenant.id, ip="x",
                                          user_agent="test")
    token = request_id_var.set("req-from-web-42")
    try:
        await enqueue("purge_expired_sessions")
    finally:
        request_id_var.reset(token)
    worker = Worker(functions=WorkerSettings.functions, redis_settings=redis_settings(), burst=True,
                    handle_signals=False, poll_delay=0.05)
    with caplog.at_level(logging.INFO, logger="luoshi.jobs"):
        await worker.main()
    await worker.close()
    assert worker.jobs_complete >= 1 and worker.jobs_failed == 0
    async with unit_of_work() as session:
        ids = set((await session.exec(select(WebSession.id))).all())
    assert stale.id not in ids and fresh.id in ids
    done = [r for r in caplog.records if r.name == "luoshi.jobs" and r.getMessage() == "job done"]
    assert [(r.job, r.request_id) for r in done] == [("purge_expired_sessions", "req-from-web-42")]
