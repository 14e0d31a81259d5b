"""Saved column mappings ("映射方案"): a bureau's header confirmed once is read the same way again.

A profile keeps, for one table (institutions or agreements), the field of each
header as normalised (bureau_tables.normalise), and the kind chosen for a sheet
without a kind column. It is proposed automatically for a sheet whose header has
the same signature, and the command line applies one by name (`--profile`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select

from registry.extensions import db
from registry.models import ImportProfile, User
from registry.services import RecordInvalid
from registry.services.formats.bureau import Layout, SheetChoice
from registry.services.formats.bureau_tables import normalise

MAX_NAME = 100


def signature(layout: Layout) -> str:
    """The same for two sheets whose table and headers (normalised, in order) are the same."""
    headers = [normalise(column.header) for column in layout.table.columns]
    return hashlib.sha256(json.dumps([layout.table.table, headers], ensure_ascii=False).encode()).hexdigest()


def matching(layouts: Iterable[Layout]) -> dict[str, ImportProfile]:
    """The profile saved for each sheet's header, by sheet key (the latest when several match)."""
    layouts = list(layouts)
    signatures = {signature(layout): layout.key for layout in layouts}
    if not signatures:
        return {}
    found = db.session.scalars(select(ImportProfile).where(ImportProfile.signature.in_(signatures))
                               .order_by(ImportProfile.updated_at)).all()
    return {signatures[profile.signature]: profile for profile in found}


def named(name: str) -> ImportProfile | None:
    """The profile called `name`."""
    return db.session.scalar(select(ImportProfile).where(ImportProfile.name == name.strip()))


def names() -> list[str]:
    """Every saved profile's name, for messages and the mapping page."""
    return list(db.session.scalars(select(ImportProfile.name).order_by(ImportProfile.name)))


def choice(profile: ImportProfile, layout: Layout) -> SheetChoice:
    """The sheet read with the profile: each column whose header the profile knows gets its field."""
    fields: dict[int, str | None] = {}
    for column in layout.table.columns:
        header = normalise(column.header)
        if header in profile.fields:
            fields[column.index] = profile.fields[header] or None
    kind = profile.kind if not layout.kind_column else None
    return SheetChoice(kind or layout.kind, fields)


def save(name: str, layout: Layout, chosen: SheetChoice, user: User | None) -> ImportProfile:
    """Keep the mapping of one sheet under `name` (a profile of that name is replaced)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise RecordInvalid({"profile": _("映射方案名称不能为空，且不超过 %(n)s 个字", n=MAX_NAME)})
    fields = {}
    for column in layout.table.columns:
        if column.sequence and column.index not in chosen.fields:
            continue
        wanted = chosen.fields.get(column.index, column.field)
        fields[normalise(column.header)] = wanted or ""
    profile = named(name) or ImportProfile(name=name)
    if profile.id is None:
        db.session.add(profile)
    profile.table, profile.signature, profile.kind = layout.table.table, signature(layout), chosen.kind
    profile.fields = fields
    profile.headers = [column.header for column in layout.table.columns]
    profile.created_by_id = user.id if user is not None else profile.created_by_id
    db.session.flush()
    return profile
