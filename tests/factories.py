"""Build registers for tests through the same services the pages use."""

from __future__ import annotations

from datetime import date
from itertools import count

from sqlalchemy import event, select

from registry.extensions import db
from registry.models import Institution, Target, User
from registry.services import agreements, institutions, training, users
from registry.services.infra import tokens

PASSWORD = "Correct-horse-battery-9"
MAONAN, DIANBAI, GAOZHOU, BINHAI = "440902", "440904", "440981", "440900-BH"
_names = count(1)


class Factories:
    """Each method commits and returns the new record's id."""

    def __init__(self, app):
        self.app = app

    def user(self, role: str, region: str | None = None, username: str | None = None) -> int:
        with self.app.app_context():
            name = username or f"{role}-{region or 'city'}-{next(_names)}"
            user = users.create(name, PASSWORD, role, region)
            db.session.commit()
            return user.id

    def home(self, region: str = MAONAN, host: int | None = None, **values) -> int:
        """An operating 养老机构 (100 beds, opened 2020-01-01) unless told otherwise."""
        defaults = {"name": f"测试养老院{next(_names)}", "region_code": region,
                    "opened_on": date(2020, 1, 1), "beds_total": 100}
        return self._institution("eldercare", defaults | values, host)

    def medical(self, region: str = MAONAN, host: int | None = None, **values) -> int:
        """An operating 医疗卫生机构 (综合医院 by default)."""
        defaults = {"name": f"测试医院{next(_names)}", "region_code": region,
                    "opened_on": date(2020, 1, 1), "medical_type": "综合医院"}
        return self._institution("medical", defaults | values, host)

    def _institution(self, kind: str, values: dict, host: int | None) -> int:
        with self.app.app_context():
            values["host"] = db.session.get(Institution, host) if host else None
            institution = institutions.create(kind, values)
            db.session.commit()
            return institution.id

    def agreement(self, home: int, medical: int, services=("双向转诊", "预约就诊绿色通道"),
                  **values) -> int:
        """An agreement valid 2021-01-01 … 2030-12-31 unless told otherwise."""
        with self.app.app_context():
            defaults = {"valid_from": date(2021, 1, 1), "valid_to": date(2030, 12, 31),
                        "signed_on": date(2020, 12, 20)}
            data = defaults | values | {
                "eldercare": db.session.get(Institution, home),
                "medical": db.session.get(Institution, medical),
            }
            agreement = agreements.create(data, list(services))
            db.session.commit()
            return agreement.id

    def training(self, region: str = MAONAN, **values) -> int:
        """A training record of 2022 (50 + 50 people) unless told otherwise."""
        with self.app.app_context():
            defaults = {"held_on": date(2022, 5, 1), "organiser": f"培训主办{next(_names)}",
                        "region_code": region, "medical_nursing": 50, "caregivers": 50}
            record = training.create(defaults | values)
            db.session.commit()
            return record.id

    def token(self, user_id: int, name: str = "测试令牌") -> tuple[int, str]:
        """An API token for a user: (id, the plain token)."""
        with self.app.app_context():
            plain, token = tokens.issue(db.session.get(User, user_id), name)
            db.session.commit()
            return token.id, plain

    def target_id(self, indicator: str = "eldercare_run_medical") -> int:
        """The id of a seeded target of `indicator`."""
        with self.app.app_context():
            return db.session.scalars(select(Target.id).where(Target.indicator == indicator)).first()


def count_statements(app, client, path: str) -> int:
    """How many SQL statements one GET of `path` runs (it must answer 200)."""
    seen = []
    with app.app_context():
        engine = db.engine

    def tally(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", tally)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", tally)
    return len(seen)
