"""Timestamps are stored as naive UTC; pages show them in Asia/Shanghai."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (as both databases store it)."""
    return datetime.now(UTC).replace(tzinfo=None)
