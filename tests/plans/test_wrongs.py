"""Going back after publishing a plan showed a live 发布 button that ended on an error page (issue 13, point 9)."""

from backend.core.roles import Role
from tests.plans.test_intake import _draft, _import_id, _upload
from tests.support.fixtures import post_form


async def test_the_preview_after_publishing_says_so_and_links_to_the_plan(signed_in, bureau):
    client = await signed_in(bureau, Role.admin)
    import_id = _import_id(await _upload(client, "003_b8ce0ceb39984800.txt"))
    preview_url = f"/plans/imports/{import_id}"
    draft = await _draft(bureau, import_id)
    # A plan of an earlier year: its tasks would be born overdue, so publishing asks for the confirmation.
    published = await post_form(client, f"{preview_url}/publish", {"version": draft.version, "confirm_dates": "1"},
                                page=preview_url)
    assert published.status_code == 303
    plan_url = published.headers["location"].split("?")[0]
    back = await client.get(preview_url)  # the browser's back button: the page is fetched again (no-store)
    assert back.status_code == 200
    assert "这份草稿已经发布" in back.text and f'href="{plan_url}"' in back.text
    assert f'action="{preview_url}/publish"' not in back.text and f'action="{preview_url}/edit"' not in back.text
    # A 发布 pressed on a page left open elsewhere lands on the published plan, not on an error page.
    again = await post_form(client, f"{preview_url}/publish", {"version": draft.version}, page="/plans")
    assert again.status_code == 303 and again.headers["location"].split("?")[0] == plan_url
