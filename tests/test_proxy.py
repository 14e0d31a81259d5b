"""Behind the TLS load balancer: client addresses and the scheme as the trusted proxy reports them."""

from __future__ import annotations

import pytest

from registry import config as settings
from registry import create_app
from tests.factories import PASSWORD

CLIENT_A, CLIENT_B = "203.0.113.5", "198.51.100.7"


def app_behind(database_url: str, proxies: int):
    """The app with `proxies` trusted hops and a per-address throttle of three failures."""
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                       "WTF_CSRF_ENABLED": False, "TRUSTED_PROXIES": proxies, "LOGIN_MAX_FAILURES_PER_IP": 3})


def fail_three_logins_from(client, address: str) -> None:
    for name in ("alice", "bob", "carol"):  # three usernames: only the per-address count is reached
        client.post("/login", data={"username": name, "password": "wrong-password-123"},
                    headers={"X-Forwarded-For": address})


def login_from(client, address: str):
    return client.post("/login", data={"username": "weijian", "password": PASSWORD},
                       headers={"X-Forwarded-For": address})


def test_failures_from_one_client_do_not_lock_out_another(database_url, make):
    make.user("health", username="weijian")
    client = app_behind(database_url, 1).test_client()
    fail_three_logins_from(client, CLIENT_A)
    assert "登录失败次数过多" in login_from(client, CLIENT_A).text  # the address that failed waits
    assert login_from(client, CLIENT_B).status_code == 302


def test_hsts_is_sent_when_the_proxy_reports_https(database_url):
    client = app_behind(database_url, 1).test_client()
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_without_trusted_proxies_the_forwarded_headers_are_ignored(database_url, make):
    make.user("health", username="weijian")
    client = app_behind(database_url, 0).test_client()
    fail_three_logins_from(client, CLIENT_A)
    assert "登录失败次数过多" in login_from(client, CLIENT_B).text  # one real address: a forged header changes nothing
    assert "Strict-Transport-Security" not in client.get("/login", headers={"X-Forwarded-Proto": "https"}).headers


@pytest.mark.parametrize(("value", "hops"), [(None, 0), ("1", 1), ("2", 2)])
def test_trusted_proxies_is_read_from_the_environment(monkeypatch, tmp_path, value, hops):
    if value is None:
        monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("TRUSTED_PROXIES", value)
    monkeypatch.setenv("SECRET_KEY", "x")
    assert settings.load(tmp_path)["TRUSTED_PROXIES"] == hops
