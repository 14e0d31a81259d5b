"""The exchange format's columns (docs/exchange-format.md), described once.

Each column says its key, its Chinese label, how its cells read and write, the
model attribute it holds and which kind of institution it belongs to. Import,
export, the template, the API's records and its OpenAPI schema are all derived
from these two tables, so a new field touches the model, its migration, this
description and the form, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from registry.vocab import ELDERCARE, KINDS, LEVELS, MEDICAL, MEDICAL_TYPES, OWNERSHIPS, RATINGS, SERVICES

BOTH = frozenset({ELDERCARE, MEDICAL})
KIND_LABELS = {ELDERCARE: "养老机构", MEDICAL: "医疗卫生机构"}
YES, NO = "是", "否"


@dataclass(frozen=True)
class Column:
    """One column of a table of the exchange format."""

    key: str
    label: str
    # text | int | float | date | bool | services | kind | region | code_of (the code of a related record)
    type: str = "text"
    attribute: str | None = None  # the model attribute it holds; the key when None
    kinds: frozenset[str] = BOTH  # the institution kinds it belongs to (agreements: both)
    note: str = ""  # what the API's description says besides the label
    choices: tuple[str, ...] = ()  # the values a template drop-down offers (regions come from the register)
    identifier: bool = False  # a code or number kept as text in a workbook (leading zeros, every digit)

    @property
    def is_code(self) -> bool:
        """A code a spreadsheet must show as text: an identifier, or the code of another record."""
        return self.identifier or self.type == "code_of"

    @property
    def field(self) -> str:
        """The model attribute (service field) the column holds."""
        return self.attribute or self.key


@dataclass(frozen=True)
class Table:
    """One table of the format: its sheet name, file name, columns and required columns."""

    key: str
    sheet: str
    columns: tuple[Column, ...]
    required: tuple[str, ...]

    def column(self, key: str) -> Column:
        """The column of that key (the planner asks for one per cell read)."""
        return self._by_key[key]

    @cached_property
    def _by_key(self) -> dict[str, Column]:
        return {c.key: c for c in self.columns}

    def by_field(self, field: str) -> Column | None:
        """The column holding a model attribute, if the format has one."""
        return next((c for c in self.columns if c.field == field), None)


EC, MD = frozenset({ELDERCARE}), frozenset({MEDICAL})

INSTITUTIONS = Table(
    "institutions",
    "机构",
    (
        Column("code", "机构编码", identifier=True),
        Column("kind", "机构类别", "kind", choices=tuple(KIND_LABELS.values())),
        Column("name", "机构名称"),
        Column("uscc", "统一社会信用代码", identifier=True),
        Column("region", "所属区县", "region", attribute="region_code", note="代码"),
        Column("address", "地址"),
        Column("lat", "纬度", "float", note="WGS-84"),
        Column("lon", "经度", "float", note="WGS-84"),
        Column("ownership", "举办性质", choices=tuple(OWNERSHIPS)),
        Column("opened_on", "成立日期", "date"),
        Column("closed_on", "停业日期", "date", note="不再运营的第一天"),
        Column("beds_total", "床位数", "int", kinds=EC),
        Column("beds_nursing", "护理型床位数", "int", kinds=EC),
        Column("filing_no", "备案号", identifier=True),
        Column("medical_type", "医疗机构类型", kinds=MD, choices=tuple(MEDICAL_TYPES)),
        Column("level", "医院等级", kinds=MD, choices=tuple(LEVELS)),
        Column("licence_no", "执业许可证登记号", kinds=MD, identifier=True),
        Column("host_code", "设立单位机构编码", "code_of", attribute="host", note="内设机构"),
        Column("insurance_applied_on", "医保定点申请日期", "date", kinds=MD),
        Column("insurance_designated_on", "医保定点日期", "date", kinds=MD),
        Column("rating", "等级评定", kinds=EC, choices=tuple(RATINGS)),
        Column("two_in_one", "两证合一", "bool", kinds=MD, choices=(YES, NO)),
        Column("special_support", "特困供养机构", "bool", kinds=EC, choices=(YES, NO)),
        Column("contact_person", "联系人"),
        Column("phone", "联系电话", identifier=True),
        Column("note", "备注"),
    ),
    required=("kind", "name", "region", "opened_on"),
)

AGREEMENTS = Table(
    "agreements",
    "签约协议",
    (
        Column("code", "协议编号", identifier=True),
        Column("eldercare_code", "养老机构编码", "code_of", attribute="eldercare"),
        Column("medical_code", "医疗机构编码", "code_of", attribute="medical"),
        Column("signed_on", "签订日期", "date"),
        Column("valid_from", "生效日期", "date"),
        Column("valid_to", "到期日期", "date", note="适用的最后一天"),
        Column("terminated_on", "终止日期", "date", note="不再适用的第一天"),
        Column("services", "服务内容", "services", choices=tuple(SERVICES)),
        Column("visit_frequency", "巡诊频次"),
        Column("fees", "费用约定"),
    ),
    required=("eldercare_code", "medical_code", "valid_from", "valid_to", "services"),
)

TABLES = {INSTITUTIONS.key: INSTITUTIONS, AGREEMENTS.key: AGREEMENTS}


def kind_label(kind: str) -> str:
    """The exchange format's word for a kind (养老机构 / 医疗卫生机构)."""
    return KIND_LABELS.get(kind, str(KINDS.get(kind, kind)))


def cell(column: Column, record: Any, region_names: Mapping[str, str], codes: Mapping[int, str]) -> Any:
    """A record's value as an export writes it; `codes` maps related ids to their codes."""
    if column.kinds is not BOTH and getattr(record, "kind", None) not in column.kinds:
        return None  # another kind's column stays empty
    if column.type == "code_of":
        related = getattr(record, f"{column.field}_id")
        return codes.get(related) if related else None
    value = getattr(record, column.field)
    if column.type == "kind":
        return kind_label(value)
    if column.type == "region":
        return region_names.get(value, value)
    if column.type == "bool":
        return YES if value else NO
    if column.type == "services":
        return "、".join(value)
    if column.type == "text":
        return value or None
    return value


def api_value(column: Column, record: Any) -> Any:
    """A record's value as the JSON API answers it: codes, dates as YYYY-MM-DD, booleans."""
    if column.type == "code_of":
        related = getattr(record, column.field)
        return related.code if related is not None else None
    value = getattr(record, column.field)
    if column.type == "date":
        return value.isoformat() if isinstance(value, date) else None
    if column.type == "bool":
        return bool(value)
    if column.type == "text":
        return value or None
    return value


_API_TYPES = {"text": "string", "int": "integer", "float": "number", "date": "string", "bool": "boolean",
              "kind": "string", "region": "string", "code_of": "string"}


def api_schema(table: Table, column: Column) -> dict[str, Any]:
    """The OpenAPI schema of a column's value in the API's records."""
    notes = [column.note] if column.note else []
    if column.kinds is not BOTH and table is INSTITUTIONS:
        notes.append("、".join(kind_label(k) for k in sorted(column.kinds)))
    description = column.label + (f"（{'；'.join(notes)}）" if notes else "")
    if column.type == "services":
        return {"type": "array", "items": {"type": "string"}, "description": description}
    schema: dict[str, Any] = {"type": _API_TYPES[column.type], "description": description}
    if column.type == "date":
        schema["format"] = "date"
    if column.type == "kind":
        schema["enum"] = list(KINDS)
    if column.type != "bool" and column.key not in table.required and column.key != "code":
        schema["nullable"] = True
    return schema
