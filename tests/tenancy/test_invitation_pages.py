"""Invitation links through the pages: accepting one, and links that are invalid, expired, or asked about
other bureaus' login names."""

import pytest

from backend.config import get_settings
from backend.core.roles import Role
from tests.support.browser import quiet_client
from tests.support.fixtures import login, unique
from tests.tenancy.helpers import invite
from tests.tenancy.matrix import BAD_INVITE, assert_denied_page


@pytest.mark.parametrize("token", ["bogus", "x" * 150, "%E9%82%80%E8%AF%B7", "lsk_" + "A" * 43])
async def test_invalid_invite_link_says_so(browsers, token):
    browser = await browsers(None, None)
    assert_denied_page(await browser.get(f"/invite/{token}"), BAD_INVITE, 404)
    response = await browser.post(f"/invite/{token}", {"username": unique("u"), "password": "Some-Pass-123",
                                                       "password_again": "Some-Pass-123"})
    assert_denied_page(response, BAD_INVITE, 404)


async def test_invitation_through_the_pages(bureau, browsers, app):
    admin = await browsers(bureau, Role.admin)
    name = unique("新人")
    response = await admin.post("/admin/members/invite", {"display_name": name, "role": "unit_staff",
                                                          "unit_id": str(bureau.units["school"].id)})
    assert response.status_code == 200
    link = response.text.split('<code class="secret">')[1].split("</code>")[0]
    assert link.startswith(get_settings().base_url)
    path = link.removeprefix(get_settings().base_url.rstrip("/"))
    invitee = await browsers(None, None)
    page = await invitee.get(path)
    assert page.status_code == 200 and bureau.tenant.name in page.text and name in page.text
    response = await invitee.post(path, {"username": unique("xr-"), "password": "Short", "password_again": "Short"})
    assert response.status_code == 422 and "密码至少需要" in response.text
    username = unique("xr-")
    response = await invitee.post(path, {"username": username, "password": "Joined-Today-9!",
                                         "password_again": "Joined-Today-9!"})
    assert response.status_code == 303 and response.headers["location"] == "/login?joined=1"
    again = await invitee.get(path)
    assert_denied_page(again, BAD_INVITE, 404)
    async with quiet_client(app) as fresh:
        assert (await login(fresh, username, "Joined-Today-9!")).status_code == 303
        assert name in (await fresh.get("/")).text


async def test_expired_invite_link_says_so(bureau, browsers, monkeypatch):
    monkeypatch.setattr(get_settings(), "invite_valid_days", -1)
    _invitation, raw = await invite(bureau, "过期")
    browser = await browsers(None, None)
    assert_denied_page(await browser.get(f"/invite/{raw}"), "邀请链接已过期", 422)
    response = await browser.post(f"/invite/{raw}", {"username": unique("u"), "password": "Some-Pass-123!",
                                                     "password_again": "Some-Pass-123!"})
    assert_denied_page(response, "邀请链接已过期", 422)


async def test_invite_with_a_taken_username_rerenders_the_form(bureau, browsers):
    _invitation, raw = await invite(bureau, "重名")
    browser = await browsers(None, None)
    taken = bureau.username(Role.leader)
    response = await browser.post(f"/invite/{raw}", {"username": taken, "password": "Some-Pass-123!",
                                                     "password_again": "Some-Pass-123!"})
    assert response.status_code == 409, response.status_code
    assert "该登录名不可用" in response.text and f'value="{taken}"' in response.text


async def test_invitation_page_does_not_reveal_login_names_of_other_bureaus(bureau, other_bureau, browsers):
    """Issue 14 finding 12: the invitation form is not an oracle for other bureaus' login names. A name in use
    is refused without being confirmed as an account, and one link answers about a handful of names at most."""
    _invitation, raw = await invite(bureau, "探测")
    browser = await browsers(None, None)
    theirs = [other_bureau.username(role) for role in Role]
    answers = []
    for name in theirs:
        answers.append(await browser.post(f"/invite/{raw}", {"username": name, "password": "Some-Pass-123!",
                                                            "password_again": "Some-Pass-123!"}))
    for name, answer in zip(theirs, answers, strict=True):
        assert f"“{name}”" not in answer.text and "已被使用" not in answer.text
    assert [a.status_code for a in answers][:3] == [409, 409, 409]
    assert answers[-1].status_code == 429 and "请联系本局管理员" in answers[-1].text
    # Past the limit, even a free name is not answered about through this link.
    free = await browser.post(f"/invite/{raw}", {"username": unique("free-"), "password": "Some-Pass-123!",
                                                "password_again": "Some-Pass-123!"})
    assert free.status_code == 429
