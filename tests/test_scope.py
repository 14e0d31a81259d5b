"""Scope for district users of two regions, on every record route, export and API endpoint; mass assignment."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import Institution, TrainingRecord, User
from tests.factories import GAOZHOU, MAONAN

REGIONS = {MAONAN: "mn", GAOZHOU: "gz"}
ROLES = ("civil_affairs", "health", "district_official")
# Routes naming one record; {x_home} etc. are filled with the record of one region.
RECORD_ROUTES = [
    ("GET", "/institutions/{home}"), ("GET", "/institutions/{home}/edit"), ("POST", "/institutions/{home}/edit"),
    ("GET", "/institutions/{home}/close"), ("POST", "/institutions/{home}/close"),
    ("GET", "/institutions/{home}/delete"), ("GET", "/institutions/{hospital}"),
    ("GET", "/institutions/{hospital}/edit"), ("GET", "/institutions/new?kind=medical&host={home}"),
    ("GET", "/agreements/new?eldercare={home}"), ("GET", "/agreements/{agreement}"),
    ("GET", "/agreements/{agreement}/edit"), ("POST", "/agreements/{agreement}/terminate"),
    ("GET", "/training/{training}/edit"),
    ("POST", "/training/{training}/delete"), ("GET", "/api/v1/institutions/{home}"),
    ("GET", "/api/v1/institutions/{hospital}"), ("GET", "/api/v1/agreements/{agreement}"),
    ("GET", "/places/nearby.json?home={home}"),
]


@pytest.fixture()
def two_regions(make):
    ids = {}
    for region, prefix in REGIONS.items():
        home = make.home(region, name=f"{prefix}-养老院", lat=21.9 if region == GAOZHOU else 21.66, lon=110.9)
        hospital = make.medical(region, name=f"{prefix}-医院")
        ids[prefix] = {"home": home, "hospital": hospital, "agreement": make.agreement(home, hospital),
                       "training": make.training(region)}
    return ids


def _cases():
    for region in REGIONS:
        for role in ROLES:
            for method, route in RECORD_ROUTES:
                yield pytest.param(role, region, method, route, id=f"{role}@{region} {method} {route}")


@pytest.mark.parametrize(("role", "region", "method", "route"), _cases())
def test_the_other_regions_records_are_not_found(client, make, auth, two_regions, role, region, method, route):
    make.user(role, region, username="district-user")
    auth.login("district-user")
    own, other = (two_regions["mn"], two_regions["gz"]) if region == MAONAN else (two_regions["gz"],
                                                                                   two_regions["mn"])
    # 404 out of scope; a 403 for a role that may not do this anywhere reveals nothing either.
    assert client.open(route.format(**other), method=method).status_code in (403, 404)
    assert client.open(route.format(**own), method=method).status_code != 404


@pytest.mark.parametrize("region", list(REGIONS))
@pytest.mark.parametrize("path", ["/data/export/institutions.csv", "/data/export/agreements.csv",
                                  "/api/v1/institutions", "/api/v1/agreements", "/training",
                                  "/compliance/export.xlsx", "/map/data.json"])
def test_lists_exports_and_the_api_hold_only_the_users_region(client, make, auth, two_regions, region, path):
    make.user("health", region, username="district-health")
    auth.login("district-health")
    response = client.get(path)
    assert response.status_code == 200
    own, other = REGIONS[region], REGIONS[GAOZHOU if region == MAONAN else MAONAN]
    body = response.data if path.endswith(".xlsx") else response.get_data(as_text=True)
    if response.is_json:  # names are escaped in JSON: compare the decoded text
        body = json.dumps(response.get_json(), ensure_ascii=False)
    if path.endswith(".xlsx"):
        from io import BytesIO

        from openpyxl import load_workbook

        cells = " ".join(str(c) for ws in load_workbook(BytesIO(body)).worksheets
                         for row in ws.iter_rows(values_only=True) for c in row if c is not None)
        body = cells
    assert f"{other}-养老院" not in body and f"{other}-医院" not in body
    if path in ("/data/export/institutions.csv", "/api/v1/institutions", "/map/data.json"):
        assert f"{own}-养老院" in body


def test_a_district_user_cannot_register_in_another_district(app, client, make, auth):
    make.user("civil_affairs", MAONAN, username="minzheng-mn")
    auth.login("minzheng-mn")
    form = {"name": "越权登记的养老院", "region_code": GAOZHOU, "opened_on": "2020-01-01", "beds_total": "10"}
    response = client.post("/institutions/new?kind=eldercare", data=form)
    assert response.status_code == 200 and "Not a valid choice" not in response.text
    with app.app_context():
        assert db.session.scalar(select(Institution).where(Institution.name == "越权登记的养老院")) is None


def test_a_host_from_another_district_cannot_be_attached(app, client, make, auth, two_regions):
    make.user("civil_affairs", MAONAN, username="minzheng-mn")
    auth.login("minzheng-mn")
    with app.app_context():
        other_hospital = db.session.get(Institution, two_regions["gz"]["hospital"]).code
        home = db.session.get(Institution, two_regions["mn"]["home"])
        form = {"name": home.name, "region_code": MAONAN, "opened_on": "2020-01-01", "beds_total": "100",
                "host_code": other_hospital, "version": home.version}
    response = client.post(f"/institutions/{two_regions['mn']['home']}/edit", data=form)
    assert f"未找到机构编码为 {other_hospital} 的设立单位" in response.text
    with app.app_context():
        assert db.session.get(Institution, two_regions["mn"]["home"]).host_id is None


def test_a_training_record_cannot_be_moved_to_another_district(app, client, make, auth, two_regions):
    make.user("health", MAONAN, username="weijian-mn")
    auth.login("weijian-mn")
    record = two_regions["mn"]["training"]
    form = {"held_on": "2022-05-01", "organiser": "改区县", "region_code": GAOZHOU, "medical_nursing": "1",
            "caregivers": "1", "version": "1"}
    client.post(f"/training/{record}/edit", data=form)
    with app.app_context():
        assert db.session.get(TrainingRecord, record).region_code == MAONAN


def test_fields_a_form_does_not_offer_are_ignored(app, client, make, auth):
    make.user("health", MAONAN, username="weijian-mn")
    auth.login("weijian-mn")
    client.post("/account/password", data={"current": "x", "password": "y", "confirm": "y", "role": "admin",
                                           "region_code": "", "active": "0"})
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "weijian-mn"))
        assert (user.role, user.region_code, user.active) == ("health", MAONAN, True)
