"""The audit log page (and its API twin): who may read it, its filters, keyset paging, and bureau isolation."""

import html
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from backend.accounts.service import create_api_token
from backend.audit.service import PAGE_SIZE, list_events
from backend.core.clock import local_now
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tenancy import service as tenancy
from tests.support.fixtures import Bureau, login

ROLE_DENIED = "您的角色无权进行此操作。如需权限，请联系本局系统管理员。"
READERS = [Role.admin, Role.supervisor, Role.leader]
NON_READERS = [Role.unit_head, Role.unit_staff]
ROW_RE = re.compile(r'<td data-label="操作人">(.*?)</td>\s*<td data-label="操作">(.*?)</td>', re.S)
MORE_RE = re.compile(r'href="(/audit\?[^"]*before=[^"]*)"')


def quiet_client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", follow_redirects=False)


@pytest.fixture
async def browser(app):
    """`await browser(bureau, role)`: a client signed in as that member; unhandled errors come back as 500s."""
    opened: list[httpx.AsyncClient] = []

    async def make(bureau: Bureau, role: Role) -> httpx.AsyncClient:
        client = quiet_client(app)
        opened.append(client)
        assert (await login(client, bureau.username(role))).status_code == 303
        return client

    yield make
    for client in opened:
        await client.aclose()


async def bearer(bureau: Bureau, role: Role) -> dict[str, str]:
    async with unit_of_work(bureau.tenant.id) as session:
        _token, raw = await create_api_token(session, bureau.actors[role], name="审计测试")
    return {"Authorization": f"Bearer {raw}"}


def rows(page: httpx.Response) -> list[tuple[str, str]]:
    assert page.status_code == 200, (page.status_code, page.text[:300])
    return [(html.unescape(who), html.unescape(summary)) for who, summary in ROW_RE.findall(page.text)]


def without_empty(link: str) -> str:
    """The link minus its empty parameters (see test_older_entries_link_works_as_rendered)."""
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


def today() -> datetime:
    return local_now()


def foreign_strings(other: Bureau) -> list[str]:
    return [*(u.display_name for u in other.users.values()), *(u.username for u in other.users.values()),
            other.tenant.name]


async def add_units(bureau: Bureau, count: int, prefix: str = "审计单位") -> list[str]:
    names = [f"{prefix}{i:03d}" for i in range(count)]
    async with unit_of_work(bureau.tenant.id) as session:
        for name in names:
            await tenancy.create_unit(session, bureau.actors[Role.admin], name=name)
    return names


# --- who may read ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
async def test_readers_see_the_bureau_log(bureau, other_bureau, browser, app, role):
    client = await browser(bureau, role)
    found = rows(await client.get("/audit"))
    admin_name = bureau.users[Role.admin].display_name
    assert (admin_name, "新建单位“办公室”") in found
    assert (admin_name, "邀请 待邀请人 担任经办人") in found
    # Signing in is logged too, under the person's own name.
    assert (bureau.users[role].display_name, f"{bureau.users[role].display_name} 登录") in found
    async with quiet_client(app) as api:
        response = await api.get("/api/v1/audit-events", headers=await bearer(bureau, role))
    assert response.status_code == 200
    assert {"action": "unit.create", "summary": "新建单位“实验小学”"}.items() <= next(
        e for e in response.json() if e["summary"] == "新建单位“实验小学”").items()


@pytest.mark.parametrize("role", NON_READERS)
async def test_unit_roles_are_refused(bureau, browser, app, role):
    client = await browser(bureau, role)
    for query in ("", "?action=unit.", "?who=admin", "?before=2999-01-01T00:00:00%2B00:00"):
        page = await client.get("/audit" + query)
        assert page.status_code == 403 and ROLE_DENIED in page.text
        assert "新建单位" not in page.text
    home = await client.get("/")
    assert 'href="/audit"' not in home.text
    async with quiet_client(app) as api:
        response = await api.get("/api/v1/audit-events", headers=await bearer(bureau, role))
    assert response.status_code == 403 and response.json()["detail"] == ROLE_DENIED


async def test_anonymous_is_sent_to_login(app):
    async with quiet_client(app) as client:
        response = await client.get("/audit?action=unit.")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert (await client.get("/api/v1/audit-events")).status_code == 401


# --- filters ---------------------------------------------------------------------------------------------


