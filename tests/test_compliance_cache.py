"""The compliance reports are computed once per change that can move them, and shown no longer than they hold.

Once per process with the in-process cache, once for every server sharing a Redis cache; a
change recomputes only the days on or after the first day it can move.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import event, func, inspect, select

from registry import create_app
from registry.extensions import db
from registry.models import Agreement, AuditEvent, Institution, Target, TrainingRecord
from registry.services import agreements, audit, compliance, imports, institutions, seeding, targets, training
from registry.services.formats import exchange
from registry.services.infra import compliance_cache
from tests.conftest import AuthActions, code_of, confirm_upload
from tests.factories import GAOZHOU, MAONAN
from tests.test_agreements import agreement_form
from tests.test_institutions import home_form, medical_form

DAY = "2022-12-31"
YEAR_ENDS = [date(year, 12, 31) for year in range(2019, 2023)]  # the charts end at DAY's year


class Computes(list):
    """The days `compliance.compute` was called for; `fresh(day)` computes past the spy and any cache."""

    def __init__(self, real):
        super().__init__()
        self.fresh = real
        self.pause = 0.0  # seconds each computation takes longer, to let servers meet


@pytest.fixture()
def computes(monkeypatch) -> Computes:
    """The days `compliance.compute` is called for, while the test runs."""
    calls = Computes(compliance.compute)

    def spy(day: date, target_set_id: str = compliance.DEFAULT_TARGET_SET, known=None) -> compliance.Report:
        calls.append(day)
        time.sleep(calls.pause)
        return calls.fresh(day, target_set_id, known)

    monkeypatch.setattr(compliance, "compute", spy)
    return calls


@pytest.fixture()
def register(make) -> dict[str, int]:
    """茂南: a home with a 医务室 and a referral agreement; 高州: a home with none, and a hospital."""
    home = make.home(name="茂南养老院")
    unit = make.medical(host=home, medical_type="医务室", name="茂南养老院医务室")
    agreement = make.agreement(home, make.medical(name="茂南医院"))
    gaozhou_home = make.home(name="高州养老院", region=GAOZHOU)
    gaozhou_hospital = make.medical(name="高州医院", region=GAOZHOU)
    return {"home": home, "unit": unit, "agreement": agreement, "gaozhou_home": gaozhou_home,
            "gaozhou_hospital": gaozhou_hospital}


class Dashboard:
    """The dashboard page as a reader sees it: the figures in the table and the chart data."""

    def __init__(self, text: str):
        self.text = text
        self.data = json.loads(text.split('id="compliance-data">')[1].split("</script>")[0])

    def cell(self, indicator: str, scope: str) -> str:
        """The figure shown in the table, linked to its drill-down (e.g. "1", "50.0%")."""
        found = re.search(rf'href="/compliance/{indicator}/{scope}\?as_of={DAY}">([^<]*)</a>', self.text)
        assert found, (indicator, scope)
        return found.group(1)

    def year_end(self, indicator: str, year: int):
        """The city's value at the end of `year` in the chart."""
        return self.data["indicators"][indicator]["series"][self.data["years"].index(year)]


def view(client) -> Dashboard:
    response = client.get(f"/compliance?as_of={DAY}")
    assert response.status_code == 200
    return Dashboard(response.text)


def version_of(app, model, record_id: int) -> int:
    with app.app_context():
        return db.session.get(model, record_id).version


# --- one computation per process and register state ------------------------------------------


def test_a_second_view_computes_nothing(client, register, health, computes):
    first = view(client)
    assert sorted(computes) == YEAR_ENDS  # the day asked about is a year-end: computed once
    computes.clear()
    second = view(client)
    assert computes == []
    assert second.cell("eldercare_run_medical", MAONAN) == first.cell("eldercare_run_medical", MAONAN) == "1"
    assert second.data == first.data


