"""Complaints (R-CMP-1; sop-checklists B.2.3; GMP 第二百七十一–二百七十七条).

Opened by the intake (AS-4.2.2/4.2.4/4.2.5), QA triages and assigns it, records the
investigation (retained sample, batch record, other batches considered with a conclusion, root
cause; for sales-chain problems the responsibility and the replacement or explanation), decides
"recall needed?" with a rationale, records the reply to the complainant, and closes it with a
signature. The QP reads every quality complaint (GMP 第二百七十二条 asks that the QP be told).

Segregation: the person who recorded the complaint does not sign its closure — closure is QA's
independent conclusion on what was received (R-SEQ-2).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import Complaint, ComplaintHold, Feedback, Responsibility
from core.concurrency import check_edit_version
from core.models import Signature, User
from core.numbering import formatted_number
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


def open_complaint(*, feedback: Feedback, user: User, triage: str, return_expected: bool = False) -> Complaint:
    """Open the complaint of a feedback record (called by the intake, inside its transaction)."""
    from aftersales.services.intake import first_response_hours

    complaint = Complaint(
        feedback=feedback,
        received_at=feedback.received_at,
        product=feedback.product,
        batch=feedback.batch,
        description=feedback.description,
        triage=triage,
        return_expected=return_expected,
        sales_chain_problem=feedback.sales_chain_problem,
        reply_due=feedback.received_at + timedelta(hours=first_response_hours()),
        last_changed_by=user,
        number=formatted_number("CMP", timezone.localtime(feedback.received_at).year, width=4),
    )
    save_changed(complaint, user, "created from feedback " + feedback.number)
    return complaint


def _qa(user: User) -> str | None:
    if not user.has_perm("aftersales.change_complaint"):
        return _("You do not have permission to do this.")
    return None


def cannot_triage_complaint(complaint: Complaint, user: User) -> str | None:
    if refusal := _qa(user):
        return refusal
    if complaint.status != Complaint.Status.RECEIVED:
        return _("This complaint has already been triaged.")
    return None


def cannot_investigate_complaint(complaint: Complaint, user: User) -> str | None:
    if refusal := _qa(user):
        return refusal
    if complaint.status != Complaint.Status.INVESTIGATING:
        return _("Only a complaint under investigation can be changed.")
    return None


def closure_gaps(complaint: Complaint) -> list[str]:
    """What is still missing before the complaint may be closed (R-CMP-1)."""
    gaps = []
    if not complaint.root_cause.strip():
        gaps.append(_("the root cause"))
    if complaint.triage != Complaint.Triage.ENQUIRY and not complaint.other_batches_conclusion.strip():
        gaps.append(_("the conclusion on other batches"))
    if complaint.recall_needed is None or not complaint.recall_rationale.strip():
        gaps.append(_("the decision whether a recall is needed, with its rationale"))
    if complaint.triage == Complaint.Triage.SALES_CHAIN and not (
        complaint.responsibility and complaint.sales_chain_action.strip()
    ):
        gaps.append(_("the responsibility and the replacement shipment or explanation"))
    if complaint.reply_at is None or not complaint.reply_content.strip():
        gaps.append(_("the reply to the complainant"))
    if not hold_question_answered(complaint):
        gaps.append(
            _(
                "the answer to “Place a hold?”: a hold placed from this complaint, or QA's decision that "
                "no hold is needed, with the reason"
            )
        )
    return gaps


def hold_question_answered(complaint: Complaint) -> bool:
    """R-CMP-1 "place a hold?" has an answer: a hold was placed from this complaint (active or since
    lifted — the ``ComplaintHold`` row stays), or QA recorded why none is needed."""
    return complaint.hold_not_needed_at is not None or complaint.hold_decisions.exists()


def cannot_decide_no_hold(complaint: Complaint, user: User) -> str | None:
    """Why ``user`` may not record "no hold needed" on the complaint now, or None: QA, a complaint
    not closed, not answered yet (once recorded it stands; a hold placed answers it "yes")."""
    if refusal := _qa(user):
        return refusal
    if complaint.status == Complaint.Status.CLOSED:
        return _("The complaint is closed.")
    if complaint.hold_not_needed_at is not None:
        return _("%(name)s already recorded that no hold is needed.") % {
            "name": complaint.hold_not_needed_by.printed_name if complaint.hold_not_needed_by else "—"
        }
    if complaint.hold_decisions.exists():
        return _("A hold was placed from this complaint: the question “Place a hold?” is answered.")
    return None


def cannot_close_complaint(complaint: Complaint, user: User) -> str | None:
    """Why ``user`` may not close the complaint now, or None."""
    if not user.has_perm("aftersales.close_complaint"):
        return _("You do not have permission to do this.")
    if complaint.status != Complaint.Status.INVESTIGATING:
        return _("Only a complaint under investigation can be closed.")
    if gaps := closure_gaps(complaint):
        return _("Record %(missing)s before closing.") % {"missing": "; ".join(str(g) for g in gaps)}
    if complaint.feedback.received_by_id == user.pk or complaint.feedback.last_changed_by_id == user.pk:
        return _("You recorded this complaint; another QA reviewer must close it.")
    return None


def cannot_acknowledge_complaint(complaint: Complaint, user: User) -> str | None:
    if not user.has_perm("aftersales.acknowledge_complaint"):
        return _("You do not have permission to do this.")
    if complaint.qp_acknowledged_at is not None:
        return _("The qualified person has already read this complaint.")
    return None


def cannot_place_hold_from_complaint(complaint: Complaint, user: User) -> str | None:
    """Why ``user`` may not put the complaint's batch on hold from the complaint now, or None
    (R-CMP-1 "place a hold?"): QA, on an open complaint naming a batch, not an enquiry, and not
    while a hold from this complaint is still active on that batch. Release's own rule
    (``cannot_place_hold``: permission, a voided batch) applies too."""
    from release.for_shipping import BatchHold, cannot_place_hold, holds_from

    if refusal := _qa(user):
        return refusal
    if complaint.status == Complaint.Status.CLOSED:
        return _("The complaint is closed.")
    if complaint.batch is None:
        return _("The complaint names no batch: record the batch on its feedback record first.")
    if complaint.triage == Complaint.Triage.ENQUIRY:
        return _("An enquiry does not suggest a quality defect; triage the complaint first.")
    if refusal := cannot_place_hold(complaint.batch, user):
        return refusal
    active = holds_from(complaint).filter(batch=complaint.batch, status=BatchHold.Status.ACTIVE).first()
    if active is not None:
        return _("Batch %(batch)s is already on hold from this complaint (placed by %(name)s).") % {
            "batch": complaint.batch.batch_number,
            "name": active.placed_by.printed_name,
        }
    return None


@signs(Signature.Meaning.HOLD_PLACED)
def complaint_place_hold(
    *, complaint: Complaint, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> ComplaintHold:
    """QA puts the complaint's batch on hold (R-CMP-1; GMP 第二百七十三条): the batch cannot ship
    until QA lifts the hold with its signature (release). Records: the ``BatchHold`` (release's,
    its source this complaint) and its history; a ``ComplaintHold`` row, its history and its
    signature "Hold placed" with the reason."""
    from release.for_shipping import hold_place

    require_permission(user, "aftersales.change_complaint")
    reason = require_reason(reason, _("Give the reason for the hold."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        # No select_related: the batch is nullable, and PostgreSQL refuses FOR UPDATE on an outer join.
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if refusal := cannot_place_hold_from_complaint(complaint, user):
            raise WorkflowError(refusal)
        hold = hold_place(
            batch=complaint.batch, user=user, reason=reason, source=complaint, source_text=complaint.number
        )
        decision = ComplaintHold(
            complaint=complaint,
            batch=complaint.batch,
            hold=hold,
            reason=reason,
            placed_by=user,
            placed_at=hold.placed_at,
            last_changed_by=user,
        )
        save_changed(decision, user, "hold placed")
        sign(credential=credential, record=decision, meaning=complaint_place_hold.meaning, comment=reason)
    return decision


@transaction.atomic
def complaint_decide_no_hold(*, complaint: Complaint, user: User, reason: str) -> Complaint:
    """QA answers "Place a hold?" with no (R-CMP-1; GMP 第二百七十三条 asks whether the batch must
    be stopped): the reason, QA's name and the time go on the complaint and its audit trail (the
    history row's reason says "no hold needed: …"); the closing signature later vouches for them.
    Preconditions: ``cannot_decide_no_hold``. Refused beside the field without a reason."""
    require_permission(user, "aftersales.change_complaint")
    reason = (reason or "").strip()
    if not reason:
        raise InputError({"reason": [_("Say why no hold is needed.")]})
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if refusal := cannot_decide_no_hold(complaint, user):
        raise WorkflowError(refusal)
    complaint.hold_not_needed_reason = reason
    complaint.hold_not_needed_by, complaint.hold_not_needed_at = user, timezone.now()
    save_step(complaint, user, "no hold needed: " + reason)
    return complaint


@transaction.atomic
def complaint_triage(*, complaint: Complaint, user: User, triage: str, assigned_to: User) -> Complaint:
    """QA confirms the triage and assigns the investigator: received → under investigation."""
    require_permission(user, "aftersales.change_complaint")
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.status != Complaint.Status.RECEIVED:
        move(complaint, Complaint.Status.INVESTIGATING)
    if refusal := cannot_triage_complaint(complaint, user):
        raise WorkflowError(refusal)
    if triage not in Complaint.Triage.values:
        raise InputError({"triage": [_("Choose a triage class.")]})
    if assigned_to is None or not assigned_to.has_perm("aftersales.change_complaint"):
        raise InputError({"assigned_to": [_("The investigator must be a QA reviewer.")]})
    apply_changes(complaint, {"triage": triage, "assigned_to": assigned_to})
    move(complaint, Complaint.Status.INVESTIGATING)
    save_step(complaint, user, "triaged and assigned")
    return complaint


@transaction.atomic
def complaint_record(
    *, complaint: Complaint, user: User, data: dict[str, Any], reason: str = "", version: int | None = None
) -> Complaint:
    """Record or correct the investigation, the recall decision or the reply. The first entry of
    each needs no reason; changing what was already recorded does (R-AT-2). ``version``: the
    form's edit version; a save over a newer one is refused with who and when (issue 8 item 7)."""
    require_permission(user, "aftersales.change_complaint")
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    check_edit_version(complaint, version)
    if refusal := cannot_investigate_complaint(complaint, user):
        raise WorkflowError(refusal)
    problems: dict[str, list[str]] = {}
    if (
        "recall_needed" in data
        and data["recall_needed"] is not None
        and not (data.get("recall_rationale") or "").strip()
    ):
        problems["recall_rationale"] = [_("Give the rationale for the recall decision.")]
    if data.get("reply_at") and data["reply_at"] < complaint.received_at:
        problems["reply_at"] = [_("The reply cannot be earlier than the time the complaint was received.")]
    if data.get("reply_at") and data["reply_at"] > timezone.now() + timedelta(minutes=5):
        problems["reply_at"] = [_("The reply time cannot be in the future.")]
    if data.get("responsibility") and data["responsibility"] not in Responsibility.values:
        problems["responsibility"] = [_("Choose who is responsible.")]
    if problems:
        raise InputError(problems)
    overwrites = [k for k, v in data.items() if getattr(complaint, k) not in (None, "") and getattr(complaint, k) != v]
    changed = apply_changes(complaint, data)
    if not changed:
        raise WorkflowError(_("Nothing was changed."))
    if overwrites:
        reason = require_reason(reason)
    save_changed(complaint, user, reason.strip() or "recorded: " + ", ".join(changed))
    return complaint


