"""Samples received by QC (the sampling ledger) and starting a sample's test record."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.permissions import get_object_for_user, require_perm
from core.web import cursor_page, posted, show_refusal
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import SampleEditForm, SampleFilterForm, SampleForm
from qc_records.models import Sample, TestRecord

# Products a search looks up by id (see sample_list).
PRODUCTS_SEARCHED = 500


PAGE_SIZE = 50


def sample_list(request: HttpRequest) -> HttpResponse:
    """Newest first, paged by a cursor (received date, id) with no count: the list costs the same
    at sample 460,000 (R-PERF-1, issue 12). The text search is a trigram index on PostgreSQL."""
    require_perm(request, "qc_records.view_sample")
    form = SampleFilterForm(request.GET or None)
    samples = Sample.objects.select_related("product", "specification")
    if form.is_valid():
        d = form.cleaned_data
        if text := d["q"].strip():
            # The products are looked up first (a small table): ids keep the OR on the samples'
            # own indexes, where a condition on the joined table would read every sample.
            # (Past PRODUCTS_SEARCHED matching products the join is used: right, only slower.)
            product_model = Sample._meta.get_field("product").related_model  # release's, without importing it
            by_name = Q(name__icontains=text) | Q(generic_name__icontains=text)
            products = list(product_model.objects.filter(by_name).values_list("pk", flat=True)[: PRODUCTS_SEARCHED + 1])
            samples = samples.filter(
                Q(number__icontains=text)
                | Q(lot_number__icontains=text)
                | Q(material_name__icontains=text)
                | (
                    Q(product__in=products)
                    if len(products) <= PRODUCTS_SEARCHED
                    else Q(product__name__icontains=text) | Q(product__generic_name__icontains=text)
                )
            )
        if d["category"]:
            samples = samples.filter(category=d["category"])
        if d["waiting"]:
            samples = samples.awaiting_test()
    page = cursor_page(request, samples, "received_date", PAGE_SIZE)
    return render(request, "qc_records/sample_list.html", {"form": form, **page.context()})


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
    form = SampleForm(posted(request))
    if form.is_valid():
        try:
            sample = services.sample_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
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
    form = SampleEditForm(posted(request), instance=sample)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Sample.EDITABLE_FIELDS}
        try:
            services.sample_update(
                sample=sample,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
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