def test_the_drill_down_workbook_and_api_reuse_the_dashboards_report(client, register, health, computes):
    view(client)
    computes.clear()
    assert "茂南养老院医务室" in client.get(f"/compliance/eldercare_run_medical/city?as_of={DAY}").text
    assert client.get(f"/compliance/export.xlsx?as_of={DAY}").status_code == 200
    api = client.get(f"/api/v1/compliance?as_of={DAY}").get_json()
    assert api["indicators"]["eldercare_run_medical"]["city"]["value"] == 1
    assert computes == []


def test_each_view_reads_the_fingerprint_in_one_statement(app, client, register, health):
    view(client)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "audit_events" in statement:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        view(client)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1


def test_a_cached_report_holds_no_database_rows(app, register):
    with app.app_context():
        report = compliance_cache.report(date.fromisoformat(DAY))
        rows = [report.target_set, *report.regions, *(t.target for t in report.targets)]
        assert rows and all(inspect(row, raiseerr=False) is None for row in rows)
    with app.app_context():  # another session: the same object, still readable
        again = compliance_cache.report(date.fromisoformat(DAY))
        assert again is report
        assert again.target_set.document_no == "茂卫〔2020〕63号"


def test_the_cache_forgets_the_least_recently_used_report():
    cache = compliance_cache.LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


# --- a write shows on the next view ------------------------------------------------------------


def test_a_new_unit_shows_on_the_next_view(app, client, register, admin):
    before = view(client)
    home = register["gaozhou_home"]
    response = client.post(f"/institutions/new?kind=medical&host={home}", data=medical_form(
        name="高州养老院医务室", medical_type="医务室", region_code=GAOZHOU, opened_on="2021-03-01",
        host_code=code_of(app, home)))
    assert response.status_code == 302
    after = view(client)
    assert (before.cell("eldercare_run_medical", GAOZHOU), after.cell("eldercare_run_medical", GAOZHOU)) == ("0", "1")
    assert (before.cell("eldercare_run_medical", "city"), after.cell("eldercare_run_medical", "city")) == ("1", "2")
    assert (before.year_end("eldercare_run_medical", 2021), after.year_end("eldercare_run_medical", 2021)) == (1, 2)
    assert before.year_end("eldercare_run_medical", 2020) == after.year_end("eldercare_run_medical", 2020) == 1


def test_an_edited_opening_day_shows_on_the_next_view(app, client, register, admin):
    before = view(client)
    unit = register["unit"]
    response = client.post(f"/institutions/{unit}/edit", data=medical_form(
        name="茂南养老院医务室", medical_type="医务室", opened_on="2023-06-01", host_code=code_of(app, register["home"]),
        version=version_of(app, Institution, unit)))
    assert response.status_code == 302
    after = view(client)
    assert (before.cell("eldercare_run_medical", MAONAN), after.cell("eldercare_run_medical", MAONAN)) == ("1", "0")
    assert (before.year_end("eldercare_run_medical", 2021), after.year_end("eldercare_run_medical", 2021)) == (1, 0)
    in_2023 = Dashboard(client.get("/compliance?as_of=2023-12-31").text)
    assert in_2023.year_end("eldercare_run_medical", 2023) == 1


def test_a_closed_unit_shows_on_the_next_view(app, client, register, admin):
    before = view(client)
    unit = register["unit"]
    response = client.post(f"/institutions/{unit}/close",
                           data={"closed_on": "2022-07-01", "version": version_of(app, Institution, unit)})
    assert response.status_code == 302
    assert (before.cell("eldercare_run_medical", MAONAN), view(client).cell("eldercare_run_medical", MAONAN)) == (
        "1", "0")


