"""The left menu (主菜单) and the breadcrumbs it implies.

The menu is data: groups of entries, each with the roles that see it (None: every role) and
the kinds of waiting notices (registry/services/notifications.py) it counts. The page whose
address an entry's begins is that entry's, the longest match winning (待办 over 指标).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import url_for
from flask_babel import lazy_pgettext

from registry.vocab import ADMIN, CIVIL_AFFAIRS, HEALTH

STAFF = frozenset({ADMIN, CIVIL_AFFAIRS, HEALTH})  # the departments' staff (导入导出)
ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Entry:
    """A menu link: its label, its page, who sees it and which notices it counts."""

    label: object  # a lazy string
    endpoint: str
    roles: frozenset[str] | None = None
    counts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """Entries under a heading; a group without one is an entry on its own (首页, 审核)."""

    label: object | None
    entries: tuple[Entry, ...]


MENU = (
    Group(None, (Entry(lazy_pgettext("menu", "首页"), "main.index"),)),
    Group(lazy_pgettext("menu", "登记"), (
        Entry(lazy_pgettext("menu", "养老机构"), "institutions.homes"),
        Entry(lazy_pgettext("menu", "医疗卫生机构"), "institutions.medical"),
        Entry(lazy_pgettext("menu", "签约协议"), "agreements.index"),
        Entry(lazy_pgettext("menu", "培训"), "training.index"),
    )),
    Group(lazy_pgettext("menu", "统计"), (
        Entry(lazy_pgettext("menu", "指标"), "compliance.dashboard"),
        Entry(lazy_pgettext("menu", "上报"), "reports.index", counts=("report_due", "reports_waiting")),
        Entry(lazy_pgettext("menu", "待办"), "compliance.todo_list", counts=("expiring",)),
        Entry(lazy_pgettext("menu", "地图"), "places.map_page"),
    )),
    Group(lazy_pgettext("menu", "数据"), (Entry(lazy_pgettext("menu", "导入导出"), "data.import_file", roles=STAFF),)),
    Group(None, (Entry(lazy_pgettext("menu", "审核"), "review.queue", counts=("waiting",)),)),
    Group(lazy_pgettext("menu", "系统管理"), (
        Entry(lazy_pgettext("menu", "用户管理"), "admin.users", roles=ADMINS),
        Entry(lazy_pgettext("menu", "目标管理"), "admin.targets", roles=ADMINS),
        Entry(lazy_pgettext("menu", "接口令牌"), "admin.tokens", roles=ADMINS),
        Entry(lazy_pgettext("menu", "操作日志"), "admin.audit_log", roles=ADMINS),
    )),
    Group(None, (Entry(lazy_pgettext("menu", "使用说明"), "help.index"),)),
)


@dataclass
class Link:
    """An entry or a breadcrumb as the user sees it: where it goes, what waits there, whether it is this page."""

    label: str
    url: str
    count: int = 0
    current: bool = False


@dataclass
class Section:
    label: str | None
    links: list[Link]


def _owns(url: str, path: str) -> bool:
    """Whether the page at `path` is under the entry at `url` (/agreements owns /agreements/5)."""
    if url == "/":
        return path == "/"
    return path == url or path.startswith(url.rstrip("/") + "/")


def sections(role: str, notices: Iterable, path: str) -> list[Section]:
    """The menu a user of `role` sees on the page at `path`, counting `notices` on their entries."""
    waiting = {notice.kind: notice.count for notice in notices}
    menu = [Section(str(group.label) if group.label is not None else None,
                    [Link(str(entry.label), url_for(entry.endpoint), sum(waiting.get(kind, 0) for kind in entry.counts))
                     for entry in group.entries if entry.roles is None or role in entry.roles])
            for group in MENU]
    menu = [section for section in menu if section.links]
    owner = _owner(menu, path)
    if owner is not None:
        owner[1].current = True
    return menu


def _owner(menu: list[Section], path: str) -> tuple[Section, Link] | None:
    """The section and entry whose page `path` is under, the longest match winning."""
    owners = [(section, link) for section in menu for link in section.links if _owns(link.url, path)]
    return max(owners, key=lambda owner: len(owner[1].url), default=None)


def trail(menu: list[Section], path: str, current: str, steps: Iterable[tuple[str, str]] = ()) -> list[Link]:
    """Breadcrumbs to the page at `path` titled `current`: 首页, the menu's group and entry, `steps`, the page.

    `steps` are (label, url) pairs down to the page; the first one's address finds the menu entry
    when the page's own is not under it (an institution's page is under 养老机构), and a step that
    is the entry (its address, perhaps with filters: the dashboard on the day shown) stands for it.
    Without steps, the entry owning the page leads to it (首页 › 系统管理 › 用户管理 › 新建账号).
    """
    steps = list(steps)
    home = menu[0].links[0]
    if path == home.url:
        return [Link(home.label, home.url, current=True)]
    crumbs = [Link(home.label, home.url)]
    owner = _owner(menu, urlsplit(steps[0][1]).path if steps else path)
    if owner is not None and owner[1].url != home.url:
        section, entry = owner
        if section.label:
            crumbs.append(Link(section.label, ""))
        if steps and urlsplit(steps[0][1]).path == entry.url:  # the entry, perhaps with its filters
            crumbs.append(Link(*steps.pop(0)))
        elif entry.url != path:
            crumbs.append(Link(entry.label, entry.url))
    crumbs += [Link(label, url) for label, url in steps if url != path]
    return [*crumbs, Link(current, path, current=True)]
