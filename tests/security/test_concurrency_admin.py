"""Issue 14, concurrency sweep (part two): the 季度点评, 月通报, 年考核, outbox, channel, member, bureau and token
routes, each sent AT_ONCE times at once over separate clients (tests/support/concurrency.py).

Most have the sweep's contract (one winner, the others a 409 / the page with its message or the winner's own
redirect, nothing made twice). Where a route's meaning differs the case says what a user expects and checks that:
a repeated retry retries nothing new, a channel test is one message per click but a burst is capped, a repeated
password reset leaves exactly one of the shown passwords usable, a bureau is opened once.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, func, select, update

from backend.assessments import service as assessments
from backend.audit.models import AuditEvent
from backend.core import clock as luoshi_clock
from backend.core.clock import clock_at
from backend.core.roles import Role
from backend.db import unit_of_work
from tests.support.concurrency import (
    AT_ONCE,
    Shot,
    api_headers,
    assert_one_winner,
    audit_count,
    bulletin_shot,
    count,
    fire,
    school_task,
)
from tests.support.fixtures import PASSWORD, Bureau, csrf_of, make_client, unique

# --- 季度点评 and 月通报 ---------------------------------------------------------------------------------------------


async def _rated_review(bureau: Bureau):
    """This quarter's review with one school task rated, as the supervisor leaves it before publishing."""
    from backend.reviews import service as reviews
    from backend.reviews.service import RatingEntry

    task = await school_task(bureau, "点评并发")
    supervisor = bureau.actors[Role.supervisor]
    async with unit_of_work(bureau.tenant.id) as session:
        today = reviews.local_today(supervisor.timezone)
        review = await reviews.open_review(session, supervisor, year=today.year, quarter=(today.month - 1) // 3 + 1)
        scale = "90" if str(review.scale) == "score" else "excellent"
        await reviews.rate_unit(session, supervisor, review.id, bureau.units["school"].id,
                                {str(task.id): RatingEntry(scale)}, version=None)
    async with unit_of_work(bureau.tenant.id) as session:
        return (await session.exec(select(type(review)).where(type(review).id == review.id))).one()


async def remark_case(bureau: Bureau) -> Shot:
    """A leader's remark double-clicked: the same remark is kept once (every click lands on the sheet)."""
    from backend.reviews.models import QuarterlyRemark

    review = await _rated_review(bureau)
    return Shot("POST", f"/quarterly/{review.id}/remarks",
                {"data": {"text": "整体推进有力。", "unit_id": "", "version": str(review.version)}},
                lambda: count(bureau, select(func.count()).select_from(QuarterlyRemark)
                               .where(QuarterlyRemark.review_id == review.id)),
                csrf_page=f"/quarterly/{review.id}", role=Role.leader)


async def review_publish_case(bureau: Bureau) -> Shot:
    """发布 a quarter's review: published once (each rated unit's notice has one key per review, so told once)."""
    review = await _rated_review(bureau)
    return Shot("POST", f"/quarterly/{review.id}/publish",
                {"data": {"summary": "本季度总体良好。", "version": str(review.version)}},
                audit_count(bureau, review.id, "review.publish"), csrf_page=f"/quarterly/{review.id}",
                role=Role.supervisor)


async def bulletin_regenerate_case(bureau: Bureau) -> Shot:
    """重新生成 a draft bulletin's figures: once per version, the other clicks are told the draft changed."""
    return await bulletin_shot(bureau, "regenerate", 7)


# --- 年考核 -------------------------------------------------------------------------------------------------------


async def _assessment(bureau: Bureau, *, publish: bool = False, final: bool = False, days_ago: int = 0):
    """Last year's assessment opened (and published / finalised) through the services; `days_ago` runs the
    assessment's clock that far back while it is made, so that its appeal window is over today."""
    supervisor = bureau.actors[Role.supervisor]
    with clock_at(luoshi_clock.now() - timedelta(days=days_ago)):
        async with unit_of_work(bureau.tenant.id) as session:
            year = luoshi_clock.local_today(supervisor.timezone).year - 1
            a = await assessments.open_assessment(session, supervisor, year=year)
            if publish or final:
                a = await assessments.publish(session, supervisor, a.id, version=a.version)
    if final:
        async with unit_of_work(bureau.tenant.id) as session:
            a = await assessments.finalise(session, supervisor, a.id, version=a.version)
    return a


def _page_shot(bureau: Bureau, a, action: str, data: dict, audit: str, role: Role = Role.supervisor) -> Shot:
    return Shot("POST", f"/assessments/{a.id}/{action}", {"data": data}, audit_count(bureau, a.id, audit),
                csrf_page=f"/assessments/{a.id}", role=role)


async def compute_case(bureau: Bureau) -> Shot:
    """重新计算: once per version (the others are told the assessment changed)."""
    a = await _assessment(bureau)
    shot = _page_shot(bureau, a, "compute", {"version": str(a.version)}, "assessment.compute")
    computed = shot.made  # opening the year computed it once already
    shot.made = lambda: count_minus_one(computed)
    return shot


async def count_minus_one(counter: Callable[[], Awaitable[int]]) -> int:
    return await counter() - 1


async def self_score_case(bureau: Bureau) -> Shot:
    """A unit head's 自评 double-clicked: kept once, every click lands on the page (the same values change nothing)."""
    a = await _assessment(bureau)
    return _page_shot(bureau, a, "self-score", {"self_total": "88", "self_note": "自评说明", "seen": ""},
                      "assessment.self_score", Role.unit_head)


async def adjust_case(bureau: Bureau) -> Shot:
    """加减分: one adjustment per version (a second +2 would count twice in the unit's total)."""
    from backend.assessments.models import ScoreAdjustment

    a = await _assessment(bureau)
    shot = _page_shot(bureau, a, "adjustments", {"unit_id": str(bureau.units["school"].id), "points": "2",
                                                 "reason": "获省级表彰", "version": str(a.version)},
                      "assessment.adjust")
    shot.made = lambda: count(bureau, select(func.count()).select_from(ScoreAdjustment)
                              .where(ScoreAdjustment.assessment_id == a.id))
    return shot


async def assessment_publish_case(bureau: Bureau) -> Shot:
    """公示: once (units are told under one key per version, so once)."""
    a = await _assessment(bureau)
    return _page_shot(bureau, a, "publish", {"version": str(a.version)}, "assessment.publish")


async def appeal_case(bureau: Bureau) -> Shot:
    """A unit's 申诉 double-clicked: one appeal (the same text sent again is kept once), supervisors told once."""
    from backend.assessments.models import AssessmentAppeal

    a = await _assessment(bureau, publish=True)
    shot = _page_shot(bureau, a, "appeals", {"text": "完成率计算有误。"}, "assessment.appeal", Role.unit_head)
    shot.made = lambda: count(bureau, select(func.count()).select_from(AssessmentAppeal)
                              .where(AssessmentAppeal.assessment_id == a.id))
    return shot


async def answer_case(bureau: Bureau) -> Shot:
    """答复申诉: answered once; a second click or a colleague's answer is told it is answered."""
    a = await _assessment(bureau, publish=True)
    async with unit_of_work(bureau.tenant.id) as session:
        appeal = await assessments.file_appeal(session, bureau.actors[Role.unit_head], a.id, text_="有误。")
    return Shot("POST", f"/assessment-appeals/{appeal.id}/answer",
                {"data": {"decision": "dismissed", "response": "经核对无误。"}},
                audit_count(bureau, a.id, "assessment.appeal_answer"), csrf_page=f"/assessments/{a.id}",
                role=Role.supervisor)


async def finalise_case(bureau: Bureau) -> Shot:
    """定稿 after the appeal window: once; units told once."""
    a = await _assessment(bureau, publish=True, days_ago=30)
    return _page_shot(bureau, a, "finalise", {"version": str(a.version)}, "assessment.finalise")


async def reopen_case(bureau: Bureau) -> Shot:
    """撤销定稿 (an admin, with a reason): once; the other clicks are told it is not final any more."""
    a = await _assessment(bureau, final=True, days_ago=30)
    return _page_shot(bureau, a, "reopen", {"reason": "排名有误需更正", "version": str(a.version)},
                      "assessment.reopen", Role.admin)


CASES: dict[tuple[str, str], Callable[[Bureau], Awaitable[Shot]]] = {
    ("POST", "/quarterly/{review_id}/remarks"): remark_case,
    ("POST", "/quarterly/{review_id}/publish"): review_publish_case,
    ("POST", "/bulletins/{bulletin_id}/regenerate"): bulletin_regenerate_case,
    ("POST", "/assessments/{assessment_id}/compute"): compute_case,
    ("POST", "/assessments/{assessment_id}/self-score"): self_score_case,
    ("POST", "/assessments/{assessment_id}/adjustments"): adjust_case,
    ("POST", "/assessments/{assessment_id}/publish"): assessment_publish_case,
    ("POST", "/assessments/{assessment_id}/appeals"): appeal_case,
    ("POST", "/assessment-appeals/{appeal_id}/answer"): answer_case,
    ("POST", "/assessments/{assessment_id}/finalise"): finalise_case,
    ("POST", "/assessments/{assessment_id}/reopen"): reopen_case,
}


@pytest.mark.parametrize("route", list(CASES), ids=[f"{m} {p}" for m, p in CASES])
async def test_the_same_request_at_once_has_one_winner(app, bureau, route):
    shot = await CASES[route](bureau)
    await assert_one_winner(shot, await fire(app, bureau, shot))


# --- routes whose meaning differs (their own checks) --------------------------------------------------------------


async def _dead(bureau: Bureau, n: int) -> list[uuid.UUID]:
    """`n` messages that kept failing: queued, then given up on after the last attempt."""
    from backend.delivery import service as delivery
    from backend.delivery.models import OutboxMessage

    keys = [f"dead:{uuid.uuid4()}" for _ in range(n)]
    async with unit_of_work(bureau.tenant.id) as session:
        for key in keys:
            await delivery.queue_message(session, bureau.tenant.id, dedupe_key=key, channel="wecom",
                                         recipient="https://qyapi.example.cn/hook", subject="提醒", body_text="正文")
        await session.exec(update(OutboxMessage).where(col(OutboxMessage.dedupe_key).in_(keys)).values(
            state="dead", attempts=delivery.MAX_ATTEMPTS))
        return list(await session.exec(select(OutboxMessage.id).where(col(OutboxMessage.dedupe_key).in_(keys))))


def _retries(bureau: Bureau):
    return lambda: count(bureau, select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "outbox.retry", AuditEvent.tenant_id == bureau.tenant.id))


