"""The batch's release review page and its actions (one POST view per stage; R-REL-1…6).

Every action view: the role first (403), then the batch, then — for the QP — the designation as a
django-guardian object permission on the product (403), then the form and one service call.
"""

from __future__ import annotations

from html import escape
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import SignatureForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_by_record
from core.web import attach_rows, posted, show_refusal
from core.workflow import WorkflowError
from release import checks as system
from release import services
from release.forms import (
    ChecklistForm,
    CorrectionRefuseForm,
    CorrectionRequestForm,
    OtherDecisionForm,
    QAChecklistForm,
    RejectForm,
    SendBackForm,
)
from release.models import Answer, Batch, ChecklistTemplate, ReleaseReview, ReviewCorrection, Stage
from release.services.reviews import (
    QP_STATEMENT,
    STAGE_PERMISSIONS,
    STAMP_WORDING,
    correctable_keys,
    decision_step,
)

CHECKLIST_SERVICES = {
    Stage.PRODUCTION: services.review_production,
    Stage.QC: services.review_qc,
    Stage.QA: services.review_qa,
}


def _batch(request: HttpRequest, pk: int) -> Batch:
    return get_object_for_user(
        request, system.with_evidence_flags(Batch.objects.select_related("product")), pk, "release.view_batch"
    )


REVIEW_TEMPLATES = ("production_template", "qc_template", "qa_template", "market_template")


def _review(batch: Batch, *, templates: bool = True) -> ReleaseReview | None:
    """The batch's review with its people joined and its four checklist templates read by key in
    one more query: joined too, they made a 9-table join whose planning cost ~3–4 ms of every view
    of the page at scale 1.0, for 0.3 ms of execution (issue 12). ``templates=False``: the caller
    attaches them (the page takes those its steps were read with, and reads only the others)."""
    review = (
        ReleaseReview.objects.select_related("started_by", "decided_by")
        .annotate(has_corrections=Exists(ReviewCorrection.objects.filter(review_id=OuterRef("pk"))))
        .filter(batch=batch)
        .first()
    )
    if review is not None and templates:
        attach_rows(review, ChecklistTemplate, REVIEW_TEMPLATES)
    return review


def _checklist_form(stage: str, review: ReleaseReview, found: dict, data=None) -> ChecklistForm:
    cls = QAChecklistForm if stage == Stage.QA else ChecklistForm
    return cls(
        data, template=review.template_for(stage), found=found, meaning=CHECKLIST_SERVICES[stage].meaning, prefix=stage
    )


def _release_form(review: ReleaseReview | None, found: dict, data=None) -> SignatureForm:
    """The QP's release form; at the market stage of a review with the market checklist (B.1.7),
    the checklist with the password."""
    if review is not None and review.status == ReleaseReview.Status.MARKET and review.market_template_id:
        return ChecklistForm(
            data,
            template=review.market_template,
            found=found,
            meaning=services.review_market_release.meaning,
            prefix="release",
        )
    market = review is not None and review.status == ReleaseReview.Status.MARKET
    service = services.review_market_release if market else services.review_release
    return SignatureForm(data, meaning=service.meaning, prefix="release")


