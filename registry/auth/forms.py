"""The login form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("用户名"), validators=[InputRequired(message=_l("请填写用户名")),
                                                  Length(max=64)])
    password = PasswordField(_l("密码"), validators=[InputRequired(message=_l("请填写密码")),
                                                  Length(max=200)])


class PasswordForm(FlaskForm):
    """The current password and a new one, twice."""

    current = PasswordField(_l("当前密码"), validators=[InputRequired(message=_l("请填写当前密码"))])
    password = PasswordField(_l("新密码"), validators=[InputRequired(message=_l("请填写新密码"))],
                             description=_l("至少 12 位，不能包含用户名，不能是常见密码"))
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("password", message=_l("两次输入的密码不一致"))])
