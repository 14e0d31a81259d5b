"""A save over someone else's newer save is refused, and the refusal shows what was saved since the form was
opened (who, when, which fields), keeps what the user typed, and links to the latest version."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from registry.extensions import db
from registry.models import Institution, Target
from tests.factories import PASSWORD


class FormFields(HTMLParser):
    """The fields of a page's versioned form, as a browser would post them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({})
        elif tag == "option" and self._select and "selected" in attrs:
            self.forms[-1][self._select] = attrs.get("value") or ""
        elif not self.forms or "name" not in attrs:
            return
        elif tag == "input" and attrs.get("type") not in ("checkbox", "radio", "file", "submit"):
            self.forms[-1][attrs["name"]] = attrs.get("value") or ""
        elif tag == "input" and attrs.get("type") == "checkbox" and "checked" in attrs:
            self.forms[-1][attrs["name"]] = attrs.get("value") or "y"
        elif tag == "select":
            self._select = attrs["name"]
            self.forms[-1].setdefault(self._select, "")
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.forms[-1][self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.forms[-1][self._textarea] += data.strip("\r\n")


def opened(browser, path: str) -> dict[str, str]:
    """The form at `path` as its page shows it (the one carrying a version)."""
    parser = FormFields()
    page = browser.get(path)
    assert page.status_code == 200, path
    parser.feed(page.text)
    return next(form for form in parser.forms if "version" in form)


@dataclass
class Case:
    role: str
    path: str  # with {id}
    other: tuple[str, str]  # the field the other person changes, and its new value
    label: str  # how the notice names that field
    mine: tuple[str, str]  # what this user types


CASES = {
    "institution": Case("civil_affairs", "/institutions/{id}/edit", ("phone", "0668-2221111"), "联系电话",
                        ("name", "我改的名称养老院")),
    "closing": Case("civil_affairs", "/institutions/{id}/close", ("phone", "0668-2221111"), "联系电话",
                    ("closed_on", "2026-01-31")),
    "agreement": Case("health", "/agreements/{id}/edit", ("visit_frequency", "每周两次"), "巡诊频次",
                      ("fees", "免费上门")),
    "termination": Case("health", "/agreements/{id}/terminate", ("visit_frequency", "每周两次"), "巡诊频次",
                        ("terminated_on", "2026-01-31")),
    "training": Case("civil_affairs", "/training/{id}/edit", ("organiser", "后来的主办单位"), "主办单位",
                     ("note", "我写的备注")),
    "target": Case("admin", "/admin/targets/{id}/edit", ("clause", "二(九)"), "条款", ("note", "我写的说明")),
}


def make_record(app, make, name: str) -> int:
    if name in ("institution", "closing"):
        return make.home(name="原名养老院")
    if name in ("agreement", "termination"):
        return make.agreement(make.home(), make.medical(), visit_frequency="每月一次")
    if name == "training":
        return make.training(organiser="原来的主办单位")
    with app.app_context():
        return db.session.scalars(select(Target.id).order_by(Target.id)).first()


def edit_path(name: str) -> str:
    """Where the other person changes the record (the closing's and termination's record is edited)."""
    return {"closing": "institution", "termination": "agreement"}.get(name, name)


@pytest.fixture()
def two_people(app, make):
    """Two browsers, logged in as two people of the same role (the second one, `other`, saves first)."""
    def logged_in(role: str) -> tuple:
        browsers = []
        for username in (f"{role}-me", f"{role}-other"):
            make.user(role, username=username)
            browser = app.test_client()
            browser.post("/login", data={"username": username, "password": PASSWORD})
            browsers.append(browser)
        return tuple(browsers)
    return logged_in


@pytest.mark.parametrize("name", CASES)
def test_a_stale_save_shows_what_others_changed_and_keeps_what_was_typed(app, make, two_people, name):
    case = CASES[name]
    me, other = two_people(case.role)
    record = make_record(app, make, name)
    path = case.path.format(id=record)
    mine = opened(me, path)

    other_path = CASES[edit_path(name)].path.format(id=record)
    field, value = case.other
    assert other.post(other_path, data=opened(other, other_path) | {field: value}).status_code == 302

    field, typed = case.mine
    refused = me.post(path, data=mine | {field: typed})
    assert refused.status_code == 200
    page = refused.text
    assert "该记录已被他人修改，您的修改未保存" in page
    assert "您打开此表单之后的修改" in page
    assert f"{case.role}-other 于 " in page  # who, then when
    assert f"{case.label}：" in page and f"→ {case.other[1]}" in page
    assert f'href="{path}">查看最新版本</a>' in page
    assert typed in page  # the typed value stays in the form

    latest = me.get(path).text  # the latest version, opened afresh, saves
    assert "该记录已被他人修改" not in latest


def test_saves_made_before_the_form_was_opened_are_not_listed(app, make, two_people):
    me, other = two_people("civil_affairs")
    home = make.home(name="原名养老院")
    path = f"/institutions/{home}/edit"
    assert other.post(path, data=opened(other, path) | {"phone": "0668-1000001"}).status_code == 302
    mine = opened(me, path)
    assert other.post(path, data=opened(other, path) | {"address": "油城七路 9 号"}).status_code == 302
    page = me.post(path, data=mine | {"name": "我改的名称养老院"}).text
    assert "地址：— → 油城七路 9 号" in page
    assert "0668-1000001" not in page.split("您打开此表单之后的修改")[1].split("查看最新版本")[0]
    with app.app_context():
        assert db.session.get(Institution, home).name == "原名养老院"


def test_every_save_since_is_listed_oldest_first(app, make, two_people):
    me, other = two_people("civil_affairs")
    home = make.home(name="原名养老院")
    path = f"/institutions/{home}/edit"
    mine = opened(me, path)
    for phone in ("0668-1000001", "0668-1000002"):
        assert other.post(path, data=opened(other, path) | {"phone": phone}).status_code == 302
    page = me.post(path, data=mine | {"name": "我改的名称养老院"}).text
    first, second = "联系电话：— → 0668-1000001", "联系电话：0668-1000001 → 0668-1000002"
    assert first in page and second in page and page.index(first) < page.index(second)


def test_a_save_in_time_shows_no_notice(app, make, two_people):
    me, _other = two_people("civil_affairs")
    home = make.home(name="原名养老院")
    path = f"/institutions/{home}/edit"
    assert me.post(path, data=opened(me, path) | {"name": "我改的名称养老院"}).status_code == 302
    with app.app_context():
        assert db.session.get(Institution, home).name == "我改的名称养老院"
