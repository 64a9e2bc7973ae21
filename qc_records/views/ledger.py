"""The QC ledger (检验台帐) by month and category, its CSV export, and the monthly archive (R-QC-8)."""

from __future__ import annotations

import calendar
from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import SignWithReasonForm
from core.permissions import get_object_for_user, require_perm
from core.web import csv_line_writer, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import ArchiveForm, LedgerFilterForm
from qc_records.models import Category, LedgerArchive, Sample, TestRecord


def _month(form: LedgerFilterForm) -> tuple[int, int]:
    today = timezone.localdate()
    if form.is_valid() and form.cleaned_data["month"]:
        return form.cleaned_data["month"]
    return today.year, today.month


def _rows(year: int, month: int, category: str):
    """Records (or, for the sampling ledger, samples) of one month, oldest first."""
    if category == "sampling":
        # The month's last day, not the next month's first: 9999-12 has no next month.
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        return "samples", Sample.objects.filter(received_date__gte=first, received_date__lte=last).select_related(
            "product", "batch"
        ).order_by("received_date", "pk")
    records = (
        TestRecord.objects.in_month(year, month)
        .select_related("sample", "sample__product", "specification", "submitted_by", "reviewed_by", "approved_by")
        .annotate(report_versions=_report_versions())
    )
    if category:
        records = records.filter(category=category)
    return "records", records.order_by("test_date", "pk")


def _report_versions():
    """How many versions of the record's report were issued: a reopened record's ledger row shows
    that version 2 supersedes version 1 (R-QC-10)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Count, IntegerField, OuterRef, Subquery

    from core.models import Document
    from qc_records.pdf import KIND

    versions = (
        Document.objects.filter(
            kind=KIND, content_type=ContentType.objects.get_for_model(TestRecord), object_id=OuterRef("pk")
        )
        .order_by()
        .values("object_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(versions, output_field=IntegerField())


def ledger(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.view_testrecord")
    # The month shown is this month until another is chosen: the field says so too.
    form = LedgerFilterForm(request.GET or None, initial={"month": f"{timezone.localdate():%Y-%m}"})
    year, month = _month(form)
    category = form.cleaned_data["category"] if form.is_valid() else ""
    kind, rows = _rows(year, month, category)
    archives = LedgerArchive.objects.filter(year=year, month=month).order_by("category")
    return render(
        request,
        "qc_records/ledger.html",
        {
            "form": form,
            "kind": kind,
            "page_obj": paginate(request, rows, 50),
            "year": year,
            "month": month,
            "category": category,
            "query": query_without_page(request),
            "export_url": reverse("qc_records:ledger_export") + "?" + request.GET.urlencode(),
            "archives": archives,
            "can_archive": request.user.has_perm("qc_records.archive_testrecord"),
            "archive_form": ArchiveForm(
                meaning=services.ledger_archive.meaning,
                prefix="arch",
                initial={"month": f"{year}-{month:02d}", "category": category or None},
            ),
            "reopen_form": SignWithReasonForm(meaning=services.ledger_reopen.meaning, prefix="reopen"),
        },
    )


def ledger_export(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.view_testrecord")
    form = LedgerFilterForm(request.GET or None)
    year, month = _month(form)
    category = form.cleaned_data["category"] if form.is_valid() else ""
    kind, rows = _rows(year, month, category)

    writer = csv_line_writer()

    def row(values: list) -> str:
        # Names, lots and suppliers are typed by people: one that starts like a formula must stay
        # text when the ledger is opened in a spreadsheet (CSV injection).
        return writer.writerow(
            ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in values]
        )

    def lines():
        yield "\ufeff"  # spreadsheet programs then read the Chinese text as UTF-8
        if kind == "samples":
            yield writer.writerow(
                [
                    _("Sample number"),
                    _("Received on"),
                    _("Category"),
                    _("Name"),
                    _("Strength"),
                    _("Batch / lot number"),
                    _("Quantity"),
                    _("Unit"),
                    _("Supplier"),
                    _("Manufacturer"),
                    _("Sampling point"),
                ]
            )
            for s in rows.iterator(chunk_size=500):
                yield row(
                    [
                        s.number,
                        s.received_date.isoformat(),
                        s.get_category_display(),
                        s.subject_name,
                        s.strength,
                        s.lot_number,
                        format(s.quantity.normalize(), "f"),  # 60, not 6E+1 (issue 8 item 10)
                        s.quantity_unit,
                        s.supplier,
                        s.manufacturer,
                        s.sampling_point,
                    ]
                )
            return
        yield writer.writerow(
            [
                _("Sample number"),
                _("Category"),
                _("Name"),
                _("Strength"),
                _("Batch / lot number"),
                _("Received on"),
                _("Test date"),
                _("Specification"),
                _("Report number"),
                _("Conclusion"),
                _("Status"),
                _("Tested by"),
                _("Reviewed by"),
                _("Approved by"),
            ]
        )
        for r in rows.iterator(chunk_size=500):
            s = r.sample
            yield row(
                [
                    s.number,
                    r.get_category_display(),
                    s.subject_name,
                    s.strength,
                    s.lot_number,
                    s.received_date.isoformat(),
                    r.test_date.isoformat(),
                    str(r.specification),
                    r.report_number or "",
                    r.get_verdict_display() if r.verdict else "",
                    r.get_status_display(),
                    r.submitted_by.printed_name if r.submitted_by else "",
                    r.reviewed_by.printed_name if r.reviewed_by else "",
                    r.approved_by.printed_name if r.approved_by else "",
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="qc-ledger-{year}-{month:02d}-{category or "all"}.csv"'
    return response


def _errors_as_messages(request: HttpRequest, form) -> None:
    """The archive forms sit on the ledger page, which is shown again by redirecting to it (so
    its filters stay in the address): their errors and refusals travel as messages."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label} {error}".strip())


