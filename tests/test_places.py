"""Places: district boundaries, the nearby search against brute force, the map's data."""

from __future__ import annotations

import random
from datetime import date

import pytest
from geopy.distance import geodesic
from sqlalchemy import insert, select

from registry.extensions import db
from registry.models import Institution
from registry.services import geo
from tests.conftest import table_rows
from tests.factories import BINHAI, GAOZHOU, MAONAN


@pytest.mark.parametrize(
    ("lat", "lon", "region", "inside"),
    [
        (21.66, 110.92, MAONAN, True),
        (21.66, 110.92, GAOZHOU, False),
        (21.92, 110.85, GAOZHOU, True),
        (22.35, 110.95, "440983", True),
        (21.66, 110.64, "440982", True),
        (21.51, 111.01, "440904", True),
        (23.13, 113.26, MAONAN, False),  # 广州
        (21.45, 111.23, BINHAI, None),  # a zone has no boundary: no verdict
    ],
)
def test_a_point_in_its_district(lat, lon, region, inside):
    assert geo.in_region(lat, lon, region) is inside


def test_coordinates_outside_the_region_are_flagged_in_the_todo_list(client, make, health):
    make.home(name="坐标在高州的茂南养老院", region=MAONAN, lat=21.92, lon=110.85)
    make.home(name="坐标正确的养老院", region=MAONAN, lat=21.66, lon=110.92)
    flagged = [row[4] for row in table_rows(client.get("/compliance/todo").text) if "坐标不在所属区县范围内" in row[2]]
    assert flagged == ["坐标在高州的茂南养老院"]


@pytest.fixture()
def scattered(app):
    """400 medical institutions scattered over Maoming (some closed, mixed types), inserted in bulk."""
    rng = random.Random(7)
    rows = []
    for n in range(400):
        rows.append({
            "code": f"YY-R-{n:04d}", "kind": "medical", "name": f"随机医院{n}", "region_code": MAONAN,
            "address": "", "coord_source": "", "lat": rng.uniform(21.4, 22.6), "lon": rng.uniform(110.4, 111.4),
            "opened_on": date(2000, 1, 1), "closed_on": date(2020, 1, 1) if n % 9 == 0 else None,
            "medical_type": rng.choice(["卫生院", "综合医院", "诊所"]), "two_in_one": False, "version": 1,
        })
    with app.app_context():
        db.session.execute(insert(Institution), rows)
        db.session.commit()
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_nearest_equals_brute_force(app, scattered, seed):
    rng = random.Random(seed)
    lat, lon = rng.uniform(21.5, 22.5), rng.uniform(110.5, 111.3)
    medical_type = rng.choice([None, "卫生院"])
    today = date(2024, 1, 1)
    expected = sorted(
        ((geodesic((lat, lon), (r["lat"], r["lon"])).km, r["code"]) for r in scattered
         if r["closed_on"] is None and (medical_type is None or r["medical_type"] == medical_type)),
    )[:8]
    with app.app_context():
        found = geo.nearest_medical(lat, lon, today, limit=8, medical_type=medical_type, start_km=2)
        assert [(round(n.km, 6), n.institution.code) for n in found] == [(round(k, 6), c) for k, c in expected]


def test_the_nearby_list_for_a_home(client, make, health):
    home = make.home(lat=21.66, lon=110.92)
    make.medical(name="近的卫生院", medical_type="卫生院", lat=21.665, lon=110.925)
    make.medical(name="远的医院", lat=22.35, lon=110.94)
    make.medical(name="已停业的医院", lat=21.661, lon=110.921, closed_on=date(2020, 1, 1))
    rows = client.get(f"/places/nearby.json?home={home}&limit=5").get_json()["results"]
    assert [r["name"] for r in rows] == ["近的卫生院", "远的医院"]
    assert rows[0]["nearby"] is True and rows[1]["nearby"] is False
    only = client.get(f"/places/nearby.json?home={home}&type=卫生院").get_json()["results"]
    assert [r["name"] for r in only] == ["近的卫生院"]


def test_a_home_without_coordinates_has_no_nearby_list(client, make, health):
    home = make.home()
    assert client.get(f"/places/nearby.json?home={home}").get_json() == {"results": [], "reason": "no_coordinates"}


def test_the_map_data_is_scoped(client, make, auth):
    home = make.home(name="茂南地图养老院", lat=21.66, lon=110.92)
    hospital = make.medical(name="茂南地图医院", lat=21.67, lon=110.93)
    make.home(name="高州地图养老院", region=GAOZHOU, lat=21.92, lon=110.85)
    make.agreement(home, hospital)
    make.user("district_official", MAONAN, username="lingdao")
    auth.login("lingdao")
    assert client.get("/map").status_code == 200
    data = client.get("/map/data.json").get_json()
    assert sorted(p["name"] for p in data["points"]) == sorted(["茂南地图医院", "茂南地图养老院"])
    assert len(data["lines"]) == 1 and data["truncated"] is False


