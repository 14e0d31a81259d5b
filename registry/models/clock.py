"""Time: timestamps are stored as naive UTC; the registry's day is Maoming's (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


# The days a rule holds for a record: [first, end), end excluded; None for an end that is open.
Span = tuple[date | None, date | None]


def as_day(value: date | str | None) -> date | None:
    """A day from a record's snapshot (ISO text, as the audit trail keeps it) or a date; None stays None."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


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


def day_start(day: date) -> datetime:
    """The stored (naive UTC) time at which the registry's `day` begins, for ranges over timestamps."""
    return datetime.combine(day, datetime.min.time(), registry_zone()).astimezone(UTC).replace(tzinfo=None)


def local(moment: datetime) -> datetime:
    """A stored (naive UTC) time as the registry's wall-clock time, without tzinfo (for a spreadsheet cell)."""
    return moment.replace(tzinfo=UTC).astimezone(registry_zone()).replace(tzinfo=None)
