"""Institutions: elder-care homes and medical institutions in one table."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    event,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.clock import Span, as_day, utcnow
from registry.vocab import ELDERCARE, MEDICAL


class Institution(db.Model):
    """A 养老机构 (`eldercare`) or 医疗卫生机构 (`medical`); `kind` never changes."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint("kind in ('eldercare', 'medical')", name="kind"),
        CheckConstraint("beds_total is null or beds_total >= 0", name="beds_total"),
        CheckConstraint(
            "beds_nursing is null or (beds_nursing >= 0 and beds_nursing <= beds_total)",
            name="beds_nursing",
        ),
        CheckConstraint("closed_on is null or closed_on >= opened_on", name="closed_after_opened"),
        # Few institutions are hosted: a partial index holds only those, so the
        # compliance counts start from the units instead of scanning every row.
        Index("ix_institutions_hosted", "host_id", postgresql_where=text("host_id IS NOT NULL"),
              sqlite_where=text("host_id IS NOT NULL")),
        Index("ix_institutions_kind_region", "kind", "region_code"),
        # The nearby search narrows by a latitude/longitude box first.
        Index("ix_institutions_lat_lon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    coord_source: Mapped[str] = mapped_column(String(32), default="")
    ownership: Mapped[str | None] = mapped_column(String(16))
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    contact_person: Mapped[str] = mapped_column(String(64), default="")  # 联系人
    phone: Mapped[str] = mapped_column(String(64), default="")  # 联系电话
    note: Mapped[str] = mapped_column(String(1000), default="")  # 备注
    # eldercare
    beds_total: Mapped[int | None] = mapped_column(Integer)
    beds_nursing: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[str | None] = mapped_column(String(8))
    # 特困供养服务机构 / 敬老院 (63号 一(三) puts 失能特困 elders first)
    special_support: Mapped[bool] = mapped_column(default=False)
    # both kinds: 备案号 (homes; filed clinics)
    filing_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    # medical
    medical_type: Mapped[str | None] = mapped_column(String(32), index=True)
    level: Mapped[str | None] = mapped_column(String(8))
    licence_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    two_in_one: Mapped[bool] = mapped_column(default=False)
    insurance_applied_on: Mapped[date | None] = mapped_column(Date)
    insurance_designated_on: Mapped[date | None] = mapped_column(Date)
    # 设立单位: the institution that set this one up (usually inside it, 内设)
    host_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    host: Mapped[Institution | None] = relationship(
        remote_side="Institution.id", back_populates="units"
    )
    units: Mapped[list[Institution]] = relationship(
        back_populates="host", order_by="Institution.name"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_eldercare(self) -> bool:
        return self.kind == ELDERCARE

    @property
    def is_medical(self) -> bool:
        return self.kind == MEDICAL

    @hybrid_method
    def operating_on(self, day: date) -> bool:
        """Operating on `day`: opened on or before it and not yet closed."""
        return self.opened_on <= day and (self.closed_on is None or self.closed_on > day)

    @operating_on.expression
    def operating_on(cls, day: date):  # noqa: N805 - SQL side of the hybrid
        return and_(cls.opened_on <= day, or_(cls.closed_on.is_(None), cls.closed_on > day))

    span_fields = ("opened_on", "closed_on")

    @staticmethod
    def span(values: dict) -> Span:
        """The days `operating_on` holds for a snapshot's values: from opened_on, up to closed_on."""
        return as_day(values.get("opened_on")), as_day(values.get("closed_on"))

    def __repr__(self) -> str:
        return f"<Institution {self.code} {self.name}>"


# What the compliance counts read of a host or of an agreement's medical party, found by id without
# the wide row: at national size PostgreSQL then looks the hosts up one by one instead of walking the
# whole table, and finds them in shared buffers (bench/README.md, 2026-12-08). SQLite finds a row by
# its rowid as cheaply and has no INCLUDE, so the index is PostgreSQL's alone, created by DDL.
STATE_INDEX = "ix_institutions_id_state"
event.listen(Institution.__table__, "after_create", DDL(
    f"CREATE INDEX {STATE_INDEX} ON institutions (id) "
    "INCLUDE (kind, region_code, medical_type, opened_on, closed_on)").execute_if(dialect="postgresql"))
