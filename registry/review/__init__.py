"""Change review (区县录入 → 市级审核): the reviewer's queue, a request's page, the submitter's requests."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from registry.review import views  # noqa: E402,F401  (routes register on bp)
