"""The indicators of docs/indicators.md as of a day, on hand-built registers."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import Agreement, Institution, Target, TargetSet, User
from registry.services import agreements, compliance, overview, seeding, todo
from registry.vocab import ACTIVE, EXPIRED, PARTY_CLOSED, TERMINATED
from tests.factories import BINHAI, GAOZHOU, MAONAN

D = date(2022, 12, 31)
REFERRAL = ("双向转诊", "预约就诊绿色通道")


@pytest.fixture()
def figure(app):
    """figure(indicator, scope="city", day=D) → the Figure the service computes."""

    def read(indicator: str, scope: str = "city", day: date = D) -> compliance.Figure:
        with app.app_context():
            return compliance.compute(day).figure(indicator, scope)

    return read


@pytest.fixture()
def member_names(app):
    def read(indicator: str, scope: str = "city", day: date = D, missing: bool = False) -> list[str]:
        with app.app_context():
            region = None if scope == "city" else scope
            rows = db.session.scalars(compliance.members(indicator, day, region, missing)).all()
            return sorted(getattr(row, "name", None) or row.organiser for row in rows)

    return read


# --- 一(一) in-house units ---------------------------------------------------------------------


def test_unit_opened_on_the_day_counts(make, figure):
    home = make.home()
    make.medical(host=home, medical_type="医务室", opened_on=D)
    assert figure("eldercare_run_medical").value == 1
    assert figure("eldercare_run_medical", day=date(2022, 12, 30)).value == 0


def test_unit_closed_on_the_day_does_not_count(make, figure):
    home = make.home()
    make.medical(host=home, medical_type="医务室", closed_on=D)
    assert figure("eldercare_run_medical").value == 0
    assert figure("eldercare_run_medical", day=date(2022, 12, 30)).value == 1


def test_unit_whose_host_has_closed_does_not_count(app, make, figure, member_names):
    home = make.home()
    make.medical(host=home, medical_type="护理站", name="孤立护理站")
    with app.app_context():  # the host closes; its unit stays in the register, still marked operating
        db.session.get(Institution, home).closed_on = date(2022, 6, 1)
        db.session.commit()
    assert figure("eldercare_run_medical").value == 0
    assert member_names("eldercare_run_medical") == []


def test_hosted_home_counts_in_its_hosts_region_and_in_the_denominators(make, figure):
    hospital = make.medical(region=GAOZHOU, medical_type="中医医院")
    hosted = make.home(region=GAOZHOU, host=hospital, beds_total=60)
    make.home(region=GAOZHOU)
    assert figure("medical_run_eldercare", GAOZHOU).value == 1
    assert figure("medical_run_eldercare").value == 1
    assert figure("agreement_coverage", GAOZHOU).denominator == 2
    del hosted


def test_later_openings_never_change_an_earlier_day(make, figure):
    home = make.home()
    make.medical(host=home, medical_type="医务室", opened_on=date(2021, 3, 1))
    before = figure("eldercare_run_medical").value
    make.medical(host=home, medical_type="护理站", opened_on=date(2024, 1, 1))
    make.home(opened_on=date(2023, 5, 1))
    assert figure("eldercare_run_medical").value == before == 1
    assert figure("eldercare_run_medical", day=date(2024, 1, 1)).value == 2


def test_management_zones_count_in_city_totals(make, figure):
    home = make.home(region=BINHAI)
    make.medical(region=BINHAI, host=home, medical_type="医务室")
    assert figure("eldercare_run_medical", BINHAI).value == 1
    assert figure("eldercare_run_medical").value == 1


# --- 一(三) integrated institutions with a specialty ------------------------------------------


def test_specialty_integrated_institutions(make, figure, member_names):
    nursing_home = make.home(name="设护理院的养老院")
    make.medical(host=nursing_home, medical_type="护理院")
    infirmary_home = make.home(name="只设医务室的养老院")
    make.medical(host=infirmary_home, medical_type="医务室")
    tcm = make.medical(name="设养老院的中医院", medical_type="中医医院")
    make.home(host=tcm)
    both = make.home(name="设两个单位的养老院")
    make.medical(host=both, medical_type="医务室")
    make.medical(host=both, medical_type="康复医院")
    make.medical(name="没有养老院的康复医院", medical_type="康复医院")
    assert figure("integrated_with_specialty", MAONAN).value == 3
    assert member_names("integrated_with_specialty", MAONAN) == sorted(
        ["设护理院的养老院", "设养老院的中医院", "设两个单位的养老院"])
    assert member_names("integrated_with_specialty", MAONAN, missing=True) == sorted(
        ["只设医务室的养老院", "没有养老院的康复医院"])


def test_an_integrated_institution_needs_its_unit_operating(make, figure):
    home = make.home()
    make.medical(host=home, medical_type="护理院", closed_on=date(2022, 1, 1))
    assert figure("integrated_with_specialty", MAONAN).value == 0


def test_zones_have_no_per_district_specialty_target(app, make):
    home = make.home(region=BINHAI)
    make.medical(region=BINHAI, host=home, medical_type="护理院")
    with app.app_context():
        report = compliance.compute(D)
        assert report.figure("integrated_with_specialty", "city").value == 1
        assert report.targets_for("integrated_with_specialty", BINHAI) == []
        maonan = report.targets_for("integrated_with_specialty", MAONAN)
        assert [(t.met, t.overdue) for t in maonan] == [(False, True)]


# --- 二(五) and 一(二) agreements --------------------------------------------------------------


@pytest.mark.parametrize(
    ("agreement", "counts"),
    [
        ({"valid_to": D}, True),  # ends on D: still active on D
        ({"valid_to": date(2022, 12, 30)}, False),
        ({"valid_from": date(2023, 1, 1)}, False),  # not yet started
        ({"terminated_on": D}, False),  # terminated_on is the first day it no longer applies
        ({"terminated_on": date(2023, 1, 1)}, True),
        ({"services": ("双向转诊",)}, False),  # only one of the two referral services
        ({"services": ("预约就诊绿色通道", "健康管理")}, False),
    ],
)
def test_referral_coverage_follows_the_agreement(make, figure, agreement, counts):
    home, hospital = make.home(), make.medical()
    make.agreement(home, hospital, **({"services": REFERRAL} | agreement))
    referral = figure("referral_coverage", MAONAN)
    assert (referral.numerator, referral.denominator) == ((1 if counts else 0), 1)
    assert referral.value == (1.0 if counts else 0.0)


@pytest.mark.parametrize(
    ("case", "active", "status"),
    [
        ("valid_to on the day", True, ACTIVE),  # valid_to is the last day it applies
        ("terminated on the day", False, TERMINATED),  # terminated_on is the first day it no longer applies
        ("medical party closes on the day", False, PARTY_CLOSED),
        ("home closes on the day", False, PARTY_CLOSED),
        ("valid_to the day before", False, EXPIRED),
    ],
)
def test_one_definition_of_active_in_the_status_the_indicator_and_the_warnings(app, make, case, active, status):
    day = date(2030, 12, 10)  # the agreement ends within 60 days: an active one is warned of
    home = make.home(closed_on=day if case == "home closes on the day" else None)
    hospital = make.medical(closed_on=day if case == "medical party closes on the day" else None)
    terms = {
        "valid_to on the day": {"valid_to": day},
        "terminated on the day": {"terminated_on": day},
        "valid_to the day before": {"valid_to": day - timedelta(days=1)},
    }.get(case, {})
    agreement_id = make.agreement(home, hospital, **terms)
    user_id = make.user("health")
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert agreements.status_on(agreement, day) == status
        listed = db.session.scalars(select(Agreement.id).where(agreements.status_clause(status, day))).all()
        assert listed == [agreement_id]
        assert agreement.active_on(day) is active
        assert db.session.scalars(select(Agreement.id).where(Agreement.active_on(day))).all() == (
            [agreement_id] if active else [])
        report = compliance.compute(day)
        assert report.figure("agreement_coverage", MAONAN).numerator == (1 if active else 0)
        assert report.figure("referral_coverage", MAONAN).numerator == (1 if active else 0)
        counted = db.session.scalars(compliance.members("agreement_coverage", day, MAONAN)).all()
        assert [h.id for h in counted] == ([home] if active else [])
        user = db.session.get(User, user_id)
        expiring = [i.agreement.id for i in todo.items(user, day, 10_000, None) if i.kind == "agreement_expiring"]
        assert expiring == ([agreement_id] if active else [])
        warned = str(todo.KINDS["agreement_expiring"]) in map(str, todo.agreement_warnings(agreement, day, 10_000))
        assert warned is active
        maonan = next(row for row in overview.counts_by_region(user, day) if row.region.code == MAONAN)
        assert maonan.agreements == (1 if active else 0)


def test_an_agreement_with_a_closed_party_is_not_active(make, figure):
    home = make.home()
    hospital = make.medical(closed_on=date(2022, 7, 1))
    make.agreement(home, hospital)
    assert figure("agreement_coverage", MAONAN).numerator == 0
    assert figure("agreement_coverage", MAONAN, date(2022, 6, 30)).numerator == 1


def test_agreement_coverage_counts_homes_not_agreements(make, figure, member_names):
    home, other = make.home(name="签约两份的养老院"), make.home(name="没有签约的养老院")
    make.agreement(home, make.medical(), services=("健康管理",))
    make.agreement(home, make.medical(), services=("急救",))
    coverage = figure("agreement_coverage", MAONAN)
    assert (coverage.numerator, coverage.denominator, coverage.value) == (1, 2, 0.5)
    assert member_names("agreement_coverage", MAONAN, missing=True) == ["没有签约的养老院"]
    del other


def test_a_share_with_no_homes_is_null(figure):
    share = figure("referral_coverage", GAOZHOU)
    assert (share.value, share.numerator, share.denominator) == (None, 0, 0)


def test_shares_are_unrounded_fractions(make, figure):
    hospital = make.medical()
    homes = [make.home() for _ in range(3)]
    make.agreement(homes[0], hospital)
    assert figure("referral_coverage", MAONAN).value == 1 / 3


# --- 一(一) large homes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("beds", "unit_type", "numerator", "denominator"),
    [
        (200, "护理站", 1, 1),
        (260, "医务室", 1, 1),
        (260, "诊所", 0, 1),  # a clinic alone does not qualify a home of 200 beds or more
        (199, "护理站", 0, 0),  # under 200 beds: not in the denominator
    ],
)
def test_large_home_medical(make, figure, beds, unit_type, numerator, denominator):
    home = make.home(beds_total=beds)
    make.medical(host=home, medical_type=unit_type)
    large = figure("large_home_medical", MAONAN)
    assert (large.numerator, large.denominator) == (numerator, denominator)


# --- 十九 training ----------------------------------------------------------------------------


def test_trained_in_year_counts_the_calendar_year_up_to_the_day(app, figure):
    from registry.services import training

    with app.app_context():
        for held_on, nursing, caregivers in ((date(2021, 12, 31), 100, 0), (date(2022, 1, 1), 30, 20),
                                             (D, 5, 5), (date(2023, 1, 1), 999, 0)):
            training.create({"held_on": held_on, "organiser": "市卫健局", "region_code": MAONAN,
                             "medical_nursing": nursing, "caregivers": caregivers})
        db.session.commit()
    assert figure("trained_in_year").value == 60
    assert figure("trained_in_year", day=date(2022, 12, 30)).value == 50


def test_a_yearly_training_target_is_judged_on_its_own_year(app):
    from registry.services import training

    with app.app_context():
        training.create({"held_on": date(2021, 5, 1), "organiser": "市民政局", "region_code": MAONAN,
                         "medical_nursing": 600, "caregivers": 450})
        db.session.commit()
        report = compliance.compute(date(2022, 6, 30))
        every = report.targets_for("trained_in_year", "city", every_period=True)
        by_deadline = {t.target.deadline.year: t for t in every}
        assert (by_deadline[2021].actual, by_deadline[2021].met) == (1050, True)
        assert (by_deadline[2022].actual, by_deadline[2022].met, by_deadline[2022].overdue) == (0, False, False)


# --- targets ----------------------------------------------------------------------------------


def test_a_target_is_met_before_its_deadline_and_overdue_only_from_it(app, make):
    with app.app_context():
        results = {
            day: {t.target.deadline: t for t in compliance.compute(day).targets_for("eldercare_run_medical", "city")}
            for day in (date(2022, 12, 30), D)
        }
    assert results[date(2022, 12, 30)][D].overdue is False
    assert results[D][D].overdue is True and results[D][D].met is False
    assert results[D][date(2025, 12, 31)].overdue is False


def test_an_edited_target_value_is_used(app, make, figure):
    home = make.home()
    make.medical(host=home, medical_type="医务室")
    with app.app_context():
        target = db.session.scalars(select(Target).where(
            Target.indicator == "eldercare_run_medical", Target.deadline == D)).one()
        target.value = 1
        db.session.commit()
        result = compliance.compute(D).targets_for("eldercare_run_medical", "city")[0]
        assert (result.met, result.overdue, result.gap) == (True, False, 0)


def test_an_unknown_comparator_is_refused_when_a_target_set_is_loaded(app, tmp_path):
    target = {"indicator": "eldercare_run_medical", "scope": "city", "deadline": "2022-12-31",
              "comparator": "=>", "value": 10, "clause": "一(一)"}
    (tmp_path / "typo.json").write_text(json.dumps(
        {"id": "typo", "title": "有笔误的目标", "targets": [target]}, ensure_ascii=False), encoding="utf-8")
    with app.app_context():
        with pytest.raises(ValueError, match="比较方式“=>”无效"):
            seeding.load_target_sets(tmp_path)
        db.session.rollback()
        assert db.session.get(TargetSet, "typo") is None


def test_a_stored_unknown_comparator_is_never_guessed(app):
    with app.app_context():
        target = db.session.scalars(select(Target).where(
            Target.indicator == "eldercare_run_medical", Target.deadline == D)).one()
        target.comparator = "=>"  # written around the form and the seeding, which both refuse it
        db.session.commit()
        with pytest.raises(compliance.UnknownComparator, match="=>"):
            compliance.compute(D)


# --- the JSON of docs/indicators.md -----------------------------------------------------------


def test_json_shape(app, make):
    make.agreement(make.home(), make.medical())
    with app.app_context():
        data = compliance.compute(D).as_json()
    assert data["as_of"] == "2022-12-31" and data["target_set"] == "maoming-2020-63"
    assert set(data["indicators"]) == set(compliance.INDICATORS)
    regions = {"440902", "440904", "440981", "440982", "440983", "440900-BH", "440900-GX"}
    for key, scopes in data["indicators"].items():
        assert set(scopes["regions"]) == regions, key
    assert data["indicators"]["eldercare_run_medical"]["regions"]["440981"] == {"value": 0}
    assert data["indicators"]["agreement_coverage"]["city"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    assert data["indicators"]["referral_coverage"]["regions"]["440981"] == {
        "value": None, "numerator": 0, "denominator": 0}
    first = data["targets"][0]
    assert set(first) >= {"indicator", "scope", "deadline", "comparator", "value", "actual", "met", "overdue"}
    assert (first["indicator"], first["scope"], first["value"], first["met"]) == (
        "eldercare_run_medical", "city", 10, False)


# --- drill-down lists equal the numbers -------------------------------------------------------


def test_drill_down_lists_match_every_number(app, make):
    hospital_mn, hospital_gz = make.medical(medical_type="中医医院"), make.medical(region=GAOZHOU)
    for n in range(6):
        region = MAONAN if n % 2 else GAOZHOU
        home = make.home(region=region, beds_total=120 + 30 * n, closed_on=date(2022, 6, 1) if n == 5 else None)
        if n % 3 == 0:
            make.medical(region=region, host=home, medical_type=("护理站", "诊所")[n // 3])
        make.agreement(home, hospital_mn if region == MAONAN else hospital_gz,
                       services=REFERRAL if n % 2 else ("健康管理",))
    make.home(host=hospital_mn)
    make.training(region=GAOZHOU, medical_nursing=7, caregivers=5)
    with app.app_context():
        report = compliance.compute(D)
        for key, indicator in compliance.INDICATORS.items():
            for scope in ["city", *(r.code for r in report.regions)]:
                region = None if scope == "city" else scope
                listed = db.session.scalars(indicator.members(D, region)).all()
                figure = report.figure(key, scope)
                if key == "trained_in_year":  # the rows are training records; the number is people
                    assert sum(r.medical_nursing + r.caregivers for r in listed) == figure.value, scope
                    continue
                expected = figure.numerator if indicator.share else figure.value
                assert len(listed) == expected, (key, scope)
                if indicator.share:
                    missing = len(db.session.scalars(indicator.members(D, region, missing=True)).all())
                    assert missing == figure.denominator - figure.numerator, (key, scope)
