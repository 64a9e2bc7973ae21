"""Samples, test records (the result form and the three signatures), raw-data files, reports."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import ReasonForm, SignatureForm, SignWithReasonForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import (
    AttachmentForm,
    SampleEditForm,
    SampleFilterForm,
    SampleForm,
    TestRecordForm,
    add_input_errors,
)
from qc_records.models import Attachment, Sample, TestRecord
from qc_records.services import InputError
from qc_records.views.common import page, query_without_page, require_any

# --- samples ------------------------------------------------------------------------------------


def sample_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.view_sample")
    form = SampleFilterForm(request.GET or None)
    samples = Sample.objects.select_related("product", "specification")
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            samples = samples.filter(
                Q(number__icontains=d["q"])
                | Q(lot_number__icontains=d["q"])
                | Q(material_name__icontains=d["q"])
                | Q(product__name__icontains=d["q"])
            )
        if d["category"]:
            samples = samples.filter(category=d["category"])
        if d["waiting"]:
            samples = samples.awaiting_test()
    return render(
        request,
        "qc_records/sample_list.html",
        {
            "form": form,
            "page_obj": page(request, samples.order_by("-received_date", "-pk")),
            "query": query_without_page(request),
        },
    )


def sample_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sample = get_object_for_user(
        request,
        Sample.objects.select_related("product", "batch", "specification", "last_changed_by"),
        pk,
        "qc_records.view_sample",
    )
    records = sample.records.order_by("-pk")
    return render(
        request,
        "qc_records/sample_detail.html",
        {
            "sample": sample,
            "records": records,
            "can_start": request.user.has_perm("qc_records.add_testrecord")
            and not sample.is_voided
            and not records.exclude(status=TestRecord.Status.VOIDED).exists(),
            "can_edit": request.user.has_perm("qc_records.change_sample"),
        },
    )


def sample_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.add_sample")
    form = SampleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sample = services.sample_create(user=request.user, data=form.cleaned_data)
        except InputError as exc:
            add_input_errors(form, exc)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Sample %(number)s registered.") % {"number": sample.number})
            return redirect(sample)
    return render(
        request,
        "qc_records/form.html",
        {"form": form, "title": _("Register a sample"), "back": "qc_records:sample_list"},
        status=400 if form.errors else 200,
    )


def sample_edit(request: HttpRequest, pk: int) -> HttpResponse:
    sample = get_object_for_user(request, Sample, pk, "qc_records.change_sample")
    form = SampleEditForm(request.POST or None, instance=sample)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Sample.EDITABLE_FIELDS}
        try:
            services.sample_update(sample=sample, user=request.user, data=data, reason=form.cleaned_data["reason"])
        except InputError as exc:
            add_input_errors(form, exc)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The sample registration was corrected."))
            return redirect(sample)
    return render(
        request,
        "qc_records/form.html",
        {
            "form": form,
            "title": _("Correct sample %(number)s") % {"number": Sample.objects.get(pk=pk).number},
            "cancel_url": sample.get_absolute_url(),
        },
        status=400 if form.errors else 200,
    )


@require_POST
def record_start(request: HttpRequest, pk: int) -> HttpResponse:
    sample = get_object_for_user(request, Sample, pk, "qc_records.add_testrecord")
    try:
        record = services.record_create(sample=sample, user=request.user)
    except WorkflowError as exc:
        messages.error(request, str(exc))
        return redirect(sample)
    messages.success(request, _("Test record started against %(spec)s.") % {"spec": record.specification})
    return redirect("qc_records:record_edit", pk=record.pk)


# --- test records -------------------------------------------------------------------------------

RECORD_RELATED = (
    "sample",
    "sample__product",
    "sample__batch",
    "specification",
    "created_by",
    "submitted_by",
    "reviewed_by",
    "approved_by",
    "last_changed_by",
)


def _record(request: HttpRequest, pk: int, perm: str) -> TestRecord:
    return get_object_for_user(request, TestRecord.objects.select_related(*RECORD_RELATED), pk, perm)


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
    user = request.user
    blocks = record.item_blocks()
    instrument_uses, reagent_uses = _uses(record)
    attachments = list(record.attachments.select_related("item", "last_changed_by").order_by("pk"))
    for att in attachments:
        att.intact = att.is_intact() if record.purged_at is None else None
    s = TestRecord.Status
    # The same people the services refuse (R-SEQ-2); only asked when a signing button could show.
    may_review = record.status == s.SUBMITTED and user.has_perm("qc_records.review_testrecord")
    may_approve = record.status == s.REVIEWED and user.has_perm("qc_records.approve_testrecord")
    testers = services.testers(record) if may_review or may_approve else set()
    return {
        "record": record,
        "sample": record.sample,
        "blocks": blocks,
        "instrument_uses": instrument_uses,
        "reagent_uses": reagent_uses,
        "attachments": attachments,
        "oos_list": list(record.oos_investigations.select_related("item").order_by("pk")),
        "signatures": signatures_for(record),
        "digest_ok": not record.content_digest or record.content_digest == record.compute_content_digest(),
        "can_edit": record.is_editable and user.has_perm("qc_records.change_testrecord"),
        "can_submit": record.status == s.DRAFT and user.has_perm("qc_records.change_testrecord"),
        "can_review": may_review and user.pk not in testers,
        "can_approve": may_approve and user.pk not in testers | {record.reviewed_by_id},
        "can_send_back": record.status in (s.SUBMITTED, s.REVIEWED)
        and (user.has_perm("qc_records.review_testrecord") or user.has_perm("qc_records.approve_testrecord")),
        "can_void": record.status == s.DRAFT
        and (user.has_perm("qc_records.change_testrecord") or user.has_perm("qc_records.approve_testrecord")),
        "can_purge": record.status in (s.APPROVED, s.VOIDED)
        and record.purged_at is None
        and user.has_perm("qc_records.purge_testrecord")
        and record.retention_until < timezone.localdate(),
        "submit_form": forms.get("submit_form") or SignatureForm(meaning="tested", prefix="submit"),
        "review_form": forms.get("review_form") or SignatureForm(meaning="reviewed", prefix="review"),
        "approve_form": forms.get("approve_form") or SignatureForm(meaning="approved", prefix="approve"),
        "send_back_form": forms.get("send_back_form") or ReasonForm(prefix="back"),
        "void_form": forms.get("void_form") or SignWithReasonForm(meaning="voided", prefix="void"),
        "purge_form": forms.get("purge_form") or SignWithReasonForm(meaning="voided", prefix="purge"),
        "attachment_form": forms.get("attachment_form") or AttachmentForm(record=record, prefix="file"),
    }


def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = _record(request, pk, "qc_records.view_testrecord")
    return render(request, "qc_records/record_detail.html", _detail_context(request, record))


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
    form = TestRecordForm(request.POST or None, record=record, blocks=blocks, uses=uses)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_update(
                record=record,
                user=request.user,
                header=form.header(),
                results=form.result_entries(),
                instruments=form.cleaned_data["instruments"],
                reagents=form.cleaned_data["reagents"],
                reason=form.cleaned_data["reason"],
            )
        except InputError as exc:
            add_input_errors(form, exc, form.error_key_map())
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Saved. Failing results are marked; submit when every result is entered."))
            return redirect(record)
    return render(
        request,
        "qc_records/record_form.html",
        {"form": form, "record": record, "sample": record.sample},
        status=400 if form.errors else 200,
    )


def _signed_action(
    request: HttpRequest, pk: int, *, perm: str | tuple[str, ...], form, key: str, call, success
) -> HttpResponse:
    """Shared shape of the record's action buttons: check, call the service, re-render on refusal."""
    perms = perm if isinstance(perm, tuple) else (perm,)
    require_any(request, *perms)
    record = _record(request, pk, "qc_records.view_testrecord")
    if form.is_valid():
        try:
            result = call(record, form.cleaned_data)
        except InputError as exc:
            add_input_errors(form, exc)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            text = success(result) if callable(success) else success
            messages.success(request, text)
            return redirect("qc_records:record_detail", pk=pk)
    record = _record(request, pk, "qc_records.view_testrecord")
    return render(request, "qc_records/record_detail.html", _detail_context(request, record, **{key: form}), status=400)


