"""Kill -9 the real worker while it delivers 5,000 e-mails, restart it: every one arrives, and the only repeats are
messages that were in flight at the kill (at most the sender's concurrency), each with its first copy's Message-ID.

The worker is a subprocess running what `luoshi worker` runs (`workers.settings.build_worker().run()`: the same jobs
and cron schedule), with this run's database and Redis. Two things differ, both for the test's sake:
- its arq queue is a private one, because other test runs on this machine share Redis database 9: a worker on the
  default queue would take their jobs (and run them against this run's database), and theirs would take ours. The
  restarted worker gets a fresh one, as the killed worker's unfinished job stays in its queue marked in progress;
- LUOSHI_DELIVERY_LEASE_SECONDS is shortened, so that the restarted worker takes back the killed one's claims after
  seconds instead of five minutes.
The SMTP sink runs in this process, in aiosmtpd's own thread.
"""

import asyncio
import email
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from arq.connections import ArqRedis, create_pool
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix
from sqlmodel import col, func, select

from backend.core.jobs import redis_settings
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.delivery import service as delivery
from backend.delivery.models import OutboxMessage, OutboxState
from backend.reminders import service as reminders
from tests.delivery.conftest import free_port
from tests.support.fixtures import create_bureau, policy_form

pytestmark = pytest.mark.slow(88)  # seconds alone on a quiet machine: starts first (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 5_000
PER_TRANSACTION = 1_000
KILL_AT = 1_500  # messages in the sink when the worker is killed
# Longer than a claimed batch can take to go out (on a busy two-CPU machine too), so that a live sender never loses
# its claim. The killed worker's claims come due this long after they were made, so the restart phase lasts as long.
LEASE_SECONDS = 60
SINK_DELAY = 0.002  # per message, so that sends overlap and the kill lands mid-batch
# On a quiet machine the whole test takes 1¼ minutes. A busy one may be much slower, so the test gives up only when
# delivery stops moving for this long (or, to be sure it never hangs, after ten minutes in all).
STALL_SECONDS = 90.0
GIVE_UP_AFTER = 600.0
IDLE_NUDGE = 5.0
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass
class Copy:
    message_id: str
    content: bytes = field(repr=False)
    at: float  # time.monotonic() when the sink had read it

    @property
    def subject(self) -> str:
        return str(email.message_from_bytes(self.content, policy=policy.default)["Subject"])


@dataclass
class RecordingSink:
    """aiosmtpd handler: keeps each message with its Message-ID (the rest is parsed after the run)."""

    delay: float
    copies: list[Copy] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 — aiosmtpd's hook name
        at = time.monotonic()
        await asyncio.sleep(self.delay)
        found = MESSAGE_ID.search(envelope.content)
        self.copies.append(Copy(found.group(1).decode() if found else "", envelope.content, at))
        return "250 OK"


def start_worker(env: dict[str, str], queue: str, log_path: Path) -> subprocess.Popen:
    code = f"from workers.settings import build_worker; build_worker(queue_name={queue!r}).run()"
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(worker: subprocess.Popen | None, sig: int = signal.SIGKILL) -> None:
    if worker is None or worker.poll() is not None:
        return
    worker.send_signal(sig)
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


