"""使用说明: each role's page answers, names its key tasks, and links only pages that role can open."""

from __future__ import annotations

import html
import re

import pytest

from tests.factories import MAONAN
from tests.test_i18n import compiled_english  # noqa: F401  (a fixture)

# (role, region): the city and district users of each role, and the tasks their page must name.
USERS = [
    ("admin", None), ("civil_affairs", None), ("civil_affairs", MAONAN), ("health", None), ("health", MAONAN),
    ("district_official", MAONAN),
]
KEY_TASKS = {
    "admin": ("开通账号", "停用或启用账号", "调整目标", "签发接口令牌", "查看操作日志", "删除（误录）"),
    "civil_affairs": ("查找养老机构", "登记养老机构", "办理停业", "导入各局的登记表", "影响指标的修改须经市民政局审核",
                      "上报本区县数据", "审核区县的变更申请"),
    "health": ("登记医疗卫生机构", "登记内设医疗机构", "登记医保定点", "登记签约协议", "续签和终止协议",
               "影响指标的修改须经市卫生健康局审核", "审核各区县的上报"),
    "district_official": ("查看指标完成情况", "缺口名单", "了解需要处理的事项", "查看上报和审核情况", "只能查看，不能修改"),
}
TITLES = {"admin": "系统管理员", "civil_affairs": "民政工作人员", "health": "卫健工作人员", "district_official": "区县领导"}


def _login(make, auth, role: str, region: str | None) -> None:
    make.user(role, region, username="reader")
    auth.login("reader")


@pytest.mark.parametrize(("role", "region"), USERS)
def test_help_shows_the_users_own_role(client, make, auth, role, region):
    _login(make, auth, role, region)
    page = client.get("/help")
    assert page.status_code == 200
    assert f"使用说明：{TITLES[role]}" in page.text
    for task in KEY_TASKS[role]:
        assert task in page.text, task


@pytest.mark.parametrize(("role", "region"), USERS)
def test_every_page_a_role_is_sent_to_opens_for_it(client, make, auth, role, region):
    _login(make, auth, role, region)
    guide = client.get("/help").text
    main = guide[guide.index('id="main"'):]
    links = set(re.findall(r'href="(/[^"#]*)"', main)) - {"/help"}
    assert len(links) >= 5
    for link in sorted(links):
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


@pytest.mark.parametrize("other", sorted(TITLES))
def test_any_role_reads_the_other_roles_help(client, official, other):
    page = client.get(f"/help/{other}")
    assert page.status_code == 200
    assert KEY_TASKS[other][0] in page.text


def test_an_unknown_role_has_no_help(client, official):
    assert client.get("/help/superuser").status_code == 404


def test_help_is_for_logged_in_users(client):
    response = client.get("/help/admin")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_menu_links_the_help(client, health):
    menu = client.get("/").text.split('aria-label="主菜单"', 1)[1].split("</nav>", 1)[0]
    assert re.search(r'href="/help"[^>]*>\s*<span>使用说明</span>', menu)


ENGLISH = {
    "admin": ("Help: System administrator", "Open an account", "Issue API tokens"),
    "civil_affairs": ("Help: Civil affairs staff", "Register elder-care institution", "Report your district's figures"),
    "health": ("Help: Health commission staff", "Record care agreement", "Decide the districts' reports"),
    "district_official": ("Help: District official", "Follow progress against the targets", "shortfall list"),
}


@pytest.mark.parametrize("role", sorted(ENGLISH))
def test_the_help_speaks_english(client, official, compiled_english, role):  # noqa: F811
    client.get("/lang/en")
    page = html.unescape(client.get(f"/help/{role}").text)
    for phrase in ENGLISH[role]:
        assert phrase in page, phrase
    assert 'href="/help">Help</a>' in page
