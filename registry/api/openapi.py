"""The OpenAPI 3.0.3 document of /api/v1 (served at /api/v1/openapi.json).

The records' fields are derived from the exchange format's columns (services/formats/columns.py,
docs/exchange-format.md); the paths are written here, in step with registry/api/views.py:
tests/test_api_schemathesis.py checks every answer against it.
"""

from __future__ import annotations

from typing import Any

from registry.services import reports, review
from registry.services.agreements import SORTS as AGREEMENT_SORTS
from registry.services.formats import columns
from registry.services.formats.columns import AGREEMENTS, INSTITUTIONS
from registry.services.institutions import SORTS as INSTITUTION_SORTS
from registry.vocab import AGREEMENT_STATUSES, KINDS, MEDICAL_TYPES, REVIEWERS, SERVICES

MAX_PER_PAGE = 200
MAX_PAGE = 2**31 - 1
MAX_ID = 2**31 - 1  # the largest value of an INTEGER id column
FLAGS = ("true", "false", "1", "0")
INSTITUTION_STATUSES = ("operating", "closed")  # institutions.filtered, on today
HOSTED = ("yes", "no")

NO_NUL = "^[^\\u0000]*$"  # PostgreSQL text cannot hold NUL; the API refuses it with 400
# A period as periods.Period.parse reads it: a year from 2020 (FIRST_YEAR) to 9998, then maybe a quarter.
PERIOD = "^(20[2-9][0-9]|2[1-9][0-9]{2}|[3-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])(-Q[1-4])?$"


def _nullable(type_: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "nullable": True, **extra}