class Nudger:
    """Enqueues deliver_outbox on a worker's queue when nothing is queued or running there (a job stays in the queue
    until it ends), so that no more claims pile up than the worker's own runs make."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool
        self.ids: list[str] = []

    async def __call__(self, queue: str) -> None:
        if await self.pool.zcard(queue):
            return
        self.ids.append(f"kill9-nudge-{uuid.uuid4().hex}")
        await self.pool.enqueue_job("deliver_outbox", _job_id=self.ids[-1], _queue_name=queue)


class Watch:
    """Fails when a count has not moved for `stall` seconds, or when the test has run too long in all."""

    def __init__(self, what: str, stall: float, started: float, log_tail) -> None:
        self.what, self.stall, self.started, self.log_tail = what, stall, started, log_tail
        self.value, self.moved_at = -1, time.monotonic()

    def check(self, value: int, worker: subprocess.Popen) -> None:
        now = time.monotonic()
        if value != self.value:
            self.value, self.moved_at = value, now
        assert worker.poll() is None, f"the worker exited with {worker.returncode}:\n{self.log_tail()}"
        assert now - self.moved_at < self.stall, \
            f"{self.what}: stuck at {value} for {self.stall:.0f} s:\n{self.log_tail()}"
        assert now - self.started < GIVE_UP_AFTER, f"{self.what}: {value} after {GIVE_UP_AFTER:.0f} s in all"

    @property
    def idle(self) -> float:
        return time.monotonic() - self.moved_at


def ours_in(tenant_id: uuid.UUID):
    """This test's rows (building the bureau may queue messages of its own)."""
    return (OutboxMessage.tenant_id == tenant_id, col(OutboxMessage.dedupe_key).startswith(f"kill9:{tenant_id}:"))


async def count_sent(tenant_id: uuid.UUID) -> int:
    async with unit_of_work(tenant_id) as session:
        return (await session.exec(select(func.count()).select_from(OutboxMessage).where(
            *ours_in(tenant_id), OutboxMessage.state == OutboxState.sent))).one()


