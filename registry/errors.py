"""Error pages in Chinese, JSON for the API, and 503 when the database cannot be reached."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, abort, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import BadRequest, Forbidden

from registry.extensions import db

log = logging.getLogger(__name__)


def request_id() -> str:
    """The id of the current request (from X-Request-ID, or made here), for logs and error pages."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given[:64] if given.replace("-", "").isalnum() else uuid.uuid4().hex[:16]
    return g.request_id


class InvalidInput(BadRequest):
    """A 400 whose Chinese description names the value refused; shown instead of the generic message."""


class Refused(Forbidden):
    """A 403 whose description says who may do it instead (permissions.refuse); shown instead of the generic message."""


def wants_json() -> bool:
    """API requests get JSON errors (also routing errors, which have no blueprint)."""
    return request.blueprint == "api" or request.path.startswith("/api/")


def _rollback() -> None:
    try:
        db.session.rollback()
    except DBAPIError:  # the connection itself is gone
        db.session.close()


def _audit_denied() -> None:
    """A logged-in user was refused: kept in the audit log."""
    from flask_login import current_user

    from registry.services import audit

    if current_user.is_authenticated:
        _rollback()
        audit.note("denied", request.blueprint or "", None, f"{request.method} {request.path}"[:300],
                   user=current_user)
        db.session.commit()


def register_errorhandlers(app: Flask) -> None:
    """Chinese pages for 400/403/404/413/500, and 503 for an unreachable database."""
    messages = {
        400: lambda: _("请求无效，请返回重试"),
        403: lambda: _("您没有权限执行此操作"),
        404: lambda: _("未找到该页面或记录"),
        405: lambda: _("不支持该请求方式"),
        413: lambda: _("上传的文件超过 10 MB"),
        500: lambda: _("系统出错，请稍后再试"),
    }

    @app.before_request
    def _tag_request() -> None:
        request_id()
        # A NUL character is never meaningful input, and PostgreSQL refuses it in text.
        if any("\x00" in value for values in (request.args, request.form) for value in values.values()):
            abort(400)

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-ID"] = request_id()
        return response

    def handle(error):
        code = getattr(error, "code", 500) or 500
        if code == 403:
            _audit_denied()
        if code == 500:
            _rollback()
            log.exception("request %s failed", request_id())
        explained = isinstance(error, (InvalidInput, Refused))
        message = error.description if explained else messages.get(code, messages[500])()
        if wants_json():
            response = jsonify(error=message, request_id=request_id())
        else:
            response = app.make_response(render_template("errors.html", code=code, message=message,
                                                         request_id=request_id()))
        response.status_code = code
        if getattr(error, "valid_methods", None):  # 405 says which methods the URL takes
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    for code in messages:
        app.register_error_handler(code, handle)

    def unavailable(error):
        """The database is down: say so, write nothing, and let pool_pre_ping reconnect later."""
        _rollback()
        log.error("request %s: database unavailable: %s", request_id(), error)
        message = _("数据库暂时无法连接，请稍后再试。您的操作没有保存。")
        if wants_json():
            response = jsonify(error=message, request_id=request_id())
        else:
            # A page of its own: the usual layout would ask the database for the user again.
            response = app.make_response(render_template("errors_unavailable.html", message=message,
                                                         request_id=request_id()))
        response.status_code = 503
        response.headers["Retry-After"] = "30"
        return response

    for exception in (OperationalError, InterfaceError):
        app.register_error_handler(exception, unavailable)