async def test_action_prefix_filter(bureau, browser):
    client = await browser(bureau, Role.admin)
    units = rows(await client.get("/audit?action=unit."))
    assert {s for _w, s in units} == {"新建单位“办公室”", "新建单位“实验小学”"}
    members = rows(await client.get("/audit?action=member."))
    assert members and all("加入本局" in s or s.startswith("邀请 ") for _w, s in members)
    assert any(s == "邀请 待邀请人 担任经办人" for _w, s in members)
    tokens = rows(await client.get("/audit?action=token."))
    assert [s for _w, s in tokens] == ["创建 API 令牌“脚本”"]
    logins = rows(await client.get("/audit?action=login"))
    assert logins and all(s.endswith(" 登录") for _w, s in logins)
    # The filter is a prefix: "unit" alone also matches; a made-up one matches nothing.
    assert len(rows(await client.get("/audit?action=unit"))) == 2
    page = await client.get("/audit?action=nothing.")
    assert rows(page) == [] and "没有符合条件的记录" in page.text
    # The chosen filter stays selected.
    assert '<option value="member." selected>' in (await client.get("/audit?action=member.")).text


async def test_actor_name_filter(bureau, browser):
    async with unit_of_work(bureau.tenant.id) as session:
        await create_api_token(session, bureau.actors[Role.leader], name="领导的脚本")
    client = await browser(bureau, Role.supervisor)
    leader = bureau.users[Role.leader].display_name
    found = rows(await client.get(f"/audit?who={leader}"))
    assert found == [(leader, "创建 API 令牌“领导的脚本”")]
    # Part of a name is enough, and filters combine.
    suffix = leader.removeprefix("leader")
    everyone = rows(await client.get(f"/audit?who={suffix}"))
    assert {w for w, _s in everyone} >= {leader, bureau.users[Role.admin].display_name,
                                         bureau.users[Role.supervisor].display_name}
    assert rows(await client.get(f"/audit?who={suffix}&action=token.")) == [
        (leader, "创建 API 令牌“领导的脚本”"), (bureau.users[Role.supervisor].display_name, "创建 API 令牌“脚本”")]
    page = await client.get("/audit?who=没有这个人")
    assert rows(page) == [] and 'value="没有这个人"' in page.text


async def test_date_range_filter(bureau, browser):
    client = await browser(bureau, Role.leader)
    day = today().date()
    yesterday, tomorrow = day - timedelta(days=1), day + timedelta(days=1)
    assert len(rows(await client.get(f"/audit?action=unit.&since={day}&until={day}"))) == 2
    assert len(rows(await client.get(f"/audit?action=unit.&since={yesterday}"))) == 2
    assert len(rows(await client.get(f"/audit?action=unit.&until={day}"))) == 2
    assert rows(await client.get(f"/audit?action=unit.&since={tomorrow}")) == []
    assert rows(await client.get(f"/audit?action=unit.&until={yesterday}")) == []
    assert rows(await client.get(f"/audit?action=unit.&since={day}&until={yesterday}")) == []
    page = await client.get(f"/audit?since={day}&until={day}")
    assert f'value="{day}"' in page.text




async def test_filter_form_as_a_browser_submits_it(bureau, browser):
    client = await browser(bureau, Role.admin)
    # A GET form sends every named field, the empty date inputs included.
    page = await client.get("/audit?action=unit.&who=&since=&until=")
    assert len(rows(page)) == 2


async def test_older_entries_link_works_as_rendered(bureau, browser):
    await add_units(bureau, PAGE_SIZE)
    client = await browser(bureau, Role.admin)
    first = await client.get("/audit?action=unit.")
    link = html.unescape(MORE_RE.search(first.text).group(1))
    assert len(rows(await client.get(link))) == 2


@pytest.mark.parametrize("query", ["since=2024-13-45", "until=yesterday", "before=not-a-time", "since=%00"])
async def test_bad_filter_values_are_a_message_not_a_500(bureau, browser, query):
    client = await browser(bureau, Role.admin)
    page = await client.get(f"/audit?{query}")
    assert page.status_code == 422 and "提交的内容有误" in page.text


# --- paging ----------------------------------------------------------------------------------------------


async def test_keyset_paging_walks_every_event_once(bureau, browser):
    names = await add_units(bureau, PAGE_SIZE + 10)
    expected = {f"新建单位“{n}”" for n in [*names, "办公室", "实验小学"]}
    client = await browser(bureau, Role.admin)
    first = await client.get("/audit?action=unit.")
    page_one = rows(first)
    assert len(page_one) == PAGE_SIZE
    # Newest first.
    assert page_one[0][1] == f"新建单位“{names[-1]}”"
    more = MORE_RE.search(first.text)
    assert more, "no link to older entries"
    link = html.unescape(more.group(1))
    assert "action=unit." in link
    second = await client.get(without_empty(link))
    page_two = rows(second)
    assert len(page_two) == 12 and MORE_RE.search(second.text) is None
    seen = [s for _w, s in page_one + page_two]
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert page_two[-1][1] == "新建单位“办公室”"


