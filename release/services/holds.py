"""Batch holds (冻结): placed with a reason naming their source, lifted only with a signature.

Each action: permission → (password, outside the transaction) → lock → predicate → ``move`` →
save with reason → signature with the service's meaning (core/workflow.py).
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Signature, User
from core.signatures import sign, verify_signer
from core.workflow import InputError, WorkflowError, move, require_permission, require_reason, save_step, signs
from release.models import Batch, BatchHold, Product, ProductHold

# Holds whose source is a record of these apps are lifted only by that record's own signed step
# (a recall's decision or closure, R-RCL-2), never from the hold page.
OWNED_BY_SOURCE_APPS = {"recalls"}


def _owned_by_source(hold: BatchHold | ProductHold) -> bool:
    return bool(hold.source_type_id) and hold.source_type.app_label in OWNED_BY_SOURCE_APPS


def cannot_place_hold(batch: Batch, user: User, permission: str = "release.add_batchhold") -> str | None:
    """Why ``user`` may not put this batch on hold now, or None."""
    if not user.has_perm(permission):
        return _("You do not have permission to do this.")
    if batch.status == Batch.Status.VOIDED:
        return _("A voided batch cannot be put on hold.")
    return None


def cannot_lift_hold(hold: BatchHold, user: User) -> str | None:
    """Why ``user`` may not lift this hold now, or None."""
    if not user.has_perm("release.lift_batchhold"):
        return _("You do not have permission to do this.")
    if hold.status != BatchHold.Status.ACTIVE:
        return _("This hold has already been lifted.")
    if _owned_by_source(hold):
        return _(
            "This hold was placed by %(source)s; it is lifted only when that recall is decided or closed, with a signature."
        ) % {"source": hold.source_label}
    return None


def hold_place(
    *,
    batch: Batch,
    user: User,
    reason: str,
    source: models.Model | None = None,
    source_text: str = "",
    permission: str = "release.add_batchhold",
) -> BatchHold:
    """Put ``batch`` on hold: it cannot ship until the hold is lifted (release.gate).

    ``permission``: a record's own signed step that holds batches (a recall started by the quality
    head) passes its permission; the hold page uses ``release.add_batchhold``.

    ``source`` links the record that caused it (a complaint, a recall, a deviation); else
    ``source_text`` names it. Records: the hold and its first history row.
    """
    require_permission(user, permission)
    reason = (reason or "").strip()
    if not reason:
        raise InputError({"reason": [_("Give the reason for the hold.")]})
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if refusal := cannot_place_hold(batch, user, permission):
            raise WorkflowError(refusal)
        hold = BatchHold(
            batch=batch,
            reason=reason,
            source_text=(source_text or "").strip()[:200],
            placed_by=user,
            placed_at=timezone.now(),
            last_changed_by=user,
        )
        if source is not None:
            hold.source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
            hold.source_id = source.pk
            if not hold.source_text:
                hold.source_text = str(source)[:200]
        hold.save_audited(user=user, reason="placed")
    return hold


@signs(Signature.Meaning.LIFTED)
def hold_lift(
    *, hold: BatchHold, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> BatchHold:
    """Lift an active hold with a reason and a signature (meaning "Closed"). Records: history row
    (active → lifted) and a Signature on the hold."""
    require_permission(user, "release.lift_batchhold")
    reason = require_reason(reason, _("Give the reason for lifting the hold."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        hold = BatchHold.objects.select_for_update().get(pk=hold.pk)
        if hold.status != BatchHold.Status.ACTIVE:
            move(hold, BatchHold.Status.LIFTED)  # refuses with the state table's message (R-SEQ-1)
        if refusal := cannot_lift_hold(hold, user):
            raise WorkflowError(refusal)
        move(hold, BatchHold.Status.LIFTED)
        hold.lifted_by = user
        hold.lifted_at = timezone.now()
        hold.lift_reason = reason
        save_step(hold, user, reason)
        sign(credential=credential, record=hold, meaning=hold_lift.meaning, comment=reason)
    return hold


# --- product-wide holds (该品种锁定, 药品售后追回操作规程 3.1) ------------------------------------------


def product_hold_place(
    *, product: Product, user: User, reason: str, source: models.Model | None = None, source_text: str = ""
) -> ProductHold:
    """Lock the whole product: no batch of it ships until the hold is lifted (release.gate).

    Locks the product row first: a shipment being recorded locks the same row (it reads the batch
    with its product ``select_for_update``), so the two are serialised — a shipment either
    committed before this hold (and is in every trace) or sees the hold and is refused. Call it
    inside the caller's transaction when the hold must be written with another record (R-RCL-2).
    Records: the hold and its first history row.
    """
    require_permission(user, "release.add_batchhold")
    reason = (reason or "").strip()
    if not reason:
        raise InputError({"reason": [_("Give the reason for the hold.")]})
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        hold = ProductHold(
            product=product,
            reason=reason,
            source_text=(source_text or "").strip()[:200],
            placed_by=user,
            placed_at=timezone.now(),
            last_changed_by=user,
        )
        if source is not None:
            hold.source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
            hold.source_id = source.pk
            if not hold.source_text:
                hold.source_text = str(source)[:200]
        hold.save_audited(user=user, reason="placed")
    return hold


def cannot_lift_product_hold(hold: ProductHold, user: User) -> str | None:
    """Why ``user`` may not lift this product hold from the hold page now, or None."""
    if not user.has_perm("release.lift_producthold"):
        return _("You do not have permission to do this.")
    if hold.status != ProductHold.Status.ACTIVE:
        return _("This hold has already been lifted.")
    if _owned_by_source(hold):
        return _(
            "This product lock was placed by %(source)s; it is lifted or narrowed only by the quality head's decision on it, with a signature."
        ) % {"source": hold.source_label}
    return None


def _lift(hold: BatchHold | ProductHold, user: User, credential, reason: str, meaning: str) -> None:
    move(hold, type(hold).Status.LIFTED)
    hold.lifted_by = user
    hold.lifted_at = timezone.now()
    hold.lift_reason = reason
    save_step(hold, user, reason)
    sign(credential=credential, record=hold, meaning=meaning, comment=reason)


@signs(Signature.Meaning.LIFTED)
def product_hold_lift(
    *, hold: ProductHold, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> ProductHold:
    """Lift a product hold (not one a recall owns) with a reason and a signature."""
    require_permission(user, "release.lift_producthold")
    reason = require_reason(reason, _("Give the reason for lifting the hold."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        hold = ProductHold.objects.select_for_update().get(pk=hold.pk)
        if hold.status != ProductHold.Status.ACTIVE:
            move(hold, ProductHold.Status.LIFTED)
        if refusal := cannot_lift_product_hold(hold, user):
            raise WorkflowError(refusal)
        _lift(hold, user, credential, reason, product_hold_lift.meaning)
    return hold


def active_holds_of(source: models.Model) -> tuple[list[ProductHold], list[BatchHold]]:
    """The active product and batch holds naming ``source``, locked (call inside a transaction)."""
    ct = ContentType.objects.get_for_model(source, for_concrete_model=True)
    products = list(
        ProductHold.objects.select_for_update()
        .filter(source_type=ct, source_id=source.pk, status=ProductHold.Status.ACTIVE)
        .order_by("pk")
    )
    batches = list(
        BatchHold.objects.select_for_update()
        .filter(source_type=ct, source_id=source.pk, status=BatchHold.Status.ACTIVE)
        .order_by("pk")
    )
    return products, batches


def count_active_holds_of(source: models.Model, *, products: bool = True, batches: bool = True) -> int:
    """How many active holds name ``source`` (to ask for one signature per hold before the transaction)."""
    ct = ContentType.objects.get_for_model(source, for_concrete_model=True)
    n = 0
    if products:
        n += ProductHold.objects.filter(source_type=ct, source_id=source.pk, status=ProductHold.Status.ACTIVE).count()
    if batches:
        n += BatchHold.objects.filter(source_type=ct, source_id=source.pk, status=BatchHold.Status.ACTIVE).count()
    return n


@signs(Signature.Meaning.LIFTED)
def source_holds_lift(
    *,
    source: models.Model,
    user: User,
    credentials: list,
    reason: str,
    permission: str,
    products: bool = True,
    batches: bool = True,
) -> list[BatchHold | ProductHold]:
    """Lift the active holds ``source`` placed (its product locks, its batch holds, or both), each
    with its own signature (meaning "Hold lifted") — for the owning record's signed step (a recall
    decided "no recall", narrowed, or closed). Call inside that step's transaction, with one
    credential per hold from ``verify_signer`` taken before it; refuses if the holds changed since.
    ``permission`` is the owning step's (e.g. the quality head's decision): the person lifts them
    as part of that step, not from the hold page.
    """
    require_permission(user, permission)
    reason = require_reason(reason, _("Give the reason for lifting the hold."))
    with transaction.atomic():
        product_holds, batch_holds = active_holds_of(source)
        holds = [*(product_holds if products else []), *(batch_holds if batches else [])]
        if len(holds) != len(credentials):
            raise WorkflowError(_("The holds of this record changed while you were signing; sign again."))
        for hold, credential in zip(holds, credentials, strict=True):
            _lift(hold, user, credential, reason, source_holds_lift.meaning)
    return holds
