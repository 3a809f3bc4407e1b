"""Times in pages: stored in UTC, shown on the clock of the bureau of whoever is looking."""

from datetime import UTC, datetime
from types import SimpleNamespace

from backend.core.templating import env


def render_time(actor) -> str:
    request = SimpleNamespace(state=SimpleNamespace(actor=actor))
    return env.from_string("{{ moment | localtime }}").render(request=request, moment=datetime(2026, 11, 30, 17, 30,
                                                                                               tzinfo=UTC))


def test_a_timestamp_is_shown_in_the_bureau_time_zone_of_the_reader():
    # 17:30 UTC is 01:30 next day in Beijing (UTC+8) and 23:30 the same day in Urumqi (UTC+6).
    assert render_time(SimpleNamespace(timezone="Asia/Shanghai")) == "2026-12-01 01:30"
    assert render_time(SimpleNamespace(timezone="Asia/Urumqi")) == "2026-11-30 23:30"
    # A page without a signed-in member (the login page) uses the platform's default, Beijing time.
    assert render_time(None) == "2026-12-01 01:30"
