"""Returned goods (退货; R-RET-1; GMP 第一百三十六–一百三十七、二百九十四条; sop-checklists B.2.5).

A return is recorded in quarantine, each return its own record (returns of one batch from
different channels stay separate). Its quantity is never more than was shipped to that customer
of that batch (distribution records not voided) less what it has already returned. A return on
quality grounds also opens a complaint through the intake (``feedback_record``, class "return
request"), unless it is recorded against an existing complaint. QA evaluates it with a signature
(restock or destroy; storage conditions not met or doubtful never restock); then the destruction
(date, method, witnesses, the supervisor who signs) or the restocking is recorded and signed.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.for_recalls import return_recorded
from aftersales.models import Complaint, Customer, FeedbackClass, GoodsReturn, ReturnDecision, StorageConditions
from aftersales.services.shipments import MAX_QUANTITY, returnable_quantity
from core.models import Signature, User
from core.numbering import formatted_number
from core.signatures import sign, verify_signer
from core.workflow import (
    InputError,
    WorkflowError,
    apply_changes,
    move,
    require_permission,
    save_changed,
    save_step,
    signs,
)
from release.models import Batch


def return_input_problems(data: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    quantity = data.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        problems["quantity"] = [_("Enter the quantity returned as a whole number greater than zero.")]
    elif quantity > MAX_QUANTITY:
        problems["quantity"] = [
            _("The quantity is implausibly large (more than %(max)s).") % {"max": f"{MAX_QUANTITY:,}"}
        ]
    day = data.get("received_on")
    if day is not None and day > timezone.localdate():
        problems["received_on"] = [_("The receipt date cannot be in the future.")]
    for field in ("reason", "condition", "storage_history"):
        if not (data.get(field) or "").strip():
            problems[field] = [_("This field is required.")]
    complaint = data.get("complaint")
    batch = data.get("batch")
    if complaint is not None and batch is not None and complaint.batch_id not in (None, batch.pk):
        problems["complaint"] = [_("The complaint concerns another batch.")]
    return problems


def return_record(*, user: User, data: dict[str, Any]) -> GoodsReturn:
    """Record returned goods in quarantine (R-RET-1). Refused (``InputError`` beside "quantity")
    when the quantity is more than shipped to that customer of that batch less earlier returns.
    Writes the return (``RET-YYYY-NNNN``) and, on quality grounds without a complaint named, the
    feedback record and complaint of a return request (AS-4.2.4)."""
    require_permission(user, "aftersales.add_goodsreturn")
    if problems := return_input_problems(data):
        raise InputError(problems)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=data["customer"].pk)
        batch = Batch.objects.select_related("product").get(pk=data["batch"].pk)
        allowed = returnable_quantity(customer.pk, batch.pk)
        if data["quantity"] > allowed:
            raise InputError(
                {
                    "quantity": [
                        _(
                            "%(customer)s can return at most %(allowed)s of batch %(batch)s: that is what was "
                            "shipped to it less its earlier returns."
                        )
                        % {"customer": customer, "allowed": max(allowed, 0), "batch": batch.batch_number}
                    ]
                }
            )
        goods = GoodsReturn(product=batch.product, recorded_by=user, last_changed_by=user)
        apply_changes(goods, data)
        goods.number = formatted_number("RET", data["received_on"].year, width=4)
        if goods.quality_reason and goods.complaint is None:
            from aftersales.services.intake import feedback_record

            received = timezone.make_aware(datetime.combine(goods.received_on, time(9)))
            feedback = feedback_record(
                user=user,
                data=dict(
                    received_at=min(received, timezone.now()),
                    channel="other",
                    customer=customer,
                    reporter_name=customer.name,
                    reporter_type="distributor",
                    reporter_contact=" ".join(p for p in (customer.contact_person, customer.phone) if p),
                    product=batch.product,
                    batch=batch,
                    batch_number=batch.batch_number,
                    description=goods.reason,
                    classification=FeedbackClass.RETURN_REQUEST,
                    sales_chain_problem="",
                    patient="",
                ),
            )
            goods.complaint = feedback.complaint
        save_changed(goods, user, "created")
        # A recall running for this batch counts it as returned by that consignee (R-RCL-5).
        return_recorded(goods, user)
    return goods


def forced_decision(goods: GoodsReturn) -> str | None:
    """R-RET-1: storage conditions not met, or doubtful, leave only destruction."""
    if goods.storage_conditions in (StorageConditions.NOT_MET, StorageConditions.DOUBTFUL):
        return ReturnDecision.DESTROY
    return None


def cannot_evaluate_return(goods: GoodsReturn, user: User) -> str | None:
    if not user.has_perm("aftersales.evaluate_goodsreturn"):
        return _("You do not have permission to do this.")
    if goods.status != GoodsReturn.Status.QUARANTINE:
        return _("Only returned goods in quarantine are evaluated.")
    return None


@signs(Signature.Meaning.APPROVED)
def return_evaluate(
    *,
    goods: GoodsReturn,
    user: User,
    password: str,
    decision: str,
    evaluation: str,
    request: HttpRequest | None = None,
) -> GoodsReturn:
    """QA's signed evaluation: restock or destroy (R-RET-1; storage not met / doubtful → destroy)."""
    require_permission(user, "aftersales.evaluate_goodsreturn")
    problems: dict[str, list[str]] = {}
    if decision not in ReturnDecision.values:
        problems["decision"] = [_("Choose restock or destroy.")]
    if not (evaluation or "").strip():
        problems["evaluation"] = [_("Record the evaluation (appearance, packaging, storage evidence).")]
    if problems:
        raise InputError(problems)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        goods = GoodsReturn.objects.select_for_update().get(pk=goods.pk)
        if refusal := cannot_evaluate_return(goods, user):
            raise WorkflowError(refusal)
        forced = forced_decision(goods)
        if forced and decision != forced:
            raise InputError(
                {
                    "decision": [
                        _("Storage conditions were %(conditions)s: returned goods are destroyed, never restocked.")
                        % {"conditions": goods.get_storage_conditions_display().lower()}
                    ]
                }
            )
        move(goods, GoodsReturn.Status.EVALUATED)
        goods.decision, goods.evaluation = decision, evaluation.strip()
        goods.evaluated_by, goods.evaluated_at = user, timezone.now()
        save_step(goods, user, _("evaluated: %(decision)s") % {"decision": goods.get_decision_display()})
        sign(credential=credential, record=goods, meaning=return_evaluate.meaning, comment=goods.evaluation)
    return goods


