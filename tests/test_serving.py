"""Production serving refuses the public development SECRET_KEY; development and the CLI keep it, warned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry import config, create_app

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _env(**values: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "REGISTRY_ENV", "DATABASE_URL")}
    env.update({k: v for k, v in values.items() if v is not None})
    return env


@pytest.mark.parametrize("secret", [None, "", config.DEV_SECRET_KEY])
def test_production_refuses_a_missing_or_development_secret_key(monkeypatch, secret):
    monkeypatch.setenv("REGISTRY_ENV", "production")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    refusal = config.serving_refusal()
    assert "SECRET_KEY 未设置，或仍是公开的开发密钥" in refusal
    assert "Refusing to serve in production" in refusal
    with pytest.raises(config.InsecureSettings):
        create_app()


def test_production_serves_with_a_secret_key_of_its_own(monkeypatch, tmp_path):
    monkeypatch.setenv("REGISTRY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-of-this-deployment")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    assert config.serving_refusal() is None
    assert create_app().config["SECRET_KEY"] == "a-real-secret-of-this-deployment"


def test_development_keeps_the_development_key_with_a_warning(monkeypatch):
    monkeypatch.delenv("REGISTRY_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert config.serving_refusal() is None
    with pytest.warns(UserWarning, match="SECRET_KEY is not set"):
        settings = config.load(ROOT / "instance")
    assert settings["SECRET_KEY"] == config.DEV_SECRET_KEY


def _gunicorn_loads(env: dict[str, str]) -> subprocess.CompletedProcess:
    """gunicorn loads the app as `make serve` names it, and stops (--check-config)."""
    return subprocess.run([str(BIN / "gunicorn"), "--check-config", "wsgi:app"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_gunicorn_refuses_to_load_the_app_with_the_development_key():
    result = _gunicorn_loads(_env(REGISTRY_ENV="production", SECRET_KEY=config.DEV_SECRET_KEY))
    assert result.returncode != 0
    assert "SECRET_KEY 未设置，或仍是公开的开发密钥" in result.stderr
    assert "Refusing to serve in production" in result.stderr


def test_gunicorn_loads_the_app_with_a_secret_key(tmp_path):
    result = _gunicorn_loads(_env(REGISTRY_ENV="production", SECRET_KEY="a-real-secret-of-this-deployment",
                                  DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}"))
    assert result.returncode == 0, result.stderr


def test_the_cli_works_with_the_development_default():
    result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "registry", "--help"], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY is not set" in result.stderr
