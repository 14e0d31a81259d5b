"""从地址获取坐标: geopy's real Nominatim client against a stub server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import AuditEvent, GeocodeCache, Institution
from registry.services.infra import geocoding
from tests.factories import MAONAN
from tests.test_institutions import home_form

FOUND = "油城五路 1 号"
MISSING = "无此路 99 号"
ABROAD = "香榭丽舍大街"
SLOW = "慢慢路 3 号"
TIMEOUT = 0.5
MAONAN_HIT = {"lat": "21.6628", "lon": "110.9253", "display_name": "油城五路, 茂南区, 茂名市, 广东省, 中国"}
PARIS_HIT = {"lat": "48.8698", "lon": "2.3078", "display_name": "Avenue des Champs-Élysées, Paris, France"}


class NominatimStub(BaseHTTPRequestHandler):
    """Answers /search as Nominatim does, by what the address contains; records each query."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        query = parse_qs(url.query).get("q", [""])[0]
        self.server.queries.append(query)
        places = []
        if SLOW in query:
            time.sleep(TIMEOUT * 2)
        elif FOUND in query:
            places = [MAONAN_HIT]
        elif ABROAD in query:
            places = [PARIS_HIT]
        body = json.dumps(places, ensure_ascii=False).encode()
        try:
            self.send_response(200 if url.path == "/search" else 404)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout case)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NominatimStub)
    server.queries = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def nominatim(app, stub, monkeypatch):
    """The app geocodes with the stub server; the settings are restored afterwards."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    settings = {"GEOCODER": "nominatim", "GEOCODER_DOMAIN": f"127.0.0.1:{stub.server_address[1]}",
                "GEOCODER_SCHEME": "http", "GEOCODER_MIN_DELAY": 0, "GEOCODER_TIMEOUT": TIMEOUT}
    saved = {key: app.config[key] for key in settings}
    app.config.update(settings)
    geocoding.reset()
    stub.queries.clear()
    yield stub
    app.config.update(saved)
    geocoding.reset()


def geocode(app, address: str, region_name: str | None = "茂南区") -> geocoding.GeocodeResult:
    with app.app_context():
        result = geocoding.geocode(address, region_name)
        db.session.commit()
        return result


def cached_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(GeocodeCache))


def test_an_address_in_maoming_is_found_with_its_source(app, nominatim):
    result = geocode(app, FOUND)
    assert (result.status, result.lat, result.lon, result.source) == ("found", 21.6628, 110.9253, "nominatim")
    assert "茂南区" in result.display_name and "请核对" in result.message
    assert nominatim.queries == [f"茂名市 茂南区 {FOUND}"]


@pytest.mark.parametrize(
    ("address", "region", "query"),
    [
        ("  油城五路\u30001 号 ", "茂南区", "茂名市 茂南区 油城五路 1 号"),
        ("茂名市电白区水东镇", "电白区", "茂名市电白区水东镇"),
        ("人民路 5 号", None, "茂名市 人民路 5 号"),
        ("   ", "茂南区", ""),
    ],
)
def test_the_query_names_the_city_and_district_once(address, region, query):
    assert geocoding.build_query(address, region) == query


def test_an_unknown_address_is_not_found_and_the_answer_is_cached(app, nominatim):
    result = geocode(app, MISSING)
    assert (result.status, result.lat, result.lon) == ("not_found", None, None)
    assert "未找到该地址的坐标" in result.message
    assert cached_rows(app) == 1


def test_a_place_outside_china_is_not_found(app, nominatim):
    result = geocode(app, ABROAD)
    assert result.status == "not_found"
    assert result.lat is None


def test_a_timeout_is_unavailable_and_not_cached(app, nominatim):
    result = geocode(app, SLOW)
    assert result.status == "unavailable"
    assert result.message == "地理编码服务暂时无法连接，请稍后再试或手工填写坐标"
    assert len(nominatim.queries) == 2  # one retry, then it gives up
    assert cached_rows(app) == 0


def test_a_cached_address_is_not_asked_again(app, nominatim):
    first = geocode(app, FOUND)
    second = geocode(app, f" {FOUND.replace(' ', '  ')} ")  # the same address, spaced differently
    assert len(nominatim.queries) == 1
    assert (second.status, second.lat, second.lon, second.source) == (
        "found", first.lat, first.lon, "nominatim")


def test_without_a_geocoder_the_user_is_told_to_type_coordinates(app, nominatim):
    app.config["GEOCODER"] = "none"
    result = geocode(app, FOUND)
    assert result.status == "disabled"
    assert result.message == "未配置地理编码服务，请手工填写经纬度"
    assert nominatim.queries == []


def test_the_form_offers_the_button(client, civil):
    page = client.get("/institutions/new?kind=eldercare").text
    assert 'data-geocode="/institutions/geocode"' in page and "从地址获取坐标" in page
    assert 'id="geocode-status"' in page and 'role="status"' in page


def test_the_button_answers_health_staff_with_coordinates(app, client, health, nominatim):
    response = client.post("/institutions/geocode", data={"address": FOUND, "region_code": MAONAN})
    assert response.status_code == 200
    answer = response.get_json()
    assert {k: answer[k] for k in ("status", "lat", "lon", "source")} == {
        "status": "found", "lat": 21.6628, "lon": 110.9253, "source": "nominatim"}
    assert answer["message"]
    assert nominatim.queries == [f"茂名市 茂南区 {FOUND}"]
    assert cached_rows(app) == 1  # committed by the endpoint


def test_the_button_says_when_no_geocoder_is_configured(app, client, civil, nominatim):
    app.config["GEOCODER"] = "none"
    answer = client.post("/institutions/geocode", data={"address": FOUND, "region_code": MAONAN}).get_json()
    assert answer["status"] == "disabled"
    assert answer["message"] == "未配置地理编码服务，请手工填写经纬度"


def test_a_district_official_may_not_use_the_button(client, make, auth, nominatim):
    make.user("district_official", MAONAN, username="quzhang")
    auth.login("quzhang")
    response = client.post("/institutions/geocode", data={"address": FOUND, "region_code": MAONAN})
    assert response.status_code == 403
    assert nominatim.queries == []


def test_the_command_fills_homes_without_coordinates_and_audits_it(app, runner, make, nominatim):
    home = make.home(address=FOUND)
    make.home(address=MISSING)
    make.home(address="")  # nothing to look up
    result = runner.invoke(args=["registry", "geocode"])
    assert result.exit_code == 0, result.output
    assert "1 found, 1 not found, 0 failed" in result.output
    with app.app_context():
        record = db.session.get(Institution, home)
        assert (record.lat, record.lon, record.coord_source) == (21.6628, 110.9253, "nominatim")
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == home, AuditEvent.action == "update")
        ).one()
        assert (event.before["lat"], event.after["lat"]) == (None, 21.6628)
        assert event.after["coord_source"] == "nominatim"
        assert event.user_id is None  # the system


def test_the_command_fails_without_a_geocoder(app, runner, make, nominatim):
    app.config["GEOCODER"] = "none"
    make.home(address=FOUND)
    result = runner.invoke(args=["registry", "geocode"])
    assert result.exit_code != 0
    assert "GEOCODER" in result.output


def test_saving_coordinates_from_the_button_records_the_geocoder(app, client, civil):
    response = client.post("/institutions/new?kind=eldercare",
                           data=home_form(lat="21.6628", lon="110.9253", coord_source="nominatim"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Institution.coord_source)) == "nominatim"


def test_typed_coordinates_on_a_geocoded_record_are_recorded_as_manual(app, client, civil, make):
    home = make.home(lat=21.6628, lon=110.9253, coord_source="nominatim")
    page = client.get(f"/institutions/{home}/edit").text
    assert 'name="coord_source" type="hidden" value=""' in page  # not prefilled from the record
    with app.app_context():
        version = db.session.get(Institution, home).version
    response = client.post(f"/institutions/{home}/edit",
                           data=home_form(lat="21.7", lon="110.9", coord_source="", version=version))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Institution, home).coord_source == "manual"