DAY = {"type": "string", "format": "date"}
MOMENT = {"type": "string", "format": "date-time", "description": "UTC 时间，如 2026-12-07T08:00:00Z"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "503": {"$ref": "#/components/responses/Unavailable"},
}
NOT_FOUND = {"404": {"$ref": "#/components/responses/NotFound"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _choice(name: str, values, description: str, default: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    if default is not None:
        schema["default"] = default
    return _query(name, schema, description + "；给出时须为所列值之一（空值亦为无效），否则 400")


def _text(name: str, description: str) -> dict[str, Any]:
    return _query(name, {"type": "string", "pattern": NO_NUL}, description + "；含 NUL 字符时 400")


def _id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name, "in": "path", "required": True, "description": description,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


PAGING = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
           "页码，从 1 开始；超出末页时 items 为空；非整数、小于 1 或超过上限时 400"),
    _query("per_page", {"type": "integer", "minimum": 1},
           f"每页条数（默认为配置 PAGE_SIZE，20）；大于 {MAX_PER_PAGE} 时按 {MAX_PER_PAGE} 计；"
           "非整数或小于 1 时 400"),
]
DESCENDING = _choice("descending", FLAGS, "是否倒序（true/1 倒序，false/0 正序）", "false")
REGION = _text("region", "所属区县代码（docs/data-model.md，如 440902）；未知代码不报错，只是无结果")
Q = _text("q", "搜索文字：名称（汉字、拼音或首字母）、编码或信用代码的开头、地址；多个词须同时符合")

INSTITUTION_PROPERTIES: dict[str, Any] = {"id": {"type": "integer"}} | {
    c.key: columns.api_schema(INSTITUTIONS, c) for c in INSTITUTIONS.columns}
INSTITUTION_DETAIL_PROPERTIES = INSTITUTION_PROPERTIES | {
    "unit_codes": {"type": "array", "items": {"type": "string"}, "description": "所设立机构（内设机构）的编码"},
}

AGREEMENT_PROPERTIES: dict[str, Any] = {"id": {"type": "integer"}} | {
    c.key: columns.api_schema(AGREEMENTS, c) for c in AGREEMENTS.columns} | {
    "status": {"type": "string", "enum": list(AGREEMENT_STATUSES),
               "description": "今天的状态：未生效 / 有效 / 一方停业 / 已到期 / 已终止"},
}
AGREEMENT_DETAIL_PROPERTIES = AGREEMENT_PROPERTIES | {
    "distance_km": _nullable("number", description="双方的测地距离（公里）；任一方无坐标时为 null"),
}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """Every property present (null where it has no value), nothing else."""
    return {"type": "object", "required": list(properties), "properties": properties,
            "additionalProperties": False}


def _page(item: str) -> dict[str, Any]:
    return _object({
        "items": {"type": "array", "items": _ref(item)},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "total": {"type": "integer", "minimum": 0},
        "pages": {"type": "integer", "minimum": 0},
    })


CHANGE_REQUEST_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "subject": {"type": "string", "enum": list(review.SUBJECTS),
                "description": "对象：养老机构 / 医疗卫生机构 / 签约协议 / 导入文件"},
    "action": {"type": "string", "enum": list(review.ACTIONS), "description": "新增 / 修改 / 停业 / 终止 / 导入"},
    "department": {"type": "string", "enum": sorted(set(REVIEWERS.values())),
                   "description": "审核部门：civil_affairs 市民政局，health 市卫健局"},
    "region": {"type": "string", "description": "所属区县代码"},
    "entity": {"type": "string", "enum": sorted(set(review.ENTITIES.values())), "description": "记录所在的表"},
    "entity_id": _nullable("integer", description="记录 id；尚未通过的新增为 null"),
    "summary": {"type": "string", "description": "记录名称或编号、文件名"},
    "values": {"type": "object", "description": "申请的值（记录以 id、日期以 YYYY-MM-DD 表示）"},
    "before": _nullable("object", description="提交时这些字段的原值；新增与导入为 null"),
    "status": {"type": "string", "enum": list(review.STATUSES), "description": "待审核 / 已通过 / 已退回 / 已撤回"},
    "submitted_by": {"type": "string", "description": "提交人用户名"},
    "submitted_at": MOMENT,
    "decided_by": _nullable("string", description="审核人用户名；未审核或已撤回时为 null"),
    "decided_at": _nullable("string", format="date-time", description="审核或撤回的时间（UTC）"),
    "reason": {"type": "string", "description": "退回原因（未退回时为空）"},
    "impact": _nullable("array", description="提交时估算的指标变化；未知时为 null", items={
        "type": "object", "required": ["indicator", "region", "value", "denominator"],
        "properties": {
            "indicator": {"type": "string"},
            "region": {"type": "string", "description": "区县代码"},
            "value": {"type": "integer", "description": "数量（比例为分子）的变化"},
            "denominator": {"type": "integer", "description": "分母的变化（非比例为 0）"},
        },
        "additionalProperties": False,
    }),
}

