"""Forms for managing users."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, Optional

from registry.forms import VersionedForm, number_field
from registry.vocab import ROLES, choices


class UserDetailsForm(FlaskForm):
    """An account's name, role and region: what an administrator may change after creating it."""

    full_name = StringField(_l("姓名或单位"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("角色"), choices=choices(ROLES, blank=_l("请选择")),
                       validators=[InputRequired(message=_l("请选择角色"))])
    region_code = SelectField(_l("所属区县"), validators=[Optional()],
                              description=_l("区县领导必须选择；工作人员不选表示市级（可编辑全市）"))


class UserForm(UserDetailsForm):
    """A new account: role, region and an initial password."""

    username = StringField(_l("用户名"), validators=[InputRequired(message=_l("请填写用户名")),
                                                  Length(max=64)])
    password = PasswordField(_l("初始密码"), validators=[InputRequired(message=_l("请填写初始密码"))],
                             description=_l("至少 12 位，不能包含用户名"))
    confirm = PasswordField(_l("确认密码"), validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])


class PasswordResetForm(FlaskForm):
    """A password the administrator sets for someone; they must change it at their next login."""

    password = PasswordField(_l("新密码"), validators=[InputRequired(message=_l("请填写新密码"))],
                             description=_l("至少 12 位，不能包含用户名"))
    confirm = PasswordField(_l("确认新密码"),
                            validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])


class TargetForm(VersionedForm):
    """A target: indicator, scope, deadline, comparator and value (shares in per cent)."""

    indicator = SelectField(_l("指标"), validators=[InputRequired(message=_l("请选择指标"))])
    scope = SelectField(_l("范围"), validators=[InputRequired(message=_l("请选择范围"))])
    deadline = DateField(_l("期限"), validators=[InputRequired(message=_l("请填写期限"))])
    # The service refuses an unknown comparator, naming it (services/targets.comparator_error).
    comparator = SelectField(_l("比较方式"), choices=[SelectChoice(">=", "≥"), SelectChoice("<=", "≤"),
                                                     SelectChoice("==", "=")], validate_choice=False)
    value = number_field(DecimalField, _l("目标值"), [InputRequired(message=_l("请填写目标值"))], places=None,
                         description=_l("占比类指标填百分数，如 100 表示 100%"))
    clause = StringField(_l("条款"), validators=[Optional(), Length(max=32)])
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=500)])


class TokenForm(FlaskForm):
    """Issue an API token for a user."""

    user_id = SelectField(_l("账号"), coerce=int, validators=[InputRequired(message=_l("请选择账号"))])
    name = StringField(_l("用途"), validators=[InputRequired(message=_l("请填写令牌用途")), Length(max=100)])
    days = number_field(IntegerField, _l("有效期（天）"), [Optional()],
                        description=_l("到期后令牌失效，需重新签发；留空按默认天数"))
