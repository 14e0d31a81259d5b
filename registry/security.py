"""HTTP security headers: a strict CSP (no inline scripts), no caching of records."""

from __future__ import annotations

from flask import Flask, Response, g, request

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def register_security_headers(app: Flask) -> None:
    """Add the headers to every response."""

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        user = g.get("_login_user")  # only if the request loaded it: never query here (the database may be down)
        if request.endpoint != "static" and user is not None and user.is_authenticated:
            # Registry records are personal to a user's scope: never kept by a shared cache or the back button.
            response.headers["Cache-Control"] = "no-store"
        return response