async def _pending(bureau: Bureau, ids: list[uuid.UUID]) -> int:
    from backend.delivery.models import OutboxMessage

    return await count(bureau, select(func.count()).select_from(OutboxMessage).where(
        col(OutboxMessage.id).in_(ids), OutboxMessage.state == "pending"))


@pytest.mark.parametrize("path", ["/admin/outbox/dead/retry", "/admin/outbox/dead/retry-all"])
async def test_a_repeated_retry_retries_nothing_new(app, bureau, path):
    """重新发送 clicked six times at once: the messages come back once (one audit line); the other clicks find
    nothing dead any more and land on the same page saying so — a retry is not a new message, so no 409."""
    ids = await _dead(bureau, 2)
    shot = Shot("POST", path, {"data": {"ids": [str(i) for i in ids]} if path.endswith("/retry") else {"data": {}}},
                _retries(bureau), csrf_page="/admin/outbox/dead", role=Role.admin)
    await assert_one_winner(shot, await fire(app, bureau, shot))
    assert await _pending(bureau, ids) == 2


async def test_a_repeated_api_retry_retries_nothing_new(app, bureau):
    """The API twin: every call answers 200 with how many came back; together they retried each message once."""
    ids = await _dead(bureau, 3)
    shot = Shot("POST", "/api/v1/admin/outbox/dead/retry",
                {"headers": await api_headers(bureau, Role.admin), "json": {"ids": [str(i) for i in ids]}},
                _retries(bureau))
    answers = await fire(app, bureau, shot)
    assert [a.status_code for a in answers] == [200] * AT_ONCE, [a.text[:200] for a in answers]
    assert sorted(a.json()["retried"] for a in answers) == [0] * (AT_ONCE - 1) + [3]
    assert await shot.made() == 1 and await _pending(bureau, ids) == 3


