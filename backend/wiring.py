"""Where the higher layers answer the lower layers' events (core/events.py): the one inversion of the layering,
in one place. web, the worker, the CLI and the tests import this module; docs/ARCHITECTURE.md says why."""

from backend.core import events
from backend.reports.lights import relight

events.on_tasks_changed(relight)
