"""Test records: the result form, the signatures (tested, reviewed, approved, voided, purged),
sending back, raw-data files and the report.

Each action view reads the same way (core/web.py): authorise → bind the form with ``posted`` →
call one service → message → redirect; a refusal is shown on the form, re-rendered with 400.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import ReasonForm, SignatureForm, SignWithReasonForm
from core.permissions import get_object_for_user, require_any_perm, require_perm
from core.signatures import signatures_for
from core.storage import StoredFileAltered, altered_response, read_verified
from core.web import attach_people, posted, show_refusal
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import AttachmentForm, DiscardedRunForm, ReviewSignatureForm, TestRecordForm
from qc_records.models import Attachment, DiscardedRun, OOSInvestigation, RefusedCorrection, TestRecord
from qc_records.timeline import PEOPLE, attach_corrections, record_timeline, with_history_flags

# --- test records -------------------------------------------------------------------------------

# Not the record it replaces: few records replace a voided one (read when shown, one query for
# those), and that sixth join cost every view of the record ~0.5 ms of planning at scale 1.0.
RECORD_RELATED = ("sample", "sample__product", "sample__batch", "specification")


def _record(request: HttpRequest, pk: int, perm: str, *, parts: bool = False, history: bool = False) -> TestRecord:
    """The record with what its pages show of it; its people (PEOPLE) come in one more query, not
    six more joins (core.web.attach_people). With ``parts``, whether it has files, discarded runs
    and OOS investigations (``has_*``): the record page reads those rows only when there are some
    (issue 12: four queries fewer for most records). With ``history``, which of its parts have an
    audit trail (``with_history_flags``: the history page reads only those)."""
    qs = TestRecord.objects.select_related(*RECORD_RELATED)
    if parts:
        # The same managers as the record's related managers read the rows with.
        qs = qs.annotate(
            has_attachments=Exists(Attachment.objects.filter(record_id=OuterRef("pk"))),
            has_discarded_runs=Exists(DiscardedRun.objects.filter(record_id=OuterRef("pk"))),
            has_oos=Exists(OOSInvestigation.objects.filter(record_id=OuterRef("pk"))),
            has_refused_corrections=Exists(RefusedCorrection.objects.filter(record_id=OuterRef("pk"))),
        )
    if history:
        qs = with_history_flags(qs)
    record = get_object_for_user(request, qs, pk, perm)
    attach_people(record, PEOPLE)
    return record


def _uses(record: TestRecord) -> tuple[list, list]:
    return (
        list(
            record.instrument_uses.filter(voided_at__isnull=True)
            .select_related("instrument")
            .order_by("instrument__code")
        ),
        list(record.reagent_uses.filter(voided_at__isnull=True).select_related("reagent").order_by("reagent__name")),
    )


def _detail_context(request: HttpRequest, record: TestRecord, **forms) -> dict:
    """The record page; each signing form shows its service's meaning (R-SIG-2) and each button
    is offered by its service's predicate (the page explains a refusal instead). Every correction
    is shown beside its value (R-QC-4; 检验原始记录管理规程 4.1.4)."""
    user = request.user
    every_result: list = []
    blocks = record.item_blocks(every_result)
    correction_count = attach_corrections(record, blocks)
    instrument_uses, reagent_uses = _uses(record)
    # ``record`` comes from _record(parts=True): no query for the kinds of row it has none of.
    attachments = (
        list(record.attachments.select_related("item", "last_changed_by").order_by("pk"))
        if record.has_attachments
        else []
    )
    discarded_runs = (
        list(record.discarded_runs.select_related("item", "recorded_by", "reviewed_by").order_by("pk"))
        if record.has_discarded_runs
        else []
    )
    for att in attachments:
        att.intact = att.is_intact() if record.purged_at is None else None
    s = TestRecord.Status
    reviewer_role = record.status == s.SUBMITTED and user.has_perm("qc_records.review_testrecord")
    approver_role = record.status == s.REVIEWED and user.has_perm("qc_records.approve_testrecord")
    review_refusal = services.cannot_review_record(record, user) if reviewer_role else None
    approve_refusal = services.cannot_approve_record(record, user) if approver_role else None
    can_review = reviewer_role and review_refusal is None
    can_approve = approver_role and approve_refusal is None
    void_role = record.status == s.DRAFT and (
        user.has_perm("qc_records.change_testrecord") or user.has_perm("qc_records.approve_testrecord")
    )
    void_refusal = services.cannot_void_record(record, user) if void_role else None
    can_void = void_role and void_refusal is None
    can_purge = user.has_perm("qc_records.purge_testrecord") and services.cannot_purge_record(record, user) is None
    return {
        "record": record,
        "sample": record.sample,
        "blocks": blocks,
        "correction_count": correction_count,
        "instrument_uses": instrument_uses,
        "reagent_uses": reagent_uses,
        "attachments": attachments,
        "oos_list": list(record.oos_investigations.select_related("item").order_by("pk")) if record.has_oos else [],
        # The record and its rows were read above in this request: verified as read, no re-read.
        "signatures": signatures_for(record, as_loaded=True),
        "digest_ok": not record.content_digest
        or record.content_digest
        == record.content_digest_of(
            every_result,
            instrument_uses,
            reagent_uses,
            attachments,
            discarded_runs,
        ),
        "can_edit": record.is_editable and user.has_perm("qc_records.change_testrecord"),
        "can_submit": record.status == s.DRAFT and user.has_perm("qc_records.change_testrecord"),
        "can_review": can_review,
        "review_refusal": review_refusal,
        "can_approve": can_approve,
        "approve_refusal": approve_refusal,
        "can_send_back": record.status in (s.SUBMITTED, s.REVIEWED)
        and (user.has_perm("qc_records.review_testrecord") or user.has_perm("qc_records.approve_testrecord")),
        "can_void": can_void,
        "void_refusal": void_refusal,
        "replaced_by": list(record.replaced_by.order_by("pk")) if record.status == s.VOIDED else [],
        "recorded_results": list(record.recorded_results().select_related("item").order_by("item__position", "pk"))
        if record.status == s.VOIDED
        else [],
        "can_purge": can_purge,
        "can_sign_tested": record.status == s.DRAFT
        and user.has_perm("qc_records.change_testrecord")
        and services.cannot_sign_tested(record, user) is None,
        "cosign_form": forms.get("cosign_form")
        or SignatureForm(meaning=services.record_sign_tested.meaning, prefix="cosign"),
        "submit_form": forms.get("submit_form")
        or SignatureForm(meaning=services.record_submit.meaning, prefix="submit"),
        "review_form": forms.get("review_form")
        or ReviewSignatureForm(meaning=services.record_review.meaning, prefix="review"),
        "approve_form": forms.get("approve_form")
        or SignatureForm(meaning=services.record_approve.meaning, prefix="approve"),
        "send_back_form": forms.get("send_back_form") or ReasonForm(prefix="back"),
        "void_form": forms.get("void_form") or SignWithReasonForm(meaning=services.record_void.meaning, prefix="void"),
        "can_request_reopening": user.has_perm("qc_records.approve_testrecord")
        and services.cannot_request_reopening(record, user) is None,
        "can_reopen": record.status == s.APPROVED
        and user.has_perm("qc_records.reopen_testrecord")
        and services.cannot_reopen_record(record, user) is None,
        "reopen_request_form": forms.get("reopen_request_form")
        or SignWithReasonForm(meaning=services.record_reopen_request.meaning, prefix="reopenreq"),
        "reopen_form": forms.get("reopen_form")
        or SignatureForm(meaning=services.record_reopen.meaning, prefix="reopen"),
        "purge_form": forms.get("purge_form")
        or SignWithReasonForm(meaning=services.record_purge.meaning, prefix="purge"),
        "attachment_form": forms.get("attachment_form") or AttachmentForm(record=record, prefix="file"),
        "discarded_runs": discarded_runs,
        "discarded_form": forms.get("discarded_form") or DiscardedRunForm(record=record, prefix="discard"),
    }


def _refused(request: HttpRequest, pk: int, **forms) -> HttpResponse:
    """The record page again, as it is now, with the refused form and its errors (status 400)."""
    record = _record(request, pk, "qc_records.view_testrecord", parts=True)
    return render(request, "qc_records/record_detail.html", _detail_context(request, record, **forms), status=400)


def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = _record(request, pk, "qc_records.view_testrecord", parts=True)
    return render(request, "qc_records/record_detail.html", _detail_context(request, record))


def record_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The record's whole timeline: its own changes and its results', instruments', reagents',
    files' and OOS investigations', with every signature (R-AT-5; PIC/S PI 041 §9.8). Read by
    every role that may read the record — the reviewer and the QC head above all."""
    record = _record(request, pk, "qc_records.view_testrecord", history=True)
    return render(request, "qc_records/record_history.html", {"record": record, "timeline": record_timeline(record)})


