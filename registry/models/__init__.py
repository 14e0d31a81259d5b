"""The registry's tables, one module per group."""

from registry.models.agreements import Agreement, AgreementService
from registry.models.audit import AuditEvent
from registry.models.institutions import Institution
from registry.models.regions import Region
from registry.models.targets import Target, TargetSet
from registry.models.users import User

__all__ = [
    "Agreement",
    "AgreementService",
    "AuditEvent",
    "Institution",
    "Region",
    "Target",
    "TargetSet",
    "User",
]
