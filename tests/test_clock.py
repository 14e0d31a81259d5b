"""The registry's day is Maoming's (Asia/Shanghai), whatever zone the server's clock keeps (docs/indicators.md, "Counting as of a day")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# 20:00 UTC on 1 December is 04:00 on 2 December in Maoming.
EVENING_UTC = "@2026-12-01 20:00:00"

SCRIPT = textwrap.dedent("""
    import sys
    from registry import create_app
    from registry.extensions import db
    from registry.models import clock
    from registry.services import seeding, users

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1]})
    with app.app_context():
        db.create_all()
        seeding.load_regions()
        seeding.load_target_sets()
        users.create("faketime-admin", "Correct-horse-battery-9", "admin", None)
        db.session.commit()
        print("today", clock.today().isoformat())
    client = app.test_client()
    client.post("/login", data={"username": "faketime-admin", "password": "Correct-horse-battery-9"})
    page = client.get("/compliance").text
    print("dashboard", "2026-12-02" in page, "2026-12-01" in page)
    export = client.get("/data/export/institutions.csv")
    print("export", export.headers.get("Content-Disposition", ""))
""")


def run_at(instant: str, tmp_path: Path) -> str:
    if shutil.which("faketime") is None:
        if os.environ.get("CI"):
            pytest.fail("faketime is missing: .ci/run installs it (apt-get install faketime)")
        pytest.skip("faketime is not installed (apt-get install faketime)")
    env = os.environ | {"TZ": "UTC", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(["faketime", "-f", instant, sys.executable, "-c", SCRIPT,
                             str(tmp_path / "clock.sqlite3")],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_at_20_00_utc_the_registry_is_already_on_the_next_day(tmp_path):
    output = run_at(EVENING_UTC, tmp_path)
    assert "today 2026-12-02" in output
    assert "dashboard True False" in output  # 截至 2026-12-02, not the server's 1 December


def test_file_names_carry_maomings_day(tmp_path):
    output = run_at(EVENING_UTC, tmp_path)
    assert "2026-12-02.csv" in output.split("export", 1)[1]
