"""The page layout: the left menu per role with its counts, breadcrumbs, the lists' 操作 column,
required marks, the user badge and the one way distances are written."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from registry.extensions import db
from registry.models import User, clock
from tests.conftest import AuthActions
from tests.factories import GAOZHOU, MAONAN, count_statements
from tests.test_institutions import home_form


class Landmark(HTMLParser):
    """The links (text, address) and the items' text inside the <nav> named `label`."""

    def __init__(self, label: str):
        super().__init__()
        self.label, self.depth, self.links, self.items = label, 0, [], []
        self._link: list[str] | None = None
        self._item: list[str] | None = None
        self._href = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and (self.depth or attrs.get("aria-label") == self.label):
            self.depth += 1
        elif self.depth and tag == "a":
            self._link, self._href = [], attrs.get("href", "")
        elif self.depth and tag == "li":
            self._item = []

    def handle_endtag(self, tag):
        if tag == "nav" and self.depth:
            self.depth -= 1
        elif tag == "a" and self._link is not None:
            self.links.append((" ".join("".join(self._link).split()), self._href))
            self._link = None
        elif tag == "li" and self._item is not None:
            self.items.append(" ".join("".join(self._item).split()))
            self._item = None

    def handle_data(self, data):
        if self._link is not None:
            self._link.append(data)
        if self._item is not None:
            self._item.append(data)


def landmark(html: str, label: str) -> Landmark:
    parser = Landmark(label)
    parser.feed(html)
    return parser


def menu(client, path: str = "/") -> dict[str, tuple[str, int]]:
    """The main menu's entries on the page at `path`: label → (address, the count shown on it or 0)."""
    entries = {}
    for text, href in landmark(client.get(path).text, "主菜单").links:
        label, _, waiting = text.partition(" ")
        entries[label] = (href, int(waiting.removesuffix(" 项待处理")) if waiting else 0)
    return entries


def crumbs(client, path: str) -> list[str]:
    return landmark(client.get(path).text, "位置").items


def login(make, client, role: str, region: str | None, username: str) -> None:
    make.user(role, region, username=username)
    AuthActions(client).logout()
    assert AuthActions(client).login(username).status_code == 302


# --- the menu -------------------------------------------------------------------------------------

REGISTER = ["首页", "养老机构", "医疗卫生机构", "签约协议", "培训", "指标", "上报", "待办", "地图"]
ADMINISTRATION = ["用户管理", "目标管理", "接口令牌", "操作日志"]


@pytest.mark.parametrize(
    ("role", "region", "entries", "groups"),
    [
        ("admin", None, [*REGISTER, "导入导出", "审核", *ADMINISTRATION, "使用说明"], ["登记", "统计", "数据", "系统管理"]),
        ("civil_affairs", None, [*REGISTER, "导入导出", "审核", "使用说明"], ["登记", "统计", "数据"]),
        ("health", GAOZHOU, [*REGISTER, "导入导出", "审核", "使用说明"], ["登记", "统计", "数据"]),
        ("district_official", MAONAN, [*REGISTER, "审核", "使用说明"], ["登记", "统计"]),
    ],
)
def test_each_role_sees_its_own_menu_entries_in_their_groups(make, client, role, region, entries, groups):
    login(make, client, role, region, "someone")
    assert list(menu(client)) == entries
    assert re.findall(r'class="menu-heading"[^>]*>([^<]+)<', client.get("/").text) == groups


def test_the_entry_of_the_page_is_marked_current(make, client):
    login(make, client, "civil_affairs", None, "minzheng")
    home = make.home(name="茂南颐康养老院")
    for path, entry in (("/homes", "养老机构"), (f"/institutions/{home}", "养老机构"), ("/compliance/todo", "待办"),
                        ("/compliance", "指标"), ("/review/mine", "审核")):
        current = re.findall(r'class="menu-link" href="[^"]+" aria-current="page">\s*<span>([^<]+)</span>',
                             client.get(path).text)
        assert current == [entry], path


def test_the_menu_counts_the_work_waiting_where_it_is(make, client):
    """A district's new home waits in the city bureau's 审核; an agreement ending soon is a 待办."""
    today = clock.today()
    home, hospital = make.home(), make.medical()
    make.agreement(home, hospital, valid_from=today - timedelta(days=300), valid_to=today + timedelta(days=20),
                   signed_on=None)
    login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    assert client.post("/institutions/new?kind=eldercare", data=home_form(name="茂南待审养老院")).status_code == 302
    login(make, client, "civil_affairs", None, "mz-city")
    entries = menu(client)
    assert entries["审核"] == ("/review", 1)
    assert entries["待办"] == ("/compliance/todo", 1)
    assert entries["上报"] == ("/reports", 0)  # the city's 民政 approves no reports


# --- breadcrumbs ----------------------------------------------------------------------------------

def test_every_page_says_where_it_is(make, client, admin):
    home = make.home(name="茂南颐康养老院")
    agreement = make.agreement(home, make.medical(name="茂名示范医院"))
    assert crumbs(client, "/") == ["首页"]
    assert crumbs(client, "/homes") == ["首页", "登记", "养老机构"]
    assert crumbs(client, f"/institutions/{home}") == ["首页", "登记", "养老机构", "茂南颐康养老院"]
    assert crumbs(client, f"/institutions/{home}/edit") == ["首页", "登记", "养老机构", "茂南颐康养老院", "编辑"]
    assert crumbs(client, f"/agreements/{agreement}/terminate")[:3] == ["首页", "登记", "签约协议"]
    assert crumbs(client, "/admin/users/new") == ["首页", "系统管理", "用户管理", "新建账号"]
    drill_down = landmark(client.get("/compliance/referral_coverage/440902?as_of=2022-12-31").text, "位置")
    assert drill_down.items[:3] == ["首页", "统计", "医养结合指标"]
    assert ("医养结合指标", "/compliance?as_of=2022-12-31") in drill_down.links  # back on the same day
    assert crumbs(client, "/notifications") == ["首页", "提醒"]
    assert crumbs(client, "/institutions/999999") == ["首页", "未找到该页面或记录"]
    # Each step links to its page; the group is a heading, not a link.
    links = landmark(client.get(f"/institutions/{home}/edit").text, "位置").links
    assert links == [("首页", "/"), ("养老机构", "/homes"), ("茂南颐康养老院", f"/institutions/{home}")]


