"""Quiet hours, the bureau's own: nothing leaves the outbox inside them, and the reminder sweep holds its messages
for the morning. Delivery owns the rule because it is the lower of the two."""

from datetime import datetime, time


def in_quiet_hours(local: datetime, start: time, end: time) -> bool:
    """Quiet hours may span midnight (22:00–07:00) or not (12:00–13:30); start == end means none."""
    moment = local.time()
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end
