"""Logging in and out."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from registry.auth import views  # noqa: E402,F401  (routes register on bp)