def test_a_new_agreement_shows_on_the_next_view(app, client, register, admin):
    before = view(client)
    form = agreement_form(code_of(app, register["gaozhou_home"]), code_of(app, register["gaozhou_hospital"]),
                          signed_on="2021-12-20", valid_from="2022-01-01", valid_to="2026-12-31")
    assert client.post("/agreements/new", data=form).status_code == 302
    after = view(client)
    assert (before.cell("agreement_coverage", GAOZHOU), after.cell("agreement_coverage", GAOZHOU)) == (
        "0.0%", "100.0%")
    assert (before.cell("agreement_coverage", "city"), after.cell("agreement_coverage", "city")) == ("50.0%", "100.0%")


def test_an_agreements_changed_services_show_on_the_next_view(app, client, register, admin):
    before = view(client)
    agreement_id = register["agreement"]
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        form = agreement_form(agreement.eldercare.code, agreement.medical.code, signed_on="2020-12-20",
                              valid_from="2021-01-01", valid_to="2030-12-31", services=["健康管理"],
                              version=agreement.version)
    assert client.post(f"/agreements/{agreement_id}/edit", data=form).status_code == 302
    after = view(client)
    assert (before.cell("referral_coverage", MAONAN), after.cell("referral_coverage", MAONAN)) == ("100.0%", "0.0%")
    assert after.cell("agreement_coverage", MAONAN) == "100.0%"


def test_a_training_record_shows_on_the_next_view(client, register, admin):
    before = view(client)
    form = {"held_on": "2022-05-01", "organiser": "市民政局", "region_code": MAONAN,
            "medical_nursing": "30", "caregivers": "90", "note": ""}
    assert client.post("/training/new", data=form).status_code == 302
    after = view(client)
    assert (before.cell("trained_in_year", MAONAN), after.cell("trained_in_year", MAONAN)) == ("0", "120")
    assert (before.year_end("trained_in_year", 2022), after.year_end("trained_in_year", 2022)) == (0, 120)


def test_a_target_change_shows_on_the_next_view(app, client, register, admin):
    before = view(client)
    with app.app_context():
        target = db.session.scalars(select(Target).where(
            Target.indicator == "eldercare_run_medical", Target.scope == "city",
            Target.deadline == date(2022, 12, 31))).one()
        target_id = target.id
    form = {"indicator": "eldercare_run_medical", "scope": "city", "deadline": "2022-12-31", "comparator": ">=",
            "value": "1", "clause": "一(一)", "note": ""}
    assert client.post(f"/admin/targets/{target_id}/edit", data=form).status_code == 302
    after = view(client)
    shown = [[t["value"] for t in page.data["indicators"]["eldercare_run_medical"]["targets"]]
             for page in (before, after)]
    assert shown == [[10.0, 30.0], [1.0, 30.0]]
    assert ">差 9<" in before.text and ">差 9<" not in after.text


