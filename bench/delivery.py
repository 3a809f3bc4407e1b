"""Benchmark of the outbox sender: e-mails per second that deliver_due hands to a local SMTP sink.

    .venv/bin/python bench/delivery.py                      # 3 rounds of 5,000 e-mails, about a minute
    .venv/bin/python bench/delivery.py --messages 1000 --rounds 1

The script builds its own database, luoshi_bench_delivery by default (dropped and rebuilt by `luoshi migrate`, as
seed_tasks.py does; only a database whose name starts with `luoshi_bench` is ever dropped). It makes one bureau with
tenancy.create_tenant and an administrator, who turns the bureau's quiet hours off (reminders.update_policy): the
sender holds every message during them, and the script should measure at any time of day.

Each round queues --messages e-mails through delivery.queue_message (--batch per transaction), then calls
deliver_due(bureau, --limit) until nothing is due: what the worker's deliver_outbox job does for one bureau (its
BATCH is 200). The sink is aiosmtpd in a child process, so that it has its own CPU and does not share this process's
GIL; it accepts every message at once and keeps its Message-ID. After each round the script checks that the sink
holds every queued Message-ID exactly once and that every row is recorded as sent.

Once, after the rounds, it also measures the hand-off alone: delivery.channels.send for --messages e-mails at
delivery.CONCURRENCY, without the database, to tell the SMTP cost from the outbox's bookkeeping.

Prints messages/s and CPU ms per message (this process, the sink, and how busy the whole machine was), and writes
bench/results/delivery.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS, ROOT  # noqa: E402
from bench.harness.database import bench_environment, recreate_database  # noqa: E402
from bench.harness.measure import machine  # noqa: E402
from bench.harness.servers import free_port  # noqa: E402
from bench.seed_tasks import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    PASSWORD,
)

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)


# --- the sink, in a child process ------------------------------------------------------------------------------


def run_sink(port: int, conn) -> None:
    """aiosmtpd on 127.0.0.1:port. Answers "take" with (Message-IDs received since the last take, CPU seconds)."""
    from aiosmtpd.controller import Controller

    received: list[str] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 — aiosmtpd's hook name
            found = MESSAGE_ID.search(envelope.content)
            received.append(found.group(1).decode() if found else "")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    conn.send("ready")
    while (command := conn.recv()) != "stop":
        if command == "take":
            taken = received[:]
            del received[:len(taken)]
            conn.send((taken, time.process_time()))
    controller.stop()


class Sink:
    def __init__(self, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=run_sink, args=(port, child), daemon=True)
        self.process.start()
        if not self.conn.poll(30) or self.conn.recv() != "ready":
            raise SystemExit("the SMTP sink did not start")

    def take(self) -> tuple[list[str], float]:
        self.conn.send("take")
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


# --- the measurements -------------------------------------------------------------------------------------------


class Clock:
    """Wall time, this process's CPU, the sink's CPU and the machine's busy share over one phase."""

    def __init__(self, sink: Sink) -> None:
        import psutil

        self.sink, self.psutil = sink, psutil
        self.received: list[str] = []

    def __enter__(self) -> Clock:
        self.psutil.cpu_percent(None)
        self.sink_cpu0 = self.sink.take()[1]
        self.cpu0, self.t0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.cpu0
        self.machine_busy_pct = self.psutil.cpu_percent(None)
        # The sink answers in order, so every message handed over before this point is in the answer.
        self.received, sink_cpu1 = self.sink.take()
        self.sink_cpu = sink_cpu1 - self.sink_cpu0

    def figures(self, messages: int) -> dict:
        return {"messages": messages, "seconds": round(self.seconds, 2),
                "messages_per_s": round(messages / self.seconds, 1),
                "cpu_ms_per_message": round(1000 * self.cpu / messages, 2),
                "sink_cpu_ms_per_message": round(1000 * self.sink_cpu / messages, 2),
                "machine_busy_pct": round(self.machine_busy_pct)}


