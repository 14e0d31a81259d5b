"""What every list page shares: reading filters from the query string, paging."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any, TypeVar

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import Select

from registry.errors import InvalidInput
from registry.extensions import db

F = TypeVar("F")
MAX_PAGE = 2**31 - 1  # a larger page number overflows the database's OFFSET


def int_arg(name: str, label: str, minimum: int, maximum: int) -> int | None:
    """A whole number from the query string (None when absent, empty or not a number); 400 outside the range."""
    value = request.args.get(name, type=int)
    if value is not None and not minimum <= value <= maximum:
        raise InvalidInput(_("%(label)s应为 %(minimum)s 到 %(maximum)s 之间的整数",
                             label=label, minimum=minimum, maximum=maximum))
    return value


def date_arg(name: str, label: str) -> date | None:
    """A day from the query string (YYYY-MM-DD; None when absent or empty); 400 naming the field when it is not one."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("%(label)s应为 YYYY-MM-DD 格式的日期", label=label)) from None


def filters_from_request(cls: type[F]) -> F:
    """Build a filters dataclass from the query string (unknown keys ignored)."""
    values: dict[str, Any] = {}
    for field in fields(cls):
        raw = request.args.get(field.name)
        if raw is None:
            continue
        values[field.name] = raw == "1" if field.type in ("bool", bool) else raw.strip()
    return cls(**values)


def paginate(query: Select):
    """One page of `query`, the page number and size from the query string."""
    size = current_app.config["PAGE_SIZE"]
    try:
        per_page = max(1, min(int(request.args.get("per_page", size)), 200))
    except ValueError:
        per_page = size
    page = int_arg("page", _("页码"), 1, MAX_PAGE) or 1
    return db.paginate(query, page=page, per_page=per_page, error_out=False, max_per_page=200)
