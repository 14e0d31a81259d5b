"""The upload form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class UploadForm(FlaskForm):
    """An .xlsx workbook or a .csv file of the exchange format."""

    file = FileField(_l("选择文件"), validators=[FileRequired(message=_l("请选择要导入的文件"))],
                     description=_l("Excel 工作簿（.xlsx，工作表“机构”“签约协议”）或 CSV 文件，不超过 10 MB"))
