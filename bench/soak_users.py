"""The soak test's simulated people (bench/soak.py): each signs in through the login form and loops over its
role's main paths with think times; every response is counted with its status, latency and outcome."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bench.harness.photos import unique_jpeg
from bench.soak_seed import (
    NEXT_STEPS,
    PASSWORD,
    PROBLEMS,
    PROGRESS,
    RETURN_COMMENTS,
    TIMEZONE,
    YEAR,
    Persona,
    periods_now,
)

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TASK_LINK_RE = re.compile(rf'href="/tasks/({UUID})"')
UNIT_SELECT_RE = re.compile(r'<select id="f-unit" name="unit">(.*?)</select>', re.S)
PLAN_SELECT_RE = re.compile(r'<select id="f-plan" name="plan">(.*?)</select>', re.S)
OPTION_RE = re.compile(rf'value="({UUID})"')
THUMB_RE = re.compile(rf'src="(/evidence/{UUID}/thumbnail)"')
REPORT_FORM_RE = re.compile(rf'<form method="post" action="/tasks/{UUID}/report" class="card report-form"(.*?)</form>',
                            re.S)
VERSION_RE = re.compile(r'name="version" value="(\d+)"')
PERIOD_RE = re.compile(r'name="period" value="([^"]*)"')
ACTUAL_RE = re.compile(rf'name="(actual-{UUID})"')
REPORT_ID_RE = re.compile(rf'name="report_id" value="({UUID})"')
PERIOD_SECTION_RE = re.compile(r'<section class="card" aria-labelledby="period-h">(.*?)</section>', re.S)
REVIEW_FORM_RE = re.compile(
    rf'<form method="post" action="/reports/({UUID})/(review|completion|unit-head)">\s*'
    r'<input type="hidden" name="csrf_token" value="[0-9a-f]+">\s*<input type="hidden" name="version" value="(\d+)">')
ALERT_RE = re.compile(r'(?:class="alert error"|class="field-error")[^>]*>(.*?)<', re.S)

@dataclass
class Record:
    t: float  # seconds since the load started, when the response ended
    label: str
    status: int  # 0 for a timeout or connection error
    ms: float
    outcome: str  # ok, refusal, error


@dataclass
class Stats:
    records: list[Record] = field(default_factory=list)
    examples: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    started: float = 0.0

    def add(self, label: str, status: int, ms: float, outcome: str, detail: str = "") -> None:
        t = time.monotonic() - self.started
        self.records.append(Record(t, label, status, ms, outcome))
        if outcome != "ok":
            kind = f"{outcome} {status} {label}"
            if len(self.examples[kind]) < 5:
                self.examples[kind].append({"t_s": round(t, 1), "detail": detail[:400]})


class Stop(Exception):
    pass


class SimulatedUser:
    def __init__(self, persona: Persona, base_url: str, stats: Stats, args, stop_at: float, photo: bytes) -> None:
        import httpx

        self.p = persona
        self.stats = stats
        self.args = args
        self.stop_at = stop_at
        self.photo = photo
        self.rng = random.Random(args.seed * 1000 + persona.index)
        self.client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(args.timeout),
                                        limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
                                        headers={"User-Agent": f"luoshi-soak/{persona.username}"})
        self.cursor: dict[str, str] = {}  # task → the period being written (this month until it is accepted)
        self.uploads = 0
        self.current, _previous = periods_now()

    async def think(self) -> None:
        if time.monotonic() >= self.stop_at:
            raise Stop
        await asyncio.sleep(self.rng.uniform(self.args.think_min, self.args.think_max))
        if time.monotonic() >= self.stop_at:
            raise Stop

    async def call(self, method: str, url: str, label: str, expect: tuple[int, ...] = (200,), **kwargs):
        import httpx

        t0 = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as error:
            self.stats.add(label, 0, (time.perf_counter() - t0) * 1000, "error", f"timeout {error!r} {url}")
            return None
        except httpx.HTTPError as error:
            self.stats.add(label, 0, (time.perf_counter() - t0) * 1000, "error", f"transport {error!r} {url}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        status = response.status_code
        if status in expect:
            self.stats.add(label, status, ms, "ok")
            return response
        if status in (409, 422):
            found = ALERT_RE.search(response.text)
            message = " ".join(found.group(1).split()) if found else response.text[:200]
            self.stats.add(label, status, ms, "refusal", f"{self.p.username} {url}: {message}")
            return None
        detail = f"{self.p.username} {method} {url} → {status} {response.headers.get('location', '')} " + \
            " ".join(response.text[:300].split())
        self.stats.add(label, status, ms, "error", detail)
        return None

    async def get(self, url: str, label: str, **kwargs):
        return await self.call("GET", url, label, **kwargs)

    async def follow(self, response, label: str):
        """A browser follows the 303 at once."""
        return await self.get(response.headers["location"], label)

    async def login(self) -> bool:
        page = await self.get("/login", "GET /login")
        if page is None:
            return False
        token = CSRF_RE.search(page.text)
        response = await self.call("POST", "/login", "POST /login", expect=(303,),
                                   data={"username": self.p.username, "password": PASSWORD,
                                         "csrf_token": token.group(1) if token else ""})
        if response is None:
            return False
        return await self.follow(response, "GET /") is not None

    async def run(self, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            if not await self.login():
                return
            loop = {"unit_staff": self.writer, "unit_head": self.writer, "supervisor": self.supervisor,
                    "leader": self.leader}[self.p.role]
            while True:
                await loop()
        except Stop:
            pass
        finally:
            await self.client.aclose()

    # unit staff and unit heads ----------------------------------------------------------------------------

    async def writer(self) -> None:
        if self.rng.random() < 0.3:
            await self.think()
            await self.get("/", "GET /")
        await self.think()
        await self.get("/notifications/bell", "GET /notifications/bell (htmx)", headers={"HX-Request": "true"})
        if self.p.role == "unit_head" and self.rng.random() < 0.3:
            await self.think()
            await self.get("/reviews", "GET /reviews (unit head)")
        await self.think()
        await self.get("/tasks", "GET /tasks (我的任务)")
        if not self.p.tasks:
            return
        task = self.rng.choice(self.p.tasks)
        await self.think()
        page = await self.get(f"/tasks/{task}", "GET /tasks/{id}")
        if page is not None:
            for thumb in THUMB_RE.findall(page.text)[:2]:  # what the browser loads with the page
                await self.get(thumb, "GET /evidence/{id}/thumbnail")
        period = self.cursor.get(task, self.current)
        url = f"/tasks/{task}/report" + (f"?period={period}" if period != self.current else "")
        await self.think()
        page = await self.get(url, "GET /tasks/{id}/report")
        if page is None:
            return
        form = REPORT_FORM_RE.search(page.text)
        if form is None:  # submitted and waiting, or accepted: then an earlier month's
            section = PERIOD_SECTION_RE.search(page.text)
            if section and "已通过" in section.group(1):
                year, month = int(period[:4]), int(period[5:7])
                if (year, month) > (YEAR, 1):
                    self.cursor[task] = f"{year}-{month - 1:02d}" if month > 1 else f"{year - 1}-12"
            return
        version = VERSION_RE.search(form.group(1)).group(1)
        form_period = PERIOD_RE.search(form.group(1)).group(1)
        data = {"csrf_token": CSRF_RE.search(page.text).group(1), "period": form_period, "version": version,
                "progress": self.rng.choice(PROGRESS) + f"（{datetime.now(ZoneInfo(TIMEZONE)):%H:%M}更新）",
                "problems": self.rng.choice(PROBLEMS), "next_steps": self.rng.choice(NEXT_STEPS),
                "support_needed": "", "percent": str(self.rng.randint(20, 95)), "expected_completion": "",
                "action": "save"}
        for name in ACTUAL_RE.findall(form.group(1)):
            data[name] = str(self.rng.randint(1, 30))
        await self.think()
        saved = await self.call("POST", f"/tasks/{task}/report", "POST /tasks/{id}/report (save draft)",
                                expect=(303,), data=data)
        if saved is None:
            return
        page = await self.follow(saved, "GET /tasks/{id}/report")
        if page is None:
            return
        report_id = REPORT_ID_RE.search(page.text)
        if report_id and self.rng.random() < self.args.upload_share:
            self.uploads += 1
            photo = unique_jpeg(self.photo, f"{self.p.username}-{self.uploads}-{self.rng.random()}")
            await self.think()
            uploaded = await self.call(
                "POST", f"/tasks/{task}/evidence", "POST /tasks/{id}/evidence (photo)", expect=(303, 200),
                data={"csrf_token": CSRF_RE.search(page.text).group(1), "report_id": report_id.group(1),
                      "description": "现场照片"},
                files={"camera": (f"IMG_{self.uploads:04d}.jpg", photo, "image/jpeg")})
            if uploaded is None:
                return
            if uploaded.status_code == 303:
                page = await self.follow(uploaded, "GET /tasks/{id}/report")
                if page is None:
                    return
            if form_period != self.current:  # the upload went back to this month's form
                page = await self.get(f"/tasks/{task}/report?period={form_period}", "GET /tasks/{id}/report")
                if page is None:
                    return
        if self.rng.random() < self.args.submit_share:
            form = REPORT_FORM_RE.search(page.text)
            if form is None:
                return
            data["version"] = VERSION_RE.search(form.group(1)).group(1)
            data["csrf_token"] = CSRF_RE.search(page.text).group(1)
            data["action"] = "submit"
            await self.think()
            submitted = await self.call("POST", f"/tasks/{task}/report", "POST /tasks/{id}/report (submit)",
                                        expect=(303,), data=data)
            if submitted is not None:
                await self.follow(submitted, "GET /tasks/{id}/report")

    # supervisors --------------------------------------------------------------------------------------------

    async def board(self, label_suffix: str) -> list[str]:
        """The board, then one filter; returns the task ids seen."""
        await self.think()
        page = await self.get("/tasks", f"GET /tasks (board{label_suffix})")
        if page is None:
            return []
        seen = TASK_LINK_RE.findall(page.text)
        units = OPTION_RE.findall(UNIT_SELECT_RE.search(page.text).group(1)) if UNIT_SELECT_RE.search(page.text) \
            else []
        plans = OPTION_RE.findall(PLAN_SELECT_RE.search(page.text).group(1)) if PLAN_SELECT_RE.search(page.text) \
            else []
        choice = self.rng.random()
        if choice < 0.15:
            url = "/tasks?page=2"
        elif choice < 0.5 and units:
            url = f"/tasks?unit={self.rng.choice(units)}"
        elif choice < 0.6 and plans:
            url = f"/tasks?plan={plans[0]}"
        elif choice < 0.75:
            url = f"/tasks?state={self.rng.choice(['assigned', 'in_progress', 'acknowledged'])}"
        elif choice < 0.9:
            url = f"/tasks?light={self.rng.choice(['green', 'yellow', 'red'])}"
        else:
            url = f"/tasks?q=督-{YEAR}-{self.rng.randint(1, 29):02d}"
        htmx = self.rng.random() < 0.5
        await self.think()
        filtered = await self.get(url, f"GET /tasks?filter (board{label_suffix}{', htmx' if htmx else ''})",
                                  headers={"HX-Request": "true", "HX-Target": "results"} if htmx else {})
        if filtered is not None:
            seen += TASK_LINK_RE.findall(filtered.text)
        return seen

    async def supervisor(self) -> None:
        if self.rng.random() < 0.3:
            await self.think()
            await self.get("/", "GET /")
        seen = await self.board("")
        if seen:
            await self.think()
            await self.get(f"/tasks/{self.rng.choice(seen)}", "GET /tasks/{id}")
        await self.think()
        page = await self.get("/reviews", "GET /reviews")
        decided = 0
        batch = self.rng.random() < 0.35
        while page is not None and decided < 5:
            mine = [(rid, kind, version) for rid, kind, version in REVIEW_FORM_RE.findall(page.text)
                    if kind == "review" and int(rid.replace("-", ""), 16) % self.p.shares == self.p.share]
            if not mine:
                break
            token = CSRF_RE.search(page.text).group(1)
            await self.think()
            if batch:
                picked = mine[:10]
                done = await self.call("POST", "/reviews/batch", "POST /reviews/batch (accept)", expect=(303,),
                                       data={"csrf_token": token, "comment": "",
                                             "report": [f"{rid}:{version}" for rid, _k, version in picked]})
                if done is not None:
                    await self.follow(done, "GET /reviews")
                break
            rid, _kind, version = mine[0]
            accept = self.rng.random() < 0.85
            done = await self.call("POST", f"/reports/{rid}/review",
                                   f"POST /reports/{{id}}/review ({'accept' if accept else 'return'})", expect=(303,),
                                   data={"csrf_token": token, "version": version, "next": "/reviews",
                                         "decision": "accept" if accept else "return",
                                         "comment": "" if accept else self.rng.choice(RETURN_COMMENTS)})
            decided += 1
            page = await self.follow(done, "GET /reviews") if done is not None else None
        await self.think()
        await self.get("/notifications/bell", "GET /notifications/bell (htmx)", headers={"HX-Request": "true"})

    # leaders ---------------------------------------------------------------------------------------------------

    async def leader(self) -> None:
        await self.think()
        await self.get("/", "GET /")
        seen = await self.board(", leader")
        if seen:
            task = self.rng.choice(seen)
            await self.think()
            await self.get(f"/tasks/{task}", "GET /tasks/{id}")
            if self.rng.random() < 0.6:
                await self.think()
                await self.get(f"/tasks/{task}/ledger.xlsx", "GET /tasks/{id}/ledger.xlsx")
            if self.rng.random() < 0.4:
                await self.think()
                await self.get(f"/tasks/{task}/reports", "GET /tasks/{id}/reports")
        await self.think()
        await self.get("/notifications/bell", "GET /notifications/bell (htmx)", headers={"HX-Request": "true"})
