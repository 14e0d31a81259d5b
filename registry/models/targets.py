"""Target sets: a policy document's targets, as data."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db


class TargetSet(db.Model):
    """A policy document (e.g. 茂卫〔2020〕63号) whose targets are tracked."""

    __tablename__ = "target_sets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    document_no: Mapped[str] = mapped_column(String(64), default="")
    issued_on: Mapped[date | None] = mapped_column(Date)

    targets: Mapped[list[Target]] = relationship(
        back_populates="target_set", order_by="Target.id", cascade="all, delete-orphan"
    )


class Target(db.Model):
    """One target: an indicator, a scope, a deadline and a threshold."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("target_set_id", "indicator", "scope", "deadline", name="one_per_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_set_id: Mapped[str] = mapped_column(ForeignKey("target_sets.id"))
    indicator: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))  # "city" or a region code
    deadline: Mapped[date] = mapped_column(Date)
    comparator: Mapped[str] = mapped_column(String(2), default=">=")
    value: Mapped[float] = mapped_column(Numeric(12, 4))
    clause: Mapped[str] = mapped_column(String(32), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    edited: Mapped[bool] = mapped_column(default=False)  # an administrator changed it
    version: Mapped[int] = mapped_column(Integer, default=1)  # an edit over a newer save is refused

    target_set: Mapped[TargetSet] = relationship(back_populates="targets")

    __mapper_args__ = {"version_id_col": version}