def test_a_home_page_shows_its_warnings_and_the_nearest_medical_institutions(client, make, health):
    home = make.home(name="大养老院", beds_total=220, lat=21.66, lon=110.92)
    make.medical(name="隔壁卫生院", medical_type="卫生院", lat=21.662, lon=110.921)
    page = client.get(f"/institutions/{home}").text
    assert "200床及以上养老机构未内设合格医疗机构" in page
    assert "周边医疗卫生机构" in page and "隔壁卫生院" in page and "0.2 公里" in page
    assert "/agreements/new?eldercare=" in page and "medical=YY" in page
    make.medical(host=home, medical_type="护理站", lat=21.66, lon=110.92)
    assert "200床及以上养老机构未内设合格医疗机构" not in client.get(f"/institutions/{home}").text


def test_the_agreement_form_takes_the_chosen_nearby_institution(app, client, make, health):
    home = make.home(lat=21.66, lon=110.92)
    form = client.get(f"/agreements/new?eldercare={home}&medical=YY0000009").text
    assert 'value="YY0000009"' in form and 'id="nearby-medical"' in form
    rows = client.get("/places/nearby.json?home_code=" + form.split('id="eldercare_code"')[1]
                      .split('value="')[1].split(" ")[0]).get_json()
    assert rows == {"results": []}


def test_an_agreement_page_warns_of_distance_and_expiry(client, make, health):
    home = make.home(lat=21.66, lon=110.92)
    far = make.medical(lat=22.35, lon=110.94)
    agreement = make.agreement(home, far, valid_from=date(2020, 1, 1),
                               valid_to=date.fromordinal(date.today().toordinal() + 20))
    page = client.get(f"/agreements/{agreement}").text
    assert "签约双方距离超出周边范围" in page and "签约协议将在60天内到期" in page


def test_a_homes_own_unit_is_not_offered_as_a_party(client, make, health):
    home = make.home(lat=21.66, lon=110.92)
    make.medical(host=home, medical_type="医务室", name="自己的医务室", lat=21.66, lon=110.92)
    make.medical(name="别人的医院", lat=21.67, lon=110.93)
    rows = client.get(f"/places/nearby.json?home={home}").get_json()["results"]
    assert [r["name"] for r in rows] == ["别人的医院"]


def test_nearest_in_a_dense_cluster_with_ties_equals_brute_force(app):
    """Hundreds of clinics within a few hundred metres, some at the very same point: order by distance, then id."""
    rng = random.Random(11)
    rows = [{
        "code": f"YY-D-{n:04d}", "kind": "medical", "name": f"密集诊所{n}", "region_code": MAONAN,
        "address": "", "coord_source": "", "opened_on": date(2000, 1, 1), "closed_on": None,
        "lat": 21.66 if n % 10 == 0 else 21.66 + rng.gauss(0, 0.002),
        "lon": 110.925 if n % 10 == 0 else 110.925 + rng.gauss(0, 0.002),
        "medical_type": "诊所", "two_in_one": False, "version": 1,
    } for n in range(300)]
    with app.app_context():
        db.session.execute(insert(Institution), rows)
        db.session.commit()
        ids = {i.code: i.id for i in db.session.scalars(select(Institution))}
        expected = sorted((geodesic((21.6605, 110.9248), (r["lat"], r["lon"])).km, ids[r["code"]]) for r in rows)
        found = geo.nearest_medical(21.6605, 110.9248, date(2024, 1, 1), limit=40)
        assert [(round(n.km, 9), n.institution.id) for n in found] == [(round(k, 9), i) for k, i in expected[:40]]
        assert found[0].institution.name.startswith("密集诊所")


def test_the_map_opens_on_a_district_users_own_region(client, make, auth):
    make.user("district_official", GAOZHOU, username="lingdao-gz")
    auth.login("lingdao-gz")
    for asked in ("", f"?region={MAONAN}"):  # another region's name in the address changes nothing
        page = client.get(f"/map{asked}").text
        assert f'data-region="{GAOZHOU}"' in page and f"/map/data.json?region={GAOZHOU}" in page


def test_the_map_opens_on_the_region_a_city_user_picks(client, health):
    assert 'data-region=""' in client.get("/map").text
    assert f'data-region="{GAOZHOU}"' in client.get(f"/map?region={GAOZHOU}").text
    assert 'data-region=""' in client.get("/map?region=nowhere").text


def test_the_map_data_gives_each_point_its_type_and_beds(client, make, health):
    make.home(name="有床位的养老院", beds_total=120, lat=21.66, lon=110.92)
    make.medical(name="地图卫生院", medical_type="卫生院", lat=21.67, lon=110.93)
    points = {p["name"]: p for p in client.get("/map/data.json").get_json()["points"]}
    assert (points["有床位的养老院"]["type"], points["有床位的养老院"]["beds"]) == ("养老机构", 120)
    assert points["地图卫生院"]["type"] == "卫生院"