def test_the_login_page_has_no_menu_and_no_breadcrumbs(client):
    page = client.get("/login").text
    assert 'aria-label="主菜单"' not in page and 'aria-label="位置"' not in page


# --- the 操作 column ------------------------------------------------------------------------------

def actions(html: str, name: str) -> list[str]:
    """The 操作 links (and buttons) of the list row naming `name`."""
    row = next(r for r in re.findall(r"<tr>.*?</tr>", html, re.S) if name in r)
    cell = re.search(r'class="row-actions[^"]*">(.*?)</td>', row, re.S).group(1)
    return re.findall(r">\s*([^<>\s]+)\s*</(?:a|button)>", cell)


def test_the_operations_follow_the_users_rights(make, client):
    make.home(name="运营中的养老院")
    make.home(name="已停业的养老院", closed_on=clock.today() - timedelta(days=1))
    make.medical(name="茂南医院")
    login(make, client, "civil_affairs", None, "minzheng")
    homes = client.get("/homes").text
    assert actions(homes, "运营中的养老院") == ["查看", "编辑", "停业"]
    assert actions(homes, "已停业的养老院") == ["查看", "编辑"]
    assert actions(client.get("/medical").text, "茂南医院") == ["查看"]  # 卫健 registers medical institutions
    login(make, client, "district_official", MAONAN, "lingdao")
    assert actions(client.get("/homes").text, "运营中的养老院") == ["查看"]


def test_the_rights_of_a_whole_page_of_rows_take_one_query(app, make, client, civil):
    make.home()
    few = count_statements(app, client, "/homes")
    for n in range(6):
        make.home(name=f"又一家养老院{n}")
    assert count_statements(app, client, "/homes") == few


def test_agreements_offer_termination_only_while_they_apply(make, client, health):
    today = clock.today()
    home = make.home(name="茂南颐康养老院")
    make.agreement(home, make.medical(name="有效协议医院"))
    make.agreement(home, make.medical(name="已终止协议医院"), terminated_on=today - timedelta(days=10))
    make.agreement(home, make.medical(name="已到期协议医院"), valid_to=today - timedelta(days=1))
    page = client.get("/agreements").text
    assert actions(page, "有效协议医院") == ["查看", "编辑", "终止"]
    assert actions(page, "已终止协议医院") == ["查看", "编辑"]
    assert actions(page, "已到期协议医院") == ["查看", "编辑"]


def test_the_review_list_offers_review_to_the_reviewer_and_withdrawal_to_the_submitter(make, client):
    login(make, client, "civil_affairs", MAONAN, "mz-maonan")
    client.post("/institutions/new?kind=eldercare", data=home_form(name="茂南待审养老院"))
    assert actions(client.get("/review").text, "茂南待审养老院") == ["查看", "撤回"]
    login(make, client, "civil_affairs", None, "mz-city")
    assert actions(client.get("/review").text, "茂南待审养老院") == ["审核"]
    login(make, client, "health", None, "wj-city")  # another department's request: read only
    assert "茂南待审养老院" not in client.get("/review").text


def test_training_rows_are_edited_by_staff_and_only_read_by_officials(make, client):
    make.training(organiser="茂南区卫生健康局")
    login(make, client, "health", None, "weijian")
    assert actions(client.get("/training").text, "茂南区卫生健康局") == ["编辑"]
    login(make, client, "district_official", MAONAN, "lingdao")
    page = client.get("/training").text
    assert "茂南区卫生健康局" in page and "row-actions" not in page


# --- forms, the badge, distances --------------------------------------------------------------------

def starred(html: str) -> list[str]:
    """The labels a form marks required (*)."""
    return re.findall(r'<label class="form-label" for="\w+">([^<]+)</label> <span class="text-danger"', html)


def test_the_home_form_marks_every_field_the_register_requires(client, civil):
    assert starred(client.get("/institutions/new?kind=eldercare").text) == ["机构名称", "所属区县", "成立日期", "床位数"]


def test_the_header_names_the_user_their_role_and_region(app, make, client):
    user_id = make.user("district_official", MAONAN, username="lingdao")
    with app.app_context():
        db.session.get(User, user_id).full_name = "茂南区领导（示例）"
        db.session.commit()
    AuthActions(client).login("lingdao")
    page = client.get("/").text
    assert "茂南区领导（示例） · 区县领导 · 茂南区" in page
    assert "（示例）（" not in page


def test_a_distance_reads_the_same_on_every_page(make, client, health):
    """2.22 km apart (21.6640,110.9160 → 21.6600,110.9370): 2.2 公里 wherever it is shown."""
    home = make.home(name="茂南颐养院", lat=21.6640, lon=110.9160)
    agreement = make.agreement(home, make.medical(name="茂名示范医院", lat=21.6600, lon=110.9370))
    assert "2.2 公里" in client.get(f"/institutions/{home}").text
    assert "2.2 公里（大地线距离）" in client.get(f"/agreements/{agreement}").text
    rows = client.get(f"/places/nearby.json?home={home}").get_json()["results"]
    assert rows[0]["distance"] == "2.2 公里"
