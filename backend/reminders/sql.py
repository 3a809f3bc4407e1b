"""Messages written by SQL: a translated template whose %(name)s placeholders become PostgreSQL format() arguments,
so a sweep renders thousands of reminders in one statement, in the bureau's language."""

import re

from backend.i18n import _
from backend.tasks.sql import not_carried_over
from backend.tasks.states import owing

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Shared by every rule: an assignment still being worked on, of a task whose units still owe the work (推进中 and
# no 办结 request waiting, backend/tasks/states.py: a 待交办 task — sent back by its lead unit — runs no clock).
OPEN_ASSIGNMENT = "a.state IN ('assigned', 'acknowledged', 'in_progress')"
OPEN_TASK = f"{owing()} AND {not_carried_over()}"


def sql_message(template: str, columns: dict[str, str], param: str, params: dict) -> str:
    """The SQL expression for `template` (an untranslated N_ string); binds the translated format to `param`."""
    translated = _(template)
    names = _PLACEHOLDER.findall(translated)
    params[param] = _PLACEHOLDER.sub("%s", translated)
    arguments = "".join(f", {columns[name]}" for name in names)
    return f"format(CAST(:{param} AS text){arguments})"
