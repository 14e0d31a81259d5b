"""Places: the map of institutions and agreements, and nearby medical institutions."""

from flask import Blueprint

bp = Blueprint("places", __name__)

from registry.places import views  # noqa: E402,F401  (routes register on bp)
