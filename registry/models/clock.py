"""Time: timestamps are stored as naive UTC; the registry's day is Maoming's (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (as both databases store it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def registry_zone() -> ZoneInfo:
    """The zone whose calendar the registry keeps (setting `REGISTRY_TIMEZONE`)."""
    name = current_app.config.get("REGISTRY_TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else DEFAULT_TIMEZONE
    return ZoneInfo(name)


def today() -> date:
    """The registry's day: today in Maoming, whatever zone the server's clock keeps (docs/indicators.md)."""
    return datetime.now(UTC).astimezone(registry_zone()).date()
