"""The one way a lower layer has a higher one act (docs/ARCHITECTURE.md, "The one inversion").

Tasks change in the tasks layer (created, assigned, 签收, 退回, 延期), but a task's light also depends on its reports,
which live above tasks. So the tasks services announce `tasks_changed` and the reports layer's `relight` answers;
`backend/wiring.py` subscribes it, and web, the worker, the CLI and the tests import that module. Announcing with
nobody subscribed is a bug (a light would silently go stale), so it raises."""

import uuid
from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.actor import Actor

TasksChanged = Callable[[AsyncSession, Actor, list[uuid.UUID], str], Awaitable[None]]
_tasks_changed: list[TasksChanged] = []


def on_tasks_changed(listener: TasksChanged) -> None:
    """Subscribes a listener once (importing the wiring twice adds nothing)."""
    if listener not in _tasks_changed:
        _tasks_changed.append(listener)


async def tasks_changed(session: AsyncSession, actor: Actor, task_ids: list[uuid.UUID], trigger: str) -> None:
    """After a change that can move these tasks' lights; `trigger` says what happened (it is logged with the light)."""
    if not _tasks_changed:
        raise RuntimeError("nothing listens to tasks_changed: import backend.wiring")
    for listener in _tasks_changed:
        await listener(session, actor, task_ids, trigger)
