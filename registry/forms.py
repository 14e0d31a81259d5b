"""Form pieces shared by the blueprints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select
from wtforms import DateField, HiddenField, IntegerField
from wtforms.validators import InputRequired, Optional, StopValidation, ValidationError

from registry.display import region_names
from registry.extensions import db
from registry.models import AuditEvent, Institution
from registry.permissions import region_options
from registry.services import MAX_COUNT, RecordInvalid, StaleEdit, audit
from registry.services.changes import Outcome
from registry.services.reports import BackdatedChange
from registry.vocab import BUREAUS, choices

T = TypeVar("T")


class EmptyForm(FlaskForm):
    """CSRF protection for POST-only buttons."""


class VersionedForm(FlaskForm):
    """A form that carries the record's version, to refuse a stale save."""

    version = HiddenField()

    def __init__(self, *args, record=None, **kwargs):
        """`record`: the record being changed; its version is carried until the form is submitted."""
        super().__init__(*args, **kwargs)
        self.record = record
        self.stale: StaleNotice | None = None
        if record is not None and not self.is_submitted():
            self.version.data = str(record.version)

    def version_number(self) -> int | None:
        try:
            return int(self.version.data) if self.version.data else None
        except ValueError:
            return None


def region_choices(user) -> list:
    """The regions a user may register records in, for a form's select (led by 请选择)."""
    return choices(region_options(user), blank=_("请选择"))


class CheckedByService:
    """Marks a field required (*) whose requirement the service checks, with the form's other rules.

    It checks nothing itself; the service names the missing field (请填写床位数).
    """

    field_flags = {"required": True}

    def __call__(self, form: FlaskForm, field) -> None:
        pass


def _date(label, validators: list) -> DateField:
    return DateField(label, validators=validators, format="%Y-%m-%d",
                     invalid_value_message=_l("%(label)s须为有效日期（YYYY-MM-DD）", label=label))


def optional_date(label) -> DateField:
    return _date(label, [Optional()])


def required_date(label) -> DateField:
    """A date that must be given: 请填写成立日期 when it is not."""
    return _date(label, [InputRequired(message=_l("请填写%(label)s", label=label))])


def number_field(field_class: type[T], label, validators: list, named=None, **kwargs) -> T:
    """A number field whose parse error names it: 床位数须为整数, 纬度须为数字 (not WTForms' 不是有效的整数).

    `named` is how the message calls the field when its label does not read well there.
    """
    what = named or label
    message = (_l("%(label)s须为整数", label=what) if issubclass(field_class, IntegerField)
               else _l("%(label)s须为数字", label=what))
    return field_class(label, validators=validators, invalid_value_message=message, **kwargs)


def at_most(label, maximum: int = MAX_COUNT) -> Callable:
    """A validator refusing a number above `maximum`, naming the field; it stops the chain.

    It goes before NumberRange, whose NaN check turns a 400-digit number into a float and fails.
    """
    message = _l("%(label)s不能超过 %(maximum)s", label=label, maximum=f"{maximum:,}")

    def check(form: FlaskForm, field: IntegerField) -> None:
        if field.data is not None and field.data > maximum:
            raise StopValidation(str(message))

    return check


def count(label, required: bool = False) -> IntegerField:
    """A count (beds, people): at most MAX_COUNT; a negative or missing one is the service's to refuse.

    `required` marks it * (the service asks for it: 请填写床位数).
    """
    return number_field(IntegerField, label, [Optional(), at_most(label), *([CheckedByService()] if required else [])])


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


@dataclass
class StaleNotice:
    """What a refused stale save shows beside `stale_message`: the way to the latest version (the form
    opened afresh), and the saves made since the form was opened, each with who, when and the fields."""

    latest_url: str
    saves: list[AuditEvent]


def stale_notice(form: Any) -> StaleNotice | None:
    """The notice for a versioned form whose save was refused as stale (after the rollback: the record as it is now)."""
    record, version = getattr(form, "record", None), getattr(form, "version_number", lambda: None)()
    if record is None or version is None:
        return None
    return StaleNotice(request.path, audit.saved_since(record, version))


