"""Identifiers: the unified social credit code (GB 32100-2015)."""

from __future__ import annotations

from flask_babel import gettext as _
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength


def normalise_uscc(value: str) -> str:
    """Upper-case, spaces removed: the form the register stores."""
    return uscc.compact(value)


def uscc_error(value: str) -> str | None:
    """None when `value` is a valid credit code, else a Chinese reason."""
    try:
        uscc.validate(value)
    except InvalidLength:
        return _("统一社会信用代码应为18位")
    except InvalidChecksum:
        return _("统一社会信用代码校验位错误，请核对")
    except (InvalidFormat, InvalidComponent):
        return _("统一社会信用代码格式错误（只含数字和大写字母，不含I、O、Z、S、V）")
    return None
