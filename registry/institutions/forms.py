"""Forms for registering, editing and closing institutions."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select
from wtforms import BooleanField, FloatField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from registry.forms import VersionedForm, count, institution_named, number_field, optional_date, required_date
from registry.models import Institution
from registry.services.infra.geocoding import PROVIDERS
from registry.vocab import LEVELS, MEDICAL_TYPES, OWNERSHIPS, RATINGS, choices


class GeocodedSourceField(HiddenField):
    """Set by the 从地址获取坐标 button (static/js/app.js) and cleared when coordinates are typed.

    Never prefilled from the record, so typed coordinates are not credited to the geocoder.
    """

    def process_data(self, value) -> None:
        self.data = ""


class InstitutionForm(VersionedForm):
    """Fields both kinds share (docs/data-model.md)."""

    name = StringField(_l("机构名称"), validators=[InputRequired(message=_l("请填写机构名称")),
                                                Length(max=200)])
    uscc = StringField(_l("统一社会信用代码"), validators=[Optional(), Length(max=24)])
    region_code = SelectField(_l("所属区县"), validators=[InputRequired(message=_l("请选择所属区县"))])
    address = StringField(_l("地址"), validators=[Optional(), Length(max=300)])
    lat = number_field(FloatField, _l("纬度"), [Optional(), NumberRange(-90, 90, _l("纬度须在 -90 到 90 之间（WGS-84）"))])
    lon = number_field(FloatField, _l("经度"), [Optional(), NumberRange(-180, 180, _l("经度须在 -180 到 180 之间（WGS-84）"))])
    coord_source = GeocodedSourceField()
    ownership = SelectField(_l("举办性质"), choices=choices(OWNERSHIPS, blank=_l("（未填）")),
                            validators=[Optional()])
    opened_on = required_date(_l("成立日期"))
    filing_no = StringField(_l("备案号"), validators=[Optional(), Length(max=64)])
    host_code = StringField(_l("设立单位机构编码"), validators=[Optional(), Length(max=32)],
                            description=_l("由其他机构设立（内设）时填写设立单位的机构编码，可输入名称搜索"))
    contact_person = StringField(_l("联系人"), validators=[Optional(), Length(max=64)])
    phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=64)])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=1000)])

    common_fields = ("name", "uscc", "region_code", "address", "lat", "lon", "ownership",
                     "opened_on", "filing_no", "contact_person", "phone", "note")
    kind_fields: tuple[str, ...] = ()

    def __init__(self, *args, scope: Select, **kwargs):
        """`scope`: the institutions the user may read; a host is chosen among them."""
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.host: Institution | None = None

    def validate_host_code(self, field) -> None:
        if (field.data or "").strip():
            self.host = institution_named(self.scope, field.data, what=_("设立单位"))

    def values(self) -> dict:
        """The submitted values under the service's field names, with the host resolved."""
        values = {name: getattr(self, name).data for name in self.common_fields + self.kind_fields}
        if self.coord_source.data in PROVIDERS and self.lat.data is not None:
            values["coord_source"] = self.coord_source.data
        return values | {"host": self.host}


class EldercareForm(InstitutionForm):
    """养老机构."""

    beds_total = count(_l("床位数"), required=True)
    beds_nursing = count(_l("护理型床位数"))
    rating = SelectField(_l("等级评定"), choices=choices(RATINGS, blank=_l("（未评定）")),
                         validators=[Optional()])
    special_support = BooleanField(_l("特困供养服务机构（敬老院）"))
    kind_fields = ("beds_total", "beds_nursing", "rating", "special_support")


class MedicalForm(InstitutionForm):
    """医疗卫生机构."""

    medical_type = SelectField(_l("医疗机构类型"), choices=choices(MEDICAL_TYPES, blank=_l("请选择")),
                               validators=[InputRequired(message=_l("请选择医疗机构类型"))])
    level = SelectField(_l("医院等级"), choices=choices(LEVELS, blank=_l("（未填）")),
                        validators=[Optional()])
    licence_no = StringField(_l("执业许可证登记号"), validators=[Optional(), Length(max=64)])
    two_in_one = BooleanField(_l("两证合一（同一法人同时持有医疗和养老资质）"))
    insurance_applied_on = optional_date(_l("医保定点申请日期"))
    insurance_designated_on = optional_date(_l("医保定点日期"))
    kind_fields = ("medical_type", "level", "licence_no", "two_in_one", "insurance_applied_on",
                   "insurance_designated_on")


class CloseForm(VersionedForm):
    """停业: the first day the institution no longer operates."""

    closed_on = required_date(_l("停业日期"))
    close_units = BooleanField(_l("同时将其仍在运营的内设机构办理停业"))


class ConfirmDeleteForm(FlaskForm):
    """Confirms deleting a record entered in error."""
