"""Who may read and edit what (docs/permissions.md), route by route, role by role.

Every case builds the same small register (the database is emptied after each
test by conftest), logs in as one user and asks one route once:

* 茂南区 (440902): a home, a hospital, an in-house clinic hosted by the home,
  and an agreement between the home and the hospital;
* 高州市 (440981): a home and a hospital, and an agreement between them;
* a cross-district agreement: the 高州 home with the 茂南 hospital.

The users are the city-level admin, civil_affairs and health, and
civil_affairs, health and district_official bound to 茂南区. Out of scope
answers 404, in scope but not allowed answers 403, both before any form
validation; anonymous visitors are sent to /login.
"""

from __future__ import annotations

import pytest

from tests.factories import GAOZHOU, MAONAN

# A POST the user may make: the form may be invalid (200) or saved (302); nothing
# else (a 403 or 404, but neither a 400, 405 nor 503) counts as allowed.
OK = "ok"
ALLOWED = (200, 302)

# The users of the table, in the order of its columns: (role, region).
USERS = [
    ("admin", None),
    ("civil_affairs", None),
    ("health", None),
    ("civil_affairs", MAONAN),
    ("health", MAONAN),
    ("district_official", MAONAN),
]

NAMES = {
    "mn_home": "茂南颐康测试养老院",
    "mn_hosp": "茂南仁济测试医院",
    "mn_clinic": "颐康内设测试医务室",
    "gz_home": "高州福寿测试养老院",
    "gz_hosp": "高州中和测试医院",
}
MAONAN_INSTITUTIONS = ("mn_home", "mn_hosp", "mn_clinic")
ALL_INSTITUTIONS = tuple(NAMES)

