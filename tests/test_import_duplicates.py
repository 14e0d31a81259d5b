"""Possible duplicates when importing (issue 11 item 6): near names and nearby points are asked about."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from geopy.distance import geodesic
from rapidfuzz import fuzz, process
from sqlalchemy import select

from registry.extensions import db
from registry.models import Institution, User
from registry.services import imports
from registry.services.formats.columns import INSTITUTIONS
from registry.services.formats.exchange import Sheet
from registry.services.imports import duplicates
from tests.conftest import code_of, count
from tests.factories import GAOZHOU, MAONAN
from tests.test_bureau_import import write_sheet

HUAZHOU = "440982"
HEADER = ["kind", "name", "region", "opened_on", "beds_total", "lat", "lon"]
CENTRE = (21.66, 110.92)


def metres_north(metres: float, start: tuple[float, float] = CENTRE) -> tuple[float, float]:
    point = geodesic(meters=metres).destination(start, bearing=0)
    return point.latitude, point.longitude


def home_row(name: str, region: str = MAONAN, point: tuple[float, float] | None = None) -> list:
    lat, lon = point or (None, None)
    return ["eldercare", name, region, "2021-01-01", "50", lat, lon]


def homes_sheet(*rows: list) -> Sheet:
    """An exchange sheet of homes, its rows numbered from 2 as a file's are."""
    return Sheet(INSTITUTIONS, "institutions.csv", list(HEADER), [(n, list(r)) for n, r in enumerate(rows, start=2)])


def planned(sheet: Sheet, user: User | None = None) -> imports.Plan:
    plan = imports.plan([sheet], user)
    assert plan.ok, [str(e) for e in plan.errors]
    return plan


def offered(app, *rows: list, user_id: int | None = None) -> dict[str, list[tuple[str, str]]]:
    """Each flagged row's name → its candidates' (name, reason)."""
    with app.app_context():
        user = db.session.get(User, user_id) if user_id else None
        found = duplicates.find(planned(homes_sheet(*rows), user), user)
        return {d.name: [(c.name, c.reason) for c in d.candidates] for d in found}


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("registered", "region", "imported", "score"), [
    ("长岐镇敬老院", HUAZHOU, "化州市长岐镇敬老院", 100),  # the region's own name before it
    ("长岐镇敬老院", HUAZHOU, "茂名市化州长岐镇中心敬老院", 100),
    ("福寿养老院", MAONAN, "福壽養老院", 100),  # traditional characters
    ("福寿养老院", MAONAN, "福受养老院", 100),  # a homophone typo
    ("福寿养老院", MAONAN, "福寿养老院（民办）", 100),  # a note in brackets
    ("ABC颐养中心", MAONAN, "ＡＢＣ 颐养中心", 100),  # full-width letters and a space
    ("康乐之家养老院", MAONAN, "康乐家养老院", 86),  # one character left out
])
def test_a_near_name_in_the_same_region_is_offered(app, make, registered, region, imported, score):
    make.home(region, name=registered)
    assert offered(app, home_row(imported, region)) == {imported: [(registered, f"名称相近（相似度 {score}）")]}


@pytest.mark.parametrize(("registered", "imported"), [
    ("长岐镇敬老院", "长坡镇敬老院"),  # township homes differ only in the town
    ("平定镇敬老院", "平山镇敬老院"),
    ("金色年华养老院", "金色年代养老院"),  # one character in four (75)
    ("金色阳光城养老院", "金色阳光港养老院"),  # one in five (80)
    ("幸福快乐家园养老院", "幸福快乐花园养老院"),  # one in six (83)
    ("福寿养老院", "康宁养老院"),
])
def test_distinct_names_are_quiet(app, make, registered, imported):
    make.home(HUAZHOU, name=registered)
    assert offered(app, home_row(imported, HUAZHOU)) == {}


def test_the_same_name_in_another_region_is_quiet_unless_within_200_m(app, make):
    make.home(HUAZHOU, name="长岐镇敬老院", lat=CENTRE[0], lon=CENTRE[1])
    assert offered(app, home_row("长岐镇敬老院", GAOZHOU)) == {}
    assert offered(app, home_row("长岐镇敬老院", GAOZHOU, metres_north(100))) == {
        "长岐镇敬老院": [("长岐镇敬老院", "相距 100 米")]}


def test_a_near_name_that_is_also_near_says_both(app, make):
    make.home(MAONAN, name="福寿养老院", lat=CENTRE[0], lon=CENTRE[1])
    assert offered(app, home_row("福壽養老院", MAONAN, metres_north(85))) == {
        "福壽養老院": [("福寿养老院", "名称相近（相似度 100），相距 85 米")]}