@require_POST
def record_submit(request: HttpRequest, pk: int) -> HttpResponse:
    def success(outcome) -> str:
        _record_obj, opened = outcome
        if opened:
            return _("Signed “Tested” and sent for review. Out of specification: %(list)s opened.") % {
                "list": ", ".join(o.number for o in opened)
            }
        return _("Signed “Tested” and sent for second-person review.")

    return _signed_action(
        request,
        pk,
        perm="qc_records.change_testrecord",
        key="submit_form",
        form=SignatureForm(request.POST, meaning="tested", prefix="submit"),
        call=lambda r, d: services.record_submit(
            record=r, user=request.user, password=d["password"], comment=d["comment"], request=request
        ),
        success=success,
    )


@require_POST
def record_review(request: HttpRequest, pk: int) -> HttpResponse:
    return _signed_action(
        request,
        pk,
        perm="qc_records.review_testrecord",
        key="review_form",
        form=SignatureForm(request.POST, meaning="reviewed", prefix="review"),
        call=lambda r, d: services.record_review(
            record=r, user=request.user, password=d["password"], comment=d["comment"], request=request
        ),
        success=_("Signed “Reviewed”; the record waits for the QC head's approval."),
    )


@require_POST
def record_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _signed_action(
        request,
        pk,
        perm="qc_records.approve_testrecord",
        key="approve_form",
        form=SignatureForm(request.POST, meaning="approved", prefix="approve"),
        call=lambda r, d: services.record_approve(
            record=r, user=request.user, password=d["password"], comment=d["comment"], request=request
        ),
        success=lambda r: _("Report %(number)s approved.") % {"number": r.report_number},
    )


