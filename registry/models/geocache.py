"""Answers of the geocoding service, kept so an address is looked up once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.clock import utcnow


class GeocodeCache(db.Model):
    """One normalised address and what the provider answered; lat/lon null when not found."""

    __tablename__ = "geocode_cache"
    __table_args__ = (UniqueConstraint("provider", "query", name="uq_geocode_cache_provider_query"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    query: Mapped[str] = mapped_column(String(400))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    display_name: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<GeocodeCache {self.provider} {self.query}>"
