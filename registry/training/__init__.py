"""Training records (63号 clause 十九)."""

from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/training")

from registry.training import views  # noqa: E402,F401  (routes register on bp)
