"""Reporting periods (上报期): quarters (`2022-Q4`) and years (`2022`), each counted as of its last day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

FIRST_YEAR = 2020  # 茂卫〔2020〕63号: nothing was reported before it
QUARTER_NAMES = {1: _l("一"), 2: _l("二"), 3: _l("三"), 4: _l("四")}
_PATTERN = re.compile(r"^(\d{4})(?:-Q([1-4]))?$")


class UnknownPeriod(ValueError):
    """Text that names no period."""


@dataclass(frozen=True, order=True)
class Period:
    """A quarter (`quarter` 1–4) or a whole year (`quarter` None)."""

    year: int
    quarter: int | None = None

    @classmethod
    def parse(cls, text: str) -> Period:
        """`2022-Q4` or `2022`; UnknownPeriod for anything else."""
        found = _PATTERN.match((text or "").strip())
        if not found or not FIRST_YEAR <= int(found.group(1)) <= 9998:
            raise UnknownPeriod(_("报告期应为年度（如 2022）或季度（如 2022-Q4）"))
        return cls(int(found.group(1)), int(found.group(2)) if found.group(2) else None)

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.quarter}" if self.quarter else str(self.year)

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * (self.quarter - 1) + 1 if self.quarter else 1, 1)

    @property
    def last_day(self) -> date:
        """The day the period's figures are counted on."""
        if not self.quarter or self.quarter == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.quarter + 1, 1) - timedelta(days=1)

    @property
    def label(self) -> str:
        """2022年第四季度 / 2022年度, in the interface's language."""
        if self.quarter:
            return _("%(year)s年第%(quarter)s季度", year=self.year, quarter=QUARTER_NAMES[self.quarter])
        return _("%(year)s年度", year=self.year)

    def deadline(self, days: int) -> date:
        """The last day a report of this period is on time."""
        return self.last_day + timedelta(days=days)

    def __str__(self) -> str:
        return self.key


def ended(today: date, years: int = 4) -> list[Period]:
    """The periods that have ended by `today`, newest first: the quarters and years of the last `years` years."""
    found = []
    for year in range(today.year, max(FIRST_YEAR, today.year - years) - 1, -1):
        for period in (Period(year), *(Period(year, q) for q in (4, 3, 2, 1))):
            if period.last_day < today:
                found.append(period)
    return sorted(found, key=lambda p: (p.last_day, p.quarter is None), reverse=True)


def due(today: date) -> list[Period]:
    """The periods reports are due for now: the quarter and the year that ended most recently."""
    found = ended(today)
    latest = (next((p for p in found if p.quarter), None), next((p for p in found if not p.quarter), None))
    return [p for p in latest if p is not None]
