"""The roles of DESIGN.md as Django groups, and the model permissions each holds.

Groups are created by a data migration (core 0002); permissions are (re)assigned after every
migrate, because the permissions of later apps only exist once their migrations have run.
Object permissions (the QP designated for a product) are set per object with django-guardian.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

PRODUCTION_REVIEWER = "production_reviewer"
QC_ANALYST = "qc_analyst"
QC_REVIEWER = "qc_reviewer"
QC_HEAD = "qc_head"
QA_REVIEWER = "qa_reviewer"
QUALIFIED_PERSON = "qualified_person"
CUSTOMER_SERVICE = "customer_service"
CS_MANAGER = "cs_manager"
QUALITY_HEAD = "quality_head"
SALES = "sales"
RECALL_COORDINATOR = "recall_coordinator"
FINANCE = "finance"
AUDITOR = "auditor"
ADMIN = "admin"

ROLE_LABELS = {
    PRODUCTION_REVIEWER: _("Production reviewer"),
    QC_ANALYST: _("QC analyst"),
    QC_REVIEWER: _("QC reviewer"),
    QC_HEAD: _("QC head"),
    QA_REVIEWER: _("QA reviewer"),
    QUALIFIED_PERSON: _("Qualified person"),
    CUSTOMER_SERVICE: _("Customer service"),
    CS_MANAGER: _("Customer-service manager"),
    QUALITY_HEAD: _("Quality head"),
    SALES: _("Sales"),
    RECALL_COORDINATOR: _("Recall coordinator"),
    FINANCE: _("Finance"),
    AUDITOR: _("Auditor"),
    ADMIN: _("System administrator"),
}

ALL_ROLES = list(ROLE_LABELS)

# Everyone who works with GMP records may read products and batches.
_READ_MASTER = [
    "release.view_product",
    "release.view_batch",
    "release.view_batchhold",
    "release.view_producthold",
    "release.view_deviation",
    "release.view_changecontrol",
    "release.view_releasereview",
    "release.view_qpdesignation",
    "release.view_materiallot",
    "release.view_batchmaterial",
    "release.view_materialbalance",
]
# Registering incoming material lots, recording what a batch used and its material balance (R-MAT-1, R-REL-8).
_RECORD_MATERIALS = ["release.add_materiallot", "release.change_materiallot", "release.add_batchmaterial"]
# Raising and investigating deviations and change controls (closing them is QA's, signed).
_RAISE_EVENTS = [
    "release.add_deviation",
    "release.change_deviation",
    "release.add_changecontrol",
    "release.change_changecontrol",
]

# QC records: read by the QC roles, QA, the QP (evidence for release) and auditors.
_READ_QC = [
    "qc_records.view_specification",
    "qc_records.view_instrument",
    "qc_records.view_reagent",
    "qc_records.view_sample",
    "qc_records.view_testrecord",
    "qc_records.view_oosinvestigation",
    # a record's parts: their own history pages (/audit/qc_records.testresult/<pk>/) are read by
    # everyone who reviews or approves the record (R-AT-5, R-QC-4; issue 7)
    "qc_records.view_testresult",
    "qc_records.view_instrumentuse",
    "qc_records.view_reagentuse",
    "qc_records.view_attachment",
]

# After-sales (aftersales/README.md has the table): who reads customers, feedback, complaints, ADR.
_READ_CUSTOMERS = ["aftersales.view_customer", "aftersales.view_customerlicence"]
_READ_AFTERSALES = _READ_CUSTOMERS + [
    "aftersales.view_customervisit",
    "aftersales.view_feedback",
    "aftersales.view_complaint",
    "aftersales.view_adrcase",
    "aftersales.view_shipment",
    "aftersales.view_goodsreturn",
    # The signed monthly ledger's issued PDF (core.views.may_view_document_record asks this).
    "aftersales.view_ledgersignoff",
]
_LOG_FEEDBACK = ["aftersales.add_feedback", "aftersales.change_feedback"]

# Recalls (recalls/README.md has the table): who reads recall records.
_READ_RECALLS = [
    "recalls.view_recallinformation",
    "recalls.view_recall",
    "recalls.view_recallconsignee",
    "recalls.view_recoveredgoods",
    "recalls.view_progressentry",
    "recalls.view_deadlinerule",
    "recalls.view_mockrecall",
    "release.view_producthold",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCTION_REVIEWER: _READ_MASTER
    + _RAISE_EVENTS
    + _RECORD_MATERIALS
    + ["release.add_batch", "release.change_batch", "release.review_production", "release.add_materialbalance"],
    # Registers samples, writes test records, keeps the reagent log, takes part in phase I.
    QC_ANALYST: _READ_MASTER
    + _READ_QC
    + [
        "qc_records.add_sample",
        "qc_records.change_sample",
        "qc_records.add_testrecord",
        "qc_records.change_testrecord",
        "qc_records.add_reagent",
        "qc_records.change_reagent",
        "qc_records.change_oosinvestigation",
    ],
    # Second-person review (never of their own records: enforced in the service).
    QC_REVIEWER: _READ_MASTER + _READ_QC + _RAISE_EVENTS + ["qc_records.review_testrecord", "release.review_qc"],
    # Specifications, the instrument register, report approval, OOS, monthly archive.
    QC_HEAD: _READ_MASTER
    + _READ_QC
    + [
        "qc_records.add_specification",
        "qc_records.change_specification",
        "qc_records.approve_specification",
        "qc_records.add_instrument",
        "qc_records.change_instrument",
        "qc_records.add_reagent",
        "qc_records.change_reagent",
        "qc_records.add_sample",
        "qc_records.change_sample",
        "qc_records.approve_testrecord",
        "qc_records.archive_testrecord",
        "qc_records.purge_testrecord",
        "qc_records.change_oosinvestigation",
        # not close_oosinvestigation: the QC head alone never concludes an OOS (R-QC-5; issue 7)
    ],
    QA_REVIEWER: _READ_MASTER
    + _READ_QC
    + [
        "qc_records.add_specification",
        "qc_records.change_specification",
        "qc_records.approve_specification",
        "qc_records.change_oosinvestigation",
        # QA approves an OOS conclusion (laboratory error or confirmed) by closing it (R-QC-5)
        "qc_records.close_oosinvestigation",
        # QA co-signs reopening an approved QC record for correction (R-QC-10)
        "qc_records.reopen_testrecord",
        "release.add_product",
        "release.change_product",
        "release.approve_product",
        "release.void_product",
        "release.add_batch",
        "release.change_batch",
        "release.void_batch",
        "release.add_batchhold",
        "release.lift_batchhold",
        "release.lift_producthold",
        *_RAISE_EVENTS,
        "release.close_deviation",
        "release.close_changecontrol",
        "release.review_qa",
        "release.stamp_release",
        *_RECORD_MATERIALS,
        "release.release_materiallot",
        "release.void_materiallot",
        "core.view_audit_trail",
    ]
    + _READ_AFTERSALES
    + [
        # GSP-5.5: QA (质管部) reviews the purchaser's documents and approves new customers.
        "aftersales.change_customer",
        "aftersales.add_customerlicence",
        "aftersales.approve_customer_qa",
        "aftersales.change_complaint",
        "aftersales.close_complaint",
        "aftersales.change_adrcase",
        "aftersales.report_adrcase",
        # R-RET-1: QA evaluates returned goods and supervises their destruction.
        "aftersales.evaluate_goodsreturn",
        "aftersales.complete_goodsreturn",
    ]
    + _READ_RECALLS
    + [
        # R-RCL-1/2: QA records recall information (the product is locked at once), analyses and
        # proposes; proposes the recall; adds batches; decides recovered goods; closes (signed).
        "recalls.add_recallinformation",
        "recalls.analyse_recallinformation",
        "recalls.propose_recall",
        "recalls.add_recallbatch",
        "recalls.add_recoveredgoods",
        "recalls.close_recall",
        "recalls.run_mockrecall",
    ],
    # Decides only where designated (QPDesignation → guardian object permission on the product).
    # GMP 第二百七十二条: the QP is told of every quality complaint.
    QUALIFIED_PERSON: _READ_MASTER
    + _READ_QC
    + ["release.add_batchhold", "release.decide_release", "core.view_audit_trail"]
    + _READ_AFTERSALES
    + ["aftersales.acknowledge_complaint"]
    + _READ_RECALLS
    + ["recalls.approve_recall"],
    CUSTOMER_SERVICE: _READ_MASTER
    + _READ_AFTERSALES
    + _LOG_FEEDBACK
    + ["aftersales.add_customer", "aftersales.add_customervisit", "aftersales.add_goodsreturn"],
    # VIS-4.1.3: approves visit records; AS-4.2.6: signs the monthly feedback ledger.
    CS_MANAGER: _READ_MASTER
    + _READ_AFTERSALES
    + _LOG_FEEDBACK
    + [
        "aftersales.add_customer",
        "aftersales.add_customervisit",
        "aftersales.approve_customervisit",
        "aftersales.sign_ledger",
        "aftersales.add_goodsreturn",
    ],
    # GSP-5.5: the customer qualification form is approved by sales, QA, finance and the quality head.
    QUALITY_HEAD: _READ_MASTER
    + _READ_AFTERSALES
    + ["aftersales.approve_customer_quality_head", "core.view_audit_trail"]
    + _READ_RECALLS
    # RCL-3.2: the quality head decides on QA's proposal (no recall, or start it; signed); the
    # lock lifted or narrowed by that decision is lifted with the quality head's signature.
    + [
        "recalls.decide_recallinformation",
        "recalls.start_recall",
        "recalls.add_recallbatch",
    ],
    # GMP 第二百九十八条: runs the recall, independent of sales; records notices, quantities, progress.
    # Reads the consignees (customers, distribution records, returns) it contacts; not complaints or ADR cases.
    RECALL_COORDINATOR: _READ_MASTER
    + _READ_CUSTOMERS
    + ["aftersales.view_shipment", "aftersales.view_goodsreturn"]
    + _READ_RECALLS
    + ["recalls.trace_recall", "recalls.add_progressentry", "recalls.run_mockrecall"],
    SALES: _READ_MASTER
    + _READ_CUSTOMERS
    + [
        "aftersales.add_customer",
        "aftersales.change_customer",
        "aftersales.add_customerlicence",
        "aftersales.approve_customer_sales",
        # R-SHIP-1: sales records distribution (and voids its own errors, signed).
        "aftersales.view_shipment",
        "aftersales.add_shipment",
        "aftersales.void_shipment",
    ],
    FINANCE: _READ_MASTER + _READ_CUSTOMERS + ["aftersales.approve_customer_finance", "aftersales.view_shipment"],
    # R-AT-5: auditors read everything, including history, and change nothing.
    AUDITOR: _READ_MASTER
    + _READ_QC
    + _READ_AFTERSALES
    + _READ_RECALLS
    + ["core.view_audit_trail", "core.view_user", "core.view_authevent", "core.view_signature"],
    # Users and master data; never signs (enforced in core.signatures, not only by permissions).
    ADMIN: _READ_MASTER
    + [
        "release.add_product",
        "release.change_product",
        "core.add_user",
        "core.change_user",
        "core.view_user",
        "core.unlock_user",
        "core.view_authevent",
        "core.view_audit_trail",
        "auth.view_group",
        # QP designations from the company's authorisation letter (ZL-086 4.4.4; never a QP).
        "release.add_qpdesignation",
        "release.change_qpdesignation",
        # R-RCL-4: the deadline table is data an administrator revises with a reason.
        "recalls.view_deadlinerule",
        "recalls.add_deadlinerule",
    ],
}


def sync_role_permissions(using: str = "default") -> None:
    """Make each role group hold exactly the permissions of ROLE_PERMISSIONS (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:  # not yet created (app not migrated yet): assigned on a later run
                wanted.append(perm)
        group.permissions.set(wanted)
