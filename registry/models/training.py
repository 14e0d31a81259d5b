"""Training records (63号 clause 十九): people trained as nursing staff and caregivers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.clock import Span, as_day, utcnow


class TrainingRecord(db.Model):
    """One training session or course: when, who organised it, how many were trained."""

    __tablename__ = "training_records"
    __table_args__ = (
        CheckConstraint("medical_nursing >= 0 and caregivers >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    organiser: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    medical_nursing: Mapped[int] = mapped_column(Integer, default=0)  # 医疗护理人员
    caregivers: Mapped[int] = mapped_column(Integer, default=0)  # 养老护理员
    note: Mapped[str] = mapped_column(String(500), default="")

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    span_fields = ("held_on",)

    @staticmethod
    def span(values: dict) -> Span:
        """The days whose figures a snapshot's values can count in: from held_on on."""
        return as_day(values.get("held_on")), None

    @property
    def trained(self) -> int:
        return self.medical_nursing + self.caregivers