async def queue(tenant_id, round_no: int, messages: int, batch: int) -> float:
    from backend.db import unit_of_work
    from backend.delivery import service as delivery

    t0 = time.perf_counter()
    for first in range(0, messages, batch):
        async with unit_of_work(tenant_id) as session:
            for n in range(first, min(first + batch, messages)):
                await delivery.queue_message(
                    session, tenant_id, dedupe_key=f"bench:{round_no}:{n}", channel="email",
                    recipient=f"head{n:05d}@school{n % 300:03d}.edu.test", subject=f"任务即将到期：督-2026-{n:05d}",
                    body_text=f"您单位承担的任务督-2026-{n:05d}将于3日内到期，请及时报送进展。\n\n"
                              "落实 — 教育督办平台（此邮件由系统自动发送）")
    return time.perf_counter() - t0


async def message_ids(tenant_id, round_no: int) -> dict[str, str]:
    from sqlmodel import col, select

    from backend.db import unit_of_work
    from backend.delivery.models import OutboxMessage

    async with unit_of_work(tenant_id) as session:
        rows = (await session.exec(select(OutboxMessage.message_id, OutboxMessage.state)
                                   .where(col(OutboxMessage.dedupe_key).startswith(f"bench:{round_no}:")))).all()
    return dict(rows)


async def run(args, sink: Sink) -> dict:
    from backend.accounts.service import create_user
    from backend.core.roles import Role
    from backend.db import dispose_engine, unit_of_work
    from backend.delivery import channels
    from backend.delivery import service as delivery
    from backend.reminders import service as reminders
    from backend.tenancy import service as tenancy
    from backend.tenancy.acting import actor_for

    async with unit_of_work() as session:
        tenant = await tenancy.create_tenant(session, None, name="投递基准教育局", code="benchmail")
        user = await create_user(session, username="benchmail-admin", display_name="投递基准管理员", password=PASSWORD)
        await tenancy.add_member(session, None, tenant_id=tenant.id, user=user, role=Role.admin)
        # No quiet hours (the sender holds every message during them), whatever the time of day the script runs at.
        await reminders.update_policy(session, await actor_for(session, user, tenant.id), reminders.PolicyForm(
            enabled=False, deadline_workdays="7,3,1", report_day_workdays="3,0", escalate_unit_head_after="1",
            escalate_leaders_after="5", quiet_start="00:00", quiet_end="00:00", nudge_interval_hours="24",
            daily_digest_at="07:30", weekly_digest_weekday="1"))
    tenant_id = tenant.id
    rounds = []
    print(f"deliver_due(limit={args.limit}), CONCURRENCY {delivery.CONCURRENCY}, {args.messages} e-mails a round",
          flush=True)
    for round_no in range(1, args.rounds + 1):
        queued_in = await queue(tenant_id, round_no, args.messages, args.batch)
        calls = sent = failed = 0
        with Clock(sink) as clock:
            while (result := await delivery.deliver_due(tenant_id, args.limit)).claimed:
                calls += 1
                sent += result.sent
                failed += result.failed + result.dead
        rows = await message_ids(tenant_id, round_no)
        received = [m for m in clock.received if m in rows]
        problems = []
        if failed:
            problems.append(f"{failed} failed")
        if sorted(received) != sorted(rows):
            problems.append(f"the sink holds {len(set(received))} of {len(rows)} Message-IDs, "
                            f"{len(received) - len(set(received))} more than once")
        if set(rows.values()) != {"sent"}:
            problems.append(f"states {sorted(set(rows.values()))}")
        figures = {"round": round_no, "queue_seconds": round(queued_in, 2),
                   "queued_per_s": round(args.messages / queued_in, 1), "deliver_due_calls": calls,
                   **clock.figures(sent), "problems": problems}
        rounds.append(figures)
        print(f"  round {round_no}: queued {args.messages} in {queued_in:.1f} s ({figures['queued_per_s']:.0f}/s); "
              f"delivered {sent} in {clock.seconds:.1f} s: {figures['messages_per_s']:.0f} messages/s, "
              f"CPU {figures['cpu_ms_per_message']:.2f} ms/message here + {figures['sink_cpu_ms_per_message']:.2f} "
              f"in the sink, machine {figures['machine_busy_pct']}% busy"
              + (f"; PROBLEMS: {', '.join(problems)}" if problems else "; every Message-ID once, all rows sent"),
              flush=True)

    gate = asyncio.Semaphore(delivery.CONCURRENCY)

    async def hand_off(n: int) -> None:
        outgoing = channels.Outgoing(
            id=str(n), channel="email", recipient=f"head{n:05d}@school.edu.test", subject=f"任务即将到期：{n}",
            body_text="您单位承担的任务将于3日内到期，请及时报送进展。", body_html="",
            message_id=f"<smtp-only-{n}@luoshi>")
        async with gate:
            await channels.send(outgoing)

    with Clock(sink) as clock:
        await asyncio.gather(*(hand_off(n) for n in range(args.messages)))
    smtp_only = clock.figures(args.messages)
    smtp_only["problems"] = [] if len(set(clock.received)) == args.messages else [
        f"the sink holds {len(set(clock.received))} of {args.messages}"]
    print(f"  SMTP only (channels.send at CONCURRENCY, no database): {smtp_only['messages_per_s']:.0f} messages/s, "
          f"CPU {smtp_only['cpu_ms_per_message']:.2f} ms/message here + {smtp_only['sink_cpu_ms_per_message']:.2f} "
          f"in the sink, machine {smtp_only['machine_busy_pct']}% busy", flush=True)
    await dispose_engine()
    return {"rounds": rounds, "smtp_only": smtp_only}


