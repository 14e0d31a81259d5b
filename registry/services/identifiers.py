"""Identifiers: the unified social credit code (GB 32100-2015), registry codes, and names."""

from __future__ import annotations

import re

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


# Unicode's control characters (category Cc) are exactly these 65; one search, not a lookup per character.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_characters(value: str) -> bool:
    """Whether text holds a line break, tab or other control character (a name or a code never does)."""
    return _CONTROL.search(value) is not None


def code_error(value: str) -> str | None:
    """None when `value` can be a registry code (机构编码, 协议编号), else a Chinese reason."""
    if has_control_characters(value):
        return _("编码不能包含换行符、制表符等控制字符")
    if len(value) > 32:
        return _("编码不能超过32个字符")
    return None
