"""医养签约协议: agreements between homes and medical institutions."""

from flask import Blueprint

bp = Blueprint("agreements", __name__, url_prefix="/agreements")

from registry.agreements import views  # noqa: E402,F401  (routes register on bp)
