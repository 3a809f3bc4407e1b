"""arq's WorkerSettings: the jobs and cron schedule `luoshi worker` runs. Job bodies call services."""

from arq import Worker, cron

import backend.wiring  # noqa: F401 — subscribes the higher layers to core.events (docs/ARCHITECTURE.md)
from backend.accounts.jobs import purge_expired_sessions
from backend.bulletins.jobs import draft_bulletins
from backend.config import get_settings
from backend.core.jobs import redis_settings
from backend.core.observability import configure_logging
from backend.db import dispose_engine
from backend.delivery.jobs import deliver_outbox
from backend.evidence.jobs import catch_up_thumbnails, make_evidence_thumbnail
from backend.holidays.jobs import refresh_calendar
from backend.reminders.jobs import sweep_reminders
from backend.reports.jobs import refresh_all_lights
from backend.reviews.jobs import open_quarterly_reviews
from backend.tenancy.jobs import purge_form_keys


async def startup(ctx: dict) -> None:
    configure_logging(get_settings().log_level)
    await refresh_calendar()


async def shutdown(ctx: dict) -> None:
    await dispose_engine()


class WorkerSettings:
    functions = [purge_expired_sessions, purge_form_keys, refresh_all_lights, make_evidence_thumbnail,
                 catch_up_thumbnails, deliver_outbox, sweep_reminders, draft_bulletins, open_quarterly_reviews]
    # Lights at 00:30 and 06:30 UTC (08:30 and 14:30 in China): each bureau's own date decides.
    cron_jobs = [
        cron(purge_expired_sessions, minute={7}, run_at_startup=False),
        cron(purge_form_keys, hour={19}, minute={13}, run_at_startup=False),  # daily, 03:13 in China
        cron(refresh_all_lights, hour={0, 6}, minute={30}, run_at_startup=True),
        cron(deliver_outbox, second={0}, run_at_startup=True),  # every minute; retries wait out their backoff
        # Every half hour: each bureau's rules on its own clock; the first run of a day decides that day's reminders.
        cron(sweep_reminders, minute={5, 35}, run_at_startup=True),
        # Hourly and at start (after a Redis outage): thumbnails whose job was never queued, or lost with Redis.
        cron(catch_up_thumbnails, minute={50}, run_at_startup=True),
        # 月通报: daily at 22:20 and 23:20 UTC (06:20 / 07:20 in China); a bureau whose date is the 1st gets a draft.
        cron(draft_bulletins, hour={22, 23}, minute={20}, run_at_startup=True),
        # 季点评: daily at 22:40 UTC (06:40 in China); in a quarter's first days each bureau's past quarter opens once.
        cron(open_quarterly_reviews, hour={22}, minute={40}, run_at_startup=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5
    keep_result = 3600


def build_worker(**overrides) -> Worker:
    """The Redis address is read when the worker starts (the embedded Redis only exists by then)."""
    options = {
        key: getattr(WorkerSettings, key)
        for key in ("functions", "cron_jobs", "on_startup", "on_shutdown", "max_tries", "keep_result")
    }
    return Worker(**{**options, "redis_settings": redis_settings(), **overrides})
