"""Period reports (区县上报 → 市级审核): the periods, the city's view of one, a region's report."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from registry.reports import views  # noqa: E402,F401  (routes register on bp)
