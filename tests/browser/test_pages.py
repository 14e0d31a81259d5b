"""Every main page: axe-core finds nothing serious or critical, and the English pages have no Chinese chrome."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.browser.helpers import CREATED, PHONE, WIDE, login  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
BLOCKING = ("serious", "critical")


def record_urls(page) -> dict[str, str]:
    """Addresses of a few records, found as a person finds them: the first row of each list."""
    urls = {}
    for name, listing in (("home", "/homes"), ("medical", "/medical"), ("agreement", "/agreements")):
        page.goto(listing)
        urls[name] = page.locator("tbody tr").first.get_by_role("link").first.get_attribute("href")
    page.goto("/admin/targets")
    urls["target"] = page.get_by_role("link", name=re.compile("^(编辑|Edit)$")).first.get_attribute("href")
    page.goto("/training")
    urls["training"] = page.locator("tbody tr").first.get_by_role("link").first.get_attribute("href")
    return urls


def import_report(page, path: Path):
    """The import report of a spreadsheet with a bad row (the page's language whatever it is)."""
    path.write_text("机构类别,机构名称,所属区县,成立日期,床位数\n养老机构,,茂北区,2020-02-30,-1\n", encoding="utf-8")
    page.goto("/data/import")
    page.locator("main input[type=file]").set_input_files(path)
    page.locator("main form button[type=submit]").click()
    # The check runs as a background job: the worker thread polls its queue, the page refreshes every 2 s.
    expect(page.get_by_role("alert")).to_be_visible(timeout=30_000)
    return page


# --- axe-core ---------------------------------------------------------------------------------------

def axe_violations(page) -> list[str]:
    """Serious and critical axe-core violations on the page as it is, one line per rule."""
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{page.url} [{v['impact']}] {v['id']}: {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:8])
        for v in results if v["impact"] in BLOCKING
    ]


def test_axe_finds_nothing_serious_on_the_main_pages(csp_free_page, tmp_path):
    """The page's CSP forbids the injected script, so this context bypasses it (and only this one)."""
    page = csp_free_page
    found = []
    page.goto("/login")
    found += axe_violations(page)
    page.get_by_role("button", name="登录").click()  # an empty login: the form's errors
    found += axe_violations(page)
    login(page, "admin")
    urls = record_urls(page)
    for path in ("/", "/homes", "/medical", "/agreements", urls["home"], urls["agreement"],
                 "/institutions/new?kind=eldercare", "/agreements/new", "/compliance", "/compliance/todo",
                 "/map", "/data/import", "/admin/users", "/admin/audit",
                 "/review", "/review/mine", "/notifications", "/reports", "/reports/2022-Q4", "/reports/2022-Q4/440902"):
        page.goto(path)
        found += axe_violations(page)
    # A pending request and a submitted report, with their decision forms.
    page.goto("/review?status=pending")
    page.locator("tbody tr").first.get_by_role("link").last.click()
    found += axe_violations(page)
    page.goto("/reports/2022-Q4")
    submitted = page.get_by_role("row").filter(has_text="已上报")  # 高州市's, unless a journey decided it already
    if submitted.count():
        submitted.get_by_role("link").first.click()
        found += axe_violations(page)
    for path in ("/institutions/new?kind=eldercare", "/agreements/new"):  # forms showing their errors
        page.goto(path)
        page.get_by_role("button", name="保存").click()
        expect(page.locator(".invalid-feedback").first).to_be_visible()
        found += axe_violations(page)
    found += axe_violations(import_report(page, tmp_path / "bad.csv"))
    page.set_viewport_size(PHONE)
    for path in ("/", urls["home"], "/compliance"):
        page.goto(path)
        found += axe_violations(page)
    page.set_viewport_size(WIDE)
    assert not found, "axe-core:\n" + "\n".join(found)


# --- English --------------------------------------------------------------------------------------

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
# The chrome of a page: what the templates and the code write, never what a user typed.
# Text marked lang="zh…" (the 中文 switch, the policy's clause numbers) is Chinese on purpose.
CHROME = """() => {
  const chinese = (node) => {
    const marked = (node.nodeType === 1 ? node : node.parentElement).closest('[lang]');
    return marked !== null && marked.lang.startsWith('zh');
  };
  const textOf = (el) => {
    if (chinese(el)) { return ''; }
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const parts = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!chinese(node) && !node.parentElement.closest('script, style')) { parts.push(node.nodeValue); }
    }
    return parts.join(' ');
  };
  const texts = [];
  const selectors = 'title, header, nav, h1, h2, h3, h4, h5, h6, label, legend, button, thead th, caption, td, dd, '
    + '.alert, .badge, .form-text, .invalid-feedback, .btn, .nav-link, .page-link, option, dt, '
    + '.text-muted, .nearby-list';
  for (const el of document.querySelectorAll(selectors)) {
    texts.push([el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : ''),
                textOf(el)]);
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
    for (const name of ['placeholder', 'aria-label', 'title']) {
      if (el.hasAttribute(name) && !chinese(el)) { texts.push(['@' + name, el.getAttribute(name)]); }
    }
  }
  return texts;
}"""