# Routes use the register's ids: {mn_home}, {mn_hosp}, {mn_clinic}, {gz_home},
# {gz_hosp}, {mn_agr} (茂南 home + 茂南 hospital), {cross_agr} (高州 home +
# 茂南 hospital), {gz_agr} (高州 home + 高州 hospital), {target} (a user).
#
# GET+POST: the page (GET) and its form (POST) answer alike, 200 for the page being OK for the form.
#
#   method, route,                                    admin  civ    health civ@MN health@MN official@MN
TABLE = [
    # The start page and the lists: everyone who is logged in.
    ("GET", "/",                                        200,   200,   200,   200,   200,   200),
    ("GET", "/homes",                                   200,   200,   200,   200,   200,   200),
    ("GET", "/medical",                                 200,   200,   200,   200,   200,   200),
    ("GET", "/agreements",                              200,   200,   200,   200,   200,   200),
    # Record pages: a district user reads only its own region.
    ("GET", "/institutions/{mn_home}",                  200,   200,   200,   200,   200,   200),
    ("GET", "/institutions/{mn_hosp}",                  200,   200,   200,   200,   200,   200),
    ("GET", "/institutions/{mn_clinic}",                200,   200,   200,   200,   200,   200),
    ("GET", "/institutions/{gz_home}",                  200,   200,   200,   404,   404,   404),
    ("GET", "/institutions/{gz_hosp}",                  200,   200,   200,   404,   404,   404),
    # Homes are edited (and closed) by admin and civil affairs.
    ("GET+POST", "/institutions/{mn_home}/edit",        200,   200,   403,   200,   403,   403),
    ("GET+POST", "/institutions/{mn_home}/close",       200,   200,   403,   200,   403,   403),
    ("GET+POST", "/institutions/{gz_home}/edit",        200,   200,   403,   404,   404,   404),
    ("GET+POST", "/institutions/{gz_home}/close",       200,   200,   403,   404,   404,   404),
    # Medical institutions, the in-house clinic included, by admin and health.
    ("GET+POST", "/institutions/{mn_hosp}/edit",        200,   403,   200,   403,   200,   403),
    ("GET+POST", "/institutions/{mn_hosp}/close",       200,   403,   200,   403,   200,   403),
    ("GET+POST", "/institutions/{mn_clinic}/edit",      200,   403,   200,   403,   200,   403),
    ("GET+POST", "/institutions/{mn_clinic}/close",     200,   403,   200,   403,   200,   403),
    ("GET+POST", "/institutions/{gz_hosp}/edit",        200,   403,   200,   404,   404,   404),
    ("GET+POST", "/institutions/{gz_hosp}/close",       200,   403,   200,   404,   404,   404),
    # Deleting a record entered in error: admin only.
    ("GET+POST", "/institutions/{mn_home}/delete",      200,   403,   403,   403,   403,   403),
    ("GET+POST", "/institutions/{mn_clinic}/delete",    200,   403,   403,   403,   403,   403),
    ("GET+POST", "/institutions/{gz_hosp}/delete",      200,   403,   403,   404,   404,   404),
    # Registering: the role decides (403) before the host is looked up (404).
    ("GET+POST", "/institutions/new?kind=eldercare",    200,   200,   403,   200,   403,   403),
    ("GET+POST", "/institutions/new?kind=medical",      200,   403,   200,   403,   200,   403),
    ("GET+POST", "/institutions/new?kind=medical&host={mn_home}", 200, 403, 200, 403,   200,   403),
    ("GET+POST", "/institutions/new?kind=medical&host={gz_home}", 200, 403, 200, 403,   404,   403),
    ("GET+POST", "/institutions/new?kind=eldercare&host={gz_hosp}", 200, 200, 403, 404, 403,   403),
    # Agreements: read when either party is in the region ...
    ("GET", "/agreements/{mn_agr}",                     200,   200,   200,   200,   200,   200),
    ("GET", "/agreements/{cross_agr}",                  200,   200,   200,   200,   200,   200),
    ("GET", "/agreements/{gz_agr}",                     200,   200,   200,   404,   404,   404),
    # ... edited by admin and health, only where the home is in the editor's region.
    ("GET+POST", "/agreements/{mn_agr}/edit",           200,   403,   200,   403,   200,   403),
    ("GET+POST", "/agreements/{mn_agr}/terminate",      200,   403,   200,   403,   200,   403),
    ("GET+POST", "/agreements/{cross_agr}/edit",        200,   403,   200,   403,   403,   403),
    ("GET+POST", "/agreements/{cross_agr}/terminate",   200,   403,   200,   403,   403,   403),
    ("GET+POST", "/agreements/{gz_agr}/edit",           200,   403,   200,   404,   404,   404),
    ("GET+POST", "/agreements/{gz_agr}/terminate",      200,   403,   200,   404,   404,   404),
    ("GET+POST", "/agreements/new",                     200,   403,   200,   403,   200,   403),
    ("GET", "/agreements/new?eldercare={mn_home}",      200,   403,   200,   403,   200,   403),
    ("GET+POST", "/agreements/new?eldercare={gz_home}", 200,   403,   200,   403,   404,   403),
    # Administration: admin only.
    ("GET", "/admin/users",                             200,   403,   403,   403,   403,   403),
    ("GET+POST", "/admin/users/new",                    200,   403,   403,   403,   403,   403),
    ("GET", "/admin/audit",                             200,   403,   403,   403,   403,   403),
    ("POST", "/admin/users/{target}/deactivate",        302,   403,   403,   403,   403,   403),
    ("GET", "/admin/targets",                           200,   403,   403,   403,   403,   403),
    ("GET+POST", "/admin/targets/{target_row}/edit",    200,   403,   403,   403,   403,   403),
    ("GET+POST", "/admin/target-sets/maoming-2020-63/targets/new", 200, 403, 403, 403,   403,   403),
    ("GET+POST", "/admin/tokens",                       200,   403,   403,   403,   403,   403),
    ("POST", "/admin/tokens/{token}/revoke",            302,   403,   403,   403,   403,   403),
    # Compliance: everyone sees the dashboard; drill-downs only within scope (city: city users).
    ("GET", "/compliance",                              200,   200,   200,   200,   200,   200),
    ("GET", "/compliance/referral_coverage/city",       200,   200,   200,   404,   404,   404),
    ("GET", "/compliance/referral_coverage/440902",     200,   200,   200,   200,   200,   200),
    ("GET", "/compliance/referral_coverage/440981",     200,   200,   200,   404,   404,   404),
    ("GET", "/compliance/todo",                         200,   200,   200,   200,   200,   200),
    ("GET", "/compliance/todo?region=440981",           200,   200,   200,   404,   404,   404),
    ("GET", "/compliance/todo.xlsx",                    200,   200,   200,   200,   200,   200),
    ("GET", "/compliance/todo.xlsx?region=440981",      200,   200,   200,   404,   404,   404),
    ("GET", "/compliance/export.xlsx",                  200,   200,   200,   200,   200,   200),
    # Training records: staff of every kind edit within their region; officials read.
    ("GET", "/training",                                200,   200,   200,   200,   200,   200),
    ("GET+POST", "/training/new",                       200,   200,   200,   200,   200,   403),
    ("GET+POST", "/training/{mn_train}/edit",           200,   200,   200,   200,   200,   403),
    ("POST", "/training/{mn_train}/delete",             302,   302,   302,   302,   302,   403),
    ("GET", "/training/{gz_train}/edit",                200,   200,   200,   404,   404,   404),
    ("POST", "/training/{gz_train}/delete",             302,   302,   302,   404,   404,   404),
]
# The API answers 401 (not a redirect) without a login; its scope is tested in test_dashboard.

