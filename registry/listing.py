"""What every list page shares: reading filters from the query string, paging."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy import Select

from registry.extensions import db

F = TypeVar("F")


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
    return db.paginate(query, per_page=per_page, error_out=False, max_per_page=200)
