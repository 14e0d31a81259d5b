"""The registry's tables, one module per group."""

from registry.models.agreements import Agreement, AgreementService
from registry.models.audit import AuditEvent
from registry.models.geocache import GeocodeCache
from registry.models.institutions import Institution
from registry.models.regions import Region
from registry.models.review import ChangeRequest, PeriodReport, ReportAmendment
from registry.models.search import InstitutionSearchKey
from registry.models.sessions import LoginFailure, UserSession
from registry.models.targets import Target, TargetSet
from registry.models.tokens import ApiToken
from registry.models.training import TrainingRecord
from registry.models.uploads import ImportProfile, ImportUpload
from registry.models.users import User

__all__ = [
    "Agreement",
    "ApiToken",
    "AgreementService",
    "AuditEvent",
    "ChangeRequest",
    "GeocodeCache",
    "ImportProfile",
    "ImportUpload",
    "Institution",
    "InstitutionSearchKey",
    "LoginFailure",
    "PeriodReport",
    "Region",
    "ReportAmendment",
    "Target",
    "TargetSet",
    "TrainingRecord",
    "User",
    "UserSession",
]