def test_an_import_shows_on_the_next_view(app, client, register, admin):
    before = view(client)
    home_code = code_of(app, register["gaozhou_home"])
    text = ("机构类别,机构名称,所属区县,成立日期,医疗机构类型,设立单位机构编码\n"
            f"医疗卫生机构,导入的医务室,高州市,2021-03-01,医务室,{home_code}\n")
    report = client.post("/data/import", data={"file": (io.BytesIO(text.encode("utf-8-sig")), "机构.csv")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "检查通过" in report.text
    assert "导入完成" in confirm_upload(client, report.text).text
    after = view(client)
    assert (before.cell("eldercare_run_medical", GAOZHOU), after.cell("eldercare_run_medical", GAOZHOU)) == ("0", "1")


def test_a_write_in_another_process_shows_on_the_next_view(app, client, register, health):
    """Another app server writes straight to the database: only the fingerprint can tell."""
    before = view(client)
    with app.app_context():
        training.create({"held_on": date(2022, 3, 1), "organiser": "高州市卫健局", "region_code": GAOZHOU,
                         "medical_nursing": 5, "caregivers": 0})
        db.session.commit()
    assert (before.cell("trained_in_year", GAOZHOU), view(client).cell("trained_in_year", GAOZHOU)) == ("0", "5")


# --- every write that can change a figure moves the fingerprint -------------------------------


def _home(register) -> Institution:
    return db.session.get(Institution, register["home"])


def _record(register) -> TrainingRecord:
    return db.session.scalars(select(TrainingRecord)).one()


def _changed_regions(tmp_path: Path) -> None:
    rows = (seeding.SEEDS / "regions.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "regions.csv"
    path.write_text("\n".join([rows[0], *(r.replace("茂南区", "茂南新区") for r in rows[1:])]) + "\n",
                    encoding="utf-8")
    try:
        seeding.load_regions(path)
    finally:
        seeding.load_regions()  # the other tests rely on the seeded names


def _new_target_set(tmp_path: Path) -> None:
    data = {"id": "test-set", "title": "测试方案", "document_no": "测〔2024〕1号", "targets": [
        {"indicator": "trained_in_year", "scope": "city", "deadline": "2024-12-31", "value": 100}]}
    (tmp_path / "test.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    seeding.load_target_sets(tmp_path)


def _import(register) -> None:
    text = "机构类别,机构名称,所属区县,成立日期,床位数\n养老机构,导入的养老院,茂南区,2020-01-01,50\n"
    plan = imports.plan(exchange.read_upload(text.encode("utf-8-sig"), "机构.csv"), None)
    assert plan.ok
    imports.apply(plan, None, "机构.csv")


WRITES = {
    "institution created": lambda r, _: institutions.create("eldercare", {
        "name": "新养老院", "region_code": MAONAN, "opened_on": date(2021, 1, 1), "beds_total": 10}),
    "institution edited": lambda r, _: institutions.update(_home(r), {"beds_total": 300}, None),
    "institution closed": lambda r, _: institutions.close(_home(r), date(2023, 1, 1)),
    "institution deleted": lambda r, _: institutions.delete(db.session.get(Institution, r["gaozhou_hospital"])),
    "host closed with its unit": lambda r, _: institutions.close(_home(r), date(2022, 7, 1), close_units=True),
    "agreement created": lambda r, _: agreements.create({
        "eldercare": db.session.get(Institution, r["gaozhou_home"]),
        "medical": db.session.get(Institution, r["gaozhou_hospital"]),
        "valid_from": date(2022, 1, 1), "valid_to": date(2026, 12, 31)}, ["健康管理"]),
    "agreement services changed": lambda r, _: agreements.update(
        db.session.get(Agreement, r["agreement"]), {}, ["健康管理"], None),
    "agreement terminated": lambda r, _: agreements.terminate(
        db.session.get(Agreement, r["agreement"]), date(2022, 6, 1)),
    "training created": lambda r, _: training.create({
        "held_on": date(2022, 3, 1), "organiser": "卫健局", "region_code": MAONAN, "medical_nursing": 5,
        "caregivers": 0}),
    "training edited": lambda r, _: training.update(_record(r), {"caregivers": 7}, None),
    "training deleted": lambda r, _: training.delete(_record(r)),
    "target edited": lambda r, _: targets.update(db.session.scalars(select(Target)).first(), {"value": 0.5}),
    "district allocation added": lambda r, _: targets.add(db.session.scalars(select(Target)).first().target_set, {
        "indicator": "trained_in_year", "scope": GAOZHOU, "deadline": date(2022, 12, 31), "comparator": ">=",
        "value": 50}),
    "import": lambda r, _: _import(r),
    "regions seeded with a new name": lambda r, tmp_path: _changed_regions(tmp_path),
    "target set seeded": lambda r, tmp_path: _new_target_set(tmp_path),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=list(WRITES))
def test_every_write_that_can_change_a_figure_moves_the_fingerprint(app, register, write, tmp_path):
    with app.app_context():
        training.create({"held_on": date(2022, 2, 1), "organiser": "民政局", "region_code": MAONAN,
                         "medical_nursing": 0, "caregivers": 3})
        db.session.commit()
        before = compliance_cache.fingerprint()
    with app.app_context():
        write(register, tmp_path)
        db.session.commit()
    with app.app_context():
        assert compliance_cache.fingerprint() != before


def test_the_demo_register_moves_the_fingerprint(app):
    with app.app_context():
        before = compliance_cache.fingerprint()
        seeding.load_demo()
        db.session.commit()
        assert compliance_cache.fingerprint() != before


def test_logins_and_refused_requests_leave_the_fingerprint_alone(app, client, make, auth, register, computes):
    """Else anyone could empty every process's cache by failing to log in."""
    make.user("district_official", MAONAN, username="lingdao")
    auth.login("lingdao")
    view(client)
    with app.app_context():
        before = compliance_cache.fingerprint()
    computes.clear()
    assert client.get(f"/institutions/{register['gaozhou_home']}").status_code == 404  # audited as denied
    auth.logout()
    auth.login("lingdao", "wrong password")
    make.user("health", username="weijian")
    auth.login("weijian")
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"denied", "login", "login_failed"} <= actions
        assert compliance_cache.fingerprint() == before
    view(client)
    assert computes == []


def test_seeding_again_records_nothing(app, register):
    with app.app_context():
        before = compliance_cache.fingerprint()
        seeding.load_regions()
        seeding.load_target_sets()
        db.session.commit()
        assert compliance_cache.fingerprint() == before


def test_an_event_committed_after_a_newer_one_moves_the_fingerprint(app, register):
    """PostgreSQL's ids are handed out before commit: a slow transaction commits an older id last."""
    with app.app_context():
        newest = db.session.scalar(select(func.max(AuditEvent.id)))
        db.session.add(AuditEvent(id=newest + 5, action="update", entity="institutions"))
        db.session.commit()
        before = compliance_cache.fingerprint()
        db.session.add(AuditEvent(id=newest + 2, action="update", entity="institutions"))
        db.session.commit()
        assert compliance_cache.fingerprint() != before


def test_a_restored_database_reusing_ids_moves_the_fingerprint(app, register):
    """After a restore, new events take the ids of events that were lost: their time differs."""
    with app.app_context():
        newest = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        before = compliance_cache.fingerprint()
        reused = AuditEvent(id=newest.id, at=newest.at + timedelta(seconds=1), action="update",
                            entity="institutions")
        db.session.delete(newest)
        db.session.flush()
        db.session.add(reused)
        db.session.commit()
        assert compliance_cache.fingerprint() != before


# --- a change recomputes only the days it can move ------------------------------------------------

Y2020, Y2021, Y2022 = YEAR_ENDS[1:]
EVERY_DAY = YEAR_ENDS
RECOMPUTED = {  # the year-ends on or after the first day each write can move
    "institution created": [Y2021, Y2022],  # opened 2021-01-01
    "institution edited": [Y2020, Y2021, Y2022],  # beds: every day the home (opened 2020) operates
    "institution closed": [],  # from 2023: no year-end shown moves
    "institution deleted": [Y2020, Y2021, Y2022],
    "host closed with its unit": [Y2022],
    "agreement created": [Y2022],  # in force from 2022
    "agreement services changed": [Y2021, Y2022],  # every day it is in force (from 2021)
    "agreement terminated": [Y2022],  # ended 2022-06-01
    "training created": [Y2022],
    "training edited": [Y2022],
    "training deleted": [Y2022],
    "target edited": EVERY_DAY,
    "district allocation added": EVERY_DAY,
    "import": EVERY_DAY,  # its bulk events carry no day: any day
    "regions seeded with a new name": EVERY_DAY,
    "target set seeded": EVERY_DAY,
}
assert set(RECOMPUTED) == set(WRITES)


def view_after_write(app, client, register, name: str, tmp_path: Path, calls: list) -> Dashboard:
    """The dashboard viewed, then WRITES[name] made and committed, `calls` emptied, and the dashboard again."""
    view(client)
    with app.app_context():
        WRITES[name](register, tmp_path)
        db.session.commit()
    calls.clear()
    return view(client)


def shows_as_computed_afresh(page: Dashboard, fresh: list[compliance.Report]) -> None:
    """Every figure the page shows is what a computation from scratch gives (`fresh`: the last days of the chart)."""
    for key in compliance.INDICATORS:
        series = page.data["indicators"][key]["series"][-len(fresh):]
        assert series == [report.figure(key, "city").value for report in fresh], key
        regions = page.data["indicators"][key]["regions"]
        assert regions == {code: fresh[-1].figure(key, code).value for code in regions}, key


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_recomputes_only_the_days_it_can_move_and_every_figure_holds(app, client, register, health,
                                                                            computes, name, tmp_path):
    with app.app_context():
        training.create({"held_on": date(2022, 2, 1), "organiser": "民政局", "region_code": MAONAN,
                         "medical_nursing": 0, "caregivers": 3})
        db.session.commit()
    page = view_after_write(app, client, register, name, tmp_path, computes)
    assert sorted(set(computes)) == RECOMPUTED[name]
    with app.app_context():  # every day kept or recomputed
        shows_as_computed_afresh(page, [computes.fresh(day) for day in YEAR_ENDS])


@pytest.fixture()
def counted(monkeypatch) -> list[str]:
    """The indicators whose figures are counted, while the test runs."""
    calls: list[str] = []
    real = compliance.Indicator.figures

    def spy(indicator, day, regions, *shared):
        calls.append(indicator.key)
        return real(indicator, day, regions, *shared)

    monkeypatch.setattr(compliance.Indicator, "figures", spy)
    return calls


@pytest.mark.parametrize(("name", "recounted"), [
    ("training created", {"trained_in_year"}),
    ("agreement terminated", {"referral_coverage", "agreement_coverage"}),
    ("institution edited", set(compliance.INDICATORS) - {"trained_in_year"}),
    ("target edited", set(compliance.INDICATORS)),
])
def test_a_recomputed_day_recounts_only_the_indicators_counting_what_changed(app, client, register, health,
                                                                            counted, name, recounted, tmp_path):
    page = view_after_write(app, client, register, name, tmp_path, counted)
    assert set(counted) == recounted
    with app.app_context():
        shows_as_computed_afresh(page, [compliance.compute(date.fromisoformat(DAY))])


def test_a_save_dated_today_leaves_the_past_year_ends_cached(client, register, admin, computes):
    today = date.today()
    view_today = f"/compliance?as_of={today.isoformat()}"
    assert client.get(view_today).status_code == 200
    computes.clear()
    form = {"held_on": today.isoformat(), "organiser": "市民政局", "region_code": MAONAN,
            "medical_nursing": "3", "caregivers": "5", "note": ""}
    assert client.post("/training/new", data=form).status_code == 302
    page = Dashboard(client.get(view_today).text)
    assert computes == [today]
    assert page.data["indicators"]["trained_in_year"]["series"][-1] == 8


def test_a_terminated_agreement_moves_the_days_from_its_end_on(app, client, register, admin, computes):
    before = view(client)
    agreement_id = register["agreement"]
    response = client.post(f"/agreements/{agreement_id}/terminate", data={
        "terminated_on": "2022-06-01", "version": version_of(app, Agreement, agreement_id)})
    assert response.status_code == 302
    computes.clear()
    after = view(client)
    assert computes == [Y2022]
    assert (before.cell("agreement_coverage", MAONAN), after.cell("agreement_coverage", MAONAN)) == (
        "100.0%", "0.0%")
    assert before.year_end("agreement_coverage", 2021) == after.year_end("agreement_coverage", 2021) == 0.5


def test_a_pending_request_computes_nothing_and_its_approval_shows(app, client, make, register, health, computes):
    view(client)
    district, city = app.test_client(), app.test_client()
    make.user("civil_affairs", MAONAN, username="mz-maonan")
    make.user("civil_affairs", None, username="mz-city")
    AuthActions(district).login("mz-maonan")
    AuthActions(city).login("mz-city")
    response = district.post("/institutions/new?kind=eldercare", data=home_form(
        name="茂南待审养老院", opened_on="2022-03-01"))
    assert response.status_code == 302 and "/review/" in response.location
    computes.clear()
    assert view(client).cell("agreement_coverage", MAONAN) == "100.0%"
    assert computes == []  # a request moves no figure until it is approved
    request_id = int(response.location.rstrip("/").rsplit("/", 1)[-1])
    assert city.post(f"/review/{request_id}/approve", data={}).status_code == 302
    assert view(client).cell("agreement_coverage", MAONAN) == "50.0%"
    assert computes == [Y2022]


@pytest.mark.parametrize(("before", "after", "first"), [
    ({"opened_on": "2020-01-01", "closed_on": None, "name": "a"},
     {"opened_on": "2020-01-01", "closed_on": "2024-05-01", "name": "a"}, date(2024, 5, 1)),
    ({"opened_on": "2020-01-01", "closed_on": "2024-05-01", "name": "a"},
     {"opened_on": "2020-01-01", "closed_on": "2023-02-01", "name": "a"}, date(2023, 2, 1)),
    ({"opened_on": "2021-01-01", "closed_on": None, "name": "a"},
     {"opened_on": "2019-06-01", "closed_on": None, "name": "a"}, date(2019, 6, 1)),
    ({"opened_on": "2020-01-01", "closed_on": None, "name": "a"},
     {"opened_on": "2020-01-01", "closed_on": None, "name": "b"}, date(2020, 1, 1)),
    (None, {"opened_on": "2026-12-07", "closed_on": None}, date(2026, 12, 7)),
    ({"opened_on": "2018-03-01", "closed_on": "2019-01-01"}, None, date(2018, 3, 1)),
    ({"name": "a"}, {"name": "b"}, None),  # no dates: any day
])
def test_an_institutions_change_moves_the_days_between_its_old_and_new_spans(before, after, first):
    assert audit.affects_from("institutions", before, after) == first


def test_an_agreements_end_is_the_earlier_of_its_last_day_and_its_termination():
    before = {"valid_from": "2021-01-01", "valid_to": "2030-12-31", "terminated_on": None}
    assert audit.affects_from("agreements", before, before | {"terminated_on": "2026-12-07"}) == date(2026, 12, 7)
    assert audit.affects_from("agreements", before, before | {"valid_to": "2026-12-31"}) == date(2027, 1, 1)
    assert audit.affects_from("agreements", before, before | {"services": ["健康管理"]}) == date(2021, 1, 1)


def test_targets_regions_and_imports_move_any_day_and_requests_none():
    assert audit.affects_from("targets", {"value": 1}, {"value": 2}) is None
    assert audit.affects_from("regions", None, {"code": MAONAN}) is None
    assert audit.affects_from("imports", None, {"counts": {}}) is None
    assert audit.affects_from("change_requests", None, {"status": "pending"}) == date.max


# --- servers sharing the cache -------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["in-process", pytest.param("redis", marks=pytest.mark.skipif(
    not _redis_answers(), reason="no Redis answers on 127.0.0.1:6379"))])
