"""Regions of 茂名市 (docs/data-model.md): data seeded from `seeds/regions.csv`."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db


class Region(db.Model):
    """A district, county-level city or management zone."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))  # district | county_city | zone
    position: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
