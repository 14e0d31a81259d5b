"""Institutions: homes (养老机构) and medical institutions (医疗卫生机构)."""

from flask import Blueprint

bp = Blueprint("institutions", __name__)

from registry.institutions import views  # noqa: E402,F401  (routes register on bp)