# --- points -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("metres", "flagged"), [(150, True), (300, False)])
def test_a_point_within_200_m_is_offered_whatever_the_name(app, make, metres, flagged):
    make.home(MAONAN, name="阳光颐养中心", lat=CENTRE[0], lon=CENTRE[1])
    found = offered(app, home_row("康宁护理院", MAONAN, metres_north(metres)))
    assert found == ({"康宁护理院": [("阳光颐养中心", f"相距 {metres} 米")]} if flagged else {})


def test_only_the_same_kind_is_offered(app, make):
    make.medical(MAONAN, name="福寿养老院医务室", lat=CENTRE[0], lon=CENTRE[1])
    assert offered(app, home_row("福寿养老院", MAONAN, metres_north(20))) == {}


# --- rights and rows that are not new ------------------------------------------------------------


def test_a_record_outside_a_district_users_scope_is_never_offered(app, make):
    make.home(GAOZHOU, name="边界养老院", lat=CENTRE[0], lon=CENTRE[1])
    staff = make.user("civil_affairs", MAONAN)
    row = home_row("边界颐养中心", MAONAN, metres_north(50))
    assert offered(app, row) == {"边界颐养中心": [("边界养老院", "相距 50 米")]}  # the system sees it
    assert offered(app, row, user_id=staff) == {}


def test_rows_that_update_a_registered_record_are_never_flagged(app, make):
    code = code_of(app, make.home(MAONAN, name="福寿养老院", lat=CENTRE[0], lon=CENTRE[1]))
    with app.app_context():
        sheet = homes_sheet(home_row("福寿养老院", MAONAN, metres_north(10)),  # matched by its name and region
                            home_row("福受养老院", MAONAN))  # a create close to the record the first row updates
        plan = planned(sheet)
        assert [r.action for r in plan.institutions] == ["update", "create"]
        assert duplicates.find(plan, None) == []
        by_code = homes_sheet(["eldercare", "福壽養老院", MAONAN, "2021-01-01", "50", None, None])
        by_code.header.append("code")
        by_code.rows[0][1].append(code)
        plan = planned(by_code)
        assert [r.action for r in plan.institutions] == ["update"]
        assert duplicates.find(plan, None) == []


# --- deciding -----------------------------------------------------------------------------------


def test_same_as_turns_the_row_into_an_update_of_that_record(app, make):
    home = make.home(MAONAN, name="福寿养老院")
    code = code_of(app, home)
    with app.app_context():
        sheet = homes_sheet(home_row("福壽養老院"), home_row("康宁养老院"))
        [possible] = duplicates.find(planned(sheet), None)
        assert (possible.source, possible.row, [c.code for c in possible.candidates]) == (
            "institutions.csv", 2, [code])
        decisions = {("institutions.csv", 2): code}
        duplicates.settle([sheet], decisions)
        assert sheet.header[-1] == "code" and all(len(cells) == len(sheet.header) for _n, cells in sheet.rows)
        plan = planned(sheet)
        same, new = plan.institutions
        assert (same.action, same.code, same.existing.id, same.values["name"]) == ("update", code, home, "福壽養老院")
        assert new.action == "create" and new.code != code
        assert duplicates.find(plan, None, decided=decisions) == []


def test_settle_writes_into_a_code_column_the_sheet_already_has(app, make):
    code = code_of(app, make.home(MAONAN, name="福寿养老院"))
    with app.app_context():
        sheet = Sheet(INSTITUTIONS, "机构", ["机构编码", *HEADER], [(2, [None, *home_row("福受养老院")])])
        duplicates.settle([sheet], {("机构", 2): code})
        assert sheet.header == ["机构编码", *HEADER] and sheet.rows[0][1][0] == code
        assert planned(sheet).institutions[0].action == "update"


def test_new_silences_the_row_and_changes_nothing(app, make):
    make.home(MAONAN, name="福寿养老院")
    with app.app_context():
        sheet = homes_sheet(home_row("福受养老院"))
        decisions = {("institutions.csv", 2): duplicates.NEW}
        duplicates.settle([sheet], decisions)
        assert sheet.header == HEADER
        plan = planned(sheet)
        assert plan.institutions[0].action == "create"
        assert len(duplicates.find(plan, None)) == 1
        assert duplicates.find(plan, None, decided=decisions) == []


# --- the command line ---------------------------------------------------------------------------


def write_homes(path: Path, *rows: list) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([HEADER, *rows])
    return path


def run(runner, path: Path, *options: str):
    return runner.invoke(args=["registry", "import", str(path), *options])


@pytest.fixture()
def registered(app, make) -> str:
    """福寿养老院 in 茂南区: its code."""
    return code_of(app, make.home(MAONAN, name="福寿养老院"))


@pytest.fixture()
def near_file(tmp_path) -> Path:
    return write_homes(tmp_path / "institutions.csv", home_row("福壽養老院"), home_row("康宁养老院"))


