"""What the browser tests share: logging in as a person does, and the screenshots."""

from __future__ import annotations

from pathlib import Path

PASSWORD = "Maoming-demo-2026"  # every demo account (seeds/demo.json)
WIDE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).parent / "screenshots"  # git-ignored

# Data the journeys type in (names are marked 【测试】): what the English pages may show in Chinese.
HOME_ADDRESS = "茂名市茂南区油城六路 8 号"
OFFICIAL_NAME = "化州市领导（测试）"
IMPORT_FILE = "homes.csv"
MARKUP_NAME = "【测试】<img src=x onerror=alert(1)>养老院"  # test_map: shown as text, never run
# An audit summary is written in the language of whoever acted, and stays so.
ROSTER = "huazhou-homes.xlsx"  # the bureau roster the import journey uploads
CREATED = (HOME_ADDRESS, OFFICIAL_NAME, f"导入 {IMPORT_FILE}", f"导入 {ROSTER}", MARKUP_NAME)


def login(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the form."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


def screenshots(page, name: str) -> None:
    """The page as it is now: full length at 1366×768, then on a 390-px-wide phone."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.set_viewport_size(WIDE)
    page.screenshot(path=SCREENSHOTS / f"{name}-wide.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)
    page.set_viewport_size(WIDE)
