"""Faults: PostgreSQL restarted under load, and Redis down and back.

Luoshi runs as it does in production — `luoshi serve` and `luoshi worker` as subprocesses — against a PostgreSQL
(pgserver) and a Redis (redis-server) of this module's own, so that stopping them disturbs nobody else's test run.
The database is built by `luoshi migrate` and its bureau by the services (`python -m tests.faults.seed`).

1. PostgreSQL is stopped and started again while clients write and read: every request in the outage is a 503 with
   a Chinese message (no 500, no hang), every request after it succeeds without restarting Luoshi, and every write
   that was acknowledged is in the database.
2. Redis is stopped: pages and writes still work; the notifications they make wait in the outbox (PostgreSQL) and
   the thumbnail job that could not be queued is made up; once Redis is back a worker delivers and makes them all.
(A worker killed mid-batch: tests/delivery/test_kill9.py.)
"""

import asyncio
import email
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from PIL import Image
from redis.asyncio import Redis as AsyncRedis

from tests.delivery.conftest import SmtpSink
from tests.support.fixtures import login

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CJK = re.compile(r"[\u4e00-\u9fff]")
DB_DOWN = "数据库暂时不可用"
CLIENTS = 8  # API clients writing and reading, besides one signed-in browser
REQUEST_TIMEOUT = 10.0  # longer than this is a hang
OUTAGE_SECONDS = 3.0
RECOVERED_REQUESTS = 3  # each client's requests that must succeed after the restart


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


def stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Postgres:
    """A pgserver PostgreSQL that can be stopped and started again on the same data and socket."""

    def __init__(self, directory: Path) -> None:
        import pgserver

        self.server = pgserver.get_server(directory, cleanup_mode="delete")
        self.socket_dir = str(self.server.get_postmaster_info().socket_dir)
        self.server.psql("CREATE DATABASE luoshi;")
        self.url = self.server.get_uri("luoshi")

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def running(self) -> bool:
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.server.pgdata)
        return info is not None and info.is_running()

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.server.log), "start")

    def close(self) -> None:
        if self.running():
            self._pg_ctl("-w", "-m", "fast", "stop")
        # Stopped here (pgserver would look for the postmaster it started, which a restart replaced); pgserver
        # then only deletes the data directory.
        self.server._postmaster_info = None
        self.server.cleanup()

    def query(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()


class Redis:
    """A redis-server that keeps nothing on disk, so that a restart is also the loss of whatever it held."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


@dataclass
class Stack:
    postgres: Postgres
    redis: Redis
    env: dict[str, str]
    base_url: str
    server: subprocess.Popen
    seed: dict
    logs: Path
    smtp: SmtpSink = field(default_factory=SmtpSink)

    def token(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seed['tokens'][role]}"}

    def client(self, **kwargs) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=REQUEST_TIMEOUT, follow_redirects=False, **kwargs)

    def log_tail(self, name: str = "server.log", chars: int = 4000) -> str:
        path = self.logs / name
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def stack():
    # Not under pytest's temporary folder: another run's pytest may make its parent private again, and
    # PostgreSQL runs as another user (pgserver's) that must reach its data directory throughout.
    base = Path(tempfile.mkdtemp(prefix="luoshi-faults-"))
    logs = base / "logs"
    logs.mkdir()
    postgres: Postgres | None = None
    redis = Redis(base / "redis")
    server: subprocess.Popen | None = None
    smtp = SmtpSink()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        started = time.monotonic()
        postgres = Postgres(base / "pg")
        redis.start()
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url, "REDIS_URL": redis.url, "LUOSHI_DATA_DIR": str(base / "data"),
            "LUOSHI_ENVIRONMENT": "test", "LUOSHI_SECRET_KEY": "faults-" + uuid.uuid4().hex,
            "LUOSHI_ARGON2_TIME_COST": "1", "LUOSHI_ARGON2_MEMORY_KIB": "8192",
            "LUOSHI_SMTP_HOST": "127.0.0.1", "LUOSHI_SMTP_PORT": str(controller.port),
            "LUOSHI_SMTP_FROM": "luoshi@bureau.test", "LUOSHI_LOG_LEVEL": "INFO",
        }
        env.pop("LUOSHI_APP_DATABASE_URL", None)
        phases = {"servers": time.monotonic() - started}
        _run([str(BIN / "luoshi"), "migrate"], env)
        phases["migrate"] = time.monotonic() - started - sum(phases.values())
        # The server needs only the schema: it starts while the seed builds the bureau.
        port = free_port()
        with (logs / "server.log").open("ab") as log:
            server = subprocess.Popen([str(BIN / "luoshi"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        seed = json.loads(_run([sys.executable, "-m", "tests.faults.seed"], env).strip().splitlines()[-1])
        phases["seed"] = time.monotonic() - started - sum(phases.values())
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (logs / "server.log").read_text(errors="replace")[-4000:]
            try:
                if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "luoshi serve did not become healthy"
            time.sleep(0.1)
        phases["serve"] = time.monotonic() - started - sum(phases.values())
        print(f"\nstack up in {time.monotonic() - started:.1f} s: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
        yield Stack(postgres, redis, env, base_url, server, seed, logs, smtp)
    finally:
        stop_process(server)
        redis.stop()
        controller.stop()
        if postgres is not None:
            postgres.close()
        shutil.rmtree(base, ignore_errors=True)


async def wait_healthy(stack: Stack, *, within: float = 20) -> None:
    deadline = time.monotonic() + within
    async with stack.client() as client:
        while (response := await client.get("/healthz")).status_code != 200:
            assert time.monotonic() < deadline, response.text
            await asyncio.sleep(0.1)


# --- 1. PostgreSQL restarted under load -----------------------------------------------------------------------------


@dataclass
class Outcome:
    client: str
    what: str  # write / read / page
    started: float
    ended: float
    status: int | None  # None: no response (timeout, connection error)
    text: str
    name: str | None = None  # the unit a write created

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Load:
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    outcomes: list[Outcome] = field(default_factory=list)

    async def call(self, client: httpx.AsyncClient, who: str, what: str, method: str, path: str,
                   name: str | None = None, **kwargs) -> Outcome:
        started = time.monotonic()
        try:
            response = await client.request(method, path, **kwargs)
            status, text = response.status_code, response.text
        except httpx.HTTPError as error:
            status, text = None, f"{type(error).__name__}: {error}"
        outcome = Outcome(who, what, started, time.monotonic(), status, text, name)
        self.outcomes.append(outcome)
        return outcome

    async def api_client(self, stack: Stack, n: int) -> None:
        """Creates units (a 201 means committed: the request commits before it answers) and lists them."""
        who = f"api{n}"
        async with stack.client(headers=stack.token("admin")) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                name = f"故障单位-{n}-{i}"
                await self.call(client, who, "write", "POST", "/api/v1/units", name=name,
                                json={"name": name, "kind": "school"})
                await self.call(client, who, "read", "GET", "/api/v1/me" if i % 2 else "/api/v1/tasks")
                await asyncio.sleep(0.05)

    async def browser(self, client: httpx.AsyncClient) -> None:
        """A signed-in supervisor reading the task list and the home page."""
        while not self.stop.is_set():
            await self.call(client, "browser", "page", "GET", "/tasks")
            await self.call(client, "browser", "page", "GET", "/")
            await asyncio.sleep(0.05)


async def test_postgres_restart_under_load_fails_cleanly_recovers_and_loses_no_acknowledged_write(stack):
    await wait_healthy(stack)
    pid = stack.server.pid
    load = Load()
    browser = stack.client()
    response = await login(browser, stack.seed["usernames"]["supervisor"])
    assert response.status_code == 303, response.text
    began = time.monotonic()
    workers = [asyncio.create_task(load.api_client(stack, n)) for n in range(CLIENTS)]
    workers.append(asyncio.create_task(load.browser(browser)))
    everyone = [f"api{n}" for n in range(CLIENTS)] + ["browser"]
    try:
        # Under way: every client has had an answer before PostgreSQL goes.
        while not all(any(o.client == who and o.ok for o in load.outcomes) for who in everyone):
            assert time.monotonic() < began + 20, Counter((o.client, o.status) for o in load.outcomes)
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        stop_began = time.monotonic()
        await asyncio.to_thread(stack.postgres.stop)
        down = time.monotonic()
        await asyncio.sleep(OUTAGE_SECONDS)
        start_began = time.monotonic()
        await asyncio.to_thread(stack.postgres.start)
        up = time.monotonic()
        # Run on until every client has had its requests after the restart answered.
        deadline = up + 30
        while any(sum(1 for o in load.outcomes if o.client == who and o.started >= up) < RECOVERED_REQUESTS * 2
                  for who in everyone):
            for worker in workers:
                if worker.done():
                    worker.result()  # a client that failed outright says why
            assert time.monotonic() < deadline, (
                f"the clients did not get their requests answered after the restart: "
                f"{Counter((o.client, o.status) for o in load.outcomes if o.started >= up)}\n"
                f"{[o for o in load.outcomes if o.started >= up and not o.ok][:3]}\n{stack.log_tail()}")
            await asyncio.sleep(0.1)
    finally:
        load.stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
        await browser.aclose()
    ended = time.monotonic()

    outcomes = load.outcomes
    statuses = Counter((o.what, o.status) for o in outcomes)
    outage = [o for o in outcomes if o.started >= down and o.ended <= start_began]
    after = [o for o in outcomes if o.started >= up]
    slowest = max(o.ended - o.started for o in outcomes)
    print(f"{len(outcomes)} requests in {ended - began:.1f} s; PostgreSQL stopped in {down - stop_began:.2f} s, "
          f"down {start_began - down:.1f} s, started in {up - start_began:.2f} s; {len(outage)} requests inside the "
          f"outage, {len(after)} after it; slowest {slowest:.2f} s; {dict(sorted(statuses.items(), key=str))}")

    # Failing cleanly: only successes and 503s, none without an answer, none slow.
    bad = [o for o in outcomes if not (o.ok or o.status == 503)]
    assert not bad, f"{len(bad)} requests neither succeeded nor got a 503, e.g. {bad[:3]}\n{stack.log_tail()}"
    assert slowest < REQUEST_TIMEOUT
    # In the outage: 503 with the Chinese message, as JSON for the API and as a page for the browser.
    assert len(outage) >= CLIENTS, "the outage was not observed"
    assert {o.what for o in outage} == {"write", "read", "page"}
    for o in outage:
        assert o.status == 503, o
        assert DB_DOWN in o.text and CJK.search(o.text), o
        if o.what != "page":
            assert httpx.Response(503, text=o.text).json()["detail"].startswith(DB_DOWN)
    # Recovered by itself: every request after the restart succeeds, and it is the same server process.
    failed_after = [o for o in after if not o.ok]
    assert not failed_after, f"{len(failed_after)} requests failed after the restart, e.g. {failed_after[:3]}"
    assert stack.server.poll() is None and stack.server.pid == pid
    assert '"unhandled error"' not in stack.log_tail(chars=10**8), "the server logged an unhandled error"

    # No acknowledged write lost: every unit answered with 201 is in the database.
    acknowledged = {o.name for o in outcomes if o.what == "write" and o.status == 201}
    stored = {name for (name,) in stack.postgres.query(
        "SELECT name FROM units WHERE tenant_id = %s AND name LIKE '故障单位-%%'", uuid.UUID(stack.seed["tenant_id"]))}
    assert acknowledged, "no write was acknowledged"
    assert acknowledged <= stored, f"acknowledged but lost: {sorted(acknowledged - stored)}"
    refused_but_stored = {o.name for o in outcomes if o.what == "write" and o.status == 503} & stored
    print(f"{len(acknowledged)} acknowledged writes, all stored; {len(refused_but_stored)} answered 503 but "
          f"committed (the connection died between COMMIT and its answer)")


# --- 2. Redis down and back -----------------------------------------------------------------------------------------


async def test_redis_down_pages_work_and_jobs_and_notifications_go_out_when_it_returns(stack):
    await wait_healthy(stack)
    seed = stack.seed
    first_task, unassigned = seed["tasks"][0], next(t for t in seed["tasks"] if t["state"] == "unassigned")
    head = stack.client(headers=stack.token("unit_head"))
    supervisor = stack.client(headers=stack.token("supervisor"))
    browser = stack.client()
    redis = AsyncRedis.from_url(stack.redis.url)
    worker: subprocess.Popen | None = None
    slowest: dict[str, float] = {}

    async def timed(what: str, request) -> httpx.Response:
        started = time.monotonic()
        response = await request
        slowest[what] = max(slowest.get(what, 0.0), time.monotonic() - started)
        return response

    async def upload(filename: str, colour: tuple[int, int, int]) -> str:
        response = await timed("upload", head.post(f"/api/v1/tasks/{first_task['id']}/evidence",
                                                   files={"file": (filename, png(colour), "image/png")}))
        assert response.status_code == 201, response.text
        assert response.json()["thumbnail_url"] is None
        return response.json()["id"]

    async def thumbnail_of(evidence_id: str) -> str | None:
        return (await head.get(f"/api/v1/evidence/{evidence_id}")).json()["thumbnail_url"]

    def delivered() -> set[str]:
        """Who received the assignment's e-mail (the worker's own reminder sweep may send others)."""
        return {rcpt for _sender, rcpts, content in list(stack.smtp.envelopes) for rcpt in rcpts
                if unassigned["number"] in str(email.message_from_bytes(content, policy=policy.default)["Subject"])}

    try:
        # Before: an upload queues its thumbnail job; no worker runs yet, so the job waits in Redis.
        queued_before = await upload("整改前.png", (30, 60, 200))
        assert await redis.zcard("arq:queue") == 1

        # Redis goes away, and with it (it keeps nothing on disk) the queued job.
        stack.redis.stop()
        health = await browser.get("/healthz")
        assert health.status_code == 503 and health.json() == {"status": "degraded", "db": "ok", "redis": "down"}

        # Pages: sign-in (the per-address throttle fails open), home, task list, a task.
        assert (await timed("page", browser.get("/login"))).status_code == 200
        response = await timed("login", login(browser, seed["usernames"]["unit_head"]))
        assert response.status_code == 303, response.text
        for path in ("/", "/tasks", f"/tasks/{first_task['id']}"):
            response = await timed("page", browser.get(path))
            assert response.status_code == 200, (path, response.status_code, response.text[:500])

        # An upload whose thumbnail job cannot be queued counts all the same, without waiting for Redis.
        queued_during = await upload("现场照片.png", (200, 30, 30))

        # A notification: the supervisor assigns a task to the school, whose two people are told (bell and e-mail).
        response = await timed("assign", supervisor.post(f"/api/v1/tasks/{unassigned['id']}/assign", json={
            "lead_unit_ids": [seed["units"]["school"]], "version": unassigned["version"]}))
        assert response.status_code == 200, response.text
        print("\nwith Redis down, slowest: " + ", ".join(f"{k} {v:.2f} s" for k, v in slowest.items()))
        assert max(slowest.values()) < 4, slowest
        recipients = {seed["emails"]["unit_head"], seed["emails"]["unit_staff"]}
        outbox = ("SELECT recipient, state FROM outbox WHERE tenant_id = %s AND dedupe_key LIKE %s "
                  "AND channel = 'email'")
        key = (uuid.UUID(seed["tenant_id"]), f"assign:{unassigned['id']}:%")
        assert sorted(stack.postgres.query(outbox, *key)) == sorted((r, "pending") for r in recipients)
        bell = (await head.get("/api/v1/notifications")).json()
        assert any(n["kind"] == "task_assigned" and unassigned["number"] in n["title"] for n in bell), bell

        # Redis returns, empty; then a worker starts. It delivers the outbox and makes both missed thumbnails.
        stack.redis.start()
        back = time.monotonic()
        assert await redis.zcard("arq:queue") == 0
        await wait_healthy(stack)
        with (stack.logs / "worker.log").open("ab") as log:
            worker = subprocess.Popen([str(BIN / "luoshi"), "worker"], cwd=ROOT, env=stack.env, stdout=log,
                                      stderr=subprocess.STDOUT)
        while not (recipients <= delivered() and await thumbnail_of(queued_before)
                   and await thumbnail_of(queued_during)):
            assert worker.poll() is None, f"the worker exited:\n{stack.log_tail('worker.log')}"
            assert time.monotonic() < back + 45, (
                f"delivered to {delivered()}, thumbnails {await thumbnail_of(queued_before)} "
                f"{await thumbnail_of(queued_during)}\n{stack.log_tail('worker.log')}")
            await asyncio.sleep(0.2)
        caught_up = time.monotonic() - back
        assert sorted(stack.postgres.query(outbox, *key)) == sorted((r, "sent") for r in recipients)

        # The web process reaches the returned Redis by itself: a new upload's job is queued and run at once
        # (the worker's catch-up runs only hourly after its start).
        started = time.monotonic()
        queued_after = await upload("整改后.png", (30, 160, 60))
        while not await thumbnail_of(queued_after):
            assert time.monotonic() < started + 20, stack.log_tail("worker.log")
            await asyncio.sleep(0.1)
        print(f"after Redis returned: e-mails delivered and both missed thumbnails made {caught_up:.1f} s later "
              f"(the worker's start included); a new upload's thumbnail in {time.monotonic() - started:.1f} s")
        assert (await browser.get("/healthz")).status_code == 200
        assert '"unhandled error"' not in stack.log_tail(chars=10**8), "the server logged an unhandled error"
    finally:
        stop_process(worker)
        if stack.redis.process is None:
            stack.redis.start()
        for client in (head, supervisor, browser):
            await client.aclose()
        await redis.aclose()
