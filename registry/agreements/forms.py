"""Forms for recording and terminating agreements."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from sqlalchemy import Select
from wtforms import SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import InputRequired, Length, Optional

from registry.forms import VersionedForm, institution_named, optional_date, required_date
from registry.models import Institution
from registry.vocab import ELDERCARE, MEDICAL, SERVICES, choices


class ServicesField(SelectMultipleField):
    """Services from the fixed list, as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AgreementForm(VersionedForm):
    """医养签约协议 (docs/data-model.md)."""

    eldercare_code = StringField(
        _l("养老机构"), validators=[InputRequired(message=_l("请选择养老机构")), Length(max=32)],
        description=_l("输入名称或机构编码搜索已登记的养老机构"))
    medical_code = StringField(
        _l("医疗卫生机构"), validators=[InputRequired(message=_l("请选择医疗卫生机构")), Length(max=32)],
        description=_l("输入名称或机构编码搜索已登记的医疗卫生机构"))
    signed_on = optional_date(_l("签订日期"))
    valid_from = required_date(_l("生效日期"))
    valid_to = required_date(_l("到期日期"))
    services = ServicesField(_l("服务内容"), choices=choices(SERVICES),
                             validators=[InputRequired(message=_l("请至少选择一项服务内容"))])
    referral_terms = TextAreaField(_l("双向转诊与预约就诊约定"), validators=[Optional(), Length(max=2000)])
    visit_frequency = StringField(_l("巡诊频次"), validators=[Optional(), Length(max=200)])
    fees = TextAreaField(_l("费用约定"), validators=[Optional(), Length(max=2000)])
    eldercare_duties = TextAreaField(_l("养老机构责任"), validators=[Optional(), Length(max=2000)])
    medical_duties = TextAreaField(_l("医疗卫生机构责任"), validators=[Optional(), Length(max=2000)])
    scan = FileField(_l("协议扫描件"), description=_l("可选：签字盖章后的协议，PDF、PNG 或 JPEG，不超过 10 MB"))

    text_fields = ("signed_on", "valid_from", "valid_to", "referral_terms", "visit_frequency",
                   "fees", "eldercare_duties", "medical_duties")

    def __init__(self, *args, scope: Select, **kwargs):
        """`scope`: the institutions the user may read; parties are chosen among them."""
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.parties: dict[str, Institution] = {}

    def validate_eldercare_code(self, field) -> None:
        self.parties["eldercare"] = institution_named(self.scope, field.data, ELDERCARE)

    def validate_medical_code(self, field) -> None:
        self.parties["medical"] = institution_named(self.scope, field.data, MEDICAL)

    def values(self) -> dict:
        """Submitted values under the service's names, with the parties resolved."""
        return {name: getattr(self, name).data for name in self.text_fields} | {
            "eldercare": self.parties.get("eldercare"), "medical": self.parties.get("medical")}


class TerminateForm(VersionedForm):
    """已终止: the first day the agreement no longer applies."""

    terminated_on = required_date(_l("终止日期"))
