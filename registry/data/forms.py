"""The upload form, and the confirmation that carries what the upload was read as."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import Optional

from registry.vocab import KINDS, choices


class UploadForm(FlaskForm):
    """A workbook or a CSV file: the exchange format, or a bureau's own register as it is kept."""

    file = FileField(_l("选择文件"), validators=[FileRequired(message=_l("请选择要导入的文件"))],
                     description=_l("Excel 工作簿（.xlsx、.xls）或 CSV 文件，不超过 10 MB：本系统的导入模板，"
                                    "或各局原有的登记表（标题行、序号、合并表头等均可保留）"))
    kind = SelectField(_l("机构类别"), choices=choices(KINDS, blank=_l("按表中的机构类别判断")), validators=[Optional()],
                       description=_l("表中没有“机构类别”列时，请选择表中机构的类别"))


class StepForm(FlaskForm):
    """A step of an upload's way in (confirm the mapping, check again, import, cancel): the CSRF token alone."""
