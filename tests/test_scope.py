"""Scope for district users of two regions, on every record route, export and API endpoint; mass assignment."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import Institution, TrainingRecord, User
from tests.factories import GAOZHOU, MAONAN

REGIONS = {MAONAN: "mn", GAOZHOU: "gz"}
ROLES = ("civil_affairs", "health", "district_official")
CIVIL, HEALTH, OFFICIAL = ROLES
EVERYONE = frozenset(ROLES)
# Routes naming one record, and the roles that may use it on a record of their own region (docs/permissions.md);
# {home} etc. are filled with the records of one region.
RECORD_ROUTES = [
    ("GET", "/institutions/{home}", EVERYONE), ("GET", "/institutions/{home}/edit", {CIVIL}),
    ("POST", "/institutions/{home}/edit", {CIVIL}), ("GET", "/institutions/{home}/close", {CIVIL}),
    ("POST", "/institutions/{home}/close", {CIVIL}), ("GET", "/institutions/{home}/delete", set()),
    ("GET", "/institutions/{hospital}", EVERYONE), ("GET", "/institutions/{hospital}/edit", {HEALTH}),
    ("GET", "/institutions/new?kind=medical&host={home}", {HEALTH}),
    ("GET", "/agreements/new?eldercare={home}", {HEALTH}), ("GET", "/agreements/{agreement}", EVERYONE),
    ("GET", "/agreements/{agreement}/edit", {HEALTH}), ("POST", "/agreements/{agreement}/terminate", {HEALTH}),
    ("GET", "/training/{training}/edit", {CIVIL, HEALTH}),
    ("POST", "/training/{training}/delete", {CIVIL, HEALTH}), ("GET", "/api/v1/institutions/{home}", EVERYONE),
    ("GET", "/api/v1/institutions/{hospital}", EVERYONE), ("GET", "/api/v1/agreements/{agreement}", EVERYONE),
    ("GET", "/places/nearby.json?home={home}", EVERYONE),
]
# Registering decides by role (403) before the record it starts from is looked up (404).
ROLE_FIRST = {"/institutions/new?kind=medical&host={home}", "/agreements/new?eldercare={home}"}


@pytest.fixture()
def two_regions(make):
    ids = {}
    for region, prefix in REGIONS.items():
        home = make.home(region, name=f"{prefix}-养老院", lat=21.9 if region == GAOZHOU else 21.66, lon=110.9)
        hospital = make.medical(region, name=f"{prefix}-医院")
        ids[prefix] = {"home": home, "hospital": hospital, "agreement": make.agreement(home, hospital),
                       "training": make.training(region)}
    return ids


def _cases(which: str):
    """(role, region, method, route) for every district user and route; `which` picks the kind of answer."""
    for region in REGIONS:
        for role in ROLES:
            for method, route, allowed in RECORD_ROUTES:
                refused_by_role = route in ROLE_FIRST and role not in allowed
                if which == ("refused" if refused_by_role else "hidden"):
                    yield pytest.param(role, region, method, route, id=f"{role}@{region} {method} {route}")
                if which == "own":
                    expected = "200/302" if role in allowed else "403"
                    yield pytest.param(role, region, method, route, role in allowed,
                                       id=f"{role}@{region} {method} {route} -> {expected}")


def _login(make, auth, role: str, region: str) -> None:
    make.user(role, region, username="district-user")
    assert auth.login("district-user").status_code == 302


def _records(two_regions, region: str) -> tuple[dict, dict]:
    """(the user's own region's records, the other region's)."""
    own, other = ("mn", "gz") if region == MAONAN else ("gz", "mn")
    return two_regions[own], two_regions[other]


@pytest.mark.parametrize(("role", "region", "method", "route"), _cases("hidden"))
def test_the_other_regions_records_are_not_found(client, make, auth, two_regions, role, region, method, route):
    _login(make, auth, role, region)
    _own, other = _records(two_regions, region)
    assert client.open(route.format(**other), method=method).status_code == 404


@pytest.mark.parametrize(("role", "region", "method", "route"), _cases("refused"))
def test_registering_from_another_regions_record_is_refused_by_role_first(client, make, auth, two_regions,
                                                                          role, region, method, route):
    _login(make, auth, role, region)
    _own, other = _records(two_regions, region)
    assert client.open(route.format(**other), method=method).status_code == 403


@pytest.mark.parametrize(("role", "region", "method", "route", "allowed"), _cases("own"))
def test_the_own_regions_records_answer_by_role(client, make, auth, two_regions, role, region, method, route,
                                                allowed):
    _login(make, auth, role, region)
    own, _other = _records(two_regions, region)
    status = client.open(route.format(**own), method=method).status_code
    if allowed:
        assert status in (200, 302), f"{role} {method} {route}: expected 200 or 302, got {status}"
    else:
        assert status == 403, f"{role} {method} {route}: expected 403, got {status}"


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
    assert f"未找到编码或名称为“{other_hospital}”的设立单位" in response.text
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


def offered(page: str, name: str) -> list[str]:
    """The options' labels of the page's drop-down `name`, in order."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, name
    return [" ".join(label.split()) for label in re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))]


# Every page offering a region, with the drop-down's name, and the role that opens it.
REGION_PICKERS = [("/homes", "region", OFFICIAL), ("/medical", "region", OFFICIAL), ("/agreements", "region", OFFICIAL),
                  ("/training", "region", OFFICIAL), ("/compliance/todo", "region", OFFICIAL),
                  ("/review", "region", OFFICIAL), ("/map", "region", OFFICIAL),
                  ("/institutions/new?kind=eldercare", "region_code", CIVIL), ("/training/new", "region_code", HEALTH)]


@pytest.mark.parametrize(("path", "name", "role"), REGION_PICKERS)
def test_a_district_user_is_offered_their_own_region_alone(client, make, auth, path, name, role):
    _login(make, auth, role, GAOZHOU)
    response = client.get(path)
    assert response.status_code == 200
    assert [label for label in offered(response.text, name) if label != "请选择"] == ["高州市"]


@pytest.mark.parametrize(("path", "name", "role"), REGION_PICKERS)
def test_a_city_user_is_offered_every_region(client, make, auth, path, name, role):
    make.user(role if role != OFFICIAL else "admin", None, username="city-user")
    auth.login("city-user")
    labels = offered(client.get(path).text, name)
    assert labels[0] in ("全部", "全市", "请选择")
    assert labels[1:] == ["茂南区", "电白区", "高州市", "化州市", "信宜市", "茂名滨海新区", "茂名高新区"]
