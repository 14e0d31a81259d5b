"""Form pieces shared by the blueprints."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField
from wtforms.validators import InputRequired, Optional

from registry.extensions import db
from registry.services import RecordInvalid, StaleEdit

T = TypeVar("T")


class EmptyForm(FlaskForm):
    """CSRF protection for POST-only buttons."""


class VersionedForm(FlaskForm):
    """A form that carries the record's version, to refuse a stale save."""

    version = HiddenField()

    def version_number(self) -> int | None:
        try:
            return int(self.version.data) if self.version.data else None
        except ValueError:
            return None


def optional_date(label) -> DateField:
    return DateField(label, validators=[Optional()], format="%Y-%m-%d")


def required_date(label) -> DateField:
    return DateField(label, validators=[InputRequired(message=_l("请填写此日期"))], format="%Y-%m-%d")


def optional_int(label) -> IntegerField:
    return IntegerField(label, validators=[Optional()])


def apply_errors(form: FlaskForm, errors: dict[str, str], aliases: dict[str, str] | None = None) -> None:
    """Show a service's errors next to the form's fields (others above the form)."""
    aliases = aliases or {}
    for name, message in errors.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        else:
            form.form_errors.append(message)


def stale_message() -> str:
    """Why a save over someone else's newer save was refused."""
    return _("该记录已被他人修改，您的修改未保存。请查看最新内容后重新编辑。")


def attempt(form: FlaskForm, action: Callable[[], T], aliases: dict[str, str] | None = None) -> tuple[bool, T | None]:
    """Run a service call for a submitted form and commit it; (True, its result).

    A broken rule or a stale version rolls back and shows why on the form, keeping
    what was typed: (False, None).
    """
    try:
        result = action()
    except StaleEdit:
        db.session.rollback()
        form.form_errors.append(stale_message())
        return False, None
    except RecordInvalid as error:
        db.session.rollback()
        apply_errors(form, error.errors, aliases)
        return False, None
    db.session.commit()
    return True, result
