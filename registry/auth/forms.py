"""The login form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("用户名"), validators=[InputRequired(message=_l("请填写用户名")),
                                                  Length(max=64)])
    password = PasswordField(_l("密码"), validators=[InputRequired(message=_l("请填写密码")),
                                                  Length(max=200)])
