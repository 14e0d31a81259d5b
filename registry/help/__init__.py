"""使用说明: what each role does in the registry, step by step, with the page to use."""

from flask import Blueprint

bp = Blueprint("help", __name__, url_prefix="/help")

from registry.help import views  # noqa: E402,F401  (routes register on bp)
