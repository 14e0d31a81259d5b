"""Users: creating accounts with a role and a region, deactivating them."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Region, User
from registry.services import RecordInvalid, audit
from registry.vocab import DISTRICT_OFFICIAL, ROLES

MIN_PASSWORD = 12


def password_problem(password: str, username: str) -> str | None:
    """None when the password is acceptable, else a Chinese reason."""
    if len(password) < MIN_PASSWORD:
        return _("密码至少 %(n)s 位", n=MIN_PASSWORD)
    if username and username.lower() in password.lower():
        return _("密码不能包含用户名")
    return None


def check(username: str, password: str, role: str, region_code: str | None) -> dict[str, str]:
    """The rules for a new account; {} when all hold."""
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = _("请填写用户名")
    elif db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        errors["username"] = _("用户名 %(value)s 已存在", value=username)
    problem = password_problem(password, username)
    if problem:
        errors["password"] = problem
    if role not in ROLES:
        errors["role"] = _("角色无效")
    if region_code and db.session.get(Region, region_code) is None:
        errors["region_code"] = _("所属区县不存在：%(value)s", value=region_code)
    if role == DISTRICT_OFFICIAL and not region_code:
        errors["region_code"] = _("区县领导必须指定所属区县")
    return errors


def create(
    username: str, password: str, role: str, region_code: str | None = None, full_name: str = ""
) -> User:
    """Create an account (validated, audited, flushed)."""
    username = username.strip()
    region_code = region_code or None
    errors = check(username, password, role, region_code)
    if errors:
        raise RecordInvalid(errors)
    user = User(username=username, role=role, region_code=region_code, full_name=full_name.strip())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("create", user, after=audit.snapshot(user), summary=username)
    return user


def set_active(user: User, active: bool) -> None:
    """Deactivate (or re-activate) an account; a deactivated user cannot log in."""
    before = audit.snapshot(user)
    user.active = active
    db.session.flush()
    audit.record("activate" if active else "deactivate", user, before=before,
                 after=audit.snapshot(user), summary=user.username)
