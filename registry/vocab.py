"""Fixed vocabularies (docs/data-model.md): stored values and their labels.

Stored values are the Chinese terms the policy uses (they are what staff type
in their spreadsheets); `label()` gives the display text in the current locale.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

ELDERCARE = "eldercare"
MEDICAL = "medical"
KINDS = {ELDERCARE: _l("养老机构"), MEDICAL: _l("医疗卫生机构")}

OWNERSHIPS = {
    "公办": _l("公办"),
    "民办": _l("民办"),
    "公建民营": _l("公建民营"),
    "民办公助": _l("民办公助"),
}

MEDICAL_TYPES = {
    "综合医院": _l("综合医院"),
    "中医医院": _l("中医医院"),
    "康复医院": _l("康复医院"),
    "护理院": _l("护理院"),
    "老年病医院": _l("老年病医院"),
    "门诊部": _l("门诊部"),
    "诊所": _l("诊所"),
    "医务室": _l("医务室"),
    "护理站": _l("护理站"),
    "卫生院": _l("卫生院"),
    "社区卫生服务中心": _l("社区卫生服务中心"),
    "社区卫生服务站": _l("社区卫生服务站"),
    "村卫生室": _l("村卫生室"),
    "其他": _l("其他"),
}
# 63号 一(一): what a home of 200 beds or more should set up inside.
LARGE_HOME_UNIT_TYPES = frozenset({"护理院", "医务室", "门诊部", "护理站", "老年病医院", "康复医院"})
# Medical institutions that can set up an elder-care home (一(一): 引导有条件的基层医疗卫生机构…).
HOME_HOSTING_TYPES = frozenset(
    {"综合医院", "中医医院", "康复医院", "护理院", "老年病医院", "卫生院", "社区卫生服务中心"}
)
# 63号 一(三): specialties that make an integrated institution count.
SPECIALTY_TYPES = frozenset({"老年病医院", "康复医院", "护理院", "中医医院"})

LEVELS = {"一级": _l("一级"), "二级": _l("二级"), "三级": _l("三级"), "未定级": _l("未定级")}

RATINGS = {
    **{f"{n}星": _l("%(n)s星", n=n) for n in range(1, 6)},
    **{f"{n}A": _l("%(n)sA", n=n) for n in range(1, 6)},
}

SERVICES = {
    "健康管理": _l("健康管理"),
    "健康教育": _l("健康教育"),
    "预防保健": _l("预防保健"),
    "疾病诊治": _l("疾病诊治"),
    "康复护理": _l("康复护理"),
    "安宁疗护": _l("安宁疗护"),
    "上门巡诊": _l("上门巡诊"),
    "急救": _l("急救"),
    "预约就诊绿色通道": _l("预约就诊绿色通道"),
    "双向转诊": _l("双向转诊"),
    "远程医疗": _l("远程医疗"),
    "中医药服务": _l("中医药服务"),
}
REFERRAL_SERVICES = frozenset({"双向转诊", "预约就诊绿色通道"})

# Agreement status on a day (docs/data-model.md, "Active").
PENDING, ACTIVE, PARTY_CLOSED, EXPIRED, TERMINATED = (
    "pending", "active", "party_closed", "expired", "terminated",
)
AGREEMENT_STATUSES = {
    PENDING: _l("未生效"),
    ACTIVE: _l("有效"),
    PARTY_CLOSED: _l("一方停业"),
    EXPIRED: _l("已到期"),
    TERMINATED: _l("已终止"),
}

ADMIN, CIVIL_AFFAIRS, HEALTH, DISTRICT_OFFICIAL = "admin", "civil_affairs", "health", "district_official"
ROLES = {
    ADMIN: _l("系统管理员"),
    CIVIL_AFFAIRS: _l("民政工作人员"),
    HEALTH: _l("卫健工作人员"),
    DISTRICT_OFFICIAL: _l("区县领导"),
}

AUDIT_ACTIONS = {
    "create": _l("新增"),
    "update": _l("修改"),
    "close": _l("停业"),
    "terminate": _l("终止"),
    "delete": _l("删除"),
    "import": _l("导入"),
    "seed": _l("系统初始化"),
    "login": _l("登录"),
    "login_failed": _l("登录失败"),
    "login_locked": _l("登录被锁定"),
    "denied": _l("拒绝访问"),
    "deactivate": _l("停用"),
    "activate": _l("启用"),
    "request": _l("提交审核"),
    "withdraw": _l("撤回"),
    "approve": _l("审核通过"),
    "return": _l("退回"),
    "report": _l("上报"),
    "reset_password": _l("重置密码"),
    "change_password": _l("修改密码"),
}

# The department that registers and edits each kind of record, as its staff's role (63号 clause 十一:
# 民政 the homes, 卫健 the medical institutions; agreements 卫生健康部门牵头). A district's change is
# reviewed by that department's city bureau (docs/review-and-reporting.md),
# and the audit log files its events under it.
AGREEMENT, IMPORT = "agreement", "import"
REVIEWERS = {ELDERCARE: CIVIL_AFFAIRS, MEDICAL: HEALTH, AGREEMENT: HEALTH}
BUREAUS = {CIVIL_AFFAIRS: _l("市民政局"), HEALTH: _l("市卫生健康局")}
DEPARTMENT_NAMES = {CIVIL_AFFAIRS: _l("民政部门"), HEALTH: _l("卫生健康部门")}
DEPARTMENTS = {kind: DEPARTMENT_NAMES[role] for kind, role in REVIEWERS.items()}

# What the audit log's events are about (their `entity`), as the log names them.
AUDIT_ENTITIES = {
    "institutions": _l("机构"),
    "agreements": _l("签约协议"),
    "training_records": _l("培训记录"),
    "targets": _l("目标"),
    "change_requests": _l("审核申请"),
    "period_reports": _l("上报"),
    "imports": _l("数据导入"),
    "users": _l("用户"),
    "api_tokens": _l("接口令牌"),
}


def choices(vocabulary: dict, blank: str | None = None) -> list[SelectChoice]:
    """Options for a select field (value → label), optionally led by a blank choice."""
    options = [SelectChoice(value, label) for value, label in vocabulary.items()]
    return [SelectChoice("", blank), *options] if blank is not None else options

# Field names as the change history shows them (the labels of docs/exchange-format.md).
FIELD_LABELS = {
    "code": _l("机构编码"), "kind": _l("机构类别"), "name": _l("机构名称"), "uscc": _l("统一社会信用代码"),
    "region_code": _l("所属区县"), "address": _l("地址"), "lat": _l("纬度"), "lon": _l("经度"),
    "coord_source": _l("坐标来源"), "ownership": _l("举办性质"), "opened_on": _l("成立日期"),
    "closed_on": _l("停业日期"), "beds_total": _l("床位数"), "beds_nursing": _l("护理型床位数"),
    "rating": _l("等级评定"), "filing_no": _l("备案号"), "medical_type": _l("医疗机构类型"),
    "level": _l("医院等级"), "licence_no": _l("执业许可证登记号"), "two_in_one": _l("两证合一"),
    "insurance_applied_on": _l("医保定点申请日期"), "insurance_designated_on": _l("医保定点日期"),
    "host_id": _l("设立单位"), "eldercare_id": _l("养老机构"), "medical_id": _l("医疗卫生机构"),
    "signed_on": _l("签订日期"), "valid_from": _l("生效日期"), "valid_to": _l("到期日期"),
    "terminated_on": _l("终止日期"), "services": _l("服务内容"), "visit_frequency": _l("巡诊频次"),
    "fees": _l("费用约定"), "referral_terms": _l("双向转诊与预约就诊约定"),
    "eldercare_duties": _l("养老机构责任"), "medical_duties": _l("医疗卫生机构责任"),
    "scan_name": _l("协议扫描件"), "username": _l("用户名"), "full_name": _l("姓名或单位"),
    "role": _l("角色"), "active": _l("状态"),
    "host": _l("设立单位"), "eldercare": _l("养老机构"), "medical": _l("医疗卫生机构"),
    "close_units": _l("同时停业内设机构"),
    "special_support": _l("特困供养机构"), "contact_person": _l("联系人"), "phone": _l("联系电话"), "note": _l("备注"),
    "must_change_password": _l("须修改密码"),
    "held_on": _l("培训日期"), "organiser": _l("主办单位"), "medical_nursing": _l("医疗护理人员"),
    "caregivers": _l("养老护理员"),
    "indicator": _l("指标"), "scope": _l("范围"), "deadline": _l("期限"), "comparator": _l("比较方式"),
    "value": _l("目标值"), "clause": _l("条款"), "edited": _l("已调整"),
}

# Where an institution's coordinates came from.
COORD_SOURCES = {"manual": _l("手工录入"), "import": _l("表格导入"), "nominatim": _l("地理编码（Nominatim）")}
