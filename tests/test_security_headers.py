"""Security headers: CSP without inline scripts, no caching of records, no framing."""

import re


def test_pages_carry_the_security_headers(client, health, make):
    home = make.home()
    response = client.get(f"/institutions/{home}")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_no_page_has_an_inline_script_or_style_attribute(client, health, make):
    home = make.home()
    for path in ("/", "/homes", f"/institutions/{home}", "/compliance", "/agreements/new", "/map", "/data/import"):
        html = client.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert ' style="' not in html, path


def test_the_login_page_is_not_stored_for_anonymous_users_either_way(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
