"""Property-based tests of /api/v1 against its own OpenAPI document, in process (WSGI).

Schemathesis loads /api/v1/openapi.json (which validates it), generates calls to every
operation, valid and invalid, and checks each answer: never a server error, and every
answer as the document describes it (status, content type, schema).
"""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.factories import DIANBAI, GAOZHOU, MAONAN
from tests.test_api_review import decide_change, request_change, submit_report


@pytest.fixture()
def token(app, make) -> str:
    """A city administrator's token, on a small register that lives for the whole run:
    change requests pending, approved and returned, and 茂南's approved report of 2022-Q4."""
    home = make.home(name="滨江颐养院", lat=21.66, lon=110.92, rating="2A")
    unit = make.medical(host=home, medical_type="医务室", name="滨江颐养院医务室")
    hospital = make.medical(region=DIANBAI, name="电白人民医院", lat=21.5, lon=111.0)
    closed = make.home(region=GAOZHOU, name="高州老人院", closed_on=date(2023, 6, 30))
    make.medical(region=GAOZHOU, host=make.home(region=GAOZHOU), medical_type="护理院", two_in_one=True)
    make.agreement(home, hospital, services=("健康管理", "急救"))
    make.agreement(closed, hospital, valid_to=date(2022, 12, 31))
    make.agreement(closed, unit, terminated_on=date(2022, 1, 1))
    district, city = make.user("civil_affairs", MAONAN), make.user("civil_affairs")
    request_change(app, district, "茂南待审养老院")
    decide_change(app, request_change(app, district, "茂南通过养老院"), city)
    decide_change(app, request_change(app, district, "茂南退回养老院"), city, reason="缺少备案号")
    submit_report(app, MAONAN, make.user("health", MAONAN), make.user("health"))
    return make.token(make.user("admin", username="api-admin"))[1]


@pytest.fixture()
def api_schema(app, token):
    """The document as the app serves it; every generated call carries the bearer token."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @schema.auth()
    class Bearer:
        def get(self, case, context) -> str:
            return token

        def set(self, case, data: str, context) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


def test_the_document_is_valid_openapi_3_0(app):
    document = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    assert document.raw_schema["openapi"] == "3.0.3"
    document.validate()  # against the OpenAPI 3.0 meta-schema; raises when invalid


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_api_answers_as_its_document_says(case):
    case.call_and_validate()
