"""Display helpers that depend on the interface language."""

from __future__ import annotations

from flask import g, has_request_context, session
from sqlalchemy import select

from registry.extensions import db
from registry.models import Region

LOCALES = ("zh_Hans_CN", "en")


def select_locale() -> str:
    """Chinese unless the user chose English with the language switch (CLI: Chinese)."""
    chosen = session.get("lang") if has_request_context() else None
    return chosen if chosen in LOCALES else "zh_Hans_CN"


def region_names() -> dict[str, str]:
    """Region code → name in the interface language, in §2 order; read once per request."""
    if "region_names" not in g:
        english = select_locale() == "en"
        g.region_names = {
            r.code: (r.name_en or r.name) if english else r.name
            for r in db.session.scalars(select(Region).order_by(Region.position))
        }
    return g.region_names
