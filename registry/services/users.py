"""Users: creating accounts with a role and a region, deactivating them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Region, User
from registry.services import RecordInvalid, audit, sessions
from registry.vocab import DISTRICT_OFFICIAL, ROLES

MIN_PASSWORD = 12
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent.parent / "seeds" / "common-passwords.txt"


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str) -> str | None:
    """None when the password is acceptable, else a Chinese reason."""
    if len(password) < MIN_PASSWORD:
        return _("密码至少 %(n)s 位", n=MIN_PASSWORD)
    if username and username.lower() in password.lower():
        return _("密码不能包含用户名")
    if password.lower() in _common():
        return _("这是常见密码，容易被猜中，请换一个")
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
    username: str, password: str, role: str, region_code: str | None = None, full_name: str = "",
    must_change_password: bool = False,
) -> User:
    """Create an account (validated, audited, flushed); an administrator's password must be changed."""
    username = username.strip()
    region_code = region_code or None
    errors = check(username, password, role, region_code)
    if errors:
        raise RecordInvalid(errors)
    user = User(username=username, role=role, region_code=region_code, full_name=full_name.strip(),
                must_change_password=must_change_password)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("create", user, after=audit.snapshot(user), summary=username)
    return user


def change_password(user: User, current: str, new: str) -> None:
    """The user replaces their password; every other session of theirs ends."""
    errors = {}
    if not user.check_password(current):
        errors["current"] = _("当前密码不正确")
    problem = password_problem(new, user.username)
    if problem:
        errors["password"] = problem
    elif user.check_password(new):
        errors["password"] = _("新密码不能与当前密码相同")
    if errors:
        raise RecordInvalid(errors)
    user.set_password(new)
    user.must_change_password = False
    sessions.end_all(user)
    db.session.flush()
    audit.record("update", user, summary=_("修改密码"), user=user)


def set_active(user: User, active: bool) -> None:
    """Deactivate (or re-activate) an account; deactivation ends its sessions at once."""
    before = audit.snapshot(user)
    if not active:
        sessions.end_all(user)
    user.active = active
    db.session.flush()
    audit.record("activate" if active else "deactivate", user, before=before,
                 after=audit.snapshot(user), summary=user.username)
