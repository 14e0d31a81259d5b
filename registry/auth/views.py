"""Login, logout and changing one's password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from registry.auth import bp
from registry.auth.forms import LoginForm, PasswordForm
from registry.extensions import db
from registry.forms import EmptyForm, apply_errors
from registry.navigation import local_path
from registry.services import RecordInvalid, audit
from registry.services import users as user_service
from registry.services.infra import sessions


def _client_ip() -> str:
    return request.remote_addr or ""  # the client's address as a trusted proxy reports it (TRUSTED_PROXIES)


def _sign_out() -> None:
    """Forget the login in this browser; the interface language outlives it."""
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password (throttled across every app server)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        ip = _client_ip()
        wait = sessions.locked_minutes(username, ip)
        user = user_service.find(username)
        if wait:
            form.form_errors.append(_("登录失败次数过多，请 %(n)s 分钟后再试", n=wait))
            audit.note("login_locked", "users", user.id if user else None, f"{username} {ip}")
            db.session.commit()
        elif not user_service.password_matches(user, form.password.data):
            sessions.failed(username, ip)
            audit.note("login_failed", "users", user.id if user else None, f"{username} {ip}")
            db.session.commit()
            form.form_errors.append(_("用户名或密码错误"))
        elif not user.active:
            form.form_errors.append(_("该账号已停用，请联系系统管理员"))
        else:
            sessions.succeeded(username)
            lang = session.get("lang")
            session.clear()  # a fresh session at login
            if lang:
                session["lang"] = lang
            session["sid"] = sessions.start(user, ip)
            login_user(user)
            audit.record("login", user, summary=f"{user.username} {ip}", user=user)
            db.session.commit()
            if user.must_change_password:
                flash(_("请先修改管理员为您设置的初始密码"), "warning")
                return redirect(url_for("auth.change_password"))
            return redirect(local_path(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out: the session ends on the server too, so a copied cookie stops working."""
    if EmptyForm().validate_on_submit():
        sessions.end(session.get("sid"))
        db.session.commit()
        _sign_out()
        flash(_("您已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password (required after an administrator set it); throttled as login is."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user_service.change_password(current_user, form.current.data, form.password.data, _client_ip())
        except sessions.Locked as locked:
            db.session.commit()  # the failure, its audit entries and the ended sessions
            _sign_out()
            flash(_("当前密码输错次数过多，已退出登录，请 %(n)s 分钟后再登录", n=locked.minutes), "warning")
            return redirect(url_for("auth.login"))
        except RecordInvalid as error:
            db.session.commit()  # a wrong current password stays counted; nothing else was changed
            apply_errors(form, error.errors)
        else:
            session["sid"] = sessions.start(current_user, _client_ip())
            db.session.commit()
            flash(_("密码已修改"), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)
