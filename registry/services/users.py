"""Users: creating and editing accounts with a role and a region, the password rule, logging in, deactivating them."""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select
from zxcvbn import matching, zxcvbn

from registry.extensions import db
from registry.models import Region, User
from registry.services import RecordInvalid, audit
from registry.services.infra import sessions
from registry.vocab import ADMIN, DISTRICT_OFFICIAL, ROLES

MIN_PASSWORD = 12
MIN_STRENGTH = 3  # zxcvbn's score, 0–4: 3 means about 10^10 guesses ("safely unguessable")
ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input; the first 72 characters are what it measures
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent.parent / "seeds" / "common-passwords.txt"


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _spans(matches: list[dict], token: str) -> bool:
    return any(found["i"] == 0 and found["j"] == len(token) - 1 for found in matches)


def _weakness(match: dict) -> str:
    """Why zxcvbn finds a password weak, in Chinese, from the match its own feedback would name."""
    pattern, token = match["pattern"], match["token"]
    source = match.get("dictionary_name")
    if source == "user_inputs":
        return _("密码不能包含用户名或姓名")
    if pattern == "dictionary":
        # Many common passwords are runs or keyboard walks (123456789, qwertyuiop): say which.
        if _spans(matching.sequence_match(token), token):
            pattern = "sequence"
        elif _spans(matching.spatial_match(token), token):
            pattern = "spatial"
        elif source == "passwords":
            return _("这是常见密码，容易被猜中，请换一个")
        else:
            return _("密码主要是一个常见单词或姓名，容易被猜中")
    if pattern == "spatial":
        return _("密码是键盘上相邻按键的顺序（如 qwerty），容易被猜中")
    if pattern == "repeat":
        return _("密码含有大段重复字符（如 aaa、abcabc），容易被猜中")
    if pattern == "sequence":
        return _("密码是连续的字母或数字（如 abc、6543），容易被猜中")
    if pattern in ("regex", "date"):
        return _("密码主要由年份或日期组成，容易被猜中")
    return _("密码强度不够，容易被猜中：请加长，或加入几个不常见的词")


def password_problem(password: str, username: str, full_name: str = "") -> str | None:
    """None when the password is acceptable, else a Chinese reason (the one home of the password rule)."""
    if len(password) < MIN_PASSWORD:
        return _("密码至少 %(n)s 位", n=MIN_PASSWORD)
    if username and username.lower() in password.lower():
        return _("密码不能包含用户名")
    if password.lower() in _common():
        return _("这是常见密码，容易被猜中，请换一个")
    own_words = [word for word in (username, full_name, *re.split(r"[\W_]+", username)) if word]
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=own_words)
    if result["score"] >= MIN_STRENGTH:
        return None
    # zxcvbn's feedback (English) speaks of the longest match: name the same weakness.
    return _weakness(max(result["sequence"], key=lambda match: len(match["token"])))


def role_problems(role: str, region_code: str | None) -> dict[str, str]:
    """The rules of a role and its region, for a new account and an edited one alike; {} when they hold."""
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = _("角色无效")
    if region_code and db.session.get(Region, region_code) is None:
        errors["region_code"] = _("所属区县不存在：%(value)s", value=region_code)
    if role == DISTRICT_OFFICIAL and not region_code:
        errors["region_code"] = _("区县领导必须指定所属区县")
    return errors


def check(username: str, password: str, role: str, region_code: str | None, full_name: str = "") -> dict[str, str]:
    """The rules for a new account; {} when all hold."""
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = _("请填写用户名")
    elif db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        errors["username"] = _("用户名 %(value)s 已存在", value=username)
    problem = password_problem(password, username, full_name)
    if problem:
        errors["password"] = problem
    return errors | role_problems(role, region_code)


