"""Customers and their GSP qualification (B.3; GSP-5.5; R-SHIP-3).

A customer is recorded in draft with its licences and authorised people, submitted, then approved
by four departments — sales, QA, finance and the quality head — each by a different person with a
signature (meaning "Approved"); the fourth approval makes it qualified. The order is free: the
SOP lists the four without a sequence. A change of the customer's data afterwards sends it back
to draft and starts a new approval round.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.for_shipping import REQUIRED_LICENCES
from aftersales.models import (
    APPROVAL_PERMISSIONS,
    ApprovalRole,
    Customer,
    CustomerApproval,
    CustomerLicence,
    CustomerLicenceScan,
    CustomerPerson,
    LicenceKind,
)
from core.concurrency import check_edit_version
from core.hashing import sha256_upload
from core.models import Signature, User
from core.signatures import sign, verify_signer
from core.workflow import (
    InputError,
    WorkflowError,
    apply_changes,
    move,
    require_permission,
    require_reason,
    save_changed,
    save_step,
    signs,
)


def cannot_change_customer(customer: Customer, user: User) -> str | None:
    if not user.has_perm("aftersales.change_customer"):
        return _("You do not have permission to do this.")
    if customer.status == Customer.Status.VOIDED:
        return _("A voided customer cannot be changed.")
    return None


def cannot_submit_customer(customer: Customer, user: User) -> str | None:
    if not (user.has_perm("aftersales.add_customer") or user.has_perm("aftersales.change_customer")):
        return _("You do not have permission to do this.")
    if customer.status != Customer.Status.DRAFT:
        return _("Only a draft customer can be submitted for qualification approval.")
    kinds = set(customer.licences.values_list("kind", flat=True))
    missing = [LicenceKind(k).label for k in REQUIRED_LICENCES.get(customer.customer_type, ()) if k not in kinds]
    if missing:
        return _("Record these licences first: %(licences)s.") % {"licences": ", ".join(str(m) for m in missing)}
    return None


def cannot_approve_customer(customer: Customer, user: User, role: str) -> str | None:
    """Why ``user`` may not approve ``customer`` for department ``role`` now, or None.

    GSP-5.5: four departments, and four people — one person never approves twice in a round.
    """
    if role not in ApprovalRole.values or not user.has_perm(APPROVAL_PERMISSIONS[role]):
        return _("You do not have permission to do this.")
    if customer.status != Customer.Status.IN_APPROVAL:
        return _("Only a customer submitted for qualification approval can be approved.")
    current = customer.current_approvals()
    if current.filter(role=role).exists():
        return _("The %(department)s has already approved this customer.") % {"department": ApprovalRole(role).label}
    if current.filter(approver=user).exists():
        return _(
            "You have already approved this customer for another department; each approval is by a different person."
        )
    return None


def approval_roles_for(customer: Customer, user: User) -> list[str]:
    """The departments ``user`` may approve this customer for now (the page offers these)."""
    return [role for role in ApprovalRole.values if cannot_approve_customer(customer, user, role) is None]


def customer_create(*, user: User, data: dict[str, Any]) -> Customer:
    """Record a new customer in draft. Writes its first history row."""
    require_permission(user, "aftersales.add_customer")
    customer = Customer(last_changed_by=user)
    apply_changes(customer, data)
    save_changed(customer, user, "created")
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, user: User, data: dict[str, Any], reason: str, version: int | None = None
) -> Customer:
    """Change a customer's data, with a reason. During or after approval this sends it back to
    draft and starts a new approval round (the approvals vouched for the old data)."""
    require_permission(user, "aftersales.change_customer")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    check_edit_version(customer, version)
    if refusal := cannot_change_customer(customer, user):
        raise WorkflowError(refusal)
    reason = require_reason(reason)
    if not apply_changes(customer, data):
        raise WorkflowError(_("Nothing was changed."))
    if customer.status in (Customer.Status.IN_APPROVAL, Customer.Status.QUALIFIED):
        move(customer, Customer.Status.DRAFT)
        customer.approval_round += 1
    save_changed(customer, user, reason)
    return customer


def _licence_problems(data: dict[str, Any]) -> dict[str, list[str]]:
    start, end = data.get("valid_from"), data.get("valid_to")
    if start and end and end < start:
        return {"valid_to": [_("The licence cannot end before it starts.")]}
    return {}


@transaction.atomic
def licence_add(*, customer: Customer, user: User, data: dict[str, Any]) -> CustomerLicence:
    """File a licence copy for a customer (GSP-5.3, 5.4). Renewals are added as new licences; the
    qualification check reads whichever is valid on the day of sale."""
    require_permission(user, "aftersales.add_customerlicence")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.status == Customer.Status.VOIDED:
        raise WorkflowError(_("A voided customer cannot be changed."))
    if problems := _licence_problems(data):
        raise InputError(problems)
    licence = CustomerLicence(customer=customer, last_changed_by=user)
    apply_changes(licence, data)
    save_changed(licence, user, "created")
    return licence


MAX_SCAN_BYTES = 20 * 1024 * 1024
SCAN_TYPES = {".pdf": b"%PDF", ".png": b"\x89PNG", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff"}


def _scan_problem(upload) -> str | None:
    """A scan is a PDF, PNG or JPEG (by name and by its first bytes), not empty, at most 20 MB."""
    name = (upload.name or "").lower()
    magic = next((m for ext, m in SCAN_TYPES.items() if name.endswith(ext)), None)
    if magic is None:
        return _("Upload the scan as a PDF, PNG or JPEG file.")
    if not upload.size:
        return _("The file is empty.")
    if upload.size > MAX_SCAN_BYTES:
        return _("Scans larger than 20 MB cannot be filed.")
    head = upload.read(len(magic))
    upload.seek(0)
    if head != magic:
        return _("The file's content is not the type its name says (PDF, PNG or JPEG).")
    return None


def cannot_add_licence_scan(licence: CustomerLicence, user: User) -> str | None:
    if not user.has_perm("aftersales.add_customerlicence"):
        return _("You do not have permission to do this.")
    if licence.customer.status == Customer.Status.VOIDED:
        return _("A voided customer cannot be changed.")
    return None


def licence_scan_add(*, licence: CustomerLicence, user: User, upload) -> CustomerLicenceScan:
    """File the scan of a licence copy with its SHA-256 taken on upload (GSP-5.3.1; R-REC-1).
    Refused beside the field: not a PDF / PNG / JPEG, empty, over 20 MB. Records: the scan row,
    its history and the stored file (removed again if the transaction fails)."""
    require_permission(user, "aftersales.add_customerlicence")
    if problem := _scan_problem(upload):
        raise InputError({"file": [problem]})
    sha256 = sha256_upload(upload)
    saved_name = ""
    try:
        with transaction.atomic():
            Customer.objects.select_for_update().get(pk=licence.customer_id)  # serialise with void / edits
            licence = CustomerLicence.objects.select_related("customer").get(pk=licence.pk)
            if refusal := cannot_add_licence_scan(licence, user):
                raise WorkflowError(refusal)
            scan = CustomerLicenceScan(
                licence=licence,
                original_name=(upload.name or "scan")[:255],
                content_type=(getattr(upload, "content_type", "") or "")[:100],
                size=upload.size or 0,
                sha256=sha256,
                last_changed_by=user,
            )
            scan.file.save(scan.original_name, upload, save=False)
            saved_name = scan.file.name
            save_changed(scan, user, "licence scan filed")
    except Exception:
        # Nothing of a refused upload stays behind, neither the row nor the stored file.
        if saved_name:
            CustomerLicenceScan._meta.get_field("file").storage.delete(saved_name)
        raise
    return scan


@transaction.atomic
def person_add(*, customer: Customer, user: User, data: dict[str, Any]) -> CustomerPerson:
    """Record a contact, or an authorised buyer or pick-up person (GSP 第八十九条)."""
    require_permission(user, "aftersales.add_customer", "aftersales.change_customer")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.status == Customer.Status.VOIDED:
        raise WorkflowError(_("A voided customer cannot be changed."))
    person = CustomerPerson(customer=customer, last_changed_by=user)
    apply_changes(person, data)
    save_changed(person, user, "created")
    return person


@transaction.atomic
def customer_submit(*, customer: Customer, user: User) -> Customer:
    """Send a draft customer for the four approvals. Precondition: the licences its type needs are on file."""
    require_permission(user, "aftersales.add_customer", "aftersales.change_customer")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.status != Customer.Status.DRAFT:
        move(customer, Customer.Status.IN_APPROVAL)  # the state table's refusal (R-SEQ-1)
    if refusal := cannot_submit_customer(customer, user):
        raise WorkflowError(refusal)
    move(customer, Customer.Status.IN_APPROVAL)
    save_step(customer, user, "submitted for qualification approval")
    return customer


@signs(Signature.Meaning.APPROVED)
def customer_approve(
    *,
    customer: Customer,
    user: User,
    role: str,
    password: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> Customer:
    """One department approves the customer's qualification, signed (GSP-5.5).

    Preconditions: in approval; ``cannot_approve_customer`` (the department's permission; that
    department has not approved this round; the person has not approved for another department).
    Effects: a CustomerApproval row and a Signature; the fourth approval makes the customer qualified.
    """
    if role not in APPROVAL_PERMISSIONS:
        raise InputError({"role": [_("Choose the department you approve for.")]})
    require_permission(user, APPROVAL_PERMISSIONS[role])
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.status != Customer.Status.IN_APPROVAL:
            move(customer, Customer.Status.QUALIFIED)  # the state table's refusal (R-SEQ-1)
        if refusal := cannot_approve_customer(customer, user, role):
            raise WorkflowError(refusal)
        approval = CustomerApproval(
            customer=customer, approval_round=customer.approval_round, role=role, approver=user, comment=comment
        )
        approval.save_audited(user=user, reason="approved")
        if customer.current_approvals().count() == len(ApprovalRole.values):
            move(customer, Customer.Status.QUALIFIED)
            save_step(customer, user, "qualification approved by sales, QA, finance and the quality head")
        sign(credential=credential, record=customer, meaning=customer_approve.meaning, comment=comment)
    return customer


@signs(Signature.Meaning.VOIDED)
def customer_void(
    *, customer: Customer, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> Customer:
    """Remove a customer from the file (it stays readable). QA's decision, signed."""
    require_permission(user, "aftersales.change_customer")
    reason = require_reason(reason, _("Give a reason for voiding."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        move(customer, Customer.Status.VOIDED)
        customer.voided_at = timezone.now()
        customer.void_reason = reason
        save_step(customer, user, reason)
        sign(credential=credential, record=customer, meaning=customer_void.meaning, comment=reason)
    return customer
