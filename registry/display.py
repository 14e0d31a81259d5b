"""Display helpers that depend on the interface language."""

from __future__ import annotations

from flask import Flask, g, has_request_context, session
from flask_babel import get_translations
from flask_babel import gettext as _
from sqlalchemy import select

from registry.extensions import db
from registry.models import Region
from registry.services.compliance import CITY, INDICATORS
from registry.services.periods import Period
from registry.vocab import ROLES

LOCALES = ("zh_Hans_CN", "en")
# Review and reporting steps: their events carry a status and a reason, not a record's fields.
WORKFLOW_ENTITIES = ("change_requests", "period_reports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(filename: str) -> str:
    """A Content-Disposition header downloading `filename` (a Chinese name, RFC 6266's filename*)."""
    from urllib.parse import quote

    return f"attachment; filename=registry-export; filename*=UTF-8''{quote(filename)}"


def select_locale() -> str:
    """Chinese unless the user chose English with the language switch (CLI: Chinese)."""
    chosen = session.get("lang") if has_request_context() else None
    return chosen if chosen in LOCALES else "zh_Hans_CN"


def region_names() -> dict[str, str]:
    """Region code → name in the interface language, in the regions' order; read once per request."""
    if "region_names" not in g:
        english = select_locale() == "en"
        g.region_names = {
            r.code: (r.name_en or r.name) if english else r.name
            for r in db.session.scalars(select(Region).order_by(Region.position))
        }
    return g.region_names


def _translations():
    """This request's catalog, looked up once (Flask-Babel resolves it again on every call)."""
    if "translations" not in g:
        g.translations = get_translations()
    return g.translations


def install_template_gettext(app: Flask) -> None:
    """Templates translate through the request's cached catalog: a page makes 60–90 calls."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def user_badge(user) -> str:
    """Who is logged in, as the header shows it: 茂南区领导（示例）· 区县领导 · 茂南区."""
    region = region_names().get(user.region_code, user.region_code) if user.region_code else None
    return " · ".join(str(part) for part in (user.full_name or user.username, ROLES[user.role], region) if part)


def distance(km: float | None) -> str:
    """A distance as every page writes it: kilometres to one decimal (3.4 公里), or — when unknown."""
    return _("%(km)s 公里", km=f"{km:.1f}") if km is not None else "—"


def audit_summary(event) -> str:
    """An audit event's summary in the reader's language.

    A target has no name of its own: it is named from its snapshot (indicator, scope,
    deadline) when shown, and a period report from its period, region and version, so the
    log reads in whichever language the reader chose.
    """
    if event.entity == "targets":
        snapshot = event.after or event.before or {}
        indicator = INDICATORS.get(snapshot.get("indicator") or "")
        if indicator is not None:
            scope = snapshot.get("scope")
            where = _("全市") if scope == CITY else region_names().get(scope, scope or "")
            return f"{indicator.short} · {where} · {snapshot.get('deadline') or ''}"
    summary = event.summary
    if event.entity == "period_reports" and (event.after or {}).get("period"):
        report = event.after
        summary = (f"{Period.parse(report['period']).label} {region_names().get(report['region_code'], '')} "
                   f"v{report['version']}")
    reason = (event.after or {}).get("reason") if event.entity in WORKFLOW_ENTITIES else None
    return _("%(summary)s（原因：%(reason)s）", summary=summary, reason=reason) if reason else summary
