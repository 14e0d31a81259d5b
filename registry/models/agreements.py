"""医养签约协议: care agreements between a home and a medical institution."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.clock import utcnow
from registry.models.institutions import Institution
from registry.vocab import SERVICES


class Agreement(db.Model):
    """One signed agreement; the same pair may hold several."""

    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint("valid_from <= valid_to", name="valid_range"),
        CheckConstraint("eldercare_id <> medical_id", name="two_parties"),
        # The home's agreements in force on a day, answered from the index alone.
        Index("ix_agreements_home_term", "eldercare_id", "valid_to", "valid_from", "terminated_on",
              "medical_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    eldercare_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    medical_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    signed_on: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)  # the last day it applies
    terminated_on: Mapped[date | None] = mapped_column(Date)  # first day it no longer applies
    visit_frequency: Mapped[str] = mapped_column(String(200), default="")
    fees: Mapped[str] = mapped_column(Text, default="")
    referral_terms: Mapped[str] = mapped_column(Text, default="")
    eldercare_duties: Mapped[str] = mapped_column(Text, default="")
    medical_duties: Mapped[str] = mapped_column(Text, default="")
    scan_name: Mapped[str | None] = mapped_column(String(200))  # file under instance/scans

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    eldercare: Mapped[Institution] = relationship(foreign_keys=[eldercare_id])
    medical: Mapped[Institution] = relationship(foreign_keys=[medical_id])
    service_rows: Mapped[list[AgreementService]] = relationship(
        cascade="all, delete-orphan", order_by="AgreementService.service"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def services(self) -> list[str]:
        """Services covered, in the order of the fixed list."""
        chosen = {row.service for row in self.service_rows}
        return [s for s in SERVICES if s in chosen] + sorted(chosen - SERVICES.keys())

    def __repr__(self) -> str:
        return f"<Agreement {self.code}>"


class AgreementService(db.Model):
    """One service (服务内容) an agreement covers, from the fixed list."""

    __tablename__ = "agreement_services"

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
