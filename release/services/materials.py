"""Material lots (物料批) and their release by QA; a batch's bill of materials; the material
balance of each process step (R-MAT-1, R-REL-8; GMP 第二百二十九条; ZL-086 4.2.2, 4.2.8, 4.3.2.7).

Each action: permission → (password, outside the transaction) → lock → predicate → ``move`` →
save with reason → signature with the service's meaning (core/workflow.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

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
from qc_records.for_release import test_record_status
from release import balance
from release.models import Batch, BatchMaterial, MaterialBalance, MaterialLot

# A batch's bill of materials and material balance are recorded until the QP has decided.
OPEN_BATCH_STATUSES = (Batch.Status.QUARANTINE, Batch.Status.UNDER_REVIEW)
LOT_FIELDS = tuple(f for f in MaterialLot.EDITABLE_FIELDS if f != "qc_record")

# --- predicates ------------------------------------------------------------------------------------


def cannot_release_material_lot(lot: MaterialLot, user: User) -> str | None:
    """Why ``user`` may not release (or reject) this lot now, or None (R-MAT-1, R-SEQ-2).

    A linked QC record must be approved and comply with its specification for a release; a
    rejection needs only the permission and a lot in quarantine."""
    if refusal := cannot_reject_material_lot(lot, user):
        return refusal
    if lot.qc_record_id:
        record = test_record_status(pk=lot.qc_record_id)
        if record is None or not record.approved:
            return _("The QC test record %(record)s of this lot is not approved yet.") % {
                "record": record.label if record else lot.qc_record_id
            }
        if not record.complies:
            return _(
                "The QC test record %(record)s of this lot does not comply with the specification: reject the lot."
            ) % {"record": record.label}
    return None


def cannot_reject_material_lot(lot: MaterialLot, user: User) -> str | None:
    if not user.has_perm("release.release_materiallot"):
        return _("You do not have permission to do this.")
    if lot.status != MaterialLot.Status.QUARANTINE:
        return _("Lot %(lot)s is %(status)s; only a lot in quarantine can be released or rejected.") % {
            "lot": lot.lot_number,
            "status": lot.get_status_display(),
        }
    if lot.registered_by_id == user.pk:
        return _("You registered this lot; another person releases or rejects it.")
    return None


def cannot_link_qc_record(lot: MaterialLot, user: User) -> str | None:
    """Why ``user`` may not link the lot's QC test record now, or None (only before QA decides)."""
    if not user.has_perm("release.change_materiallot"):
        return _("You do not have permission to do this.")
    if lot.status != MaterialLot.Status.QUARANTINE:
        return _("Only a lot in quarantine can have its QC test record linked.")
    return None


def cannot_void_material_lot(lot: MaterialLot, user: User) -> str | None:
    if not user.has_perm("release.void_materiallot"):
        return _("You do not have permission to do this.")
    if lot.status != MaterialLot.Status.QUARANTINE:
        return _("Only a lot in quarantine can be voided.")
    if lot.used_in.exists():
        return _("This lot is in the bill of materials of a batch; it cannot be voided.")
    return None


def cannot_record_batch_materials(batch: Batch, user: User, perm: str = "release.add_batchmaterial") -> str | None:
    """Why ``user`` may not add to this batch's bill of materials (or material balance) now, or None."""
    if not user.has_perm(perm):
        return _("You do not have permission to do this.")
    if batch.status not in OPEN_BATCH_STATUSES:
        return _("Batch %(number)s is %(status)s; its records can no longer be added to.") % {
            "number": batch.batch_number,
            "status": batch.get_status_display(),
        }
    return None


def cannot_record_balance(batch: Batch, user: User) -> str | None:
    return cannot_record_batch_materials(batch, user, "release.add_materialbalance")


# --- material lots ---------------------------------------------------------------------------------


def _resolve_qc_record(report_number: str) -> int | None:
    number = (report_number or "").strip()
    if not number:
        return None
    record = test_record_status(number)
    if record is None:
        raise InputError(
            {"qc_report_number": [_("No QC test record has the report number %(number)s.") % {"number": number}]}
        )
    return record.pk


