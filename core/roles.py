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
    AUDITOR: _("Auditor"),
    ADMIN: _("System administrator"),
}

ALL_ROLES = list(ROLE_LABELS)

# Everyone who works with GMP records may read products and batches.
_READ_MASTER = ["release.view_product", "release.view_batch"]

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

ROLE_PERMISSIONS: dict[str, list[str]] = {
    PRODUCTION_REVIEWER: _READ_MASTER + ["release.add_batch", "release.change_batch"],
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
    QC_REVIEWER: _READ_MASTER + _READ_QC + ["qc_records.review_testrecord"],
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
        "core.view_audit_trail",
    ],
    QUALIFIED_PERSON: _READ_MASTER + _READ_QC + ["core.view_audit_trail"],
    CUSTOMER_SERVICE: _READ_MASTER,
    # R-AT-5: auditors read everything, including history, and change nothing.
    AUDITOR: _READ_MASTER
    + _READ_QC
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
