"""Workflow actions on products and batches (HOUSE_STYLE: check → lock → save → log → sign).

Services check the role as well as the workflow rules, because management commands and future
API calls reach them without going through a view.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import expiry_from
from core.models import Signature, User
from core.signatures import SignatureError, sign, verify_signer
from core.workflow import WorkflowError, check_transition, require_permission
from release.models import Batch, Product

__all__ = [
    "WorkflowError",
    "product_create",
    "product_update",
    "product_approve",
    "product_void",
    "batch_create",
    "batch_update",
    "batch_void",
]


def _apply(obj: Product | Batch, changes: dict[str, Any]) -> list[str]:
    """Set the editable fields given; return the names that really changed."""
    changed = []
    for name, value in changes.items():
        if name not in type(obj).EDITABLE_FIELDS:
            raise WorkflowError(f"{name} cannot be changed here.")
        field = obj._meta.get_field(name)
        new_raw = value.pk if field.is_relation and value is not None else value
        if getattr(obj, field.attname) != new_raw:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _credential(user: User, password: str, request: HttpRequest | None):
    try:
        return verify_signer(user=user, password=password, request=request)
    except SignatureError as exc:
        raise WorkflowError(str(exc)) from None


# --- products ------------------------------------------------------------------------------------


def product_create(*, user: User, data: dict[str, Any]) -> Product:
    """Create a product master record in draft. Writes its first history row."""
    require_permission(user, "release.add_product")
    product = Product(last_changed_by=user)
    _apply(product, data)
    try:
        with transaction.atomic():
            product.save_audited(user=user, reason="created")
    except IntegrityError:
        raise WorkflowError(_("A product with this approval number already exists.")) from None
    return product


@transaction.atomic
def product_update(*, product: Product, user: User, data: dict[str, Any], reason: str) -> Product:
    """Change master data. Preconditions: not voided; a reason. An approved product goes back to
    draft and needs QA approval again (its approval signature no longer verifies)."""
    require_permission(user, "release.change_product")
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.status == Product.Status.VOIDED:
        raise WorkflowError(_("A voided product cannot be changed."))
    if not reason.strip():
        raise WorkflowError(_("Give a reason for the change: it is recorded in the audit trail."))
    changed = _apply(product, data)
    if not changed:
        raise WorkflowError(_("Nothing was changed."))
    if product.status == Product.Status.APPROVED:
        check_transition(product, Product.Status.DRAFT)
        product.status = Product.Status.DRAFT
    product.last_changed_by = user
    product.updated_at = timezone.now()
    try:
        with transaction.atomic():
            product.save_audited(user=user, reason=reason)
    except IntegrityError:
        raise WorkflowError(_("A product with this approval number already exists.")) from None
    return product


def product_approve(
    *, product: Product, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> Product:
    """QA approves a draft product with an electronic signature (meaning "Approved").

    Preconditions: draft; the approver holds release.approve_product and neither created nor
    changed the version being approved (R-SEQ-2). Records: history row (draft → approved) and a Signature.
    """
    require_permission(user, "release.approve_product")
    credential = _credential(user, password, request)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        check_transition(product, Product.Status.APPROVED)
        if product.last_changed_by_id == user.pk:
            raise WorkflowError(_("You made the last change to this product; another QA reviewer must approve it."))
        if Product.objects.filter(pk=product.pk).authored_by(user).exists():
            raise WorkflowError(
                _("You created or changed this version of the product; another QA reviewer must approve it.")
            )
        product.status = Product.Status.APPROVED
        product.save_audited(user=user, reason=comment or "approved")
        try:
            sign(credential=credential, record=product, meaning=Signature.Meaning.APPROVED, comment=comment)
        except SignatureError as exc:
            raise WorkflowError(str(exc)) from None
    return product


def product_void(
    *, product: Product, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> Product:
    """Void a product master record (it stays readable). Refused while it has batches in use."""
    require_permission(user, "release.void_product")
    if not reason.strip():
        raise WorkflowError(_("Give a reason for voiding."))
    credential = _credential(user, password, request)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        check_transition(product, Product.Status.VOIDED)
        if product.batches.exclude(status=Batch.Status.VOIDED).exists():
            raise WorkflowError(_("This product has batches that are not voided; it cannot be voided."))
        product.status = Product.Status.VOIDED
        product.voided_at = timezone.now()
        product.void_reason = reason.strip()
        product.save_audited(user=user, reason=reason)
        try:
            sign(credential=credential, record=product, meaning=Signature.Meaning.VOIDED, comment=reason)
        except SignatureError as exc:
            raise WorkflowError(str(exc)) from None
    return product


# --- batches ------------------------------------------------------------------------------------


def _check_batch_values(batch: Batch) -> None:
    # Checked here as well as in the form, so that other callers get a message instead of an
    # IntegrityError from the table's check constraints.
    if batch.expiry_date <= batch.manufacture_date:
        raise WorkflowError(_("The expiry date must be after the manufacture date."))
    if batch.batch_size is None or batch.batch_size <= 0:
        raise WorkflowError(_("The batch size must be greater than zero."))
    # The expiry may be set earlier than the shelf life gives (e.g. a shorter-dated component),
    # never later: the approved shelf life is the limit.
    latest = expiry_from(batch.manufacture_date, batch.product.shelf_life_months)
    if batch.expiry_date > latest:
        raise WorkflowError(
            _(
                "The expiry date cannot be later than %(latest)s (manufacture date + the product's shelf life of %(months)s months)."
            )
            % {"latest": latest.isoformat(), "months": batch.product.shelf_life_months}
        )


def batch_create(*, user: User, data: dict[str, Any]) -> Batch:
    """Register a batch in quarantine. The product must be approved; the expiry date is
    calculated from the shelf life unless given."""
    require_permission(user, "release.add_batch")
    data = dict(data)
    product: Product = data["product"]
    if product.status != Product.Status.APPROVED:
        raise WorkflowError(_("Batches can only be registered for an approved product."))
    if not data.get("expiry_date"):
        data["expiry_date"] = expiry_from(data["manufacture_date"], product.shelf_life_months)
    batch = Batch(last_changed_by=user)
    _apply(batch, data)
    _check_batch_values(batch)
    try:
        with transaction.atomic():
            batch.save_audited(user=user, reason="registered")
    except IntegrityError:
        raise WorkflowError(
            _("Batch %(number)s of this product already exists.") % {"number": batch.batch_number}
        ) from None
    return batch


@transaction.atomic
def batch_update(*, batch: Batch, user: User, data: dict[str, Any], reason: str) -> Batch:
    """Correct a batch's data (e.g. the expiry date) with a reason. Only while in quarantine."""
    require_permission(user, "release.change_batch")
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != Batch.Status.QUARANTINE:
        raise WorkflowError(_("Only a batch in quarantine can be changed."))
    if not reason.strip():
        raise WorkflowError(_("Give a reason for the change: it is recorded in the audit trail."))
    if "product" in data and data["product"].pk != batch.product_id:
        # A batch belongs to one product for life; a wrong product means void and re-register.
        raise WorkflowError(_("A batch cannot be moved to another product; void it and register it again."))
    changed = _apply(batch, data)
    if not changed:
        raise WorkflowError(_("Nothing was changed."))
    _check_batch_values(batch)
    batch.last_changed_by = user
    batch.updated_at = timezone.now()
    try:
        with transaction.atomic():
            batch.save_audited(user=user, reason=reason)
    except IntegrityError:
        raise WorkflowError(
            _("Batch %(number)s of this product already exists.") % {"number": batch.batch_number}
        ) from None
    return batch


def batch_void(*, batch: Batch, user: User, password: str, reason: str, request: HttpRequest | None = None) -> Batch:
    """Void a batch registered in error (signed, with a reason); it stays readable."""
    require_permission(user, "release.void_batch")
    if not reason.strip():
        raise WorkflowError(_("Give a reason for voiding."))
    credential = _credential(user, password, request)
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        check_transition(batch, Batch.Status.VOIDED)
        batch.status = Batch.Status.VOIDED
        batch.voided_at = timezone.now()
        batch.void_reason = reason.strip()
        batch.save_audited(user=user, reason=reason)
        try:
            sign(credential=credential, record=batch, meaning=Signature.Meaning.VOIDED, comment=reason)
        except SignatureError as exc:
            raise WorkflowError(str(exc)) from None
    return batch