def cannot_complete_return(goods: GoodsReturn, user: User) -> str | None:
    if not user.has_perm("aftersales.complete_goodsreturn"):
        return _("You do not have permission to do this.")
    if goods.status != GoodsReturn.Status.EVALUATED:
        return _("QA evaluates the returned goods first.")
    return None


@signs(Signature.Meaning.DESTROYED)
def return_destroy(
    *,
    goods: GoodsReturn,
    user: User,
    password: str,
    destroyed_on,
    method: str,
    witnesses: str,
    request: HttpRequest | None = None,
) -> GoodsReturn:
    """Record the destruction under supervision (R-RET-1): date, method, witnesses; the person
    signing is the supervisor."""
    require_permission(user, "aftersales.complete_goodsreturn")
    problems: dict[str, list[str]] = {}
    if destroyed_on is None:
        problems["destroyed_on"] = [_("Enter the date of destruction.")]
    elif destroyed_on > timezone.localdate():
        problems["destroyed_on"] = [_("The destruction cannot be in the future.")]
    if not (method or "").strip():
        problems["method"] = [_("Record the destruction method.")]
    if not (witnesses or "").strip():
        problems["witnesses"] = [_("Name the witnesses of the destruction.")]
    if problems:
        raise InputError(problems)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        goods = GoodsReturn.objects.select_for_update().get(pk=goods.pk)
        if refusal := cannot_complete_return(goods, user):
            raise WorkflowError(refusal)
        if goods.decision != ReturnDecision.DESTROY:
            raise WorkflowError(_("QA decided to restock these goods, not to destroy them."))
        if destroyed_on < goods.received_on:
            raise InputError({"destroyed_on": [_("The goods cannot be destroyed before they were received.")]})
        move(goods, GoodsReturn.Status.DESTROYED)
        goods.destroyed_on, goods.destruction_method = destroyed_on, method.strip()
        goods.destruction_witnesses = witnesses.strip()
        goods.completed_by, goods.completed_at = user, timezone.now()
        save_step(goods, user, _("destroyed"))
        sign(credential=credential, record=goods, meaning=return_destroy.meaning, comment=goods.destruction_method)
    return goods


@signs(Signature.Meaning.RESTOCKED)
def return_restock(
    *, goods: GoodsReturn, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> GoodsReturn:
    """Record that goods QA decided to restock went back to saleable stock, signed."""
    require_permission(user, "aftersales.complete_goodsreturn")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        goods = GoodsReturn.objects.select_for_update().get(pk=goods.pk)
        if refusal := cannot_complete_return(goods, user):
            raise WorkflowError(refusal)
        if goods.decision != ReturnDecision.RESTOCK:
            raise WorkflowError(_("QA decided to destroy these goods; they are never restocked."))
        move(goods, GoodsReturn.Status.RESTOCKED)
        goods.completed_by, goods.completed_at = user, timezone.now()
        save_step(goods, user, comment.strip() or _("restocked"))
        sign(credential=credential, record=goods, meaning=return_restock.meaning, comment=comment)
    return goods


def returns_for_complaint(complaint: Complaint):
    return GoodsReturn.objects.filter(complaint=complaint).order_by("received_on", "pk")
