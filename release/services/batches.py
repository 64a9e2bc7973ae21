"""Workflow actions on batches (批): register in quarantine, correct, void.

Each action: permission → (password, outside the transaction) → lock → predicate → ``move`` →
save with reason → signature with the service's meaning (core/workflow.py, CONTRIBUTING.md).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.concurrency import check_edit_version
from core.dates import expiry_from
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
from release.models import Batch, Product, batch_value_problems


def _check_batch_values(batch: Batch) -> None:
    problems = batch_value_problems(
        product=batch.product,
        manufacture_date=batch.manufacture_date,
        expiry_date=batch.expiry_date,
        batch_size=batch.batch_size,
    )
    if batch.batch_size is None:
        problems["batch_size"] = _("The batch size must be greater than zero.")
    if problems:
        raise InputError({name: [message] for name, message in problems.items()})


def cannot_change_batch(batch: Batch, user: User) -> str | None:
    """Why ``user`` may not correct this batch's data now, or None (only in quarantine)."""
    if not user.has_perm("release.change_batch"):
        return _("You do not have permission to do this.")
    if batch.status != Batch.Status.QUARANTINE:
        return _("Only a batch in quarantine can be changed.")
    return None


def cannot_void_batch(batch: Batch, user: User) -> str | None:
    """Why ``user`` may not void this batch now, or None."""
    if not user.has_perm("release.void_batch"):
        return _("You do not have permission to do this.")
    if Batch.Status.VOIDED not in Batch.TRANSITIONS.get(batch.status, set()):
        return _("Only a batch in quarantine can be voided.")
    return None


def _save_or_refuse_duplicate(batch: Batch, user: User, reason: str) -> None:
    try:
        with transaction.atomic():
            save_changed(batch, user, reason)
    except IntegrityError:
        raise WorkflowError(
            _("Batch %(number)s of this product already exists.") % {"number": batch.batch_number}
        ) from None


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
    apply_changes(batch, data)
    _check_batch_values(batch)
    _save_or_refuse_duplicate(batch, user, "registered")
    return batch


@transaction.atomic
def batch_update(*, batch: Batch, user: User, data: dict[str, Any], reason: str, version: int | None = None) -> Batch:
    """Correct a batch's data (e.g. the expiry date) with a reason. Only while in quarantine, and
    only from a form read at the batch's current edit version (no lost update)."""
    require_permission(user, "release.change_batch")
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    if refusal := cannot_change_batch(batch, user):
        raise WorkflowError(refusal)
    check_edit_version(batch, version)
    reason = require_reason(reason)
    if "product" in data and data["product"].pk != batch.product_id:
        # A batch belongs to one product for life; a wrong product means void and re-register.
        raise WorkflowError(_("A batch cannot be moved to another product; void it and register it again."))
    if not apply_changes(batch, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_batch_values(batch)
    _save_or_refuse_duplicate(batch, user, reason)
    return batch


@signs(Signature.Meaning.VOIDED)
def batch_void(*, batch: Batch, user: User, password: str, reason: str, request: HttpRequest | None = None) -> Batch:
    """Void a batch registered in error (signed, with a reason); it stays readable."""
    require_permission(user, "release.void_batch")
    reason = require_reason(reason, _("Give a reason for voiding."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        move(batch, Batch.Status.VOIDED)
        batch.voided_at = timezone.now()
        batch.void_reason = reason
        save_step(batch, user, reason)
        sign(credential=credential, record=batch, meaning=batch_void.meaning, comment=reason)
    return batch