FIGURE = {
    "type": "object",
    "required": ["value"],
    "properties": {
        "value": _nullable("number", description="数量；比例为 numerator / denominator（分母为 0 时 null）"),
        "numerator": {"type": "integer", "minimum": 0},
        "denominator": {"type": "integer", "minimum": 0},
    },
    "additionalProperties": False,
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "中文说明"},
            "request_id": {"type": "string", "description": "请求编号（亦见响应头 X-Request-ID），报错时请提供"},
        },
    },
    "Institution": _object(INSTITUTION_PROPERTIES),
    "InstitutionDetail": _object(INSTITUTION_DETAIL_PROPERTIES),
    "InstitutionPage": _page("Institution"),
    "Agreement": _object(AGREEMENT_PROPERTIES),
    "AgreementDetail": _object(AGREEMENT_DETAIL_PROPERTIES),
    "AgreementPage": _page("Agreement"),
    "Figure": FIGURE,
    "Indicator": _object({
        "city": _ref("Figure"),
        "regions": {"type": "object", "additionalProperties": _ref("Figure"),
                    "description": "区县代码 → 数值；区县官员只见本区县"},
    }),
    "TargetResult": _object({
        "indicator": {"type": "string"},
        "scope": {"type": "string", "description": "city 或区县代码"},
        "deadline": DAY,
        "comparator": {"type": "string", "enum": [">=", "<="]},
        "value": {"type": "number"},
        "clause": {"type": "string", "description": "63号文条款"},
        "actual": _nullable("number"),
        "met": {"type": "boolean"},
        "overdue": {"type": "boolean"},
    }),
    "ChangeRequest": _object(CHANGE_REQUEST_PROPERTIES),
    "ChangeRequestPage": _page("ChangeRequest"),
    "RegionReport": _object({
        "status": {"type": "string", "enum": list(reports.STATUSES),
                   "description": "未上报 / 已上报 / 已退回 / 已审核（最新一版）"},
        "version": _nullable("integer", minimum=1, description="最新一版的版本号；未上报时为 null"),
        "submitted_at": _nullable("string", format="date-time", description="最新一版的上报时间（UTC）"),
        "decided_at": _nullable("string", format="date-time", description="最新一版的审核或退回时间（UTC）"),
        "late": {"type": "boolean", "description": "首次上报晚于截止日，或截止日已过仍未上报"},
    }),
    "PeriodReports": _object({
        "period": {"type": "string", "description": "报告期，如 2022-Q4 或 2022"},
        "label": {"type": "string", "description": "报告期名称，如 2022年第四季度"},
        "as_of": DAY,
        "deadline": DAY,
        "approved": {"type": "integer", "minimum": 0, "description": "全市已审核通过的区县数"},
        "regions": {"type": "object", "additionalProperties": _ref("RegionReport"),
                    "description": "区县代码 → 上报情况；区县用户只见本区县"},
        "indicators": {"type": "object", "additionalProperties": _ref("Indicator"),
                       "description": "city 为已审核区县上报数据之和；regions 为各区县最新一版的数据"
                                      "（未上报时 value 为 null）"},
    }),
    "ComplianceReport": _object({
        "as_of": DAY,
        "target_set": _nullable("string", description="目标集 id；不存在时为 null（targets 为空）"),
        "indicators": {"type": "object", "additionalProperties": _ref("Indicator")},
        "targets": {"type": "array", "items": _ref("TargetResult")},
    }),
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "医养结合登记系统接口",
        "version": "1.0.0",
        "description": (
            "茂名市医养结合登记系统的只读接口。以登录会话或 `Authorization: Bearer <令牌>` 认证；"
            "数据范围与网页相同：区县用户只见本区县的记录，范围外的记录答 404。"
            "字段名与导入导出格式（docs/exchange-format.md）一致，日期为 YYYY-MM-DD，时间为 UTC（如 2026-12-07T08:00:00Z）。"
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"session": []}, {"bearer": []}],
    "paths": {
        "/institutions": {
            "get": {
                "operationId": "listInstitutions",
                "summary": "机构列表",
                "description": "用户可见的养老机构和医疗卫生机构，可筛选、排序、分页。",
                "parameters": [
                    _choice("kind", KINDS, "机构类别（不给时两类都列）"),
                    Q,
                    REGION,
                    _choice("medical_type", MEDICAL_TYPES, "医疗机构类型"),
                    _choice("status", INSTITUTION_STATUSES, "今天在运营 / 已停业"),
                    _choice("hosted", HOSTED, "是否内设机构（有设立单位）"),
                    _choice("sort", INSTITUTION_SORTS, "排序字段", "name"),
                    DESCENDING,
                    *PAGING,
                ],
                "responses": {"200": _response("一页机构", "InstitutionPage"), **ERRORS},
            },
        },
        "/institutions/{institution_id}": {
            "get": {
                "operationId": "getInstitution",
                "summary": "一个机构",
                "description": "机构及其设立单位编码、内设机构编码；不存在或不在用户范围内时 404。",
                "parameters": [_id("institution_id", "机构 id")],
                "responses": {"200": _response("机构", "InstitutionDetail"), **ERRORS, **NOT_FOUND},
            },
        },
        "/agreements": {
            "get": {
                "operationId": "listAgreements",
                "summary": "签约协议列表",
                "description": "用户可见的签约协议（养老机构或医疗机构一方在用户区县），状态按今天计算。",
                "parameters": [
                    Q,
                    _text("region", "区县代码：养老机构或医疗机构一方在该区县"),
                    _choice("status", AGREEMENT_STATUSES, "今天的状态"),
                    _choice("service", SERVICES, "包含该服务内容"),
                    _choice("sort", AGREEMENT_SORTS,
                            "排序：newest 最新签订在前（签订日期，无则生效日期）；expiring 今天有效的协议按到期日期由近到远，"
                            "其余在后；其余按该列排序（descending 仅对这些列有效）", "newest"),
                    DESCENDING,
                    *PAGING,
                ],
                "responses": {"200": _response("一页签约协议", "AgreementPage"), **ERRORS},
            },
        },
        "/agreements/{agreement_id}": {
            "get": {
                "operationId": "getAgreement",
                "summary": "一份签约协议",
                "description": "协议、今天的状态与双方距离；不存在或不在用户范围内时 404。",
                "parameters": [_id("agreement_id", "协议 id")],
                "responses": {"200": _response("签约协议", "AgreementDetail"), **ERRORS, **NOT_FOUND},
            },
        },
        "/compliance": {
            "get": {
                "operationId": "getCompliance",
                "summary": "指标与目标达成情况",
                "description": "docs/indicators.md 所述的 JSON：各指标的全市与各区县数值，及目标集的各项目标。",
                "parameters": [
                    _query("as_of", {"type": "string", "format": "date"},
                           "统计日 YYYY-MM-DD（不给时为今天）；不是日期时 400"),
                    _query("target_set", {"type": "string", "pattern": NO_NUL,
                                          "default": "maoming-2020-63"},
                           "目标集 id；不存在时 target_set 为 null；含 NUL 字符时 400"),
                ],
                "responses": {"200": _response("指标报告", "ComplianceReport"), **ERRORS},
            },
        },
        "/change-requests": {
            "get": {
                "operationId": "listChangeRequests",
                "summary": "变更申请列表",
                "description": "用户可见的待审核变更（本人提交的；本部门的，区县人员限本区县；区县官员本区县的），"
                               "最新的在前，分页。",
                "parameters": [
                    _choice("status", review.STATUSES, "状态：待审核 / 已通过 / 已退回 / 已撤回（不给时全部）"),
                    *PAGING,
                ],
                "responses": {"200": _response("一页变更申请", "ChangeRequestPage"), **ERRORS},
            },
        },
        "/reports": {
            "get": {
                "operationId": "getPeriodReports",
                "summary": "报告期上报情况",
                "description": "docs/review-and-reporting.md：各区县该报告期的上报状态与数据，全市为已审核区县数据之和；"
                               "尚未结束的报告期各区县均为未上报。",
                "parameters": [
                    {"name": "period", "in": "query", "required": True,
                     "schema": {"type": "string", "pattern": PERIOD}, "example": "2022-Q4",
                     "description": "报告期：年度（如 2022）或季度（如 2022-Q4），2020 年起；缺少或无效时 400"},
                ],
                "responses": {"200": _response("报告期上报情况", "PeriodReports"), **ERRORS},
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "本文档",
                "security": [],
                "responses": {
                    "200": {"description": "OpenAPI 3.0.3 文档",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                },
            },
        },
    },
    "components": {
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "session",
                        "description": "登录网页后的会话 Cookie"},
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "管理员签发的接口令牌：Authorization: Bearer <令牌>"},
        },
        "responses": {
            "BadRequest": _response("查询参数无效", "Error"),
            "Unauthorized": _response("未登录且没有有效的接口令牌", "Error"),
            "NotFound": _response("记录不存在或不在用户的范围内", "Error"),
            "Unavailable": _response("数据库暂时无法连接（响应头 Retry-After）", "Error"),
        },
        "schemas": SCHEMAS,
    },
}