def record_raw(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable raw record (检验原始记录): header, conditions, instruments, reagents, every
    result with its corrections beside it and the invalidated ones struck through, files, OOS and
    signatures (检验记录书写规程 4.2.4 d; 检验原始记录管理规程 4.1.4)."""
    record = _record(request, pk, "qc_records.view_testrecord")
    blocks = record.item_blocks()
    attach_corrections(record, blocks)
    instrument_uses, reagent_uses = _uses(record)
    return render(
        request,
        "qc_records/record_raw.html",
        {
            "record": record,
            "sample": record.sample,
            "blocks": blocks,
            "instrument_uses": instrument_uses,
            "reagent_uses": reagent_uses,
            "attachments": list(record.attachments.select_related("item").order_by("pk")),
            "discarded_runs": list(
                record.discarded_runs.select_related("item", "recorded_by", "reviewed_by").order_by("pk")
            ),
            "oos_list": list(record.oos_investigations.select_related("item").order_by("pk")),
            "signatures": signatures_for(record),
            "printed_at": timezone.now(),
        },
    )


def record_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The result form: every item of the specification on one page (bounded queries)."""
    record = _record(request, pk, "qc_records.change_testrecord")
    if not record.is_editable:
        messages.error(
            request,
            _("%(record)s is %(status)s and can no longer be changed.")
            % {"record": record, "status": record.get_status_display()},
        )
        return redirect(record)
    blocks = record.item_blocks()
    uses = _uses(record)
    form = TestRecordForm(posted(request), record=record, blocks=blocks, uses=uses)
    if form.is_valid():
        investigated_before = set(record.oos_investigations.values_list("pk", flat=True))
        try:
            services.record_update(
                record=record,
                user=request.user,
                header=form.header(),
                results=form.result_entries(),
                instruments=form.cleaned_data["instruments"],
                reagents=form.cleaned_data["reagents"],
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc, form.error_key_map())
        else:
            opened = record.oos_investigations.exclude(pk__in=investigated_before).order_by("pk")
            if opened:
                messages.warning(
                    request,
                    _(
                        "Saved. Out of specification: %(list)s opened. The failing value stands; only the "
                        "investigation can invalidate it."
                    )
                    % {"list": ", ".join(o.number for o in opened)},
                )
            else:
                messages.success(request, _("Saved. Failing results are marked; submit when every result is entered."))
            return redirect(record)
    return render(
        request,
        "qc_records/record_form.html",
        {"form": form, "record": record, "sample": record.sample},
        status=400 if form.errors else 200,
    )


@require_POST
def record_submit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.change_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = SignatureForm(posted(request), meaning=services.record_submit.meaning, prefix="submit")
    if form.is_valid():
        try:
            record, opened = services.record_submit(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            if opened:
                messages.success(
                    request,
                    _("Signed “Tested” and sent for review. Out of specification: %(list)s opened.")
                    % {"list": ", ".join(o.number for o in opened)},
                )
            else:
                messages.success(request, _("Signed “Tested” and sent for second-person review."))
            return redirect(record)
    return _refused(request, pk, submit_form=form)


@require_POST
def record_sign_tested(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.change_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = SignatureForm(posted(request), meaning=services.record_sign_tested.meaning, prefix="cosign")
    if form.is_valid():
        try:
            services.record_sign_tested(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Signed “Tested” for the results you entered."))
            return redirect(record)
    return _refused(request, pk, cosign_form=form)


@require_POST
def record_review(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.review_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = ReviewSignatureForm(posted(request), meaning=services.record_review.meaning, prefix="review")
    if form.is_valid():
        try:
            services.record_review(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                checklist=form.checklist(),
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Signed “Reviewed”; the record waits for the QC head's approval."))
            return redirect(record)
    return _refused(request, pk, review_form=form)


@require_POST
def record_approve(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.approve_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = SignatureForm(posted(request), meaning=services.record_approve.meaning, prefix="approve")
    if form.is_valid():
        try:
            record = services.record_approve(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Report %(number)s approved.") % {"number": record.report_number})
            return redirect(record)
    return _refused(request, pk, approve_form=form)


@require_POST
def record_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    require_any_perm(request, "qc_records.review_testrecord", "qc_records.approve_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = ReasonForm(posted(request), prefix="back")
    if form.is_valid():
        try:
            services.record_send_back(record=record, user=request.user, reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The record was sent back to the analyst."))
            return redirect(record)
    return _refused(request, pk, send_back_form=form)


@require_POST
def record_void(request: HttpRequest, pk: int) -> HttpResponse:
    require_any_perm(request, "qc_records.change_testrecord", "qc_records.approve_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = SignWithReasonForm(posted(request), meaning=services.record_void.meaning, prefix="void")
    if form.is_valid():
        try:
            services.record_void(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The record was voided."))
            return redirect(record)
    return _refused(request, pk, void_form=form)


@require_POST
def record_reopen_request(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.approve_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = SignWithReasonForm(posted(request), meaning=services.record_reopen_request.meaning, prefix="reopenreq")
    if form.is_valid():
        try:
            services.record_reopen_request(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Reopening requested; QA approves it with a signature."))
            return redirect(record)
    return _refused(request, pk, reopen_request_form=form)


@require_POST
def record_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.reopen_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = SignatureForm(posted(request), meaning=services.record_reopen.meaning, prefix="reopen")
    if form.is_valid():
        try:
            services.record_reopen(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request, _("The record is reopened for correction: test, review and approve it again (report v2).")
            )
            return redirect(record)
    return _refused(request, pk, reopen_form=form)


@require_POST
def record_purge(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.purge_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = SignWithReasonForm(posted(request), meaning=services.record_purge.meaning, prefix="purge")
    if form.is_valid():
        try:
            services.record_purge(
                record=record,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The raw-data files were destroyed; the record and its history stay."))
            return redirect(record)
    return _refused(request, pk, purge_form=form)


# --- raw-data files and the report --------------------------------------------------------------


@require_POST
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.change_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = AttachmentForm(posted(request), request.FILES, record=record, prefix="file")
    if form.is_valid():
        try:
            attachment = services.attachment_add(
                record=record,
                user=request.user,
                upload=form.cleaned_data["file"],
                description=form.cleaned_data["description"],
                item=form.cleaned_data["item"],
                reason=form.cleaned_data["reason"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s attached (SHA-256 %(sha)s…).")
                % {"name": attachment.original_name, "sha": attachment.sha256[:12]},
            )
            return redirect(record)
    return _refused(request, pk, attachment_form=form)


@require_POST
def discarded_run_add(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.change_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = DiscardedRunForm(posted(request), record=record, prefix="discard")
    if form.is_valid():
        try:
            services.discarded_run_add(record=record, user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The invalidated run / discarded data was recorded with its cause."))
            return redirect(record)
    return _refused(request, pk, discarded_form=form)


@require_POST
def attachment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_for_user(
        request, Attachment.objects.select_related("record"), pk, "qc_records.change_testrecord"
    )
    form = ReasonForm(posted(request), prefix=f"rm{attachment.pk}")
    if form.is_valid():
        try:
            services.attachment_remove(attachment=attachment, user=request.user, reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%(name)s removed from the record.") % {"name": attachment.original_name})
    else:
        messages.error(request, _("Give a reason for removing the file."))
    return redirect(attachment.record)


def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_for_user(
        request, Attachment.objects.select_related("record"), pk, "qc_records.view_testrecord"
    )
    if attachment.record.purged_at is not None:
        raise Http404
    try:
        handle = read_verified(attachment.file, attachment.sha256)
    except FileNotFoundError:
        raise Http404 from None
    except StoredFileAltered:
        return altered_response()
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    # The hash taken on upload, so the receiver can check the copy (R-QC-7).
    response["X-Content-SHA256"] = attachment.sha256
    return response


def record_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The approved record's 检验报告书 as PDF."""
    record = _record(request, pk, "qc_records.view_testrecord")
    if record.status != TestRecord.Status.APPROVED:
        raise Http404
    from qc_records import pdf

    return pdf.report_response(record, request.user)


def batch_qc(request: HttpRequest, batch_pk: int) -> HttpResponse:
    """QC's answer for one batch, as the release review will see it."""
    require_perm(request, "qc_records.view_testrecord")
    from django.apps import apps

    from qc_records.for_release import batch_qc_summary

    Batch = apps.get_model("release", "Batch")
    batch = get_object_for_user(request, Batch.objects.select_related("product"), batch_pk, "release.view_batch")
    return render(request, "qc_records/batch_qc.html", {"batch": batch, "summary": batch_qc_summary(batch)})