def main() -> int:
    base = os.environ.get("LUOSHI_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000, help="e-mails queued and delivered per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=200, help="deliver_due's batch (the job's BATCH is 200)")
    ap.add_argument("--batch", type=int, default=1000, help="messages queued per transaction")
    ap.add_argument("--database-url", default=os.environ.get("LUOSHI_BENCH_DELIVERY_DATABASE_URL",
                                                             base + "_delivery"))
    ap.add_argument("--redis-url", default=os.environ.get("LUOSHI_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = ap.parse_args()
    bench_environment(args.database_url, args.redis_url)


    port = free_port()
    os.environ.update({"LUOSHI_SMTP_HOST": "127.0.0.1", "LUOSHI_SMTP_PORT": str(port),
                       "LUOSHI_SMTP_FROM": "duban@bench.edu.test"})
    t0 = time.perf_counter()
    recreate_database(args.database_url)
    from backend.core.migrate import migrate

    migrate()
    print(f"{args.database_url.rpartition('/')[2]} rebuilt and migrated in {time.perf_counter() - t0:.1f} s; "
          f"SMTP sink (aiosmtpd, child process) on 127.0.0.1:{port}", flush=True)
    sink = Sink(port)
    try:
        figures = asyncio.run(run(args, sink))
    finally:
        sink.stop()

    rates = [r["messages_per_s"] for r in figures["rounds"]]
    print(f"\ndeliver_due: median {statistics.median(rates):.0f} messages/s over {len(rates)} rounds "
          f"(min {min(rates):.0f}, max {max(rates):.0f}); SMTP alone {figures['smtp_only']['messages_per_s']:.0f}/s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "parameters": {k: v for k, v in vars(args).items() if k not in ("database_url", "redis_url")},
        "database": args.database_url.rpartition("/")[2],
        "median_messages_per_s": statistics.median(rates),
        **figures,
    }
    (RESULTS / "delivery.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    print(f"written: {(RESULTS / 'delivery.json').relative_to(ROOT)}")
    problems = [p for r in figures["rounds"] for p in r["problems"]] + figures["smtp_only"]["problems"]
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