def create(
    username: str, password: str, role: str, region_code: str | None = None, full_name: str = "",
    must_change_password: bool = False,
) -> User:
    """Create an account (validated, audited, flushed); an administrator's password must be changed."""
    username = username.strip()
    region_code = region_code or None
    errors = check(username, password, role, region_code, full_name.strip())
    if errors:
        raise RecordInvalid(errors)
    user = User(username=username, role=role, region_code=region_code, full_name=full_name.strip(),
                must_change_password=must_change_password)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("create", user, after=audit.snapshot(user), summary=username)
    return user


def find(username: str) -> User | None:
    """The account of this username, whatever its case."""
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


@lru_cache(maxsize=1)
def _placeholder_hash() -> str:
    placeholder = User()
    placeholder.set_password(secrets.token_urlsafe(16))  # the same method and cost as a real account's
    return placeholder.password_hash


def password_matches(user: User | None, password: str) -> bool:
    """Whether `password` is the user's; no user costs the same hash check, so timing reveals no username."""
    if user is None:
        User(password_hash=_placeholder_hash()).check_password(password)
        return False
    return user.check_password(password)


def change_password(user: User, current: str, new: str, ip: str) -> None:
    """The user replaces their password; every other session of theirs ends.

    The current password is checked under the login throttle: a wrong one counts as a failed
    login (kept even though the change is refused), and the failure that locks the account
    ends all its sessions and raises `sessions.Locked`.
    """
    wait = sessions.locked_minutes(user.username, ip)
    if wait:
        raise RecordInvalid({"current": _("登录失败次数过多，请 %(n)s 分钟后再试", n=wait)})
    errors = {}
    if not user.check_password(current):
        sessions.failed(user.username, ip)
        audit.note("login_failed", "users", user.id, f"{user.username} {ip} /account/password", user=user)
        wait = sessions.locked_minutes(user.username, ip)
        if wait:
            sessions.end_all(user)
            audit.note("login_locked", "users", user.id, f"{user.username} {ip} /account/password", user=user)
            raise sessions.Locked(wait)
        errors["current"] = _("当前密码不正确")
    problem = password_problem(new, user.username, user.full_name)
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
    audit.record("change_password", user, summary=user.username, user=user)


def set_active(user: User, active: bool) -> None:
    """Deactivate (or re-activate) an account; deactivation ends its sessions at once."""
    with audit.Change("activate" if active else "deactivate", user, summary=user.username):
        if not active:
            sessions.end_all(user)
        user.active = active


def edit_problems(user: User, role: str, region_code: str | None, acting: User) -> dict[str, str]:
    """The rules for an edited account: those of a new one, and no administrator removes their own role."""
    errors = role_problems(role, region_code or None)
    if user.id == acting.id and user.role == ADMIN and role != ADMIN:
        errors["role"] = _("不能取消自己的系统管理员角色，否则将无人管理系统")
    return errors


def update(user: User, full_name: str, role: str, region_code: str | None, acting: User) -> bool:
    """Change an account's name, role and region (audited); returns whether anything changed.

    A new role or region ends the account's sessions, so its holder logs in again under the new
    rights (rights are read on every request anyway; this also closes pages opened under the old ones).
    """
    region_code = region_code or None
    errors = edit_problems(user, role, region_code, acting)
    if errors:
        raise RecordInvalid(errors)
    rights = (user.role, user.region_code)
    with audit.Change("update", user, summary=user.username) as change:
        user.full_name, user.role, user.region_code = full_name.strip(), role, region_code
    if (role, region_code) != rights and user.id != acting.id:
        sessions.end_all(user)
    return change.changed


def reset_password(user: User, password: str, acting: User) -> None:
    """An administrator sets a new password, to be changed at the next login; the account's sessions end.

    Audited without the password. One's own password is changed with the current one (change_password).
    """
    if user.id == acting.id:
        raise RecordInvalid({"password": _("不能重置自己的密码，请在“修改密码”中修改")})
    problem = password_problem(password, user.username, user.full_name)
    if problem:
        raise RecordInvalid({"password": problem})
    before = audit.snapshot(user)
    user.set_password(password)
    user.must_change_password = True
    sessions.end_all(user)
    db.session.flush()
    audit.record("reset_password", user, before=before, after=audit.snapshot(user), summary=user.username)