async def test_paging_keeps_the_other_filters(bureau, browser):
    await add_units(bureau, PAGE_SIZE + 3)
    client = await browser(bureau, Role.admin)
    admin = bureau.users[Role.admin].display_name
    first = await client.get(f"/audit?action=unit.&who={admin}&since={today().date()}")
    link = html.unescape(MORE_RE.search(first.text).group(1))
    assert f"who={admin}" in link and f"since={today().date()}" in link
    page_two = rows(await client.get(without_empty(link)))
    assert len(page_two) == 5 and all(w == admin and s.startswith("新建单位") for w, s in page_two)


async def test_api_paging_with_before(bureau):
    await add_units(bureau, PAGE_SIZE + 1)
    async with unit_of_work(bureau.tenant.id) as session:
        first = await list_events(session, bureau.actors[Role.admin], action="unit.")
        second = await list_events(session, bureau.actors[Role.admin], action="unit.", before=first[-1].occurred_at)
    assert len(first) == PAGE_SIZE and len(second) == 3
    assert not {e.id for e in first} & {e.id for e in second}


# --- isolation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
async def test_never_shows_another_bureaus_events(bureau, other_bureau, browser, app, role):
    await add_units(other_bureau, 3, prefix="别局单位")
    client = await browser(bureau, role)
    await browser(other_bureau, Role.admin)  # the other bureau's sign-in is logged there, not here
    other_admin = other_bureau.users[Role.admin].display_name
    for query in ("", "?action=unit.", "?action=login", f"?who={other_admin}", "?who=别局",
                  f"?since={today().date()}", "?before=2999-01-01T00:00:00%2B00:00"):
        page = await client.get("/audit" + query)
        assert page.status_code == 200
        shown = page.text.replace(f'value="{other_admin}"', "")  # the typed filter is echoed back, nothing else
        assert "别局单位" not in shown, query
        for secret in foreign_strings(other_bureau):
            assert secret not in shown, (query, secret)
    assert rows(await client.get(f"/audit?who={other_admin}")) == []
    async with quiet_client(app) as api:
        response = await api.get("/api/v1/audit-events", params={"who": other_admin},
                                 headers=await bearer(bureau, role))
        assert response.status_code == 200 and response.json() == []
        everything = await api.get("/api/v1/audit-events", headers=await bearer(bureau, role))
    for secret in ["别局单位", *foreign_strings(other_bureau)]:
        assert secret not in everything.text


async def test_login_failures_with_no_bureau_stay_out_of_every_bureau(bureau, browser, app):
    async with quiet_client(app) as anonymous:
        assert (await login(anonymous, "nobody-at-all", "Wrong-Password-1!")).status_code == 401
    for role in READERS:
        client = await browser(bureau, role)
        page = await client.get("/audit")
        assert "nobody-at-all" not in page.text and "登录失败" not in page.text


# --- issue 14 finding 14: extreme dates in the filters are a message, never a 500 --------------------------

EXTREME_DATES = ["9999-12-31", "0001-01-01", "1-01-01", "99999-12-31", "2026-02-30", "9999-99-99", "２０２６-０１-０１",
                 "1e400", "-1", "2026-01-01\r\nX: y"]
EXTREME_TIMES = ["9999-12-31T23:59:59", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                 "0001-01-01T00:00:00", "2026-01-01T25:00:00"]


async def test_until_9999_12_31_is_a_clear_message(bureau, browser, app):
    client = await browser(bureau, Role.admin)
    page = await client.get("/audit?until=9999-12-31")
    assert page.status_code == 422 and "日期超出范围" in page.text
    async with quiet_client(app) as api:
        response = await api.get("/api/v1/audit-events?until=9999-12-31", headers=await bearer(bureau, Role.admin))
    assert response.status_code == 422 and "日期超出范围" in response.text


async def test_fuzz_audit_filters_with_extreme_dates(bureau, browser, app):
    client = await browser(bureau, Role.admin)
    headers = await bearer(bureau, Role.admin)
    queries = [{name: value} for name in ("since", "until") for value in EXTREME_DATES]
    queries += [{"before": value} for value in EXTREME_TIMES + EXTREME_DATES]
    queries += [{"since": "9999-12-31", "until": "0001-01-01"}, {"since": "2026-01-01", "until": "9999-12-31",
                                                                "before": "9999-12-31T23:59:59-14:00"}]
    async with quiet_client(app) as api:
        for query in queries:
            for response in (await client.get("/audit?" + urlencode(query)),
                             await api.get("/api/v1/audit-events?" + urlencode(query), headers=headers)):
                assert response.status_code in (200, 422), (query, response.status_code, response.text[:200])
                if response.status_code == 422:
                    assert "Traceback" not in response.text and "提交的内容有误" in response.text or \
                        "日期超出范围" in response.text, (query, response.text[:300])
