"""Browser tests: the app in a real server process on 127.0.0.1, driven by Playwright and Debian's chromium.

Skipped, with the reason printed in the summary, when playwright or /usr/bin/chromium is missing
(`playwright install` cannot download a browser here).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.helpers import WIDE

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

try:
    import playwright.sync_api  # noqa: F401
    SKIP_REASON = None if shutil.which(CHROMIUM) else "chromium not found"
except ImportError:
    SKIP_REASON = "playwright not installed"
if SKIP_REASON is None and os.environ.get("SKIP_BROWSER_TESTS"):
    SKIP_REASON = "SKIP_BROWSER_TESTS is set"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives chromium against the app served on 127.0.0.1")


def pytest_collection_modifyitems(config, items):
    """Skip every browser test, with the reason, when the browser cannot run."""
    if SKIP_REASON:
        here = Path(__file__).parent
        for item in items:
            if here in Path(str(item.path)).parents:
                item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {SKIP_REASON}"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say plainly when the browser tests did not run."""
    if SKIP_REASON:
        terminalreporter.write_line(
            f"browser tests skipped: {SKIP_REASON} (install chromium and fonts-wqy-microhei, "
            "and playwright from requirements.txt)", yellow=True, bold=True)


@pytest.fixture(autouse=True)
def _empty_register():
    """The browser tests share one served demo register; the unit tests' clean-up does not apply."""
    yield


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(env: dict, *args: str) -> None:
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """Base URL of the app served from a fresh SQLite database holding the demo register."""
    folder = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{folder / 'registry.sqlite3'}",
        "SECRET_KEY": "browser-tests-" + os.urandom(8).hex(),
        "SCANS_DIR": str(folder / "scans"),
        "JOBS_URL": f"sqlite:///{folder / 'jobs.sqlite3'}",  # its own queue, not the working tree's instance/
        "GEOCODER": "none",
        "PYTHONWARNINGS": "ignore",
    }
    # The English catalog as the pages will read it (`make translations` does the same).
    subprocess.run([str(BIN / "pybabel"), "-q", "compile", "-d", "translations"], cwd=ROOT, check=True)  # noqa: S603
    _flask(env, "registry", "init")
    _flask(env, "registry", "demo")
    if (BIN / "gunicorn").exists():
        command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                   "--threads", "8", "--log-level", "warning", "wsgi:app"]
    else:
        command = [str(BIN / "flask"), "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port)]
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {(folder / 'server.log').read_text()}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the server did not answer /healthz within 30 s")
        time.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _context(browser, server, **options):
    context = browser.new_context(base_url=server, viewport=WIDE, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True, **options)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture()
def page(browser, server):
    """A fresh browser context (no cookies) at 1366×768, Chinese; confirm() dialogs are accepted."""
    context = _context(browser, server)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


@pytest.fixture()
def csp_free_page(browser, server):
    """As `page`, but the page's CSP does not apply (axe-core is injected as an inline script)."""
    context = _context(browser, server, bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()