@require_POST
def record_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    return _signed_action(
        request,
        pk,
        perm=("qc_records.review_testrecord", "qc_records.approve_testrecord"),
        key="send_back_form",
        form=ReasonForm(request.POST, prefix="back"),
        call=lambda r, d: services.record_send_back(record=r, user=request.user, reason=d["reason"]),
        success=_("The record was sent back to the analyst."),
    )


@require_POST
def record_void(request: HttpRequest, pk: int) -> HttpResponse:
    return _signed_action(
        request,
        pk,
        perm=("qc_records.change_testrecord", "qc_records.approve_testrecord"),
        key="void_form",
        form=SignWithReasonForm(request.POST, meaning="voided", prefix="void"),
        call=lambda r, d: services.record_void(
            record=r, user=request.user, password=d["password"], reason=d["reason"], request=request
        ),
        success=_("The record was voided."),
    )


@require_POST
def record_purge(request: HttpRequest, pk: int) -> HttpResponse:
    return _signed_action(
        request,
        pk,
        perm="qc_records.purge_testrecord",
        key="purge_form",
        form=SignWithReasonForm(request.POST, meaning="voided", prefix="purge"),
        call=lambda r, d: services.record_purge(
            record=r, user=request.user, password=d["password"], reason=d["reason"], request=request
        ),
        success=_("The raw-data files were destroyed; the record and its history stay."),
    )


# --- raw-data files and the report --------------------------------------------------------------


@require_POST
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "qc_records.change_testrecord")
    record = _record(request, pk, "qc_records.view_testrecord")
    form = AttachmentForm(request.POST, request.FILES, record=record, prefix="file")
    return _signed_action(
        request,
        pk,
        perm="qc_records.change_testrecord",
        key="attachment_form",
        form=form,
        call=lambda r, d: services.attachment_add(
            record=r,
            user=request.user,
            upload=d["file"],
            description=d["description"],
            item=d["item"],
            reason=d["reason"],
        ),
        success=lambda a: _("%(name)s attached (SHA-256 %(sha)s…).") % {"name": a.original_name, "sha": a.sha256[:12]},
    )


@require_POST
def attachment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_for_user(
        request, Attachment.objects.select_related("record"), pk, "qc_records.change_testrecord"
    )
    form = ReasonForm(request.POST, prefix=f"rm{attachment.pk}")
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
        handle = attachment.file.storage.open(attachment.file.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
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
