"""Workflow actions on product master records (品种): create, change, QA approval, void.

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
from release.models import Batch, Product

# --- products ------------------------------------------------------------------------------------


def cannot_change_product(product: Product, user: User) -> str | None:
    """Why ``user`` may not change this product now, or None."""
    if not user.has_perm("release.change_product"):
        return _("You do not have permission to do this.")
    if product.status == Product.Status.VOIDED:
        return _("A voided product cannot be changed.")
    return None


def cannot_approve_product(product: Product, user: User) -> str | None:
    """Why ``user`` may not approve this product now, or None.

    The one home of the author rule (R-SEQ-2): nobody who created or changed the version waiting
    for approval approves it — not only its last editor. ``ProductQuerySet.authored_by`` is the
    same rule in SQL, which the My-work queue uses.
    """
    if not user.has_perm("release.approve_product"):
        return _("You do not have permission to do this.")
    if product.status != Product.Status.DRAFT:
        return _("Only a draft product can be approved.")
    if Product.objects.filter(pk=product.pk).authored_by(user).exists():
        return _("You created or changed this version of the product; another QA reviewer must approve it.")
    return None


def cannot_void_product(product: Product, user: User) -> str | None:
    """Why ``user`` may not void this product now, or None."""
    if not user.has_perm("release.void_product"):
        return _("You do not have permission to do this.")
    if product.status == Product.Status.VOIDED:
        return _("This product is already voided.")
    if product.batches.exclude(status=Batch.Status.VOIDED).exists():
        return _("This product has batches that are not voided; it cannot be voided.")
    return None


def _check_limits(product: Product) -> None:
    """The material-balance limits (R-REL-8): the lower one not above the upper one."""
    if product.balance_lower_limit is not None and product.balance_upper_limit is not None:
        if product.balance_lower_limit > product.balance_upper_limit:
            raise InputError({"balance_lower_limit": [_("The lower limit cannot be above the upper limit.")]})


def _save_or_refuse_duplicate(product: Product, user: User, reason: str) -> None:
    _check_limits(product)
    try:
        with transaction.atomic():
            save_changed(product, user, reason)
    except IntegrityError:
        raise WorkflowError(_("A product with this approval number already exists.")) from None


def product_create(*, user: User, data: dict[str, Any]) -> Product:
    """Create a product master record in draft. Writes its first history row."""
    require_permission(user, "release.add_product")
    product = Product(last_changed_by=user)
    apply_changes(product, data)
    _save_or_refuse_duplicate(product, user, "created")
    return product


@transaction.atomic
def product_update(
    *, product: Product, user: User, data: dict[str, Any], reason: str, version: int | None = None
) -> Product:
    """Change master data. Preconditions: not voided; a reason; ``version`` (the form's edit
    version) still current, so nobody else's change is overwritten unseen. An approved product
    goes back to draft and needs QA approval again (its approval signature no longer verifies)."""
    require_permission(user, "release.change_product")
    product = Product.objects.select_for_update().get(pk=product.pk)
    if refusal := cannot_change_product(product, user):
        raise WorkflowError(refusal)
    check_edit_version(product, version)
    reason = require_reason(reason)
    if not apply_changes(product, data):
        raise WorkflowError(_("Nothing was changed."))
    if product.status == Product.Status.APPROVED:
        move(product, Product.Status.DRAFT)
    _save_or_refuse_duplicate(product, user, reason)
    return product


@signs(Signature.Meaning.APPROVED)
def product_approve(
    *, product: Product, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> Product:
    """QA approves a draft product with an electronic signature (meaning "Approved").

    Preconditions: draft; ``cannot_approve_product`` (the approver holds release.approve_product
    and neither created nor changed the version being approved, R-SEQ-2).
    Records: history row (draft → approved) and a Signature.
    """
    require_permission(user, "release.approve_product")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        if product.status != Product.Status.DRAFT:
            move(product, Product.Status.APPROVED)  # refuses with the state table's message (R-SEQ-1)
        if refusal := cannot_approve_product(product, user):
            raise WorkflowError(refusal)
        move(product, Product.Status.APPROVED)
        save_step(product, user, comment or "approved")
        sign(credential=credential, record=product, meaning=product_approve.meaning, comment=comment)
    return product


@signs(Signature.Meaning.VOIDED)
def product_void(
    *, product: Product, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> Product:
    """Void a product master record (it stays readable). Refused while it has batches in use."""
    require_permission(user, "release.void_product")
    reason = require_reason(reason, _("Give a reason for voiding."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        if product.status == Product.Status.VOIDED:
            move(product, Product.Status.VOIDED)  # refuses with the state table's message (R-SEQ-1)
        if refusal := cannot_void_product(product, user):
            raise WorkflowError(refusal)
        move(product, Product.Status.VOIDED)
        product.voided_at = timezone.now()
        product.void_reason = reason
        save_step(product, user, reason)
        sign(credential=credential, record=product, meaning=product_void.meaning, comment=reason)
    return product
