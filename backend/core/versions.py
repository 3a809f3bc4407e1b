"""The one stale-form rule. Every form (and API body) that changes a versioned row carries the version it was
shown with; every route reads it with `form_version`, and every service compares it with `is_stale`. A missing
or malformed version is refused the same way everywhere (409, one message): the form may have been shown before
any change, so saving it could overwrite what someone else did. A version that is not the row's is refused by
the domain, with a message saying what changed (409 too). The service decides when, so an object of another
bureau is still "not found" and a role without the right is still refused first where the service checks that
first; the route calls the service inside its `try`, so the page shows the form again with what was typed.

Services take `version: int | None`; None is for callers without a form (the demo, benchmarks, tests), which
act on what they have just read."""

from typing import Annotated, Any

from pydantic import BeforeValidator

from backend.errors import Conflict
from backend.i18n import _

UNREADABLE = -1  # what `form_version` makes of a missing or malformed version; no row has it


def missing_version_message() -> str:
    return _("无法确认您看到的是最新内容（表单缺少版本信息）。请刷新页面，看到最新内容后再操作；您这次的操作没有保存。")


def form_version(value: Any) -> int:
    """A form's hidden version (or an API body's) as a whole number; UNREADABLE when it is missing or malformed
    ("", "abc", "-1", 5,000 digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else UNREADABLE
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    return int(text) if text.isdecimal() and len(text) <= 9 else UNREADABLE


def is_stale(current: int, given: int | None) -> bool:
    """Whether a form shown at version `given` is stale for a row now at `current`; a missing or malformed one is
    refused here (a caller without a form passes None and is never stale)."""
    if given is not None and given < 0:
        raise Conflict(missing_version_message())
    return given is not None and given != current


def _lenient(value: Any) -> int | None:
    return form_version(value) if value is not None else None


# An API body's `version`: optional in shape, so that a missing or malformed one reaches the service through
# `form_version` and is refused with the same 409 and message as a form's, not as a type error.
BodyVersion = Annotated[int | None, BeforeValidator(_lenient)]