@require_POST
def ledger_archive(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.archive_testrecord")
    form = ArchiveForm(posted(request), meaning=services.ledger_archive.meaning, prefix="arch")
    if not form.is_valid():
        _errors_as_messages(request, form)
        return redirect("qc_records:ledger")
    year, month = form.cleaned_data["month"]
    try:
        archive = services.ledger_archive(
            user=request.user,
            password=form.cleaned_data["password"],
            year=year,
            month=month,
            category=form.cleaned_data["category"],
            comment=form.cleaned_data["comment"],
            request=request,
        )
    except WorkflowError as exc:
        show_refusal(form, exc)
        _errors_as_messages(request, form)
    else:
        messages.success(request, _("%(archive)s archived: its records are locked.") % {"archive": archive})
    return redirect(f"{reverse('qc_records:ledger')}?month={year}-{month:02d}&category={form.cleaned_data['category']}")


@require_POST
def ledger_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    archive = get_object_for_user(request, LedgerArchive, pk, "qc_records.archive_testrecord")
    form = SignWithReasonForm(posted(request), meaning=services.ledger_reopen.meaning, prefix="reopen")
    if form.is_valid():
        try:
            services.ledger_reopen(
                archive=archive,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("%(archive)s reopened.") % {"archive": archive})
    _errors_as_messages(request, form)
    return redirect(
        f"{reverse('qc_records:ledger')}?month={archive.year}-{archive.month:02d}&category={archive.category}"
    )


def qc_index(request: HttpRequest) -> HttpResponse:
    """The QC hub: what each register holds today, with links."""
    require_perm(request, "qc_records.view_testrecord")
    from django.conf import settings

    from qc_records.models import Instrument, OOSInvestigation, Reagent

    days = settings.QC_DUE_SOON_DAYS
    return render(
        request,
        "qc_records/index.html",
        {
            "counts": {
                "samples_waiting": Sample.objects.awaiting_test().count(),
                "drafts": TestRecord.objects.filter(status=TestRecord.Status.DRAFT).count(),
                "submitted": TestRecord.objects.filter(status=TestRecord.Status.SUBMITTED).count(),
                "reviewed": TestRecord.objects.filter(status=TestRecord.Status.REVIEWED).count(),
                "open_oos": OOSInvestigation.objects.open().count(),
                "instruments_due": Instrument.objects.due_within(days).count(),
                "instruments_expired": Instrument.objects.calibration_expired().count(),
                "reagents_due": Reagent.objects.expiring_within(days).count(),
                "reagents_expired": Reagent.objects.expired().count(),
            },
            "categories": Category.choices,
        },
    )