async def test_a_burst_of_channel_tests_is_capped(app, bureau):
    """测试 on a robot: one test message per click is what the admin asked for, but six clicks at once (or a
    script) must not flood the group: at most TEST_BURST messages a minute per channel, the rest are refused with
    a message on the page (429), never a 5xx."""
    from backend.delivery import service as delivery
    from backend.delivery.models import OutboxMessage

    async with unit_of_work(bureau.tenant.id) as session:
        config = await delivery.add_channel(session, bureau.actors[Role.admin], kind="wecom",
                                            url="https://qyapi.example.cn/cgi-bin/webhook/send?key=race")
    shot = Shot("POST", f"/admin/channels/{config.id}/test", {"data": {}}, lambda: count(
        bureau, select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith(f"channel-test:{config.id}:"))),
                csrf_page="/admin/channels", role=Role.admin)
    answers = await fire(app, bureau, shot)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303] * delivery.TEST_BURST + [429] * (AT_ONCE - delivery.TEST_BURST), statuses
    assert all("测试消息" in a.text for a in answers if a.status_code == 429)
    assert await shot.made() == delivery.TEST_BURST


async def test_a_repeated_password_reset_leaves_one_usable_password(app, bureau):
    """重置密码 clicked six times at once: each click shows a one-time password (each reset is the admin's own
    act, one audit line each), and the one stored is the last one written — so exactly one of the shown
    passwords signs the person in, the others are refused; none of them is half-written or a 5xx."""
    import re

    from backend.accounts.models import User
    from backend.core.security import verify_password
    from backend.tenancy.models import Membership
    from tests.support.fixtures import login

    user = bureau.users[Role.unit_staff]
    async with unit_of_work(bureau.tenant.id) as session:
        membership = (await session.exec(select(Membership).where(Membership.user_id == user.id))).one()
    shot = Shot("POST", f"/admin/members/{membership.id}/reset-password", {"data": {}},
                audit_count(bureau, membership.id, "member.reset_password"), csrf_page="/admin/members",
                role=Role.admin)
    answers = await fire(app, bureau, shot)
    assert [a.status_code for a in answers] == [200] * AT_ONCE, [a.text[:200] for a in answers]
    passwords = [m.group(1) for a in answers if (m := re.search(r'<code class="secret">([^<]+)</code>', a.text))]
    assert len(set(passwords)) == AT_ONCE, "each click shows its own one-time password"
    async with unit_of_work(bureau.tenant.id) as session:
        stored = (await session.exec(select(User.password_hash).where(User.id == user.id))).one()
    usable = [p for p in passwords if await verify_password(stored, p)]
    assert len(usable) == 1
    async with make_client(app) as person:
        assert (await login(person, user.username, usable[0])).status_code == 303
    assert await shot.made() == AT_ONCE