def material_lot_create(*, user: User, data: dict[str, Any], qc_report_number: str = "") -> MaterialLot:
    """Register an incoming material lot in quarantine (R-MAT-1). Records: the lot and its first
    history row."""
    require_permission(user, "release.add_materiallot")
    lot = MaterialLot(registered_by=user, last_changed_by=user)
    apply_changes(lot, {k: v for k, v in data.items() if k in LOT_FIELDS})
    errors: dict[str, list[str]] = {}
    if lot.quantity is None or lot.quantity <= 0:
        errors["quantity"] = [_("The quantity must be greater than zero.")]
    if lot.received_date and lot.expiry_date and lot.expiry_date <= lot.received_date:
        errors["expiry_date"] = [_("The expiry or retest date must be after the date received.")]
    if errors:
        raise InputError(errors)
    lot.qc_record_id = _resolve_qc_record(qc_report_number)
    try:
        with transaction.atomic():
            save_changed(lot, user, "registered")
    except IntegrityError:
        raise InputError({"lot_number": [_("Lot %(lot)s is already registered.") % {"lot": lot.lot_number}]}) from None
    return lot


def material_lot_link_qc(*, lot: MaterialLot, user: User, qc_report_number: str, reason: str) -> MaterialLot:
    """Link the lot's QC test record by its report number, once QC has tested it (R-MAT-1).
    Records: a history row with the reason."""
    require_permission(user, "release.change_materiallot")
    reason = require_reason(reason)
    record_id = _resolve_qc_record(qc_report_number)
    if record_id is None:
        raise InputError({"qc_report_number": [_("This field is required.")]})
    with transaction.atomic():
        lot = MaterialLot.objects.select_for_update().get(pk=lot.pk)
        if refusal := cannot_link_qc_record(lot, user):
            raise WorkflowError(refusal)
        if lot.qc_record_id == record_id:
            raise WorkflowError(_("Nothing was changed."))
        lot.qc_record_id = record_id
        save_changed(lot, user, reason)
    return lot


def _decide(lot: MaterialLot, user: User, target: str, reason: str, credential, meaning: str, predicate) -> MaterialLot:
    with transaction.atomic():
        lot = MaterialLot.objects.select_for_update().get(pk=lot.pk)
        if lot.status != MaterialLot.Status.QUARANTINE:
            move(lot, target)  # refuses with the state table's message (R-SEQ-1)
        if refusal := predicate(lot, user):
            raise WorkflowError(refusal)
        move(lot, target)
        lot.decided_by, lot.decided_at, lot.decision_reason = user, timezone.now(), reason
        save_step(lot, user, reason)
        sign(credential=credential, record=lot, meaning=meaning, comment=reason)
    return lot


