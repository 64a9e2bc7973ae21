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
from release.models import Batch, BatchHold


def cannot_place_hold(batch: Batch, user: User) -> str | None:
    """Why ``user`` may not put this batch on hold now, or None."""
    if not user.has_perm("release.add_batchhold"):
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
    return None


def hold_place(
    *, batch: Batch, user: User, reason: str, source: models.Model | None = None, source_text: str = ""
) -> BatchHold:
    """Put ``batch`` on hold: it cannot ship until the hold is lifted (release.gate).

    ``source`` links the record that caused it (a complaint, a recall, a deviation); else
    ``source_text`` names it. Records: the hold and its first history row.
    """
    require_permission(user, "release.add_batchhold")
    reason = (reason or "").strip()
    if not reason:
        raise InputError({"reason": [_("Give the reason for the hold.")]})
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if refusal := cannot_place_hold(batch, user):
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
