"""The buttons of a period report."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import InputRequired, Length


class DecisionForm(FlaskForm):
    """审核通过 or 退回 a version; the reason is required to return it."""

    version = HiddenField()
    reason = TextAreaField(_l("退回原因"), validators=[Length(max=2000, message=_l("退回原因不能超过 2000 字"))])


class ReturnForm(DecisionForm):
    """退回, with the reason the district will read."""

    reason = TextAreaField(_l("退回原因"), validators=[InputRequired(message=_l("请填写退回原因")),
                                                    Length(max=2000, message=_l("退回原因不能超过 2000 字"))])