# Cases where the app is known to answer otherwise: (role, region, method, route) -> reason.
KNOWN_BUGS: dict[tuple[str, str | None, str, str], str] = {}


def _user_label(role: str, region: str | None) -> str:
    return f"{role}@{region or 'city'}"


def _requests():
    """(method, route, statuses): a GET+POST row is a page and its form, 200 on the page meaning OK for the form."""
    for method, route, *expected in TABLE:
        assert len(expected) == len(USERS), f"{method} {route}: one column per user"
        if method == "GET+POST":
            yield "GET", route, expected
            yield "POST", route, [OK if status == 200 else status for status in expected]
        else:
            yield method, route, expected


def _cases():
    for method, route, expected in _requests():
        for (role, region), status in zip(USERS, expected, strict=True):
            case_id = f"{_user_label(role, region)} {method} {route} -> {status}"
            reason = KNOWN_BUGS.get((role, region, method, route))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            yield pytest.param(role, region, method, route, status, id=case_id, marks=marks)


@pytest.fixture()
def register(make) -> dict[str, int]:
    """The register every case asks about, ids by name (users are made at login)."""
    ids = {
        "mn_home": make.home(MAONAN, name=NAMES["mn_home"]),
        "mn_hosp": make.medical(MAONAN, name=NAMES["mn_hosp"]),
        "gz_home": make.home(GAOZHOU, name=NAMES["gz_home"]),
        "gz_hosp": make.medical(GAOZHOU, name=NAMES["gz_hosp"]),
    }
    ids["mn_clinic"] = make.medical(MAONAN, host=ids["mn_home"], medical_type="医务室",
                                    name=NAMES["mn_clinic"])
    ids["mn_agr"] = make.agreement(ids["mn_home"], ids["mn_hosp"])
    ids["cross_agr"] = make.agreement(ids["gz_home"], ids["mn_hosp"])
    ids["gz_agr"] = make.agreement(ids["gz_home"], ids["gz_hosp"])
    ids["target"] = make.user("civil_affairs", GAOZHOU, username="target-user")
    ids["token"], _plain = make.token(ids["target"])
    ids["target_row"] = make.target_id()
    ids["mn_train"] = make.training(MAONAN)
    ids["gz_train"] = make.training(GAOZHOU)
    return ids


@pytest.fixture()
def login(make, auth):
    """Create a user of `role` and `region` and log in as it."""

    def login_as(role: str, region: str | None) -> None:
        username = f"{role.replace('_', '-')}-{region or 'city'}"
        make.user(role, region, username=username)
        response = auth.login(username)
        assert response.status_code == 302, f"{_user_label(role, region)} could not log in"

    return login_as


@pytest.mark.parametrize(("role", "region", "method", "route", "expected"), _cases())
def test_route_answers_by_role(client, register, login, role, region, method, route, expected):
    login(role, region)
    response = client.open(route.format(**register), method=method)
    who = f"{_user_label(role, region)} {method} {route}"
    if expected == OK:
        assert response.status_code in ALLOWED, f"{who}: expected 200 or 302, got {response.status_code}"
    else:
        assert response.status_code == expected, (
            f"{who}: expected {expected}, got {response.status_code}")


ANONYMOUS_ROUTES = sorted({(method, route) for method, route, _statuses in _requests()})


@pytest.mark.parametrize(("method", "route"), ANONYMOUS_ROUTES,
                         ids=[f"anonymous {m} {r} -> 302 /login" for m, r in ANONYMOUS_ROUTES])
def test_anonymous_is_sent_to_login(client, register, method, route):
    response = client.open(route.format(**register), method=method)
    location = response.headers.get("Location", "")
    assert (response.status_code, location.split("?")[0]) == (302, "/login"), (
        f"anonymous {method} {route}: expected 302 to /login, "
        f"got {response.status_code} to {location!r}")


@pytest.mark.parametrize(("role", "region"), USERS, ids=[_user_label(*u) for u in USERS])
def test_search_lists_only_institutions_in_scope(client, register, login, role, region):
    login(role, region)
    response = client.get("/institutions/search.json?q=测试")
    found = sorted(row["name"] for row in response.get_json())
    in_scope = MAONAN_INSTITUTIONS if region == MAONAN else ALL_INSTITUTIONS
    expected = sorted(NAMES[key] for key in in_scope)
    assert found == expected, (
        f"{_user_label(role, region)} GET /institutions/search.json?q=测试: "
        f"expected {expected}, got {found}")


