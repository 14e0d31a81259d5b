"""Data in and out: spreadsheet import with a validation report, exports, the template."""

from flask import Blueprint

bp = Blueprint("data", __name__, url_prefix="/data")

from registry.data import views  # noqa: E402,F401  (routes register on bp)