async def test_kill_9_mid_delivery_loses_nothing_and_repeats_only_what_was_in_flight(tmp_path):
    bureau = await create_bureau("断电测试教育局")
    tenant = bureau.tenant.id
    started = time.monotonic()
    async with unit_of_work(tenant) as session:
        # No quiet hours, so that the sender sends whatever the time of day; no rules, so that the worker's reminder
        # sweep queues nothing of its own for this bureau.
        await reminders.update_policy(session, bureau.actors[Role.admin], policy_form(
            enabled=False, quiet_start="00:00", quiet_end="00:00"))
    for first in range(0, TOTAL, PER_TRANSACTION):
        async with unit_of_work(tenant) as session:
            for n in range(first, first + PER_TRANSACTION):
                assert await delivery.queue_message(
                    session, tenant, dedupe_key=f"kill9:{tenant}:{n}", channel="email",
                    recipient=f"head{n}@school.test", subject=f"任务即将到期（第{n}号）",
                    body_text=f"请于3日内报送。（{n}）")
    async with unit_of_work(tenant) as session:
        rows = (await session.exec(select(OutboxMessage.message_id, OutboxMessage.subject)
                                   .where(*ours_in(tenant)))).all()
    subjects = dict(rows)
    assert len(subjects) == TOTAL
    print(f"\nqueued {TOTAL} messages in {time.monotonic() - started:.1f} s")

    sink = RecordingSink(delay=SINK_DELAY)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "LUOSHI_SMTP_HOST": "127.0.0.1", "LUOSHI_SMTP_PORT": str(port),
           "LUOSHI_SMTP_FROM": "luoshi@bureau.test", "LUOSHI_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS)}
    # A queue of its own for each worker: the killed one's unfinished job stays in its queue (marked in progress).
    queues = [f"luoshi-test-kill9:{uuid.uuid4().hex}" for _ in range(2)]
    log_path = tmp_path / "worker.log"
    pool = await create_pool(redis_settings())
    nudge = Nudger(pool)
    worker: subprocess.Popen | None = None

    def ours() -> list[Copy]:
        """Only this bureau's messages: other tests' leftovers may reach this sink too."""
        return [c for c in list(sink.copies) if c.message_id in subjects]

    def log_tail() -> str:
        return log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""

    try:
        # 1. The worker starts and delivers (its start-up run of deliver_outbox); kill -9 it mid-way.
        worker = start_worker(env, queues[0], log_path)
        watch = Watch("messages in the sink", STALL_SECONDS, started, log_tail)
        while (received := len(ours())) < KILL_AT:
            watch.check(received, worker)
            if watch.idle > IDLE_NUDGE:  # the start-up run went missing
                await nudge(queues[0])
            await asyncio.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        await asyncio.sleep(0.2)  # the sink finishes what it was handed before the kill
        before = ours()
        sent_before = await count_sent(tenant)
        rate = len(before) / (max(c.at for c in before) - min(c.at for c in before))
        print(f"killed the worker (pid {worker.pid}) at {len(before)} messages in the sink, "
              f"{sent_before} recorded as sent; {rate:.0f} messages/s before the kill")
        assert KILL_AT <= len(before) < TOTAL, "the kill did not land mid-delivery"

        # 2. Restart it. Its start-up run sends what nobody claimed; the killed worker's claims come due once their
        # lease ends, so when delivery pauses, nudge deliver_outbox rather than wait for the next minute's run.
        restarted_at = time.monotonic()
        worker = start_worker(env, queues[1], log_path)
        watch = Watch("rows recorded as sent", LEASE_SECONDS + STALL_SECONDS, started, log_tail)
        while (sent := await count_sent(tenant)) < TOTAL:
            watch.check(sent, worker)
            if watch.idle > IDLE_NUDGE:
                await nudge(queues[1])
            await asyncio.sleep(0.5)
        finished_at = time.monotonic()
        stop(worker, signal.SIGTERM)
        await asyncio.sleep(0.2)
    finally:
        stop(worker)
        controller.stop()
        # Leave nothing of this test in Redis (other runs' keys are theirs; each test clears arq:* before it starts).
        job_ids = list(nudge.ids)
        left = []
        for queue in queues:
            job_ids += [job_id.decode() for job_id in await pool.zrange(queue, 0, -1)]
            left += [key async for key in pool.scan_iter(f"{queue}*")]
        left += [prefix + job_id for job_id in job_ids
                 for prefix in (job_key_prefix, in_progress_key_prefix, result_key_prefix, retry_key_prefix)]
        if left:
            await pool.delete(*left)
        await pool.aclose()

    copies = ours()
    first: dict[str, Copy] = {}
    repeats: list[Copy] = []
    for copy in copies:
        if copy.message_id in first:
            repeats.append(copy)
        else:
            first[copy.message_id] = copy
    print(f"restarted: all {TOTAL} sent {finished_at - restarted_at:.1f} s after the restart; "
          f"{len(copies)} copies in the sink, {len(repeats)} repeats (concurrency {delivery.CONCURRENCY}); "
          f"{finished_at - started:.1f} s in all")

    # None lost: the sink holds every one of the 5,000, and nothing else of ours.
    assert set(first) == set(subjects)
    # The only repeats are of messages in flight at the kill: the first copy from the killed worker, the repeat from
    # the restarted one (not a live sender's claim taken over once its lease ran out), at most the sender's
    # concurrency of them, each with the same Message-ID and Subject as its first copy.
    assert len(repeats) == len(copies) - TOTAL
    assert len({r.message_id for r in repeats}) == len(repeats), "a message arrived three times"
    in_flight = [r for r in repeats if first[r.message_id].at < restarted_at <= r.at]
    assert len(in_flight) <= delivery.CONCURRENCY, (
        f"{len(in_flight)} messages sent before the kill were sent again after the restart: more than the sender's "
        f"concurrency ({delivery.CONCURRENCY}); {sent_before} of the {len(before)} in the sink were recorded as sent")
    assert len(in_flight) == len(repeats), (
        f"{len(repeats) - len(in_flight)} messages sent twice by a live worker (lease {LEASE_SECONDS} s)")
    for repeat in repeats:
        assert repeat.subject == first[repeat.message_id].subject == subjects[repeat.message_id]
    # Every row is recorded as sent.
    async with unit_of_work(tenant) as session:
        states = dict((await session.exec(select(OutboxMessage.state, func.count()).where(*ours_in(tenant))
                                          .group_by(col(OutboxMessage.state)))).all())
    assert states == {OutboxState.sent.value: TOTAL}
