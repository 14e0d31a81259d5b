"""医养结合登记系统 — the Maoming medical–elderly-care registry."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, flash, g, jsonify, redirect, request, session, url_for
from flask_babel import format_date, format_datetime, format_percent
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from registry import config as settings
from registry import replica
from registry.database import configure_sqlite
from registry.display import (
    audit_summary,
    distance,
    install_template_gettext,
    region_names,
    select_locale,
    user_badge,
)
from registry.errors import register_errorhandlers
from registry.extensions import babel, csrf, db, login_manager, migrate
from registry.security import register_security_headers
from registry.services import name_search  # noqa: F401 - keeps the search keys with every saved institution
from registry.services.infra import compliance_cache, jobs

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app; wiring only, no database work."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings.load(Path(app.instance_path)))
    if config:
        app.config.update(config)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", settings.engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:  # the client's address and scheme as the trusted proxies report them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_security_headers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    replica.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(ROOT / "translations"))
    install_template_gettext(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    jobs.init_app(app)
    compliance_cache.init_app(app)

    from registry.models import User

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        """The session's user while its server-side session is open (logout ends it everywhere)."""
        from registry.services.infra import sessions

        return sessions.user_for(session.get("sid"), int(user_id))

    @app.before_request
    def require_password_change():
        """A user whose password an administrator set changes it before anything else."""
        if request.endpoint in (None, "static", "auth.change_password", "auth.logout", "main.healthz"):
            return None
        if current_user.is_authenticated and current_user.must_change_password:
            return redirect(url_for("auth.change_password"))
        return None

    @login_manager.request_loader
    def load_user_from_token(req) -> User | None:
        """`Authorization: Bearer …` authenticates API requests only."""
        header = req.headers.get("Authorization", "")
        if req.blueprint != "api" or not header.startswith("Bearer "):
            return None
        from registry.services.infra import tokens

        try:
            token = tokens.authenticate(header.removeprefix("Bearer ").strip())
        except tokens.TokenRefused as refusal:
            g.api_token_refusal = str(refusal)
            return None
        with replica.bookkeeping():
            if tokens.record_use(token):
                db.session.commit()
        return token.user

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.blueprint == "api":
            return jsonify(error=g.get("api_token_refusal") or _("需要登录或有效的接口令牌")), 401
        flash(_("请先登录"), "warning")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def register_blueprints(app: Flask) -> None:
    from registry.admin import bp as admin_bp
    from registry.agreements import bp as agreements_bp
    from registry.api import bp as api_bp
    from registry.auth import bp as auth_bp
    from registry.compliance import bp as compliance_bp
    from registry.data import bp as data_bp
    from registry.help import bp as help_bp
    from registry.institutions import bp as institutions_bp
    from registry.main import bp as main_bp
    from registry.places import bp as places_bp
    from registry.reports import bp as reports_bp
    from registry.review import bp as review_bp
    from registry.training import bp as training_bp

    for blueprint in (main_bp, auth_bp, institutions_bp, agreements_bp, compliance_bp, training_bp,
                      data_bp, places_bp, review_bp, reports_bp, admin_bp, help_bp, api_bp):
        app.register_blueprint(blueprint)


def register_template_helpers(app: Flask) -> None:
    from registry import menu, permissions, vocab
    from registry.main.views import waiting_notices
    from registry.services import reports, review
    from registry.services.compliance import INDICATORS
    from registry.services.formats import report_workbook

    @app.context_processor
    def inject() -> dict:
        return {"vocab": vocab, "current_locale": select_locale()}

    app.add_template_global(review.STATUSES, "review_statuses")
    app.add_template_global(review.SUBJECTS, "review_subjects")
    app.add_template_global(review.ACTIONS, "review_actions")
    app.add_template_global(review.impact_lines, "impact_lines")
    app.add_template_global(review.differences, "change_differences")
    app.add_template_global(review.event_changes)
    app.add_template_global(reports.STATUSES, "report_statuses")
    app.add_template_global(waiting_notices)
    app.add_template_global(report_workbook.target_text, "target_text")
    app.add_template_global({key: i.label for key, i in INDICATORS.items()}, "indicator_labels")

    @app.template_filter("region_name")
    def region_name(code: str | None) -> str:
        return region_names().get(code, code or "")

    @app.template_filter("when")
    def when_filter(value) -> str:
        return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""

    @app.template_filter("percent")
    def percent_filter(value) -> str:
        return format_percent(value, "#,##0.0%") if value is not None else "—"

    app.add_template_global(region_names)

    @app.template_global()
    def region_options() -> dict[str, str]:
        """The regions the logged-in user may choose in a filter or picker (permissions.region_options)."""
        return permissions.region_options(current_user)
    app.add_template_filter(audit_summary)

    @app.template_filter("day")
    def day_filter(value) -> str:
        return format_date(value, "yyyy-MM-dd") if value else ""

    @app.template_global()
    def main_menu(path: str) -> list[menu.Section]:
        """The logged-in user's menu, the entry owning `path` (this page's address) marked current."""
        if "menu" not in g:
            g.menu = menu.sections(current_user.role, waiting_notices(), path)
        return g.menu

    @app.template_global()
    def breadcrumb_trail(current: str, steps=()) -> list[menu.Link]:
        """This page's breadcrumbs (templates/_macros.html `breadcrumbs`)."""
        return menu.trail(main_menu(request.path), request.path, current.strip(), steps)

    app.add_template_global(user_badge)
    app.add_template_filter(distance)

    @app.template_global()
    def url_with(**changes) -> str:
        """The current page's URL with query arguments changed (None removes one)."""
        from urllib.parse import urlencode

        args = request.args.to_dict()
        for key, value in changes.items():
            if value is None or value == "":
                args.pop(key, None)
            else:
                args[key] = value
        query = urlencode(args)
        return f"{request.path}?{query}" if query else request.path


def register_commands(app: Flask) -> None:
    from registry.cli import registry_group

    app.cli.add_command(registry_group)
