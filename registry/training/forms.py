"""The training record form."""

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from registry.forms import VersionedForm, at_most, number_field, required_date


class TrainingForm(VersionedForm):
    """培训记录: when, who organised it, where, how many were trained."""

    held_on = required_date(_l("培训日期"))
    organiser = StringField(_l("主办单位"), validators=[InputRequired(message=_l("请填写主办单位")),
                                                    Length(max=200)])
    region_code = SelectField(_l("所属区县"), validators=[InputRequired(message=_l("请选择所属区县"))])
    medical_nursing = number_field(IntegerField, _l("培训医疗护理人员（人）"), [
        InputRequired(message=_l("请填写人数（没有请填 0）")), at_most(_l("医疗护理人员人数")),
        NumberRange(min=0, message=_l("人数不能为负数"))], named=_l("医疗护理人员人数"), default=0)
    caregivers = number_field(IntegerField, _l("培训养老护理员（人）"), [
        InputRequired(message=_l("请填写人数（没有请填 0）")), at_most(_l("养老护理员人数")),
        NumberRange(min=0, message=_l("人数不能为负数"))], named=_l("养老护理员人数"), default=0)
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=500)])

    fields_saved = ("held_on", "organiser", "region_code", "medical_nursing", "caregivers", "note")

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in self.fields_saved}
