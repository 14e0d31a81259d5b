"""The JSON API, version 1: for a logged-in session or a bearer token."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from registry.api import views  # noqa: E402,F401  (routes register on bp)