def servers(request, app, database_url, make) -> list:
    """Two app servers on the register's database, each with a logged-in health client.

    In-process, each keeps its own cache; on Redis they share one (under a key prefix of this test's own).
    """
    prefix = f"test-{uuid.uuid4().hex}:"
    shared = {"CACHE_REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": prefix} if request.param == "redis" else {}
    apps = [create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                        "WTF_CSRF_ENABLED": False, "JOBS_IMMEDIATE": True, "JOBS_WORKER": "none"} | shared)
            for _ in range(2)]
    make.user("health", username="weijian")
    clients = []
    for server in apps:
        client = server.test_client()
        assert AuthActions(client).login("weijian").status_code == 302
        clients.append(client)
    yield clients
    for server in apps:
        with server.app_context():
            db.engine.dispose()
    if shared:
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)


def test_each_server_shows_the_others_write_on_its_next_view(request, servers, register, computes):
    first, second = servers
    shared = "redis" in request.node.callspec.id
    view(first)
    view(second)
    assert sorted(computes) == (YEAR_ENDS if shared else sorted(YEAR_ENDS * 2))  # once for all servers on Redis
    computes.clear()
    form = {"held_on": "2022-05-01", "organiser": "市民政局", "region_code": MAONAN,
            "medical_nursing": "30", "caregivers": "90", "note": ""}
    assert second.post("/training/new", data=form).status_code == 302
    assert view(first).cell("trained_in_year", MAONAN) == "120"
    assert view(second).cell("trained_in_year", MAONAN) == "120"
    assert computes == ([Y2022] if shared else [Y2022, Y2022])