def _context(request: HttpRequest, batch: Batch, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    forms = forms or {}
    user = request.user
    review = _review(batch, templates=False)
    ev = system.evidence_for(batch)
    found = system.checks(ev)
    ctx: dict[str, Any] = {
        "batch": batch,
        "review": review,
        "evidence": ev,
        "found": found,
        "can_start": services.cannot_start_review(batch, user) is None,
        "stamp_wording": STAMP_WORDING,
        "qp_statement": QP_STATEMENT,
    }
    if review is None:
        ctx["blockers"] = system.blockers(ev, None, [])
        return ctx
    review.batch = batch
    batch.review = review  # the predicates read batch.review: no query for it
    # One query per kind (steps, their templates' items, their signatures), none per step: a review
    # sent back several times has many withdrawn steps (issue 12).
    steps = list(
        review.steps.select_related("signed_by", "withdrawn_by", "template")
        .prefetch_related("template__items")
        .order_by("signed_at", "pk")
    )
    # The review's checklists: those its steps were signed on are read already (issue 12: no
    # query once the three checklists of a single-stage review are signed).
    attach_rows(review, ChecklistTemplate, REVIEW_TEMPLATES, known=[s.template for s in steps])
    active = [s for s in steps if s.withdrawn_at is None]
    signed = signatures_by_record(steps, as_loaded=True)
    for step in steps:
        step.signature_rows = signed[step.pk]
        step.items = _answered_items(step)
        step.items_html = answers_html(step.items)
    ctx.update(steps=steps, blockers=system.blockers(ev, review, active))
    if review.decision:
        from release.pdf import ensure_documents

        # Issued after commit; a document that failed then is issued on the first visit.
        # Most decided reviews were never corrected: the review's query said whether to read any.
        corrections = (
            list(review.corrections.select_related("requested_by", "decided_by").order_by("requested_at", "pk"))
            if review.has_corrections
            else []
        )
        ctx["documents"] = ensure_documents(review, steps=steps, corrections=corrections)
        superseded = {d.supersedes_id for d in ctx["documents"] if d.supersedes_id}
        for document in ctx["documents"]:
            document.is_superseded = document.pk in superseded
        _correction_context(request, review, corrections, ctx, forms)
    stage = review.waiting_for
    refusal = services.cannot_sign_stage(review, user, stage, steps) if stage else None
    ctx["stage"] = stage
    ctx["can_act"] = stage is not None and refusal is None
    # People with the stage's role see why they may not sign it (another stage signed, no designation).
    ctx["refusal"] = refusal if stage and user.has_perm(STAGE_PERMISSIONS[stage]) else None
    if ctx["can_act"]:
        if stage in CHECKLIST_SERVICES:
            ctx["checklist_form"] = forms.get("checklist") or _checklist_form(stage, review, found)
        elif stage == Stage.STAMP:
            ctx["stamp_form"] = forms.get("stamp") or SignatureForm(
                meaning=services.review_stamp.meaning, prefix="stamp"
            )
        else:
            ctx["release_form"] = forms.get("release") or _release_form(review, found)
            ctx["reject_form"] = forms.get("reject") or RejectForm(
                meaning=services.review_reject.meaning, prefix="reject"
            )
            if stage == Stage.QP:
                ctx["other_form"] = forms.get("other") or OtherDecisionForm(
                    meaning=services.review_decide_other.meaning, prefix="other"
                )
        # cannot_send_back = the state's refusal or cannot_sign_stage, already None here (can_act).
        ctx["can_send_back"] = services.cannot_send_back_now(review) is None
        ctx["send_back_form"] = forms.get("send_back") or SendBackForm(prefix="back")
    for form in forms.values():
        # A refused form that is no longer offered (someone else acted first) says why.
        if form.is_bound and not any(ctx.get(k) is form for k in ctx):
            for error in form.non_field_errors():
                messages.error(request, error)
    return ctx


def _correction_context(
    request: HttpRequest, review: ReleaseReview, corrections: list[ReviewCorrection], ctx: dict[str, Any], forms: dict
) -> None:
    """Corrections of a decided review: the list with signatures, QA's form, the QP's forms."""
    user = request.user
    signed = signatures_by_record(corrections, as_loaded=True)
    for c in corrections:
        c.review = review
        c.signature_rows = signed[c.pk]
    ctx["corrections"] = corrections
    if services.cannot_request_correction(review, user, corrections) is None:
        ctx["correction_form"] = forms.get("correction") or CorrectionRequestForm(
            keys=correctable_keys(decision_step(review)),
            meaning=services.review_correction_request.meaning,
            prefix="correction",
        )
    pending = next((c for c in corrections if c.status == ReviewCorrection.Status.REQUESTED), None)
    if pending is not None:
        pending.step = decision_step(review)
        refusal = services.cannot_decide_correction(pending, user)
        if refusal is None:
            ctx["pending_correction"] = pending
            ctx["approve_correction_form"] = forms.get("approve_correction") or SignatureForm(
                meaning=services.review_correction_approve.meaning, prefix="approve"
            )
            ctx["refuse_correction_form"] = forms.get("refuse_correction") or CorrectionRefuseForm(
                meaning=services.review_correction_refuse.meaning, prefix="refuse"
            )
        elif user.has_perm("release.decide_release"):
            ctx["correction_refusal"] = refusal


def answers_html(items: list[dict[str, Any]]) -> SafeString:
    """The rows of a signed step's checklist answers, every value escaped (``html.escape``, as
    Django's ``escape``). Built here, not by a template loop: a released review shows ~50 answers,
    which took the template engine ~3 ms of every view of the page (issue 12)."""
    rows = []
    for a in items:
        item = a["item"]
        system = a.get("system")
        shown = f"{escape(str(a['system_label']))} · {escape(str(system.get('message', '')))}" if system else "—"
        note = escape(str(a.get("comment") or ""))
        if a.get("justification"):
            note += f"<br><em>{escape(str(a['justification']))}</em>"
        if a.get("deviation"):
            note += f"<br>{escape(str(a['deviation']))}"
        rows.append(
            f"<tr><td><strong>{escape(str(a['key']))}</strong> {escape(item.text) if item is not None else ''}</td>"
            f"<td>{escape(str(a['answer_label']))}</td><td>{shown}</td><td>{note}</td></tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308  every value above is escaped


def _answered_items(step) -> list[dict[str, Any]]:
    if step.template is None:
        return []
    items = {i.key: i for i in step.template.items.all()}
    return [
        {
            "item": items.get(a["key"]),
            "answer_label": Answer(a["answer"]).label,
            "system_label": system.STATUS_LABELS.get((a.get("system") or {}).get("status"), ""),
            **a,
        }
        for a in step.answers
    ]


def batch_review(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "release.view_releasereview")
    batch = _batch(request, pk)
    return render(request, "release/review_detail.html", _context(request, batch))


def _refused_page(request: HttpRequest, batch: Batch, **forms: Any) -> HttpResponse:
    return render(request, "release/review_detail.html", _context(request, batch, forms), status=400)


@require_POST
def batch_review_start(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "release.review_production")
    batch = _batch(request, pk)
    try:
        services.review_start(batch=batch, user=request.user)
    except WorkflowError as exc:
        messages.error(request, str(exc))
        return _refused_page(request, batch)
    messages.success(request, _("The release review of batch %(number)s has started.") % {"number": batch.batch_number})
    return redirect("release:batch_review", pk=batch.pk)


def _checklist_action(request: HttpRequest, pk: int, stage: str) -> HttpResponse:
    require_perm(request, STAGE_PERMISSIONS[stage])
    batch = _batch(request, pk)
    review = _review(batch)
    if review is None:
        messages.error(request, _("The release review of this batch has not been started."))
        return _refused_page(request, batch)
    review.batch = batch
    if refusal := services.cannot_sign_stage(review, request.user, stage):
        # Say why before judging a form this person is not offered (a skipped stage, R-SEQ-1).
        messages.error(request, refusal)
        return _refused_page(request, batch)
    form = _checklist_form(stage, review, system.checks(system.evidence_for(batch)), posted(request))
    if form.is_valid():
        kwargs: dict[str, Any] = dict(
            batch=batch,
            user=request.user,
            password=form.cleaned_data["password"],
            answers=form.answers(),
            request=request,
        )
        if stage == Stage.QA:
            kwargs.update(
                production_verdict=form.cleaned_data["production_verdict"],
                testing_verdict=form.cleaned_data["testing_verdict"],
                audit_trail_reviewed=form.cleaned_data["audit_trail_reviewed"],
                lot_release_number=form.cleaned_data["lot_release_number"],
                comment=form.cleaned_data["comment"],
            )
        try:
            CHECKLIST_SERVICES[stage](**kwargs)
        except WorkflowError as exc:
            show_refusal(form, exc, form.key_fields)
        else:
            messages.success(request, _("%(stage)s signed.") % {"stage": Stage(stage).label})
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, checklist=form)


@require_POST
def batch_review_production(request: HttpRequest, pk: int) -> HttpResponse:
    return _checklist_action(request, pk, Stage.PRODUCTION)


@require_POST
def batch_review_qc(request: HttpRequest, pk: int) -> HttpResponse:
    return _checklist_action(request, pk, Stage.QC)


@require_POST
def batch_review_qa(request: HttpRequest, pk: int) -> HttpResponse:
    return _checklist_action(request, pk, Stage.QA)


@require_POST
def batch_review_stamp(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, STAGE_PERMISSIONS[Stage.STAMP])
    batch = _batch(request, pk)
    form = SignatureForm(posted(request), meaning=services.review_stamp.meaning, prefix="stamp")
    if form.is_valid():
        try:
            services.review_stamp(
                batch=batch, user=request.user, password=form.cleaned_data["password"], request=request
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The release stamp was applied and signed."))
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, stamp=form)


def _qp_batch(request: HttpRequest, pk: int) -> Batch:
    """The QP's role, then the designation for this product (a guardian object permission): 403."""
    require_perm(request, "release.decide_release")
    batch = _batch(request, pk)
    if not request.user.has_perm("release.decide_batch", batch.product):
        raise PermissionDenied
    return batch


@require_POST
def batch_review_release(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _qp_batch(request, pk)
    review = _review(batch)
    market = review is not None and review.status == ReleaseReview.Status.MARKET
    service = services.review_market_release if market else services.review_release
    form = _release_form(review, system.checks(system.evidence_for(batch)), posted(request))
    if form.is_valid():
        kwargs: dict[str, Any] = {}
        if isinstance(form, ChecklistForm):
            kwargs["answers"] = form.answers()
        try:
            service(
                batch=batch,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
                **kwargs,
            )
        except WorkflowError as exc:
            show_refusal(form, exc, getattr(form, "key_fields", None))
        else:
            messages.success(request, _("Batch %(number)s was released and signed.") % {"number": batch.batch_number})
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, release=form)


@require_POST
def batch_review_reject(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _qp_batch(request, pk)
    form = RejectForm(posted(request), meaning=services.review_reject.meaning, prefix="reject")
    if form.is_valid():
        try:
            services.review_reject(
                batch=batch,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.warning(request, _("Batch %(number)s was rejected.") % {"number": batch.batch_number})
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, reject=form)


@require_POST
def batch_review_other(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _qp_batch(request, pk)
    form = OtherDecisionForm(posted(request), meaning=services.review_decide_other.meaning, prefix="other")
    if form.is_valid():
        try:
            services.review_decide_other(
                batch=batch,
                user=request.user,
                password=form.cleaned_data["password"],
                text=form.cleaned_data["text"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.info(request, _("The review went back to QA's evaluation."))
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, other=form)


@require_POST
def batch_review_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    if not any(request.user.has_perm(p) for p in set(STAGE_PERMISSIONS.values())):
        raise PermissionDenied
    batch = _batch(request, pk)
    form = SendBackForm(posted(request), prefix="back")
    if form.is_valid():
        try:
            services.review_send_back(batch=batch, user=request.user, reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.info(request, _("The review was sent back to the previous stage."))
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, send_back=form)


@require_POST
def batch_review_correction(request: HttpRequest, pk: int) -> HttpResponse:
    """QA prepares a correction of a decided review's document and signs it."""
    require_perm(request, "release.review_qa")
    batch = _batch(request, pk)
    review = _review(batch)
    step = decision_step(review) if review is not None else None
    form = CorrectionRequestForm(
        posted(request),
        keys=correctable_keys(step) if step is not None else [],
        meaning=services.review_correction_request.meaning,
        prefix="correction",
    )
    if step is None:
        messages.error(
            request, _("Only a decided review (released or rejected) is corrected; before that, send it back.")
        )
        return _refused_page(request, batch)
    if form.is_valid():
        try:
            services.review_correction_request(batch=batch, user=request.user, request=request, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The correction was signed; the qualified person approves it."))
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, correction=form)


def _correction(request: HttpRequest, pk: int, cid: int) -> tuple[Batch, ReviewCorrection]:
    batch = _qp_batch(request, pk)
    correction = ReviewCorrection.objects.filter(pk=cid, review__batch=batch).first()
    if correction is None:
        raise Http404
    return batch, correction


@require_POST
def batch_review_correction_approve(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    batch, correction = _correction(request, pk, cid)
    form = SignatureForm(posted(request), meaning=services.review_correction_approve.meaning, prefix="approve")
    if form.is_valid():
        try:
            services.review_correction_approve(
                correction=correction, user=request.user, request=request, **form.cleaned_data
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The correction was approved; the document was reissued as a new version."))
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, approve_correction=form)


@require_POST
def batch_review_correction_refuse(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    batch, correction = _correction(request, pk, cid)
    form = CorrectionRefuseForm(posted(request), meaning=services.review_correction_refuse.meaning, prefix="refuse")
    if form.is_valid():
        try:
            services.review_correction_refuse(
                correction=correction, user=request.user, request=request, **form.cleaned_data
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.info(request, _("The correction was refused."))
            return redirect("release:batch_review", pk=batch.pk)
    return _refused_page(request, batch, refuse_correction=form)
