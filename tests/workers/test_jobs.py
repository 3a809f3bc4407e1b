"""A real arq worker on real Redis runs the housekeeping job, with the request id carried into its logs."""

import logging
from datetime import timedelta

from arq import Worker
from sqlmodel import select

from backend.accounts.models import WebSession
from backend.accounts.service import start_session
from backend.core import clock
from backend.core.jobs import enqueue, redis_settings
from backend.core.observability import request_id_var
from backend.core.roles import Role
from backend.db import unit_of_work
from workers.settings import WorkerSettings


async def test_purge_job_runs_in_worker_with_request_id(bureau, caplog):
    async with unit_of_work() as session:
        _raw, stale = await start_session(session, bureau.users[Role.leader], tenant_id=bureau.tenant.id, ip="x",
                                          user_agent="test")
        stale.last_seen_at = clock.now() - timedelta(days=2)
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


async def test_form_keys_older_than_their_days_are_purged_in_every_bureau_by_the_worker(bureau, other_bureau):
    """`purge_form_keys` (daily cron) drops each bureau's keys older than LUOSHI_FORM_KEY_DAYS; a newer key still
    answers a repeated form with what it made, and an old key sent again is simply a new request."""
    import uuid

    from sqlalchemy import text

    from backend.core import once
    from backend.core.once import FormSubmission

    keys = {}
    for place in (bureau, other_bureau):
        admin = place.actors[Role.admin]
        async with unit_of_work(place.tenant.id) as session:
            for age in ("old", "new"):
                keys[place.tenant.id, age] = key = uuid.uuid4()
                assert await once.claim(session, admin, key, route="/tasks/new") is None
                await once.settle(session, admin, key, location="/tasks/1")
            await session.exec(text("UPDATE form_submissions SET created_at = now() - interval '3 days' "
                                    "WHERE key = :key").bindparams(key=keys[place.tenant.id, "old"]))
    await enqueue("purge_form_keys")
    worker = Worker(functions=WorkerSettings.functions, redis_settings=redis_settings(), burst=True,
                    handle_signals=False, poll_delay=0.05)
    await worker.main()
    await worker.close()
    assert worker.jobs_complete >= 1 and worker.jobs_failed == 0
    for place in (bureau, other_bureau):
        admin = place.actors[Role.admin]
        async with unit_of_work(place.tenant.id) as session:
            left = set((await session.exec(select(FormSubmission.key))).all())
            assert keys[place.tenant.id, "old"] not in left and keys[place.tenant.id, "new"] in left
            earlier = await once.claim(session, admin, keys[place.tenant.id, "new"], route="/tasks/new")
            assert earlier is not None and earlier.location == "/tasks/1"
            assert await once.claim(session, admin, keys[place.tenant.id, "old"], route="/tasks/new") is None
