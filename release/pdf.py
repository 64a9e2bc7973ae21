"""Release documents: the 药品出厂、上市放行审核单 (ZL-086) certificate and the 不合格品报告单
(nonconforming-product report), frozen data for core.pdf.issue_document (R-REL-6, B.1.8, B.1.9).

Issued after the QP's decision has committed (``services.reviews`` schedules them), attached to the
QP's signed ``ReviewStep``, stored with their SHA-256 and a verification code by core; never
re-rendered in place. Every signature of the review's active steps is manifested.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Document, Signature, User
from release import checks as system
from release.models import Answer, Batch, Decision, ReleaseReview, ReviewCorrection, ReviewStep, Stage, Verdict

logger = logging.getLogger(__name__)

CERTIFICATE = "release_certificate"
NONCONFORMING = "nonconforming_report"
FORM_CODE = "ZL-086"


def _both(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


def _label(choices_cls, value: str) -> Any:
    return choices_cls(value).label if value else ""


def _steps(review: ReleaseReview) -> list[ReviewStep]:
    return list(
        review.steps.active()
        .select_related("signed_by", "template")
        .prefetch_related("template__items")
        .order_by("signed_at", "pk")
    )


def _approved_corrections(step: ReviewStep) -> list[ReviewCorrection]:
    return list(
        step.corrections.filter(status=ReviewCorrection.Status.APPROVED)
        .select_related("requested_by", "decided_by")
        .order_by("decided_at", "pk")
    )


def _signatures(steps: list[ReviewStep], corrections: list[ReviewCorrection] = ()) -> list[Signature]:
    out: list[Signature] = []
    for record in [*steps, *corrections]:
        out.extend(Signature.objects.for_record(record).select_related("signer"))
    return out


def _stage_scope(review: ReleaseReview, step: ReviewStep) -> Any:
    if not review.two_stage:
        return _("Factory and market release (出厂及上市放行)")
    return _("Market release (上市放行)") if step.stage == Stage.MARKET else _("Factory release (出厂放行)")


def review_context(step: ReviewStep) -> dict[str, Any]:
    """Plain values only: what the form states, as signed (B.1.8)."""
    review = step.review
    batch: Batch = review.batch
    product = batch.product
    steps = _steps(review)
    ev = system.evidence_for(batch)
    sections = []
    for s in steps:
        if s.template is None:
            continue
        items = {i.key: i for i in s.template.items.all()}
        sections.append(
            {
                "stage": Stage(s.stage).label,
                "template": f"{s.template.title_zh} / {s.template.title_en} v{s.template.version}",
                "signed_by": s.signed_by.printed_name,
                "signed_at": s.signed_at,
                "answers": [
                    {
                        "key": a["key"],
                        "text": _both(items[a["key"]].text_zh, items[a["key"]].text_en)
                        if a["key"] in items
                        else a["key"],
                        "answer": Answer(a["answer"]).label,
                        "fails": a["answer"] == Answer.DOES_NOT_CONFORM,
                        "remark": " · ".join(
                            x for x in (a.get("comment"), a.get("justification"), a.get("deviation")) if x
                        ),
                        "system": (a.get("system") or {}).get("message", ""),
                    }
                    for a in s.answers
                ],
            }
        )
    qa = next((s for s in reversed(steps) if s.stage == Stage.QA), None)
    stamp = next((s for s in reversed(steps) if s.stage == Stage.STAMP), None)
    factory = next((s for s in steps if s.stage == Stage.QP), None)
    return {
        "form_code": FORM_CODE,
        "scope": _stage_scope(review, step),
        "product": {
            "name": product.name,
            "generic_name": product.generic_name,
            "dosage_form": dict(product._meta.get_field("dosage_form").flatchoices).get(product.dosage_form, ""),
            "strength": product.strength,
            "pack_size": product.pack_size,
            "approval_number": product.approval_number,
            "mah": product.mah,
            "manufacturer": product.manufacturer,
        },
        "batch": {
            "number": batch.batch_number,
            "size": f"{batch.batch_size.normalize():f}",
            "unit": dict(batch._meta.get_field("batch_size_unit").flatchoices).get(batch.batch_size_unit, ""),
            "manufacture_date": batch.manufacture_date,
            "expiry_date": batch.expiry_date,
            "site": batch.site,
        },
        "qc_reports": [e.label for e in ev.qc.records],
        # P-4.2.8 (R-REL-8): each step's balance as the system computed it, with its limits.
        "material_balances": [
            {
                "step": b.step,
                "theoretical": f"{b.theoretical.normalize():f}",
                "actual": f"{b.actual.normalize():f}",
                "samples": f"{b.samples.normalize():f}",
                "waste": f"{b.waste.normalize():f}",
                "unit": b.get_unit_display(),
                "percent": f"{b.percent:f}",
                "limits": f"{b.lower_limit:f}–{b.upper_limit:f}",
                "formula_version": b.formula_version,
                "within_limits": b.within_limits,
            }
            for b in ev.balances
        ],
        "qc_findings": [{"message": f.message, "ok": f.ok} for f in ev.qc.findings],
        "events": [
            {
                "number": e.number,
                "kind": e._meta.verbose_name,
                "title": e.title,
                "classification": e.get_classification_display(),
                "status": e.Status(e.status).label,
                "conclusion": e.conclusion,
            }
            for e in [*ev.deviations, *ev.change_controls]
        ],
        "sections": sections,
        "audit_trail": {
            "changes": len(ev.critical_changes),
            "reviewed_by": qa.signed_by.printed_name if qa and qa.audit_trail_reviewed else "",
        },
        "qa": {
            "production": _label(Verdict, qa.production_verdict) if qa else "",
            "testing": _label(Verdict, qa.testing_verdict) if qa else "",
            "overall": _label(Verdict, qa.overall_verdict) if qa else "",
            "conforming": bool(qa and qa.overall_verdict == Verdict.PASS),
            "lot_release_number": qa.lot_release_number if qa else "",
            "signed_by": qa.signed_by.printed_name if qa else "",
            "signed_at": qa.signed_at if qa else None,
        },
        "stamp": {"wording": stamp.statement, "by": stamp.signed_by.printed_name, "at": stamp.signed_at}
        if stamp
        else None,
        "factory_release": {"by": factory.signed_by.printed_name, "at": factory.signed_at}
        if factory and step.stage == Stage.MARKET
        else None,
        "corrections": [
            {
                "key": c.item_key,
                "correction": c.correction,
                "reason": c.reason,
                "requested_by": c.requested_by.printed_name,
                "requested_at": c.requested_at,
                "approved_by": c.decided_by.printed_name,
                "approved_at": c.decided_at,
            }
            for c in _approved_corrections(step)
        ],
        "decision": {
            "decision": Decision(step.decision).label,
            "text": step.decision_text,
            "statement": step.statement,
            "by": step.signed_by.printed_name,
            "at": step.signed_at,
            "rejected": step.decision == Decision.REJECT,
        },
    }


def _issue(step: ReviewStep, user: User, kind: str, template: str, title) -> Document:
    from core.pdf import issue_document

    steps = _steps(step.review)
    return issue_document(
        record=step,
        kind=kind,
        template_name=template,
        context=review_context(step),
        user=user,
        number=f"{'RC' if kind == CERTIFICATE else 'NC'}-{step.review.batch.batch_number}-{step.review_id}",
        title=title,
        signatures=_signatures(steps, _approved_corrections(step)),
    )


def _load(step_pk: int) -> ReviewStep:
    return ReviewStep.objects.select_related("review", "review__batch", "review__batch__product", "signed_by").get(
        pk=step_pk
    )


def issue_certificate(*, step_pk: int, user_pk: int) -> Document:
    """The 药品出厂、上市放行审核单 of a released (or factory-released) batch."""
    return _issue(
        _load(step_pk),
        User.objects.get(pk=user_pk),
        CERTIFICATE,
        "pdf/release_certificate.html",
        _("Batch release certificate (药品出厂、上市放行审核单)"),
    )


def issue_nonconforming_report(*, step_pk: int, user_pk: int) -> Document:
    """The 不合格品报告单 of a rejected batch, signed by the QP (ZL-086 4.4.5)."""
    return _issue(
        _load(step_pk),
        User.objects.get(pk=user_pk),
        NONCONFORMING,
        "pdf/nonconforming_report.html",
        _("Nonconforming product report (不合格品报告单)"),
    )


def reissue_decision_document(*, step_pk: int, user_pk: int) -> Document:
    """After an approved correction: the decision step's document as the next version, superseding
    the current one (core.pdf versions), with every approved correction printed and signed."""
    step = _load(step_pk)
    issue = issue_certificate if step.decision == Decision.RELEASE else issue_nonconforming_report
    return issue(step_pk=step_pk, user_pk=user_pk)


def documents_of(review: ReleaseReview, steps: list[ReviewStep] | None = None) -> list[Document]:
    """The decision documents of the review, in order of issue. ``steps``: every step of the
    review, already read (no query for them)."""
    if steps is None:
        step_ids = list(
            review.steps.filter(decision__in=[Decision.RELEASE, Decision.REJECT]).values_list("pk", flat=True)
        )
    else:
        step_ids = [s.pk for s in steps if s.decision in (Decision.RELEASE, Decision.REJECT)]
    if not step_ids:
        return []
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(ReviewStep)
    return list(Document.objects.filter(content_type=ct, object_id__in=step_ids).order_by("issued_at", "pk"))


def ensure_documents(
    review: ReleaseReview,
    *,
    steps: list[ReviewStep] | None = None,
    corrections: list[ReviewCorrection] | None = None,
) -> list[Document]:
    """Issue any decision document that the after-commit issue did not (a failure is logged).
    ``steps`` / ``corrections``: every step and correction of the review, already read by the
    page (one query in all then, unless a document is issued)."""
    documents = documents_of(review, steps)
    latest: dict[tuple[int, str], Document] = {}
    for d in documents:
        latest[(d.object_id, d.kind)] = d  # ordered by issue: the last is the current version
    if corrections is None:
        corrections = list(review.corrections.filter(status=ReviewCorrection.Status.APPROVED))
    approved = sorted(
        (c for c in corrections if c.status == ReviewCorrection.Status.APPROVED), key=lambda c: c.decided_at
    )
    corrected = {c.step_id: c.decided_at for c in approved}
    if steps is None:
        decision_steps = list(review.steps.active().filter(decision__in=[Decision.RELEASE, Decision.REJECT]))
    else:
        decision_steps = [
            s for s in steps if s.withdrawn_at is None and s.decision in (Decision.RELEASE, Decision.REJECT)
        ]
    issued = False
    for step in decision_steps:
        kind = CERTIFICATE if step.decision == Decision.RELEASE else NONCONFORMING
        current = latest.get((step.pk, kind))
        # Issued, and (if a correction was approved) issued after the last approval.
        if current is not None and (step.pk not in corrected or current.issued_at >= corrected[step.pk]):
            continue
        issued = True
        try:
            issue = issue_certificate if kind == CERTIFICATE else issue_nonconforming_report
            issue(step_pk=step.pk, user_pk=step.signed_by_id)
        except Exception:  # logged: the decision stands; the page tries again
            logger.exception("Could not issue %s for review step %s", kind, step.pk)
    return documents_of(review) if issued else documents


__all__ = [
    "issue_certificate",
    "issue_nonconforming_report",
    "reissue_decision_document",
    "ensure_documents",
    "documents_of",
    "timezone",
]