# --- bureaus and tokens ----------------------------------------------------------------------------------------


async def _operators(app, n: int) -> list[tuple[httpx.AsyncClient, str]]:
    """`n` browsers signed in as one platform operator, each with its CSRF token."""
    from backend.accounts.service import create_user

    username = unique("op-")
    async with unit_of_work() as session:
        await create_user(session, username=username, display_name="平台运维", password=PASSWORD, is_operator=True)
    browsers = []
    for _ in range(n):
        browser = make_client(app)
        token = await csrf_of(browser)
        await browser.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        browsers.append((browser, await csrf_of(browser, "/operator/tenants")))
    return browsers


async def _bureaus_named(name: str) -> int:
    from backend.tenancy.models import Tenant

    async with unit_of_work() as session:
        return (await session.exec(select(func.count()).select_from(Tenant).where(Tenant.name == name))).one()


@pytest.mark.parametrize("path", ["/operator/tenants", "/api/v1/tenants"])
async def test_a_bureau_opened_six_times_at_once_is_opened_once(app, path):
    """开通教育局 sent six times at once (the form twice clicked, a script retried): one bureau with one admin, the
    page/answer with its one-time password once; the others are refused with 已有同名或同简称的教育局 (409), not
    a 5xx. The operator is no bureau member, so the guard is the bureau's unique name and code, checked under a
    lock (backend/tenancy/service.create_tenant)."""
    name, code, admin = unique("并发新局"), unique("race"), unique("race-admin-")
    fields = {"name": name, "code": code, "admin_name": "新局管理员", "admin_username": admin}
    browsers = await _operators(app, AT_ONCE)
    try:
        answers = await asyncio.gather(*(
            b.post(path, data={**fields, "csrf_token": t}) if path.startswith("/operator")
            else b.post(path, json=fields, headers={"X-CSRF-Token": t}) for b, t in browsers))
    finally:
        for b, _t in browsers:
            await b.aclose()
    won = 200 if path.startswith("/operator") else 201
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [won] + [409] * (AT_ONCE - 1), [(a.status_code, a.text[:200]) for a in answers]
    assert all("已有同名或同简称的教育局" in a.text for a in answers if a.status_code == 409)
    assert await _bureaus_named(name) == 1


