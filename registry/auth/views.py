"""Login and logout."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from registry.auth import bp
from registry.auth.forms import LoginForm
from registry.extensions import db
from registry.forms import EmptyForm
from registry.models import User
from registry.navigation import local_path
from registry.services import audit


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(
            select(User).where(func.lower(User.username) == form.username.data.strip().lower())
        )
        if user is None or not user.check_password(form.password.data):
            form.form_errors.append(_("用户名或密码错误"))
        elif not user.active:
            form.form_errors.append(_("该账号已停用，请联系系统管理员"))
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session at login
            if lang:
                session["lang"] = lang
            login_user(user)
            audit.record("login", user, summary=user.username, user=user)
            db.session.commit()
            return redirect(local_path(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out (POST, with CSRF)."""
    if EmptyForm().validate_on_submit():
        logout_user()
        session.clear()
        flash(_("您已退出登录"), "info")
    return redirect(url_for("auth.login"))