def test_the_command_asks_and_writes_nothing(app, runner, registered, near_file):
    result = run(runner, near_file)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:2] == ["institutions.csv 第 2 行“福壽養老院”可能与已登记的机构重复：",
                         f"  {registered} 福寿养老院（茂南区）：名称相近（相似度 100）"]
    assert lines[2].startswith("1 行可能与已登记的机构重复，未导入：是新机构请加 --duplicates new，"
                               "是同一机构（更新唯一的候选）请加 --duplicates same。")
    assert count(app, Institution) == 1


def test_a_dry_run_lists_them_and_succeeds(app, runner, registered, near_file):
    result = run(runner, near_file, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["institutions.csv 第 2 行“福壽養老院”可能与已登记的机构重复：",
                                          f"  {registered} 福寿养老院（茂南区）：名称相近（相似度 100）"]
    assert "Dry run, nothing written. institutions: 2 to create" in result.stdout
    assert count(app, Institution) == 1


def test_new_imports_them_as_new(app, runner, registered, near_file):
    result = run(runner, near_file, "--duplicates", "new")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == "institutions.csv 第 2 行“福壽養老院”可能与已登记的机构重复，按新机构导入："
    assert "institutions: 2 to create, 0 to update" in result.stdout
    assert count(app, Institution) == 3


def test_same_updates_the_only_candidate(app, runner, registered, near_file):
    result = run(runner, near_file, "--duplicates", "same")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"institutions.csv 第 2 行“福壽養老院”可能与已登记的机构重复，按同一机构更新：{registered} 福寿养老院（名称相近（相似度 100））"]
    assert "institutions: 1 to create, 1 to update" in result.stdout
    with app.app_context():
        assert db.session.scalars(select(Institution.name).where(Institution.code == registered)).one() == "福壽養老院"
    assert count(app, Institution) == 2


def test_same_with_several_candidates_is_an_error_naming_them(app, runner, make, tmp_path):
    first = code_of(app, make.home(MAONAN, name="福寿养老院"))
    second = code_of(app, make.home(MAONAN, name="福寿敬老院"))
    path = write_homes(tmp_path / "institutions.csv", home_row("福壽養老院"))
    result = run(runner, path, "--duplicates", "same")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "institutions.csv 第 2 行“福壽養老院”可能与已登记的机构重复："
    assert sorted(lines[1:3]) == sorted([f"  {first} 福寿养老院（茂南区）：名称相近（相似度 100）",
                                         f"  {second} 福寿敬老院（茂南区）：名称相近（相似度 100）"])
    assert lines[3].startswith("1 行有多个候选机构，无法按同一机构更新，未导入")
    assert count(app, Institution) == 2


def test_same_updates_the_candidate_from_a_bureaus_own_sheet(app, runner, make, tmp_path):
    """A bureau's sheet has no 机构编码 column: the code is written into one added for the import."""
    code = code_of(app, make.home(HUAZHOU, name="长岐镇敬老院"))
    path = write_sheet(tmp_path / "homes.csv", ["序号", "单位名称", "所在县（市、区）", "开办时间", "床位数（张）"],
                       [["1", "化州市长岐镇敬老院", "化州", "2019年3月1日", "60张"],
                        ["2", "化州市长坡镇敬老院", "化州", "2019年3月1日", "40张"]])
    asked = run(runner, path, "--kind", "eldercare")
    assert asked.exit_code == 1
    lines = asked.stderr.splitlines()  # after the reader's note of the rows it skipped
    at = lines.index("homes.csv 第 4 行“化州市长岐镇敬老院”可能与已登记的机构重复：")
    assert lines[at + 1] == f"  {code} 长岐镇敬老院（化州市）：名称相近（相似度 100）"
    assert "长坡" not in asked.stderr  # another town
    result = run(runner, path, "--kind", "eldercare", "--duplicates", "same")
    assert result.exit_code == 0, result.output
    assert "institutions: 1 to create, 1 to update" in result.stdout
    with app.app_context():
        home = db.session.scalars(select(Institution).where(Institution.code == code)).one()
        assert (home.name, home.beds_total) == ("化州市长岐镇敬老院", 60)
    assert count(app, Institution) == 2


def test_an_import_without_possible_duplicates_goes_in_as_before(app, runner, make, tmp_path):
    make.home(HUAZHOU, name="长岐镇敬老院")
    path = write_homes(tmp_path / "institutions.csv", home_row("长坡镇敬老院", HUAZHOU))
    result = run(runner, path)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert count(app, Institution) == 2


def test_the_name_index_finds_what_scoring_every_name_finds():
    """_Parts scores a name against a few parts only: it must find all those a full comparison finds."""
    rng = random.Random(11)
    parts = ["".join(rng.choice("福寿康乐金色阳光幸福") for _ in range(rng.randint(2, 10))) for _ in range(3000)]
    index = duplicates._Parts(parts)
    for query in parts[:300]:
        everything = {i: s for _p, s, i in process.extract(query, parts, scorer=fuzz.ratio,
                                                           score_cutoff=duplicates.NAME_CUTOFF, limit=None)}
        assert index.close(query) == everything
