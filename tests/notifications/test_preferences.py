"""Each member's own notification preferences: defaults, a phone number typed as people type it, bad input that
saves nothing, the weekly digest offered to leaders only, and nobody reaching another person's settings."""

import re

from sqlmodel import update

from backend.accounts.models import User
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.notifications.models import NotificationPreference
from backend.notifications.service import normalise_phone
from tests.support.fixtures import create_bureau, post_form

PAGE = "/account/notifications"


async def preference_of(bureau, role: Role) -> NotificationPreference | None:
    async with unit_of_work(bureau.tenant.id) as session:
        return await session.get(NotificationPreference, bureau.actors[role].membership_id)


def ticked(html: str, name: str) -> bool | None:
    """Whether the page's checkbox of that name is ticked (None: there is no such checkbox)."""
    tag = re.search(rf'<input type="checkbox" id="f-{name}" name="{name}"[^>]*>', html)
    return None if tag is None else " checked" in tag.group(0)


def test_phone_numbers_are_normalised():
    assert normalise_phone("１３８ １２３４ ５６７８") == "13812345678"
    assert normalise_phone("+86 138-1234-5678") == "13812345678"
    assert normalise_phone("＋８６１３８１２３４５６７８") == "13812345678"
    assert normalise_phone("0086 13812345678") == "13812345678"
    assert normalise_phone("8613812345678") == "13812345678"
    assert normalise_phone("  ") == ""


async def test_member_turns_email_off_and_sms_on_with_a_full_width_number(signed_in):
    bureau = await create_bureau(emails=True)
    staff = await signed_in(bureau, Role.unit_staff)
    assert 'href="/account/notifications"' in (await staff.get("/account/tokens")).text
    page = await staff.get(PAGE)
    assert page.status_code == 200
    # Without a row: e-mail on, SMS off, the daily digest on; no weekly digest offered to unit staff.
    assert (ticked(page.text, "email"), ticked(page.text, "sms")) == (True, False)
    assert (ticked(page.text, "daily_digest"), ticked(page.text, "weekly_digest")) == (True, None)
    address = bureau.users[Role.unit_staff].email
    assert address and address in page.text and "暂时无法给您发送邮件" not in page.text

    saved = await post_form(staff, PAGE, {"sms": "1", "phone": "＋８６ １３８ １２３４ ５６７８", "daily_digest": "1"},
                            page=PAGE)
    assert saved.status_code == 303 and saved.headers["location"] == PAGE + "?saved=1"
    row = await preference_of(bureau, Role.unit_staff)
    assert (row.email, row.sms, row.phone, row.daily_digest, row.weekly_digest) == (
        False, True, "13812345678", True, True)  # weekly untouched: it was never offered
    page = await staff.get(PAGE + "?saved=1")
    assert "通知设置已保存" in page.text and 'value="13812345678"' in page.text
    assert (ticked(page.text, "email"), ticked(page.text, "sms")) == (False, True)

    api = await staff.get("/api/v1/account/notifications")
    assert api.json() | {} == {"email": False, "sms": True, "phone": "13812345678", "daily_digest": True,
                               "weekly_digest": True, "address": address, "weekly_offered": False}


async def test_sms_without_a_phone_or_with_a_bad_one_saves_nothing(signed_in, bureau):
    head = await signed_in(bureau, Role.unit_head)
    missing = await post_form(head, PAGE, {"email": "1", "sms": "1", "phone": "  "}, page=PAGE)
    assert missing.status_code == 422
    assert 'id="e-phone"' in missing.text and "开启短信提醒需要填写手机号码" in missing.text
    assert ticked(missing.text, "sms") and ticked(missing.text, "email")  # what was ticked stays ticked
    bad = await post_form(head, PAGE, {"sms": "1", "phone": "12345"}, page=PAGE)
    assert bad.status_code == 422 and "11 位中国大陆手机号" in bad.text and 'value="12345"' in bad.text
    landline = await post_form(head, PAGE, {"phone": "010-12345678"}, page=PAGE)
    assert landline.status_code == 422
    assert await preference_of(bureau, Role.unit_head) is None


async def test_weekly_digest_is_offered_to_leaders_and_a_missing_address_is_said(signed_in, bureau):
    async with unit_of_work() as session:
        await session.exec(update(User).where(User.id == bureau.users[Role.leader].id).values(email=None))
    leader = await signed_in(bureau, Role.leader)
    page = await leader.get(PAGE)
    assert ticked(page.text, "weekly_digest") is True
    assert "暂时无法给您发送邮件" in page.text
    saved = await post_form(leader, PAGE, {"email": "1", "daily_digest": "1"}, page=PAGE)
    assert saved.status_code == 303
    row = await preference_of(bureau, Role.leader)
    assert (row.email, row.sms, row.phone, row.daily_digest, row.weekly_digest) == (True, False, "", True, False)


async def test_another_bureaus_member_cannot_affect_them(signed_in, bureau, other_bureau):
    staff = await signed_in(bureau, Role.unit_staff)
    await post_form(staff, PAGE, {"email": "1", "sms": "1", "phone": "13900001111"}, page=PAGE)
    before = (await preference_of(bureau, Role.unit_staff)).model_dump()

    stranger = await signed_in(other_bureau, Role.unit_staff)
    page = await stranger.get(PAGE)
    assert "13900001111" not in page.text and ticked(page.text, "sms") is False
    await post_form(stranger, PAGE, {"sms": "1", "phone": "13700002222"}, page=PAGE)
    put = await stranger.put("/api/v1/account/notifications", json={"email": False, "sms": False},
                             headers={"X-CSRF-Token": await _csrf(stranger)})
    assert put.status_code == 200 and put.json()["sms"] is False
    assert (await preference_of(bureau, Role.unit_staff)).model_dump() == before
    assert (await preference_of(other_bureau, Role.unit_staff)).sms is False  # only their own row changed


async def _csrf(client) -> str:
    from tests.support.fixtures import csrf_of

    return await csrf_of(client, PAGE)