async def _tokens_named(bureau: Bureau, name: str) -> int:
    from backend.accounts.models import ApiToken

    return await count(bureau, select(func.count()).select_from(ApiToken).where(ApiToken.name == name))


async def test_a_token_created_six_times_with_one_key_is_one_token(app, bureau):
    """POST /api/v1/tokens with one Idempotency-Key, six times at once: one token. The secret is shown once, so
    the replays answer 201 with the same token's id, name and prefix and an empty `token` (as /api/v1/invitations
    does with its link). Without a key every call is a new token by design (test below): each is a credential its
    caller receives and can revoke, nothing is sent to anyone else, and a script that wants one sends a key."""
    name = unique("并发令牌")
    headers = {**await api_headers(bureau, Role.supervisor), "Idempotency-Key": str(uuid.uuid4())}
    shot = Shot("POST", "/api/v1/tokens", {"headers": headers, "json": {"name": name}},
                lambda: _tokens_named(bureau, name))
    answers = await fire(app, bureau, shot)
    assert [a.status_code for a in answers] == [201] * AT_ONCE, [a.text[:200] for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(bool(a.json()["token"]) for a in answers) == [False] * (AT_ONCE - 1) + [True]
    assert await shot.made() == 1


async def test_tokens_created_at_once_without_a_key_are_each_their_own(app, bureau):
    name = unique("无键令牌")
    shot = Shot("POST", "/api/v1/tokens", {"headers": await api_headers(bureau, Role.supervisor),
                                          "json": {"name": name}}, lambda: _tokens_named(bureau, name))
    answers = await fire(app, bureau, shot)
    assert [a.status_code for a in answers] == [201] * AT_ONCE
    assert len({a.json()["token"] for a in answers}) == AT_ONCE
    assert await shot.made() == AT_ONCE


# Swept here by the tests above with their own checks (the sweep in test_concurrency_sweep.py counts them).
OWN_CHECKS = {
    ("POST", "/admin/outbox/dead/retry"): test_a_repeated_retry_retries_nothing_new,
    ("POST", "/admin/outbox/dead/retry-all"): test_a_repeated_retry_retries_nothing_new,
    ("POST", "/api/v1/admin/outbox/dead/retry"): test_a_repeated_api_retry_retries_nothing_new,
    ("POST", "/admin/channels/{config_id}/test"): test_a_burst_of_channel_tests_is_capped,
    ("POST", "/admin/members/{membership_id}/reset-password"):
        test_a_repeated_password_reset_leaves_one_usable_password,
    ("POST", "/operator/tenants"): test_a_bureau_opened_six_times_at_once_is_opened_once,
    ("POST", "/api/v1/tenants"): test_a_bureau_opened_six_times_at_once_is_opened_once,
    ("POST", "/api/v1/tokens"): test_a_token_created_six_times_with_one_key_is_one_token,
}
