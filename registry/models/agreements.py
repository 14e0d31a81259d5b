"""医养签约协议: care agreements between a home and a medical institution."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    exists,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from registry.extensions import db
from registry.models.clock import Span, as_day, utcnow
from registry.models.institutions import Institution
from registry.vocab import SERVICES

# Built once: adapting a fresh alias's columns costs about a millisecond on every statement.
_PARTY_HOME = aliased(Institution, name="party_home")
_PARTY_MEDICAL = aliased(Institution, name="party_medical")


def services_in_order(chosen: set[str]) -> list[str]:
    """Services in the order of the fixed list (SERVICES), any other after them alphabetically."""
    return [s for s in SERVICES if s in chosen] + sorted(chosen - SERVICES.keys())


class Agreement(db.Model):
    """One signed agreement; the same pair may hold several."""

    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint("valid_from <= valid_to", name="valid_range"),
        CheckConstraint("eldercare_id <> medical_id", name="two_parties"),
        # The home's agreements in force on a day, answered from the index alone.
        Index("ix_agreements_home_term", "eldercare_id", "valid_to", "valid_from", "terminated_on",
              "medical_id"),
        # Agreements ending within the notice period (the bell on every page counts them).
        Index("ix_agreements_valid_to", "valid_to"),
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
        return services_in_order({row.service for row in self.service_rows})

    # "Active" (docs/data-model.md) is defined here and nowhere else: compliance, the status, the
    # lists, the warnings and the API all ask these hybrids.

    @hybrid_method
    def in_force_on(self, day: date) -> bool:
        """Within its term on `day` (valid_from ≤ day ≤ valid_to) and not terminated on or before it."""
        return self.valid_from <= day <= self.valid_to and (self.terminated_on is None or self.terminated_on > day)

    @in_force_on.expression
    def in_force_on(cls, day: date):  # noqa: N805 - SQL side of the hybrid
        return and_(cls.valid_from <= day, cls.valid_to >= day,
                    or_(cls.terminated_on.is_(None), cls.terminated_on > day))

    span_fields = ("valid_from", "valid_to", "terminated_on")

    @staticmethod
    def span(values: dict) -> Span:
        """The days `in_force_on` holds for a snapshot's values: valid_from to valid_to, up to terminated_on."""
        last, terminated = as_day(values.get("valid_to")), as_day(values.get("terminated_on"))
        ends = [day for day in (last and last + timedelta(days=1), terminated) if day is not None]
        return as_day(values.get("valid_from")), min(ends, default=None)

    @hybrid_method
    def parties_operating_on(self, day: date) -> bool:
        """Both the home and the medical institution operate on `day`."""
        return self.eldercare.operating_on(day) and self.medical.operating_on(day)

    @parties_operating_on.expression
    def parties_operating_on(cls, day: date):  # noqa: N805 - SQL side of the hybrid
        home = _PARTY_HOME
        return and_(exists().where(home.id == cls.eldercare_id, home.operating_on(day)), cls._medical_operating_on(day))

    @classmethod
    def _medical_operating_on(cls, day: date):
        medical = _PARTY_MEDICAL
        return exists().where(medical.id == cls.medical_id, medical.operating_on(day))

    @hybrid_method
    def active_on(self, day: date) -> bool:
        """有效 on `day`: in force and both parties operating (docs/data-model.md)."""
        return self.in_force_on(day) and self.parties_operating_on(day)

    @active_on.expression
    def active_on(cls, day: date):  # noqa: N805 - SQL side of the hybrid
        return and_(cls.in_force_on(day), cls.parties_operating_on(day))

    @classmethod
    def active_for_operating_home(cls, day: date):
        """`active_on(day)` in SQL, for the agreements of a home the statement already knows operates on `day`.

        A count over operating homes asks for each home whether it has an active agreement; asking
        again, agreement by agreement, whether that same home operates doubled the lookups
        (bench/README.md, indicators at national size).
        """
        return and_(cls.in_force_on(day), cls._medical_operating_on(day))

    @hybrid_method
    def expires_within(self, day: date, days: int) -> bool:
        """Its last day falls within `days` days of `day` (待办: 将在60天内到期, for an active one)."""
        return self.valid_to <= day + timedelta(days=days)

    def __repr__(self) -> str:
        return f"<Agreement {self.code}>"


class AgreementService(db.Model):
    """One service (服务内容) an agreement covers, from the fixed list."""

    __tablename__ = "agreement_services"
    # The agreements covering a service: the referral share asks for them all at once.
    __table_args__ = (Index("ix_agreement_services_service", "service", "agreement_id"),)

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
