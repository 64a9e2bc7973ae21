"""The 市场信息反馈记录: every contact is recorded and routed at once (AS-4.2.1–4.2.5).

``feedback_record`` saves the record and, in the same transaction, the record its class needs:
a quality complaint, a return on quality grounds or a sales-chain problem → a Complaint owned by
QA (the QP sees it on My work until read); a possible ADR → an ADRCase whose day 0 is the
feedback's received time (AS-4.2.3), never the time QA first read it; enquiries and suggestions
are answered by customer service only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import Complaint, Feedback, FeedbackClass
from core.models import User
from core.numbering import formatted_number
from core.workflow import InputError, WorkflowError, apply_changes, move, require_permission, save_changed, save_step

# The first-response target is a company setting (its 24 h comes from a non-pharmaceutical seed,
# sop-checklists §0), not an SOP rule.

INTAKE_FIELDS = (
    "received_at",
    "channel",
    "customer",
    "reporter_name",
    "reporter_type",
    "reporter_contact",
    "product",
    "batch",
    "batch_number",
    "description",
    "classification",
    "sales_chain_problem",
    "patient",
)
REPLY_FIELDS = ("reply_at", "reply_method", "reply_content")


def first_response_hours() -> int:
    return settings.AFTERSALES_FIRST_RESPONSE_HOURS


def intake_problems(data: dict[str, Any], now=None) -> dict[str, list[str]]:
    """What is wrong with an intake, by field (the form shows these, the service refuses with them)."""
    now = now or timezone.now()
    problems: dict[str, list[str]] = {}
    received = data.get("received_at")
    if received and received > now + timedelta(minutes=5):
        problems["received_at"] = [_("The received time cannot be in the future.")]
    batch, product = data.get("batch"), data.get("product")
    if batch is not None and product is not None and batch.product_id != product.pk:
        problems["batch"] = [_("This batch is not a batch of the product chosen.")]
    cls = data.get("classification")
    if cls == FeedbackClass.SALES_CHAIN and not data.get("sales_chain_problem"):
        problems["sales_chain_problem"] = [_("Say whether the problem is quality, quantity or transport damage.")]
    if cls in (FeedbackClass.QUALITY_COMPLAINT, FeedbackClass.RETURN_REQUEST, FeedbackClass.SALES_CHAIN) and not (
        product or batch
    ):
        problems["product"] = [_("A complaint needs the product concerned.")]
    if cls == FeedbackClass.POSSIBLE_ADR:
        # GVP minimum information: identifiable patient, reporter, suspected drug, reaction.
        if not (product or batch):
            problems["product"] = [_("An adverse reaction report needs the suspected drug.")]
        if not (data.get("patient") or "").strip():
            problems["patient"] = [
                _("An adverse reaction report needs an identifiable patient (initials, age or sex).")
            ]
    return problems


@transaction.atomic
def feedback_record(*, user: User, data: dict[str, Any]) -> Feedback:
    """Record a contact and route it by its class (AS-4.2.x). Writes the feedback and, by class,
    a Complaint or an ADRCase, each with its first history row; numbers from core.numbering."""
    require_permission(user, "aftersales.add_feedback")
    data = dict(data)
    if data.get("batch") is not None and data.get("product") is None:
        data["product"] = data["batch"].product
    if problems := intake_problems(data):
        raise InputError(problems)
    if data.get("classification") != FeedbackClass.SALES_CHAIN:
        data["sales_chain_problem"] = ""
    feedback = Feedback(received_by=user, last_changed_by=user)
    apply_changes(feedback, {k: v for k, v in data.items() if k in INTAKE_FIELDS})
    feedback.first_response_due = feedback.received_at + timedelta(hours=first_response_hours())
    feedback.number = formatted_number("FB", timezone.localtime(feedback.received_at).year, width=4)
    save_changed(feedback, user, "created")
    _route(feedback, user)
    return feedback


def _route(feedback: Feedback, user: User) -> None:
    from aftersales.services.adr import open_adr_case
    from aftersales.services.complaints import open_complaint

    cls = feedback.classification
    if cls == FeedbackClass.QUALITY_COMPLAINT:
        open_complaint(feedback=feedback, user=user, triage=Complaint.Triage.QUALITY_DEFECT)
    elif cls == FeedbackClass.RETURN_REQUEST:
        # AS-4.2.4 / R-RET-1: a return on quality grounds is also a complaint.
        open_complaint(feedback=feedback, user=user, triage=Complaint.Triage.RETURN, return_expected=True)
    elif cls == FeedbackClass.SALES_CHAIN:
        open_complaint(feedback=feedback, user=user, triage=Complaint.Triage.SALES_CHAIN)
    elif cls == FeedbackClass.POSSIBLE_ADR:
        open_adr_case(feedback=feedback, user=user)


def cannot_reply_feedback(feedback: Feedback, user: User) -> str | None:
    if not user.has_perm("aftersales.change_feedback"):
        return _("You do not have permission to do this.")
    if feedback.status != Feedback.Status.OPEN:
        return _("The first response has already been recorded.")
    return None


def cannot_close_feedback(feedback: Feedback, user: User) -> str | None:
    if not user.has_perm("aftersales.change_feedback"):
        return _("You do not have permission to do this.")
    if feedback.status == Feedback.Status.CLOSED:
        return _("The result has already been filed.")
    if feedback.status != Feedback.Status.ANSWERED:
        return _("Record the reply before filing the result.")
    return None


@transaction.atomic
def feedback_reply(*, feedback: Feedback, user: User, data: dict[str, Any]) -> Feedback:
    """Record the first response to the customer (4.1.1: date, method, content)."""
    require_permission(user, "aftersales.change_feedback")
    feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
    if feedback.status != Feedback.Status.OPEN:
        move(feedback, Feedback.Status.ANSWERED)
    if refusal := cannot_reply_feedback(feedback, user):
        raise WorkflowError(refusal)
    reply_at = data.get("reply_at")
    if reply_at and reply_at < feedback.received_at:
        raise InputError({"reply_at": [_("The reply cannot be earlier than the time the feedback was received.")]})
    if reply_at and reply_at > timezone.now() + timedelta(minutes=5):
        raise InputError({"reply_at": [_("The reply time cannot be in the future.")]})
    apply_changes(feedback, {k: data.get(k) for k in REPLY_FIELDS})
    move(feedback, Feedback.Status.ANSWERED)
    save_step(feedback, user, "first response recorded")
    return feedback


@transaction.atomic
def feedback_close(*, feedback: Feedback, user: User, data: dict[str, Any]) -> Feedback:
    """File the handling result and the customer's satisfaction (4.1.1 处理结果归档)."""
    require_permission(user, "aftersales.change_feedback")
    feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
    # The predicate first: its refusal says what to do ("record the reply first").
    if refusal := cannot_close_feedback(feedback, user):
        raise WorkflowError(refusal)
    if not (data.get("result") or "").strip():
        raise InputError({"result": [_("Record the handling result.")]})
    apply_changes(feedback, {"result": data["result"], "satisfaction": data.get("satisfaction") or ""})
    move(feedback, Feedback.Status.CLOSED)
    save_step(feedback, user, "result filed")
    return feedback
