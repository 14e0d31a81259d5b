"""The reviewer's and the submitter's buttons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import InputRequired, Length


class ApproveForm(FlaskForm):
    """审核通过; the box confirms a change to approved period reports when there is one."""

    confirm_backdated = BooleanField(_l("我已知晓此变更将改变已审核的上报数据，仍予通过"))


class ReturnForm(FlaskForm):
    """退回, with the reason the submitter will read."""

    reason = TextAreaField(_l("退回原因"), validators=[InputRequired(message=_l("请填写退回原因")),
                                                    Length(max=2000, message=_l("退回原因不能超过 2000 字"))])
