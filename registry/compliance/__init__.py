"""The compliance dashboard: 茂卫〔2020〕63号 targets by district, drill-downs, 待办."""

from flask import Blueprint

bp = Blueprint("compliance", __name__, url_prefix="/compliance")

from registry.compliance import views  # noqa: E402,F401  (routes register on bp)