@transaction.atomic
def complaint_acknowledge(*, complaint: Complaint, user: User) -> Complaint:
    """The QP records having read the complaint (GMP 第二百七十二条)."""
    require_permission(user, "aftersales.acknowledge_complaint")
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if refusal := cannot_acknowledge_complaint(complaint, user):
        raise WorkflowError(refusal)
    complaint.qp_acknowledged_at, complaint.qp_acknowledged_by = timezone.now(), user
    save_step(complaint, user, "read by the qualified person")
    return complaint


@signs(Signature.Meaning.CLOSED)
def complaint_close(
    *, complaint: Complaint, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> Complaint:
    """QA closes the complaint with a signature (meaning "Closed").

    Preconditions (``cannot_close_complaint``): under investigation; root cause, other batches'
    conclusion, recall decision with rationale, sales-chain outcome (if any), "place a hold?"
    answered (a hold placed from it, or QA's recorded "no hold needed") and the reply to the
    complainant recorded; the closer did not record the complaint.
    Records: history row (→ closed) and a Signature over the complaint's conclusions.
    """
    require_permission(user, "aftersales.close_complaint")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        complaint = Complaint.objects.select_related("feedback").select_for_update(of=("self",)).get(pk=complaint.pk)
        if complaint.status != Complaint.Status.INVESTIGATING:
            move(complaint, Complaint.Status.CLOSED)
        if refusal := cannot_close_complaint(complaint, user):
            raise WorkflowError(refusal)
        move(complaint, Complaint.Status.CLOSED)
        complaint.closed_at, complaint.closed_by = timezone.now(), user
        save_step(complaint, user, comment or "closed")
        sign(credential=credential, record=complaint, meaning=complaint_close.meaning, comment=comment)
    return complaint
