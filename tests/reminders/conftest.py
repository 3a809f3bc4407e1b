"""The same real SMTP sink and webhook receiver as the delivery tests."""

from tests.delivery.conftest import receiver, smtp

__all__ = ["receiver", "smtp"]