@pytest.mark.skipif(not _redis_answers(), reason="no Redis answers on 127.0.0.1:6379")
@pytest.mark.parametrize("servers", ["redis"], indirect=True)
def test_redis_keeps_one_report_a_day_however_many_saves(servers, register, computes):
    first, second = servers
    for caregivers in range(1, 4):
        form = {"held_on": "2022-05-01", "organiser": "市民政局", "region_code": MAONAN,
                "medical_nursing": "0", "caregivers": str(caregivers), "note": ""}
        assert second.post("/training/new", data=form).status_code == 302
        assert view(first).cell("trained_in_year", MAONAN) == str(caregivers * (caregivers + 1) // 2)
    prefix = first.application.config["CACHE_KEY_PREFIX"]
    reports = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{prefix}compliance:report:*"))
    assert len(reports) == len(YEAR_ENDS)
    assert sorted(computes) == sorted(YEAR_ENDS + [Y2022, Y2022])


@pytest.mark.skipif(not _redis_answers(), reason="no Redis answers on 127.0.0.1:6379")
@pytest.mark.parametrize("servers", ["redis"], indirect=True)
def test_servers_asking_at_once_wait_for_one_computation(servers, register, computes):
    computes.pause = 0.2
    start = threading.Barrier(len(servers))
    pages = [None] * len(servers)

    def ask(index: int) -> None:
        start.wait()
        pages[index] = view(servers[index])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(computes) == YEAR_ENDS
    assert pages[0].data == pages[1].data


# --- the cache is shared, what is shown is not -------------------------------------------------


def test_an_official_after_a_city_user_sees_only_their_district(client, make, auth, register, health, computes):
    assert ">高州市<" in view(client).text
    auth.logout()
    make.user("district_official", MAONAN, username="lingdao")
    auth.login("lingdao")
    computes.clear()
    page = view(client)
    assert computes == []  # the same reports, filtered for the official
    assert ">高州市<" not in page.text and f"/compliance/referral_coverage/{GAOZHOU}" not in page.text
    assert set(page.data["indicators"]["referral_coverage"]["regions"]) == {MAONAN}
    api = client.get(f"/api/v1/compliance?as_of={DAY}").get_json()
    assert set(api["indicators"]["referral_coverage"]["regions"]) == {MAONAN}
    assert {t["scope"] for t in api["targets"]} <= {"city", MAONAN}


def test_a_city_user_after_an_official_sees_every_district(client, make, auth, register):
    make.user("district_official", MAONAN, username="lingdao")
    auth.login("lingdao")
    assert ">高州市<" not in view(client).text
    auth.logout()
    make.user("health", username="weijian")
    auth.login("weijian")
    page = view(client)
    assert ">高州市<" in page.text and page.cell("agreement_coverage", GAOZHOU) == "0.0%"
    assert GAOZHOU in page.data["indicators"]["referral_coverage"]["regions"]
