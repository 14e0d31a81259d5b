"""Error pages in Chinese, JSON for the API, and 503 when the database cannot be reached."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from registry.extensions import db

log = logging.getLogger(__name__)


def request_id() -> str:
    """The id of the current request (from X-Request-ID, or made here), for logs and error pages."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given[:64] if given.replace("-", "").isalnum() else uuid.uuid4().hex[:16]
    return g.request_id


def _rollback() -> None:
    try:
        db.session.rollback()
    except DBAPIError:  # the connection itself is gone
        db.session.close()


def register_errorhandlers(app: Flask) -> None:
    """Chinese pages for 400/403/404/413/500, and 503 for an unreachable database."""
    messages = {
        400: lambda: _("请求无效，请返回重试"),
        403: lambda: _("您没有权限执行此操作"),
        404: lambda: _("未找到该页面或记录"),
        413: lambda: _("上传的文件超过 10 MB"),
        500: lambda: _("系统出错，请稍后再试"),
    }

    @app.before_request
    def _tag_request() -> None:
        request_id()

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-ID"] = request_id()
        return response

    def handle(error):
        code = getattr(error, "code", 500) or 500
        if code == 500:
            _rollback()
            log.exception("request %s failed", request_id())
        message = messages.get(code, messages[500])()
        if request.blueprint == "api":
            return jsonify(error=message, request_id=request_id()), code
        return render_template("errors.html", code=code, message=message, request_id=request_id()), code

    for code in messages:
        app.register_error_handler(code, handle)

    def unavailable(error):
        """The database is down: say so, write nothing, and let pool_pre_ping reconnect later."""
        _rollback()
        log.error("request %s: database unavailable: %s", request_id(), error)
        message = _("数据库暂时无法连接，请稍后再试。您的操作没有保存。")
        if request.blueprint == "api":
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
