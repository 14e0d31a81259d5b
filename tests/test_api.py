"""The JSON API: institutions and agreements, scoped like the pages, filtered and paged."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import DIANBAI, MAONAN, count_statements


@pytest.fixture()
def register(make) -> dict[str, int]:
    """茂南: a home with a 医务室 inside, a hospital; 电白: a home and a clinic; three agreements."""
    ids = {
        "home": make.home(name="茂南颐养院", lat=21.66, lon=110.92, address="茂南区站前路1号",
                          opened_on=date(2019, 3, 1), beds_total=120, beds_nursing=60, rating="3星"),
        "hospital": make.medical(name="茂南人民医院", lat=21.67, lon=110.93, level="二级"),
        "dianbai_home": make.home(region=DIANBAI, name="电白福寿院"),
        "dianbai_clinic": make.medical(region=DIANBAI, name="电白诊所", medical_type="诊所"),
    }
    ids["clinic"] = make.medical(host=ids["home"], name="茂南颐养院医务室", medical_type="医务室",
                                 insurance_applied_on=date(2021, 6, 1))
    ids["local"] = make.agreement(ids["home"], ids["hospital"], services=("双向转诊", "健康管理"),
                                  visit_frequency="每周一次")
    ids["across"] = make.agreement(ids["dianbai_home"], ids["hospital"])
    ids["elsewhere"] = make.agreement(ids["dianbai_home"], ids["dianbai_clinic"],
                                      terminated_on=date(2022, 7, 1))
    return ids


def _get(client, path: str, **kwargs):
    response = client.get(path, **kwargs)
    assert response.is_json, (path, response.status_code, response.text[:200])
    return response.status_code, response.get_json()


# --- scope ------------------------------------------------------------------------------------


def test_a_district_official_lists_only_their_district(client, register, official):
    status, data = _get(client, "/api/v1/institutions")
    assert status == 200
    assert {i["name"] for i in data["items"]} == {"茂南颐养院", "茂南人民医院", "茂南颐养院医务室"}
    assert {i["region"] for i in data["items"]} == {MAONAN}
    assert data["total"] == 3


def test_another_districts_record_is_not_found(client, register, official):
    for path in (f"/api/v1/institutions/{register['dianbai_home']}",
                 f"/api/v1/agreements/{register['elsewhere']}"):
        status, data = _get(client, path)
        assert status == 404, path
        assert data["error"]


def test_an_agreement_whose_medical_party_is_in_the_district_is_readable(client, register, official):
    status, data = _get(client, f"/api/v1/agreements/{register['across']}")
    assert status == 200
    assert data["medical_code"].startswith("YY") and data["status"] == "active"
    _, listed = _get(client, "/api/v1/agreements")
    assert {a["id"] for a in listed["items"]} == {register["local"], register["across"]}


def test_city_staff_read_every_district(client, register, health):
    _, data = _get(client, "/api/v1/institutions?per_page=200")
    assert data["total"] == 5
    _, agreements = _get(client, "/api/v1/agreements")
    assert agreements["total"] == 3


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/institutions", "/api/v1/institutions/1",
                                  "/api/v1/agreements", "/api/v1/agreements/1"])
def test_without_a_login_or_a_token_the_api_answers_401(client, register, path):
    status, data = _get(client, path)
    assert status == 401
    assert "需要登录" in data["error"]
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_bearer_token_reads_as_its_user(app, make, register):
    _, token = make.token(make.user("district_official", MAONAN))
    client = app.test_client()
    status, data = _get(client, "/api/v1/institutions", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert {i["region"] for i in data["items"]} == {MAONAN}


def test_the_openapi_document_is_public(client):
    status, data = _get(client, "/api/v1/openapi.json")
    assert status == 200
    assert data["openapi"] == "3.0.3"
    assert {"/institutions", "/institutions/{institution_id}", "/agreements",
            "/agreements/{agreement_id}", "/compliance", "/change-requests", "/reports"} <= set(data["paths"])


# --- filters and pagination -------------------------------------------------------------------


@pytest.mark.parametrize(("query", "names"), [
    ("kind=medical", {"茂南人民医院", "茂南颐养院医务室"}),
    ("kind=eldercare", {"茂南颐养院"}),
    ("hosted=yes", {"茂南颐养院医务室"}),
    ("hosted=no&kind=medical", {"茂南人民医院"}),
    ("medical_type=医务室", {"茂南颐养院医务室"}),
    ("q=颐养", {"茂南颐养院", "茂南颐养院医务室"}),
    ("region=440904", set()),
    ("status=closed", set()),
    ("status=operating&kind=eldercare", {"茂南颐养院"}),
])
def test_institution_filters(client, register, official, query, names):
    status, data = _get(client, f"/api/v1/institutions?{query}")
    assert status == 200
    assert {i["name"] for i in data["items"]} == names
    assert data["total"] == len(names)


def test_institutions_sort_by_name_either_way(client, register, official):
    _, ascending = _get(client, "/api/v1/institutions?sort=name")
    _, descending = _get(client, "/api/v1/institutions?sort=name&descending=true")
    names = [i["name"] for i in ascending["items"]]
    assert names == sorted(names)
    assert [i["name"] for i in descending["items"]] == names[::-1]


@pytest.mark.parametrize(("query", "which"), [
    ("status=active", {"local", "across"}),
    ("status=terminated", {"elsewhere"}),
    ("status=expired", set()),
    ("service=健康管理", {"local"}),
    ("region=440904", {"across", "elsewhere"}),
    ("q=福寿", {"across", "elsewhere"}),
])
def test_agreement_filters(client, register, health, query, which):
    status, data = _get(client, f"/api/v1/agreements?{query}")
    assert status == 200
    assert {a["id"] for a in data["items"]} == {register[w] for w in which}


def test_pages_count_the_whole_list(client, make, health):
    for n in range(5):
        make.home(name=f"分页养老院{n}")
    _, first = _get(client, "/api/v1/institutions?per_page=2")
    assert (first["total"], first["pages"], first["page"], first["per_page"]) == (5, 3, 1, 2)
    assert [i["name"] for i in first["items"]] == ["分页养老院0", "分页养老院1"]
    _, last = _get(client, "/api/v1/institutions?per_page=2&page=3")
    assert [i["name"] for i in last["items"]] == ["分页养老院4"]
    _, beyond = _get(client, "/api/v1/institutions?per_page=2&page=4")
    assert beyond["items"] == [] and beyond["total"] == 5


def test_per_page_is_capped_at_200(client, register, health):
    _, data = _get(client, "/api/v1/institutions?per_page=5000")
    assert data["per_page"] == 200 and data["pages"] == 1


def test_an_empty_register_has_no_pages(client, health):
    _, data = _get(client, "/api/v1/agreements")
    assert data == {"items": [], "page": 1, "per_page": 20, "total": 0, "pages": 0}


@pytest.mark.parametrize("query", [
    "page=abc", "page=0", "page=-1", "page=", "page=99999999999", "per_page=0", "per_page=abc",
    "kind=hospital", "kind=", "status=open", "hosted=maybe", "sort=uscc", "descending=yes",
    "medical_type=牙科", "q=%00", "region=4409%0002",
])
def test_a_bad_institutions_query_answers_400_in_chinese(client, register, official, query):
    status, data = _get(client, f"/api/v1/institutions?{query}")
    assert status == 400
    # A NUL character is refused for every request before the API reads its parameters.
    assert ("请求无效" if "%00" in query else "参数") in data["error"]


@pytest.mark.parametrize("query", ["status=valid", "service=按摩", "sort=name", "per_page=-5"])
def test_a_bad_agreements_query_answers_400(client, register, official, query):
    status, data = _get(client, f"/api/v1/agreements?{query}")
    assert status == 400 and data["error"]


@pytest.mark.parametrize("path", ["/api/v1/institutions/abc", "/api/v1/agreements/-1",
                                  "/api/v1/institutions/99999999999999999999", "/api/v1/nothing"])
def test_a_path_that_names_no_record_answers_404_in_json(client, official, path):
    status, data = _get(client, path)
    assert status == 404 and data["error"]


@pytest.mark.parametrize("query", ["as_of=", "as_of=31/12/2022", "as_of=2022-12-31%00", "target_set=%00"])
def test_a_bad_compliance_query_answers_400(client, health, query):
    status, data = _get(client, f"/api/v1/compliance?{query}")
    assert status == 400 and data["error"] and data["request_id"]


# --- what a record looks like -----------------------------------------------------------------


def test_an_institution_carries_the_exchange_fields(client, register, official):
    _, home = _get(client, f"/api/v1/institutions/{register['home']}")
    _, clinic = _get(client, f"/api/v1/institutions/{register['clinic']}")
    assert home["kind"] == "eldercare" and home["region"] == MAONAN
    assert home["opened_on"] == "2019-03-01" and home["closed_on"] is None
    assert (home["beds_total"], home["beds_nursing"], home["rating"]) == (120, 60, "3星")
    assert (home["lat"], home["lon"], home["address"]) == (21.66, 110.92, "茂南区站前路1号")
    assert home["unit_codes"] == [clinic["code"]] and home["host_code"] is None
    assert clinic["host_code"] == home["code"] and clinic["unit_codes"] == []
    assert clinic["medical_type"] == "医务室" and clinic["insurance_applied_on"] == "2021-06-01"
    assert clinic["two_in_one"] is False and clinic["beds_total"] is None
    assert home["id"] == register["home"]


def test_list_items_have_the_same_fields_as_the_record_less_its_units(client, register, official):
    _, data = _get(client, "/api/v1/institutions?hosted=yes")
    _, record = _get(client, f"/api/v1/institutions/{register['clinic']}")
    record.pop("unit_codes")
    assert data["items"] == [record]


def test_an_agreement_carries_its_dates_services_status_and_distance(client, register, official):
    _, data = _get(client, f"/api/v1/agreements/{register['local']}")
    assert (data["signed_on"], data["valid_from"], data["valid_to"]) == ("2020-12-20", "2021-01-01",
                                                                          "2030-12-31")
    assert data["terminated_on"] is None and data["fees"] is None
    assert data["services"] == ["健康管理", "双向转诊"]  # in the order of the fixed list
    assert data["visit_frequency"] == "每周一次"
    assert data["status"] == "active"
    assert 1.0 < data["distance_km"] < 2.0
    _, across = _get(client, f"/api/v1/agreements/{register['across']}")
    assert across["distance_km"] is None  # the 电白 home has no coordinates


def test_a_terminated_agreement_says_so(client, register, health):
    _, data = _get(client, f"/api/v1/agreements/{register['elsewhere']}")
    assert data["status"] == "terminated" and data["terminated_on"] == "2022-07-01"


# --- queries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/institutions?hosted=yes", "/api/v1/agreements"])
def test_a_list_runs_as_many_queries_for_many_rows_as_for_one(app, client, make, health, path):
    home = make.home()
    make.agreement(home, make.medical(host=make.home()))
    few = count_statements(app, client, path)
    for _ in range(4):
        make.agreement(make.home(), make.medical(host=make.home()))
    assert count_statements(app, client, path) == few