@signs(Signature.Meaning.RELEASED)
def material_lot_release(
    *, lot: MaterialLot, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> MaterialLot:
    """QA releases a lot in quarantine for use (signature "Released"). A linked QC record must be
    approved and complying. Records: history row (quarantine → released), Signature."""
    require_permission(user, "release.release_materiallot")
    credential = verify_signer(user=user, password=password, request=request)
    reason = (comment or "").strip() or "released"
    return _decide(
        lot,
        user,
        MaterialLot.Status.RELEASED,
        reason,
        credential,
        material_lot_release.meaning,
        cannot_release_material_lot,
    )


@signs(Signature.Meaning.REJECTED)
def material_lot_reject(
    *, lot: MaterialLot, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> MaterialLot:
    """QA rejects a lot (signature "Rejected", reason required); final. Records: history row,
    Signature."""
    require_permission(user, "release.release_materiallot")
    reason = require_reason(reason, _("Give the reason for rejecting the lot."))
    credential = verify_signer(user=user, password=password, request=request)
    return _decide(
        lot,
        user,
        MaterialLot.Status.REJECTED,
        reason,
        credential,
        material_lot_reject.meaning,
        cannot_reject_material_lot,
    )


@signs(Signature.Meaning.VOIDED)
def material_lot_void(
    *, lot: MaterialLot, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> MaterialLot:
    """Void a lot registered in error (signed, reason); only in quarantine and unused."""
    require_permission(user, "release.void_materiallot")
    reason = require_reason(reason, _("Give a reason for voiding."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        lot = MaterialLot.objects.select_for_update().get(pk=lot.pk)
        if lot.status != MaterialLot.Status.QUARANTINE:
            move(lot, MaterialLot.Status.VOIDED)
        if refusal := cannot_void_material_lot(lot, user):
            raise WorkflowError(refusal)
        move(lot, MaterialLot.Status.VOIDED)
        lot.voided_at, lot.void_reason = timezone.now(), reason
        save_step(lot, user, reason)
        sign(credential=credential, record=lot, meaning=material_lot_void.meaning, comment=reason)
    return lot


# --- a batch's bill of materials and material balance ------------------------------------------------


def batch_material_add(*, batch: Batch, user: User, lot: MaterialLot, quantity: Decimal) -> BatchMaterial:
    """Record that ``batch`` was made with ``quantity`` of ``lot`` (ZL-086 4.2.2, 4.3.2.7). Any lot
    but a voided one may be recorded — a batch made with a lot in quarantine or rejected is
    recorded as it was, and blocks its release (R-REL-4, R-MAT-1)."""
    require_permission(user, "release.add_batchmaterial")
    if quantity is None or quantity <= 0:
        raise InputError({"quantity": [_("The quantity used must be greater than zero.")]})
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if refusal := cannot_record_batch_materials(batch, user):
            raise WorkflowError(refusal)
        lot = MaterialLot.objects.select_for_update().get(pk=lot.pk)
        if lot.status == MaterialLot.Status.VOIDED:
            raise InputError({"lot": [_("Lot %(lot)s is voided.") % {"lot": lot.lot_number}]})
        if BatchMaterial.objects.filter(batch=batch, lot=lot).exists():
            raise InputError(
                {"lot": [_("Lot %(lot)s is already in this batch's bill of materials.") % {"lot": lot.lot_number}]}
            )
        used = BatchMaterial.objects.filter(lot=lot).aggregate(total=Sum("quantity"))["total"] or Decimal(0)
        if used + quantity > lot.quantity:
            raise InputError(
                {
                    "quantity": [
                        _("Only %(left)s %(unit)s of lot %(lot)s are left (received %(received)s, used %(used)s).")
                        % {
                            "left": lot.quantity - used,
                            "unit": lot.get_unit_display(),
                            "lot": lot.lot_number,
                            "received": lot.quantity,
                            "used": used,
                        }
                    ]
                }
            )
        line = BatchMaterial(batch=batch, lot=lot, quantity=quantity, last_changed_by=user)
        save_changed(line, user, "material used recorded")
    return line


def material_balance_add(*, batch: Batch, user: User, data: dict[str, Any]) -> MaterialBalance:
    """Record the material balance of one process step (R-REL-8). The system computes the
    percentage with the current formula (its version stored on the row) and compares it with the
    product's limits, copied onto the row."""
    require_permission(user, "release.add_materialbalance")
    row = MaterialBalance(last_changed_by=user)
    data = {k: v for k, v in data.items() if k in MaterialBalance.EDITABLE_FIELDS}
    data["samples"] = data.get("samples") or Decimal(0)
    data["waste"] = data.get("waste") or Decimal(0)
    apply_changes(row, data)
    errors: dict[str, list[str]] = {}
    if not (row.step or "").strip():
        errors["step"] = [_("This field is required.")]
    if row.theoretical is None or row.theoretical <= 0:
        errors["theoretical"] = [_("The theoretical quantity must be greater than zero.")]
    for name in ("actual", "samples", "waste"):
        value = getattr(row, name)
        if value is None:
            errors[name] = [_("This field is required.")]
        elif value < 0:
            errors[name] = [_("The quantity cannot be negative.")]
    if errors:
        raise InputError(errors)
    with transaction.atomic():
        batch = Batch.objects.select_for_update().select_related("product").get(pk=batch.pk)
        if refusal := cannot_record_balance(batch, user):
            raise WorkflowError(refusal)
        row.batch = batch
        row.formula_version = balance.CURRENT_VERSION
        row.percent = balance.balance_percent(
            theoretical=row.theoretical, actual=row.actual, samples=row.samples, waste=row.waste
        )
        if row.percent >= Decimal("100000"):
            raise InputError({"actual": [_("The figures give a material balance over 100000 %; check them.")]})
        row.lower_limit = batch.product.balance_lower_limit
        row.upper_limit = batch.product.balance_upper_limit
        row.within_limits = balance.within(row.percent, row.lower_limit, row.upper_limit)
        save_changed(row, user, "material balance recorded")
    return row