def data_texts() -> list[str]:
    """What the demo register holds (names, addresses, people, reasons, the policy's title): data, not chrome."""
    demo = json.loads((ROOT / "seeds" / "demo.json").read_text(encoding="utf-8"))
    found = [i[k] for i in demo["institutions"] for k in ("name", "address") if i.get(k)]
    found += [u["full_name"] for u in demo["users"]]
    found += [t["organiser"] for t in demo["training"] if t.get("organiser")]
    found += [str(a[k]) for a in demo["agreements"] for k in a
              if isinstance(a[k], str) and CJK.search(a[k]) and k not in ("services",)]
    requests = demo["review"]["requests"]  # the demo's change requests: what they ask for, and why one was returned
    found += [r["values"][k] for r in requests for k in ("name", "address") if r["values"].get(k)]
    found += [r["reason"] for r in requests if r.get("reason")]
    for path in (ROOT / "seeds" / "target_sets").glob("*.json"):
        target_set = json.loads(path.read_text(encoding="utf-8"))
        found += [target_set["title"], target_set["document_no"]]
    return sorted(set(found) | set(CREATED), key=len, reverse=True)


DATA = data_texts()
SHEET_NAMES = ("机构", "签约协议")  # the workbook's sheets, named as the exchange format names them
MARKED = re.compile(r"【(示例|测试)】\S*")  # any record the demo or these tests created


def chinese_chrome(page, data: tuple[str, ...] = ()) -> list[str]:
    """Chinese text left in the chrome once the known data (and `data`) is taken out."""
    problems = []
    for where, text in page.evaluate(CHROME):
        for known in (*data, *DATA):
            text = text.replace(known, "")
        text = MARKED.sub("", text)
        for match in CJK.findall(text):
            if match.strip("（）：，、·　"):
                problems.append(f"{page.url} {where}: {match!r} in {' '.join(text.split())[:80]!r}")
    return problems


def test_the_english_pages_have_no_chinese_chrome(page, tmp_path):
    login(page, "admin")
    urls = record_urls(page)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    found = []
    for path in ("/", "/homes", "/medical", "/agreements", urls["home"], urls["medical"], urls["agreement"],
                 urls["home"] + "/edit", urls["home"] + "/close", urls["agreement"] + "/terminate",
                 "/institutions/new?kind=eldercare", "/institutions/new?kind=medical", "/agreements/new",
                 "/compliance?as_of=2022-12-31", "/compliance/referral_coverage/440902?as_of=2022-12-31&missing=1",
                 "/compliance/todo", "/map", "/training", urls["training"], "/training/new", "/data/import",
                 "/admin/users", "/admin/users/new", "/admin/targets", urls["target"], "/admin/tokens",
                 "/admin/audit", "/institutions/999999"):
        page.goto(path)
        found += chinese_chrome(page, data=SHEET_NAMES if path == "/data/import" else ())

    # Forms with their errors, the nearby list the agreement form fetches, an import report.
    for path in ("/institutions/new?kind=eldercare", "/agreements/new", "/admin/users/new"):
        page.goto(path)
        page.get_by_role("button", name=re.compile("^(Save|Create)$")).click()
        expect(page.locator(".invalid-feedback").first).to_be_visible()
        found += chinese_chrome(page)
    page.goto("/agreements/new")
    home = page.get_by_label("Elder-care institution", exact=True)
    home.fill(page.evaluate("fetch('/institutions/search.json?kind=eldercare&q=茂南颐康').then(r => r.json())"
                            ".then(rows => rows[0].code)"))
    home.press("Tab")
    expect(page.locator("#nearby-medical button").first).to_be_visible()
    found += chinese_chrome(page)
    import_report(page, tmp_path / "bad.csv")
    found += chinese_chrome(page, data=("茂北区", "所属区县", "成立日期"))  # the file's own headers and values

    # Logged out: the login page in English, with its error (logging out forgets the language).
    page.get_by_role("button", name="Log out").click()
    page.goto("/login")
    if page.get_by_role("link", name="English").count():
        page.get_by_role("link", name="English").click()
    page.get_by_role("button", name="Log in").click()
    found += chinese_chrome(page)
    assert not found, "Chinese text in the English pages:\n" + "\n".join(dict.fromkeys(found))
