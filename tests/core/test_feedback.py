"""The one way pages say what an action did (backend/core/feedback.py): once, on the next page, not on a reload,
and only what Luoshi itself said (the message travels signed)."""

from sqlmodel import select

from backend.core.feedback import FLASH_COOKIE, Flash, _encode
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.tenancy.models import Membership
from tests.support.fixtures import post_form, unique


def main(response) -> str:
    text = response.text
    return text[text.index("<main"):text.index("</main>")]


async def _said_once(client, response, page: str, message: str) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == page + "#feedback"
    assert main(await client.get(page)).count(message) == 1
    assert message not in main(await client.get(page))  # a reload does not say it again


async def test_admin_actions_that_said_nothing_now_say_what_they_did(signed_in, bureau):
    admin = await signed_in(bureau, Role.admin)
    name = unique("第二中学")
    created = await post_form(admin, "/admin/units", {"name": name, "kind": "school",
                                                       "parent_id": str(bureau.units["office"].id)},
                              page="/admin/units")
    await _said_once(admin, created, "/admin/units", f"已添加单位“{name}”。")

    async with unit_of_work(bureau.tenant.id) as session:
        member = (await session.exec(select(Membership).where(
            Membership.user_id == bureau.users[Role.leader].id))).one()
    staff_name = bureau.users[Role.leader].display_name
    stopped = await post_form(admin, f"/admin/members/{member.id}/deactivate", {}, page="/admin/members")
    await _said_once(admin, stopped, "/admin/members", f"已停用{staff_name}的账号")
    again = await post_form(admin, f"/admin/members/{member.id}/activate", {}, page="/admin/members")
    await _said_once(admin, again, "/admin/members", f"已恢复{staff_name}的账号。")


async def test_read_all_says_so(signed_in, bureau):
    staff = await signed_in(bureau, Role.unit_staff)
    response = await post_form(staff, "/notifications/read-all", {}, page="/notifications")
    await _said_once(staff, response, "/notifications", "已全部标为已读。")


async def test_a_message_not_signed_by_luoshi_is_not_shown(signed_in, bureau):
    staff = await signed_in(bureau, Role.unit_staff)
    genuine = _encode(Flash("已全部标为已读。"))
    forged = _encode(Flash("请把密码发到 evil@example.com")).rpartition(".")[0] + "." + genuine.rpartition(".")[2]
    staff.cookies.set(FLASH_COOKIE, forged)
    assert "evil@example.com" not in (await staff.get("/notifications")).text
    staff.cookies.set(FLASH_COOKIE, genuine)
    assert main(await staff.get("/notifications")).count("已全部标为已读。") == 1
