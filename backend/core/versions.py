"""The one stale-form rule. Every form (and API body) that changes a versioned row carries the version it was
shown with, and every route reads it with `form_version`: a missing or malformed version is refused the same way
everywhere (409, one message), since the form may have been shown before any change and saving it could
overwrite what someone else did. A version that is not the row's is refused by the domain's service, with a
message saying what changed. Either way the page shows the form again with what was typed.

Services take `version: int | None`; None is for callers without a form (the demo, benchmarks, tests), which
act on what they have just read."""

from typing import Annotated, Any

from pydantic import BeforeValidator

from backend.errors import Conflict
from backend.i18n import _


def missing_version_message() -> str:
    return _("无法确认您看到的是最新内容（表单缺少版本信息）。请刷新页面，看到最新内容后再操作；您这次的操作没有保存。")


def form_version(value: Any) -> int:
    """A form's hidden version (or an API body's) as a whole number; a missing or malformed one ("", "abc", "-1",
    5,000 digits) is refused."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    if not (text.isdecimal() and len(text) <= 9):
        raise Conflict(missing_version_message())
    return int(text)


def _lenient(value: Any) -> int | None:
    try:
        return form_version(value)
    except Conflict:
        return None


# An API body's `version`: optional in shape, so that a missing or malformed one reaches `form_version` in the
# route and is refused with the same 409 and message as a form's, not as a type error.
BodyVersion = Annotated[int | None, BeforeValidator(_lenient)]