def _list_cases():
    """(page, what, in scope for 茂南 users): what each list shows (city users see all)."""
    rows = [
        ("/homes", "mn_home", True),
        ("/homes", "gz_home", False),
        ("/medical", "mn_hosp", True),
        ("/medical", "mn_clinic", True),
        ("/medical", "gz_hosp", False),
        ("/agreements", "mn_agr", True),
        ("/agreements", "cross_agr", True),  # its medical party is in 茂南
        ("/agreements", "gz_agr", False),
    ]
    for role, region in USERS:
        for page, what, in_maonan in rows:
            shown = in_maonan or region is None
            case_id = f"{_user_label(role, region)} GET {page} {'shows' if shown else 'hides'} {what}"
            yield pytest.param(role, region, page, what, shown, id=case_id)


@pytest.mark.parametrize(("role", "region", "page", "what", "shown"), _list_cases())
def test_list_shows_only_records_in_scope(client, register, login, role, region, page, what, shown):
    login(role, region)
    response = client.get(page)
    # Institutions by name; agreements by their link (a listed cross-district
    # agreement names its 高州 home, so names do not tell agreements apart).
    marker = f'href="/agreements/{register[what]}"' if page == "/agreements" else NAMES[what]
    assert (marker in response.text) == shown, (
        f"{_user_label(role, region)} GET {page}: {what} ({marker}) should be "
        f"{'listed' if shown else 'absent'}")


MEDICAL_REFUSAL = "医疗卫生机构（含养老机构内设医疗机构）由卫生健康部门登记和修改，请联系卫生健康部门。"
HOME_REFUSAL = "养老机构（含医疗卫生机构设立的养老机构）由民政部门登记和修改，请联系民政部门。"
AGREEMENT_REFUSAL = "签约协议由卫生健康部门登记和修改，请联系卫生健康部门。"


@pytest.mark.parametrize(("role", "region", "route", "message"), [
    ("civil_affairs", None, "/institutions/new?kind=medical", MEDICAL_REFUSAL),
    ("civil_affairs", MAONAN, "/institutions/new?kind=medical&host={mn_home}", MEDICAL_REFUSAL),
    ("civil_affairs", None, "/institutions/{mn_hosp}/edit", MEDICAL_REFUSAL),
    ("civil_affairs", MAONAN, "/institutions/{mn_clinic}/close", MEDICAL_REFUSAL),
    ("district_official", MAONAN, "/institutions/{mn_clinic}/edit", MEDICAL_REFUSAL),
    ("health", None, "/institutions/new?kind=eldercare", HOME_REFUSAL),
    ("health", MAONAN, "/institutions/{mn_home}/edit", HOME_REFUSAL),
    ("civil_affairs", None, "/agreements/new", AGREEMENT_REFUSAL),
    ("civil_affairs", MAONAN, "/agreements/{mn_agr}/edit", AGREEMENT_REFUSAL),
    ("district_official", MAONAN, "/agreements/{mn_agr}/terminate", AGREEMENT_REFUSAL),
    # The right department, but the agreement is its 高州 home's: the page says whose it is.
    ("health", MAONAN, "/agreements/{cross_agr}/edit", "签约协议由高州市的卫生健康部门修改，请联系高州市卫生健康部门。"),
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_refusal_names_the_department_that_registers_the_record(client, register, login, role, region, route,
                                                                  message, method):
    login(role, region)
    response = client.open(route.format(**register), method=method)
    assert response.status_code == 403
    assert message in response.text
    assert "您没有权限执行此操作" not in response.text


def test_a_refusal_speaks_the_readers_language(client, register, login):
    login("civil_affairs", None)
    client.get("/lang/en")
    response = client.get("/institutions/new?kind=medical")
    assert response.status_code == 403
    assert ("Medical institutions (including homes&#39; in-house medical units) are registered and edited by "
            "the health bureau: please contact the health bureau.") in response.text


def test_a_record_outside_the_scope_is_still_not_found_without_naming_a_department(client, register, login):
    login("civil_affairs", MAONAN)
    response = client.get(f"/institutions/{register['gz_hosp']}/edit")
    assert response.status_code == 404
    assert "卫生健康部门" not in response.text and "未找到该页面或记录" in response.text


def test_other_refusals_keep_the_general_message(client, register, login):
    login("health", None)
    response = client.get("/admin/users")
    assert response.status_code == 403 and "您没有权限执行此操作" in response.text
