"""After-sales records: customers and their GSP qualification, the 市场信息反馈记录 (feedback intake),
complaints and ADR cases (aftersales/README.md has the state tables and permissions).

Field lists follow ../shared/reference/sop-checklists.md B.2.2–B.2.4 and B.3. The forms
《市场信息反馈记录》, SMP-ZL-QA024 (complaints) and the ADR SOP are not in the seed, so those field
lists are *proposed* (from the SOP wording and GMP/GSP) and to be confirmed with the plant's QA.
Products and batches are release's, reached by string foreign keys (imports point one way).
"""

from aftersales.models.adr import (
    ADRCase,
    ADRCaseQuerySet,
    ADRFollowUp,
    ADRInvestigationReport,
    ADRRule,
    ADRRuleSet,
    local_date,
)
from aftersales.models.complaints import Complaint, ComplaintHold, ComplaintQuerySet, Responsibility
from aftersales.models.customers import (
    APPROVAL_PERMISSIONS,
    ApprovalRole,
    Customer,
    CustomerApproval,
    CustomerLicence,
    CustomerLicenceScan,
    CustomerPerson,
    CustomerQuerySet,
    CustomerType,
    LicenceKind,
)
from aftersales.models.feedback import (
    Channel,
    Feedback,
    FeedbackClass,
    FeedbackQuerySet,
    ReporterType,
    SalesChainProblem,
    Satisfaction,
)
from aftersales.models.shipments import (
    GoodsReturn,
    ReturnChannel,
    ReturnDecision,
    Shipment,
    ShipmentQuerySet,
    StorageConditions,
    TransportMode,
)
from aftersales.models.visits import (
    VISIT_CYCLE_MONTHS,
    CustomerVisit,
    LedgerSignoff,
    VisitMethod,
    VisitTarget,
    VisitTopic,
)

__all__ = [
    "APPROVAL_PERMISSIONS",
    "ApprovalRole",
    "Customer",
    "CustomerApproval",
    "CustomerLicence",
    "CustomerLicenceScan",
    "CustomerPerson",
    "CustomerQuerySet",
    "CustomerType",
    "LicenceKind",
    "Channel",
    "ADRFollowUp",
    "ComplaintHold",
    "Feedback",
    "FeedbackClass",
    "FeedbackQuerySet",
    "ReporterType",
    "SalesChainProblem",
    "Satisfaction",
    "Complaint",
    "ComplaintQuerySet",
    "Responsibility",
    "ADRCase",
    "ADRCaseQuerySet",
    "ADRInvestigationReport",
    "ADRRule",
    "ADRRuleSet",
    "local_date",
    "CustomerVisit",
    "LedgerSignoff",
    "VISIT_CYCLE_MONTHS",
    "VisitMethod",
    "VisitTarget",
    "VisitTopic",
    "GoodsReturn",
    "ReturnChannel",
    "ReturnDecision",
    "Shipment",
    "ShipmentQuerySet",
    "StorageConditions",
    "TransportMode",
]
