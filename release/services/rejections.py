"""Rejecting batches already released, after a recall (R-RCL-5, issue 11 item 7).

A released batch is never "un-released" by its review (``Batch.TRANSITIONS``). When a recall is
closed keeping its batches as rejected goods, the recall's closing step calls
``recalled_batches_reject`` (published to recalls through ``release.for_shipping``): each batch
moves to "Rejected" with its own signed ``BatchRejection`` naming the recall. The recall's holds
stay active — the gate refuses a rejected batch anyway; the hold remains the record of why.

The nonconforming-product report (不合格品报告单) is not issued here: it is the QP's decision on a
release review (its step, checklist and answers); the recall's final report lists each batch's
disposition and signature instead, and the batch page shows it.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Signature, User
from core.signatures import sign
from core.workflow import WorkflowError, move, require_permission, require_reason, save_step, signs
from release.models import Batch, BatchRejection

# The only statuses a recall's rejection moves a batch from: a batch still under review is
# rejected by its review; one already rejected or voided stays as it is.
REJECTABLE_AFTER_RECALL = (Batch.Status.RELEASED, Batch.Status.FACTORY_RELEASED)


def cannot_reject_after_recall(batch: Batch) -> str | None:
    """Why this batch cannot be rejected by a recall's closure now, or None."""
    if batch.status not in REJECTABLE_AFTER_RECALL:
        return _("Batch %(number)s is “%(status)s”: only a released batch is rejected after a recall.") % {
            "number": batch.batch_number,
            "status": batch.get_status_display(),
        }
    return None


@signs(Signature.Meaning.REJECTED)
def recalled_batches_reject(
    *,
    batches: list[Batch],
    source: models.Model,
    user: User,
    credentials: list,
    reason: str,
    permission: str,
) -> list[BatchRejection]:
    """Move each of ``batches`` from released (or factory released) to rejected, for ``source``
    (the recall being closed), each with its own ``BatchRejection`` signed "Rejected" by ``user``.

    Call inside the owning step's transaction, with one credential per batch from
    ``verify_signer`` taken before it (the QP re-entered the password when approving).
    ``permission`` is the owning step's (the QP's approval of the recall's final report).
    Records per batch: the batch's history row (→ rejected, with the reason), the rejection and
    its first history row, and its signature. Refuses (nothing written) if a batch is no longer
    released.
    """
    require_permission(user, permission)
    reason = require_reason(reason, _("Give the reason for the rejection."))
    if len(batches) != len(credentials):
        raise WorkflowError(_("The batches of this record changed while you were signing; sign again."))
    source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
    done = []
    with transaction.atomic():
        for batch, credential in zip(batches, credentials, strict=True):
            batch = Batch.objects.select_for_update().get(pk=batch.pk)
            if refusal := cannot_reject_after_recall(batch):
                raise WorkflowError(refusal)
            move(batch, Batch.Status.REJECTED)
            save_step(batch, user, reason)
            rejection = BatchRejection(
                batch=batch,
                source_type=source_type,
                source_id=source.pk,
                source_text=str(source)[:200],
                reason=reason,
                rejected_by=user,
                rejected_at=timezone.now(),
                last_changed_by=user,
            )
            rejection.save_audited(user=user, reason=reason)
            sign(credential=credential, record=rejection, meaning=recalled_batches_reject.meaning, comment=reason)
            done.append(rejection)
    return done


def rejections_from(source: models.Model):
    """The batches ``source`` (a recall) rejected, with who signed, by batch number."""
    source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
    return (
        BatchRejection.objects.filter(source_type=source_type, source_id=source.pk)
        .select_related("batch", "rejected_by")
        .order_by("batch__batch_number")
    )
