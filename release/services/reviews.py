"""The release review of a batch (ZL-086; GMP 第二百二十九–二百三十条; R-REL-1…6, R-SEQ-1/2).

production → QC → QA evaluation → QA release stamp → QP decision (→ market release for a
two-stage product). Each stage is one signed ``ReviewStep``; each stage is signed by its role and by
a person who signed no other stage of the batch (R-SEQ-2); any stage may send the review back to
the one before it with a reason.

Each action: permission → (password, outside the transaction) → lock → predicate → ``move`` →
save with reason → signature with the service's meaning (core/workflow.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.models import Signature, User
from core.pdf import issue_after_commit
from core.signatures import sign, verify_signer
from core.workflow import InputError, WorkflowError, move, require_permission, require_reason, save_step, signs
from release import checks as system
from release.models import (
    Answer,
    Batch,
    ChecklistTemplate,
    Decision,
    Deviation,
    QPDesignation,
    ReleaseReview,
    ReviewCorrection,
    ReviewStep,
    Stage,
    Verdict,
)

# The stamp's wording is fixed by ZL-086 4.4.1 and printed as it is, in Chinese.
STAMP_WORDING = "药品经质量受权人批准准予放行"
# What the QP signs for (ZL-086 4.4.2), printed in Chinese on the form and the certificate.
QP_STATEMENT = (
    "本人对所签署的《药品出厂、上市放行审核单》所述内容的真实性、完整性负责，并对批准放行药品的质量安全负责。"
)

STAGE_PERMISSIONS = {
    Stage.PRODUCTION: "release.review_production",
    Stage.QC: "release.review_qc",
    Stage.QA: "release.review_qa",
    Stage.STAMP: "release.stamp_release",
    Stage.QP: "release.decide_release",
    Stage.MARKET: "release.decide_release",
}
STAGE_REASONS = {
    Stage.PRODUCTION: gettext_noop("production review signed"),
    Stage.QC: gettext_noop("QC review signed"),
    Stage.QA: gettext_noop("QA evaluation signed"),
    Stage.STAMP: gettext_noop("release stamp applied"),
}
# Where a send-back goes from each status (the stage before).
PREVIOUS = {
    ReleaseReview.Status.QC: ReleaseReview.Status.PRODUCTION,
    ReleaseReview.Status.QA: ReleaseReview.Status.QC,
    ReleaseReview.Status.STAMP: ReleaseReview.Status.QA,
    ReleaseReview.Status.QP: ReleaseReview.Status.STAMP,
}
# The stages whose steps a return to a status withdraws (that stage and every later one).
ORDER = [Stage.PRODUCTION, Stage.QC, Stage.QA, Stage.STAMP, Stage.QP, Stage.MARKET]


@dataclass
class ItemAnswer:
    answer: str = ""
    comment: str = ""
    justification: str = ""
    deviation: str = ""


# --- reading ------------------------------------------------------------------------------------


def active_steps(review: ReleaseReview) -> list[ReviewStep]:
    return list(review.steps.active().select_related("signed_by").order_by("signed_at", "pk"))


def signed_stage_of(
    review: ReleaseReview, user: User, stage: str, steps: Sequence[ReviewStep] | None = None
) -> str | None:
    """The other stage of this batch ``user`` signed (withdrawn or not), or None (R-SEQ-2).
    ``steps``: every step of the review, oldest first, when the caller has read them (the page)."""
    if steps is not None:
        return next((s.stage for s in steps if s.signed_by_id == user.pk and s.stage != stage), None)
    return review.steps.filter(signed_by=user).exclude(stage=stage).values_list("stage", flat=True).first()


def designation_for(user: User, batch: Batch, stage: str) -> QPDesignation | None:
    """The valid designation that lets ``user`` decide this batch at ``stage`` today (R-REL-5)."""
    scope = {"market_release": True} if stage == Stage.MARKET else {"factory_release": True}
    # Single-stage products: the one QP does both, so either scope suffices only when it holds both.
    review = getattr(batch, "review", None)
    if stage == Stage.QP and review is not None and not review.two_stage:
        scope = {"factory_release": True, "market_release": True}
    # The designation, then its mirror, the guardian object permission (two more queries): both
    # must hold. Designation first: a QP reading the batch of a product they are not designated
    # for is answered by that one query (issue 12). Written as one query (the permission as a
    # subquery) it took longer to build and run (4 ms against 2.5 ms at scale 1.0).
    designation = QPDesignation.objects.valid().filter(person=user, product_id=batch.product_id, **scope).first()
    if designation is None or not user.has_perm("release.decide_batch", batch.product):
        return None
    return designation


# --- predicates (used by the service, the page and My work) --------------------------------------


def cannot_start_review(batch: Batch, user: User) -> str | None:
    if not user.has_perm("release.review_production"):
        return _("You do not have permission to do this.")
    if batch.status != Batch.Status.QUARANTINE:
        return _("Only a batch in quarantine can enter the release review.")
    if ReleaseReview.objects.filter(batch=batch).exists():
        return _("This batch already has a release review.")
    return None


def cannot_sign_stage(
    review: ReleaseReview, user: User, stage: str, steps: Sequence[ReviewStep] | None = None
) -> str | None:
    """Why ``user`` may not sign ``stage`` of this review now, or None. ``steps``: as for
    ``signed_stage_of`` (the page passes the steps it shows; the actions read them under the lock)."""
    if not user.has_perm(STAGE_PERMISSIONS[stage]):
        return _("You do not have permission to do this.")
    if review.waiting_for != stage:
        if review.decided_by_id:
            return _("%(name)s already decided this batch (%(decision)s) at %(time)s.") % {
                "name": review.decided_by.printed_name,
                "decision": review.get_decision_display(),
                "time": formats.date_format(timezone.localtime(review.decided_at), "Y-m-d H:i T"),
            }
        return _("The review is %(status)s; it is not waiting for the %(stage)s.") % {
            "status": review.get_status_display(),
            "stage": Stage(stage).label,
        }
    if other := signed_stage_of(review, user, stage, steps):
        return _("You signed the %(stage)s of this batch; one person signs at most one stage.") % {
            "stage": Stage(other).label
        }
    if stage in (Stage.QP, Stage.MARKET) and designation_for(user, review.batch, stage) is None:
        return _(
            "You are not designated as qualified person for %(product)s (for this stage, today); an administrator records designations from the company's authorisation letter."
        ) % {"product": review.batch.product}
    return None


def cannot_send_back(review: ReleaseReview, user: User) -> str | None:
    """Why ``user`` may not send the review back now: by the person who may sign its stage."""
    return cannot_send_back_now(review) or cannot_sign_stage(review, user, review.waiting_for)


def cannot_send_back_now(review: ReleaseReview) -> str | None:
    """The review's state part of ``cannot_send_back`` (the page, which has already asked
    ``cannot_sign_stage`` for the same stage, asks only this)."""
    if review.waiting_for is None or review.status not in PREVIOUS:
        return _("This review cannot be sent back now.")
    return None


# --- actions ---------------------------------------------------------------------------------------


def _locked(batch: Batch) -> ReleaseReview:
    review = ReleaseReview.objects.select_for_update().filter(batch_id=batch.pk).first()
    if review is None:
        raise WorkflowError(_("The release review of this batch has not been started."))
    # Related rows read after the lock (select_related would lock them too on PostgreSQL).
    review.batch = Batch.objects.select_related("product").get(pk=batch.pk)
    return review


def _refuse(review: ReleaseReview, user: User, stage: str) -> None:
    """Raise the predicate's reason, on the locked row: a skipped, repeated or raced stage (R-SEQ-1),
    the wrong person (R-SEQ-2) or an undesignated QP (R-REL-5)."""
    if refusal := cannot_sign_stage(review, user, stage):
        raise WorkflowError(refusal)


def _next_status(review: ReleaseReview, stage: str) -> str:
    return {
        Stage.PRODUCTION: ReleaseReview.Status.QC,
        Stage.QC: ReleaseReview.Status.QA,
        Stage.QA: ReleaseReview.Status.STAMP,
        Stage.STAMP: ReleaseReview.Status.QP,
        Stage.QP: ReleaseReview.Status.RELEASED,
        Stage.MARKET: ReleaseReview.Status.RELEASED,
    }[stage]


def review_start(*, batch: Batch, user: User) -> ReleaseReview:
    """Open the release review of a batch in quarantine with the checklist versions in force now
    (R-REL-2). The batch goes to "under release review" and its data can no longer be changed."""
    require_permission(user, "release.review_production")
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if refusal := cannot_start_review(batch, user):
            if batch.status != Batch.Status.QUARANTINE:
                move(batch, Batch.Status.UNDER_REVIEW)
            raise WorkflowError(refusal)
        templates = {
            stage: ChecklistTemplate.objects.current(stage) for stage in (Stage.PRODUCTION, Stage.QC, Stage.QA)
        }
        if None in templates.values():
            raise WorkflowError(_("The release checklists are missing; ask a system administrator."))
        product = batch.product
        two_stage = product.needs_two_stage_release
        market_template = ChecklistTemplate.objects.current(Stage.MARKET) if two_stage else None
        if two_stage and market_template is None:
            raise WorkflowError(_("The release checklists are missing; ask a system administrator."))
        review = ReleaseReview(
            batch=batch,
            production_template=templates[Stage.PRODUCTION],
            qc_template=templates[Stage.QC],
            qa_template=templates[Stage.QA],
            market_template=market_template,
            two_stage=two_stage,
            started_by=user,
            started_at=timezone.now(),
            last_changed_by=user,
        )
        review.save_audited(user=user, reason="review started")
        move(batch, Batch.Status.UNDER_REVIEW)
        save_step(batch, user, "review started")
    return review


def _validated_answers(
    template: ChecklistTemplate, answers: dict[str, ItemAnswer], found: dict[str, system.Check]
) -> list[dict[str, Any]]:
    """The answers as signed, or InputError keyed ``item:<key>`` (R-REL-2, R-REL-3)."""
    errors: dict[str, list[str]] = {}
    out = []
    known = set(
        Deviation.objects.values_list("number", flat=True).filter(
            number__in=[a.deviation.strip() for a in answers.values() if a.deviation.strip()]
        )
    )
    for item in template.items.order_by("position"):
        given = answers.get(item.key) or ItemAnswer()
        key = f"item:{item.key}"
        check = found.get(item.system_check) if item.system_check else None
        answer = given.answer
        if answer not in Answer.values:
            errors[key] = [_("Answer %(key)s.") % {"key": item.key}]
            continue
        if answer == Answer.NOT_APPLICABLE and not given.comment.strip():
            errors[key] = [_("%(key)s: give the reason why it does not apply.") % {"key": item.key}]
            continue
        against = check is not None and (
            (check.status == system.PROBLEM and answer == Answer.CONFORMS)
            or (check.status == system.OK and answer == Answer.DOES_NOT_CONFORM)
        )
        if against and not given.justification.strip():
            errors[key] = [
                _("%(key)s: your answer goes against what the system found (%(finding)s); justify it.")
                % {"key": item.key, "finding": check.message}
            ]
            continue
        if given.deviation.strip() and given.deviation.strip() not in known:
            errors[key] = [
                _("%(key)s: no deviation numbered %(number)s.") % {"key": item.key, "number": given.deviation}
            ]
            continue
        out.append(
            {
                "key": item.key,
                "answer": answer,
                "comment": given.comment.strip(),
                "justification": given.justification.strip(),
                "deviation": given.deviation.strip(),
                "system": check.as_dict() if check is not None else None,
            }
        )
    if errors:
        raise InputError(errors)
    return out


def _sign_checklist(
    stage: str,
    meaning: str,
    *,
    batch: Batch,
    user: User,
    password: str,
    answers: dict[str, ItemAnswer],
    request: HttpRequest | None,
    qa: dict[str, Any] | None = None,
) -> ReleaseReview:
    require_permission(user, STAGE_PERMISSIONS[stage])
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        review = _locked(batch)
        _refuse(review, user, stage)
        template = review.template_for(stage)
        ev = system.evidence_for(review.batch)
        found = system.checks(ev)
        signed = _validated_answers(template, answers, found)
        step = ReviewStep(
            review=review, stage=stage, template=template, answers=signed, signed_by=user, signed_at=timezone.now()
        )
        target = _next_status(review, stage)
        if qa is not None:
            target = _qa_conclusions(step, review, ev, qa)
        step.save_audited(user=user, reason=STAGE_REASONS[stage])
        move(review, target)
        save_step(review, user, STAGE_REASONS[stage])
        sign(credential=credential, record=step, meaning=meaning, comment=(qa or {}).get("comment", ""))
    return review


def _qa_conclusions(step: ReviewStep, review: ReleaseReview, ev: system.BatchEvidence, qa: dict[str, Any]) -> str:
    """QA's two conclusions and the overall one (ZL-086 4.3.3; EV-1/EV-2). A missing or incomplete
    record is 不合格, never pending; conforming only if both are, and only without blockers."""
    errors: dict[str, list[str]] = {}
    production, testing = qa.get("production_verdict"), qa.get("testing_verdict")
    for name, value in (("production_verdict", production), ("testing_verdict", testing)):
        if value not in Verdict.values:
            errors[name] = [_("Choose 合格 (pass) or 不合格 (fail).")]
    if not qa.get("audit_trail_reviewed"):
        errors["audit_trail_reviewed"] = [_("Confirm that you read the batch's critical-data changes (R-AT-6).")]
    if errors:
        raise InputError(errors)
    steps = [*active_steps(review), step]
    findings = system.step_findings(steps)
    closed = {d.number.upper() for d in ev.deviations if not d.is_open}
    uncovered = {s.stage for s, a in findings if (a.get("deviation") or "").strip().upper() not in closed}
    if production == Verdict.PASS and (
        uncovered & {Stage.PRODUCTION, Stage.QA} or ev.open_deviations or ev.open_change_controls
    ):
        errors["production_verdict"] = [
            _(
                "Production cannot pass: an item does not conform without a closed deviation, or a deviation or change control is open."
            )
        ]
    if testing == Verdict.PASS and (Stage.QC in uncovered or ev.qc.status != "passed"):
        errors["testing_verdict"] = [
            _(
                'Testing cannot pass: QC\'s summary is "%(status)s" (a missing or incomplete record is 不合格), or a QC item does not conform.'
            )
            % {"status": ev.qc.status}
        ]
    if errors:
        raise InputError(errors)
    step.production_verdict, step.testing_verdict = production, testing
    step.overall_verdict = Verdict.PASS if production == testing == Verdict.PASS else Verdict.FAIL
    step.lot_release_number = (qa.get("lot_release_number") or "").strip()
    step.audit_trail_reviewed = True
    if step.overall_verdict == Verdict.PASS:
        found = system.blockers(ev, review, steps)
        if found:
            raise InputError({"": [_("A conforming conclusion is blocked:")] + found})
        return ReleaseReview.Status.STAMP
    # Nonconforming: no stamp; the QP signs the nonconforming-product report (ZL-086 4.4.5).
    return ReleaseReview.Status.QP


@signs(Signature.Meaning.REVIEWED)
def review_production(
    *, batch: Batch, user: User, password: str, answers: dict[str, ItemAnswer], request: HttpRequest | None = None
) -> ReleaseReview:
    """The production reviewer answers P-4.2.1…14 and signs (ZL-086 4.2). Records: a ReviewStep with
    the answers and the system's findings, its Signature, the review's history row."""
    return _sign_checklist(
        Stage.PRODUCTION,
        review_production.meaning,
        batch=batch,
        user=user,
        password=password,
        answers=answers,
        request=request,
    )


@signs(Signature.Meaning.REVIEWED)
def review_qc(
    *, batch: Batch, user: User, password: str, answers: dict[str, ItemAnswer], request: HttpRequest | None = None
) -> ReleaseReview:
    """The QC reviewer answers QC-4.3.1.1…4.3.2.8 (pre-filled from qc_records) and signs (ZL-086 4.3)."""
    return _sign_checklist(
        Stage.QC, review_qc.meaning, batch=batch, user=user, password=password, answers=answers, request=request
    )


@signs(Signature.Meaning.VERIFIED)
def review_qa(
    *,
    batch: Batch,
    user: User,
    password: str,
    answers: dict[str, ItemAnswer],
    production_verdict: str,
    testing_verdict: str,
    audit_trail_reviewed: bool,
    lot_release_number: str = "",
    comment: str = "",
    request: HttpRequest | None = None,
) -> ReleaseReview:
    """QA re-reviews (4.1.1 a–f, GMP 第二百三十条(一)1–6, the audit trail), records production and
    testing 合格/不合格 and the overall conclusion, and signs. Conforming → the stamp; nonconforming
    → the QP, for rejection. A conforming conclusion is refused while blockers remain (R-REL-4)."""
    return _sign_checklist(
        Stage.QA,
        review_qa.meaning,
        batch=batch,
        user=user,
        password=password,
        answers=answers,
        request=request,
        qa={
            "production_verdict": production_verdict,
            "testing_verdict": testing_verdict,
            "audit_trail_reviewed": audit_trail_reviewed,
            "lot_release_number": lot_release_number,
            "comment": comment,
        },
    )


@signs(Signature.Meaning.STAMPED)
def review_stamp(*, batch: Batch, user: User, password: str, request: HttpRequest | None = None) -> ReleaseReview:
    """QA applies the release stamp "药品经质量受权人批准准予放行" (ZL-086 4.4.1) — its own signed act,
    by a QA person who signed no other stage. Only after a conforming evaluation."""
    require_permission(user, STAGE_PERMISSIONS[Stage.STAMP])
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        review = _locked(batch)
        _refuse(review, user, Stage.STAMP)
        step = ReviewStep(
            review=review, stage=Stage.STAMP, statement=STAMP_WORDING, signed_by=user, signed_at=timezone.now()
        )
        step.save_audited(user=user, reason=STAGE_REASONS[Stage.STAMP])
        move(review, ReleaseReview.Status.QP)
        save_step(review, user, STAGE_REASONS[Stage.STAMP])
        sign(credential=credential, record=step, meaning=review_stamp.meaning, comment=STAMP_WORDING)
    return review


def _decide(
    review: ReleaseReview,
    user: User,
    stage: str,
    decision: str,
    text: str,
    target: str,
    batch_target: str | None,
    *,
    template: ChecklistTemplate | None = None,
    answers: list[dict[str, Any]] | None = None,
) -> ReviewStep:
    step = ReviewStep(
        review=review,
        stage=stage,
        template=template,
        answers=answers or [],
        decision=decision,
        decision_text=text,
        statement=QP_STATEMENT,
        signed_by=user,
        signed_at=timezone.now(),
    )
    reason = {
        Decision.RELEASE: gettext_noop("released by the qualified person"),
        Decision.REJECT: gettext_noop("rejected by the qualified person"),
    }.get(decision, text)
    if decision == Decision.RELEASE and target == ReleaseReview.Status.MARKET:
        reason = gettext_noop("factory released by the qualified person")
    step.save_audited(user=user, reason=reason)
    move(review, target)
    if target in (ReleaseReview.Status.RELEASED, ReleaseReview.Status.REJECTED):
        review.decision = decision
        review.decided_by = user
        review.decided_at = step.signed_at
    save_step(review, user, reason)
    if batch_target is not None:
        batch = Batch.objects.select_for_update().get(pk=review.batch_id)
        move(batch, batch_target)
        save_step(batch, user, reason)
    return step


def _qa_step(steps: list[ReviewStep]) -> ReviewStep | None:
    return next((s for s in reversed(steps) if s.stage == Stage.QA), None)


@signs(Signature.Meaning.RELEASED)
def review_release(
    *, batch: Batch, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> ReleaseReview:
    """The designated QP releases the batch (ZL-086 4.4.1–4.4.3; GMP 第二百三十条(三)), signing for
    the truthfulness and completeness of the form. Preconditions: a conforming QA evaluation, the
    stamp, no blockers, a valid designation for the product. For a two-stage product this is the
    factory release; the MAH's QP then releases to the market (R-REL-7). Issues the certificate
    after commit. Two QPs at once: the row lock lets one win; the other is told who decided."""
    return _release(
        Stage.QP, review_release.meaning, batch=batch, user=user, password=password, comment=comment, request=request
    )


@signs(Signature.Meaning.RELEASED)
def review_market_release(
    *,
    batch: Batch,
    user: User,
    password: str,
    answers: dict[str, ItemAnswer] | None = None,
    comment: str = "",
    request: HttpRequest | None = None,
) -> ReleaseReview:
    """The MAH's designated QP releases a factory-released batch to the market after reviewing the
    factory release (药品管理法 第三十三条, R-REL-7), answering the market-release checklist (B.1.7:
    MKT-1 factory release documents and results, MKT-2 quality agreement, MKT-3 changes approved,
    MKT-4 deviations assessed) where the review has one; a "does not conform" not covered by a
    closed deviation blocks the release (the QP can still reject)."""
    return _release(
        Stage.MARKET,
        review_market_release.meaning,
        batch=batch,
        user=user,
        password=password,
        comment=comment,
        request=request,
        answers=answers,
    )


def _release(stage, meaning, *, batch, user, password, comment, request, answers=None) -> ReleaseReview:
    require_permission(user, STAGE_PERMISSIONS[stage])
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        review = _locked(batch)
        _refuse(review, user, stage)
        steps = active_steps(review)
        qa = _qa_step(steps)
        if qa is None or qa.overall_verdict != Verdict.PASS or not any(s.stage == Stage.STAMP for s in steps):
            raise WorkflowError(_("Only a batch QA evaluated as conforming, with the release stamp, can be released."))
        ev = system.evidence_for(review.batch)
        template = review.template_for(stage) if stage == Stage.MARKET else None
        signed: list[dict[str, Any]] = []
        if template is not None:
            signed = _validated_answers(template, answers or {}, system.checks(ev))
            # The market answers count as the QA's do: a "does not conform" needs a closed deviation.
            steps = [*steps, ReviewStep(review=review, stage=stage, template=template, answers=signed)]
        found = system.blockers(ev, review, steps)
        if found:
            raise InputError({"": [_("The release is blocked:")] + found})
        if stage == Stage.QP and review.two_stage:
            target, batch_target = ReleaseReview.Status.MARKET, Batch.Status.FACTORY_RELEASED
        else:
            target, batch_target = ReleaseReview.Status.RELEASED, Batch.Status.RELEASED
        step = _decide(
            review,
            user,
            stage,
            Decision.RELEASE,
            comment.strip(),
            target,
            batch_target,
            template=template,
            answers=signed,
        )
        sign(credential=credential, record=step, meaning=meaning, comment=comment)
        from release.pdf import issue_certificate

        issue_after_commit(issue_certificate, step_pk=step.pk, user_pk=user.pk)
    return review


@signs(Signature.Meaning.REJECTED)
def review_reject(
    *, batch: Batch, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> ReleaseReview:
    """The designated QP rejects the batch (ZL-086 4.4.5): the batch is rejected for ever and the
    nonconforming-product report (不合格品报告单), signed by the QP, is issued after commit. Never
    blocked: a batch with open blockers can always be rejected."""
    require_permission(user, STAGE_PERMISSIONS[Stage.QP])
    reason = require_reason(
        reason, _("Give the reason for the rejection: it is printed on the nonconforming-product report.")
    )
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        review = _locked(batch)
        stage = Stage.MARKET if review.status == ReleaseReview.Status.MARKET else Stage.QP
        _refuse(review, user, stage)
        step = _decide(
            review, user, stage, Decision.REJECT, reason, ReleaseReview.Status.REJECTED, Batch.Status.REJECTED
        )
        sign(credential=credential, record=step, meaning=review_reject.meaning, comment=reason)
        from release.pdf import issue_nonconforming_report

        issue_after_commit(issue_nonconforming_report, step_pk=step.pk, user_pk=user.pk)
    return review


@signs(Signature.Meaning.REVIEWED)
def review_decide_other(
    *, batch: Batch, user: User, password: str, text: str, request: HttpRequest | None = None
) -> ReleaseReview:
    """The QP decides "other" (GMP 第二百三十条(二)) with a text saying what must happen: the review
    returns to QA's evaluation (QA's step and the stamp are withdrawn)."""
    require_permission(user, STAGE_PERMISSIONS[Stage.QP])
    text = (text or "").strip()
    if not text:
        raise InputError({"text": [_("Say what must happen before the batch can be decided.")]})
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        review = _locked(batch)
        _refuse(review, user, Stage.QP)
        _withdraw(review, user, Stage.QA, text)
        step = _decide(review, user, Stage.QP, Decision.OTHER, text, ReleaseReview.Status.QA, None)
        sign(credential=credential, record=step, meaning=review_decide_other.meaning, comment=text)
    return review


def _withdraw(review: ReleaseReview, user: User, from_stage: str, reason: str) -> None:
    later = ORDER[ORDER.index(from_stage) :]
    for step in review.steps.active().filter(stage__in=later).select_for_update():
        step.withdrawn_at = timezone.now()
        step.withdrawn_by = user
        step.withdraw_reason = reason
        step.save_audited(user=user, reason=reason)


def review_send_back(*, batch: Batch, user: User, reason: str) -> ReleaseReview:
    """Send the review back to the stage before (with a reason): that stage's signed step and any
    later one are withdrawn (kept, marked) and it is signed again. By the person who would sign the
    current stage."""
    with transaction.atomic():
        review = _locked(batch)
        stage = review.waiting_for
        if stage is not None:
            require_permission(user, STAGE_PERMISSIONS[stage])
        reason = require_reason(reason, _("Give the reason for sending the review back."))
        if refusal := cannot_send_back(review, user):
            raise WorkflowError(refusal)
        target = PREVIOUS[review.status]
        _withdraw(review, user, ReleaseReview.STAGE_OF[target], reason)
        move(review, target)
        save_step(review, user, reason)
    return review


# --- corrections of a decided review (GMP 第一百六十一条; R-REL-6) --------------------------------


def decision_step(review: ReleaseReview) -> ReviewStep | None:
    """The step whose document a correction reissues: the final decision (release or rejection)."""
    if review.status not in (ReleaseReview.Status.RELEASED, ReleaseReview.Status.REJECTED):
        return None
    return (
        review.steps.active()
        .filter(decision__in=[Decision.RELEASE, Decision.REJECT])
        .order_by("-signed_at", "-pk")
        .first()
    )


def cannot_request_correction(
    review: ReleaseReview, user: User, corrections: list[ReviewCorrection] | None = None
) -> str | None:
    """Why QA ``user`` may not prepare a correction of this review's decision document now, or None.
    ``corrections``: every correction of the review, as a page has just read them (the service,
    on its locked row, passes none and they are read)."""
    if not user.has_perm("release.review_qa"):
        return _("You do not have permission to do this.")
    if decision_step(review) is None:
        return _("Only a decided review (released or rejected) is corrected; before that, send it back.")
    if corrections is None:
        pending = review.corrections.filter(status=ReviewCorrection.Status.REQUESTED).select_related("requested_by")
        first = pending.first()
    else:
        first = next((c for c in corrections if c.status == ReviewCorrection.Status.REQUESTED), None)
    if first:
        return _("%(name)s's correction of %(key)s is waiting for the qualified person; one at a time.") % {
            "name": first.requested_by.printed_name,
            "key": first.item_key,
        }
    return None


def cannot_decide_correction(correction: ReviewCorrection, user: User) -> str | None:
    """Why ``user`` may not approve or refuse ``correction`` now: only a QP designated for the
    product (for the stage decided) who did not prepare it (R-REL-5, R-SEQ-2)."""
    if not user.has_perm("release.decide_release"):
        return _("You do not have permission to do this.")
    if correction.status != ReviewCorrection.Status.REQUESTED:
        return _("This correction was already %(status)s.") % {"status": correction.get_status_display()}
    if correction.requested_by_id == user.pk:
        return _("You prepared this correction; the qualified person approves it.")
    batch = correction.review.batch
    if designation_for(user, batch, correction.step.stage) is None:
        return _(
            "You are not designated as qualified person for %(product)s (for this stage, today); an administrator records designations from the company's authorisation letter."
        ) % {"product": batch.product}
    return None


def correctable_keys(step: ReviewStep) -> list[str]:
    """The entries a correction may name: every checklist item of the review's signed steps, and the
    decision text itself."""
    keys: list[str] = []
    for s in step.review.steps.active().exclude(template=None).order_by("signed_at", "pk"):
        keys.extend(a["key"] for a in s.answers)
    return [*keys, DECISION_TEXT_KEY]


DECISION_TEXT_KEY = "DECISION"


@signs(Signature.Meaning.AUTHORED)
def review_correction_request(
    *,
    batch: Batch,
    user: User,
    password: str,
    item_key: str,
    correction: str,
    reason: str,
    request: HttpRequest | None = None,
) -> ReviewCorrection:
    """QA prepares a correction of a decided review's document (which entry, what it should read,
    why) and signs it "Prepared". Nothing is reissued until the designated QP approves."""
    require_permission(user, "release.review_qa")
    errors: dict[str, list[str]] = {}
    correction = (correction or "").strip()
    if not correction:
        errors["correction"] = [_("Write what the entry should read.")]
    try:
        reason = require_reason(reason, _("Give the reason for the correction: it is printed on the new version."))
    except InputError as exc:
        errors.update(exc.errors)
    if errors:
        raise InputError(errors)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        review = _locked(batch)
        if refusal := cannot_request_correction(review, user):
            raise WorkflowError(refusal)
        step = decision_step(review)
        key = (item_key or "").strip().upper()
        if key not in {k.upper() for k in correctable_keys(step)}:
            raise InputError({"item_key": [_("No entry %(key)s in this review.") % {"key": item_key}]})
        row = ReviewCorrection(
            review=review,
            step=step,
            item_key=key,
            correction=correction,
            reason=reason,
            requested_by=user,
            requested_at=timezone.now(),
            last_changed_by=user,
        )
        row.save_audited(user=user, reason=reason)
        sign(credential=credential, record=row, meaning=review_correction_request.meaning, comment=reason)
    return row


def _locked_correction(correction: ReviewCorrection) -> ReviewCorrection:
    row = ReviewCorrection.objects.select_for_update().get(pk=correction.pk)
    row.review = ReleaseReview.objects.get(pk=row.review_id)
    row.review.batch = Batch.objects.select_related("product").get(pk=row.review.batch_id)
    row.step = ReviewStep.objects.get(pk=row.step_id)
    return row


@signs(Signature.Meaning.APPROVED)
def review_correction_approve(
    *,
    correction: ReviewCorrection,
    user: User,
    password: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> ReviewCorrection:
    """The designated QP approves QA's correction and signs "Approved": the decision document is
    reissued after commit as the next version, superseding the old one, with the correction printed
    (the signed answers and decision never change; the batch's status does not move)."""
    require_permission(user, "release.decide_release")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        row = _locked_correction(correction)
        if refusal := cannot_decide_correction(row, user):
            raise WorkflowError(refusal)
        move(row, ReviewCorrection.Status.APPROVED)
        row.decided_by, row.decided_at = user, timezone.now()
        row.decision_comment = (comment or "").strip()
        save_step(row, user, gettext_noop("correction approved; document reissued"))
        sign(credential=credential, record=row, meaning=review_correction_approve.meaning, comment=comment)
        from release.pdf import reissue_decision_document

        issue_after_commit(reissue_decision_document, step_pk=row.step_id, user_pk=user.pk)
    return row


@signs(Signature.Meaning.REJECTED)
def review_correction_refuse(
    *,
    correction: ReviewCorrection,
    user: User,
    password: str,
    reason: str,
    request: HttpRequest | None = None,
) -> ReviewCorrection:
    """The designated QP refuses QA's correction with a reason (signed "Rejected"); nothing is reissued."""
    require_permission(user, "release.decide_release")
    reason = require_reason(reason, _("Give the reason for refusing the correction."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        row = _locked_correction(correction)
        if refusal := cannot_decide_correction(row, user):
            raise WorkflowError(refusal)
        move(row, ReviewCorrection.Status.REFUSED)
        row.decided_by, row.decided_at = user, timezone.now()
        row.decision_comment = reason
        save_step(row, user, reason)
        sign(credential=credential, record=row, meaning=review_correction_refuse.meaning, comment=reason)
    return row