def institution_named(scope: Select, raw: str | None, kind: str | None = None, what: str | None = None) -> Institution:
    """The institution a picker field names, among `scope` (a user's readable institutions).

    The pickers fill "CODE 名称", and the code is what counts. Typed by hand, a name that matches
    exactly one institution (of `kind`) is taken too; two or more are listed to choose from, never
    guessed. Raises ValidationError with a Chinese message, naming the field as `what` (机构 by default),
    when there is none, or it is not of `kind`.
    """
    what = what or _("机构")
    text = (raw or "").strip()
    code = text.split(" ", 1)[0]
    institution = db.session.scalar(scope.where(Institution.code == code)) if code else None
    if institution is None and text:
        named = scope.where(Institution.name == text)
        if kind is not None:
            named = named.where(Institution.kind == kind)
        found = list(db.session.scalars(named.order_by(Institution.code).limit(6)))
        if len(found) > 1:
            names = region_names()
            raise ValidationError(_("有多家%(what)s名为“%(name)s”，请从搜索结果中选择：%(choices)s", what=what,
                                    name=text, choices="、".join(f"{i.code}（{names.get(i.region_code, '')}）"
                                                                for i in found[:5])))
        institution = found[0] if found else None
    if institution is None:
        raise ValidationError(_("未找到编码或名称为“%(text)s”的%(what)s，请从搜索结果中选择", text=text, what=what))
    if kind is not None and institution.kind != kind:
        raise ValidationError(_("所选机构类别不符"))
    return institution


def backdated_confirmed() -> bool:
    """Whether the user confirmed a save that changes approved period reports (the form's second press)."""
    return request.form.get("confirm_backdated") == "1"


def submit(form: FlaskForm, action: Callable[[], T], problems: Callable[[], dict[str, str]] | None = None,
           aliases: dict[str, str] | None = None) -> tuple[bool, T | None]:
    """Validate a submitted form and run its service call; (True, its result) once committed.

    Every field's error shows in one pass: when the form's own checks fail, `problems`
    (the service's rules on the same values, writing nothing) adds the errors of the
    other fields. A broken rule or a stale version rolls back and shows why on the
    form, keeping what was typed: (False, None).
    """
    if not form.is_submitted():
        return False, None
    if not form.validate():
        if problems is not None and "csrf_token" not in form.errors:
            unshown = {name: message for name, message in problems().items()
                       if not getattr(getattr(form, (aliases or {}).get(name, name), None), "errors", None)}
            apply_errors(form, unshown, aliases)
        return False, None
    return _run(form, action, aliases)


def _run(form: FlaskForm, action: Callable[[], T], aliases: dict[str, str] | None = None) -> tuple[bool, T | None]:
    """Run a service call for a validated form and commit it; (True, its result).

    A broken rule or a stale version rolls back and shows why on the form, keeping
    what was typed: (False, None). So does a save that would change approved period
    reports, not yet confirmed: the form then names them (`form.backdated`) and carries
    the confirmation for the next press.
    """
    try:
        result = action()
    except BackdatedChange as change:
        db.session.rollback()
        form.backdated = str(change)
        return False, None
    except StaleEdit:
        db.session.rollback()
        form.form_errors.append(stale_message())
        form.stale = stale_notice(form)
        return False, None
    except RecordInvalid as error:
        db.session.rollback()
        apply_errors(form, error.errors, aliases)
        return False, None
    db.session.commit()
    return True, result


def flash_saved(outcome: Outcome) -> None:
    """What an edit did: saved, nothing changed, and what waits for review."""
    if outcome.request is None:
        flash(_("已保存修改") if outcome.changed else _("没有修改任何内容"), "success")
        return
    bureau = BUREAUS[outcome.request.department]
    flash(_("其他修改已保存；影响指标的修改已提交%(bureau)s审核，审核通过后生效。", bureau=bureau) if outcome.changed
          else _("影响指标的修改已提交%(bureau)s审核，审核通过后生效。", bureau=bureau), "success")
