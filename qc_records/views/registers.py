"""The instrument register and the reagent / reference standard register."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.permissions import get_object_for_user, require_perm
from core.web import paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import InstrumentEditForm, InstrumentForm, ReagentEditForm, ReagentForm, RegisterFilterForm
from qc_records.models import Instrument, Reagent

# --- instruments --------------------------------------------------------------------------------


def instrument_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.view_instrument")
    form = RegisterFilterForm(request.GET or None)
    instruments = Instrument.objects.all()
    view = ""
    if form.is_valid():
        view = form.cleaned_data["view"]
        if view == "due":
            instruments = Instrument.objects.due_within(settings.QC_DUE_SOON_DAYS)
        elif view == "expired":
            instruments = Instrument.objects.calibration_expired()
        if form.cleaned_data["q"]:
            q = form.cleaned_data["q"]
            instruments = instruments.filter(
                Q(code__icontains=q) | Q(name__icontains=q) | Q(model__icontains=q) | Q(location__icontains=q)
            )
    order = ("calibration_due", "code") if view else ("code",)
    return render(
        request,
        "qc_records/instrument_list.html",
        {
            "form": form,
            "page_obj": paginate(request, instruments.order_by(*order)),
            "query": query_without_page(request),
            "today": timezone.localdate(),
            "soon_days": settings.QC_DUE_SOON_DAYS,
            "soon": timezone.localdate() + timedelta(days=settings.QC_DUE_SOON_DAYS),
        },
    )


def instrument_detail(request: HttpRequest, pk: int) -> HttpResponse:
    instrument = get_object_for_user(
        request, Instrument.objects.select_related("last_changed_by"), pk, "qc_records.view_instrument"
    )
    uses = (
        instrument.uses.filter(voided_at__isnull=True)
        .select_related("record", "record__sample")
        .order_by("-record__test_date", "-pk")
    )
    return render(
        request,
        "qc_records/instrument_detail.html",
        {
            "instrument": instrument,
            "uses": paginate(request, uses),
            "today": timezone.localdate(),
            "problem": instrument.unusable_reason(timezone.localdate()),
        },
    )


def instrument_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.add_instrument")
    form = InstrumentForm(posted(request))
    if form.is_valid():
        try:
            instrument = services.instrument_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Instrument registered."))
            return redirect(instrument)
    return render(
        request,
        "qc_records/form.html",
        {"form": form, "title": _("Register an instrument"), "back": "qc_records:instrument_list"},
        status=400 if form.errors else 200,
    )


def instrument_edit(request: HttpRequest, pk: int) -> HttpResponse:
    instrument = get_object_for_user(request, Instrument, pk, "qc_records.change_instrument")
    form = InstrumentEditForm(posted(request), instance=instrument)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Instrument.EDITABLE_FIELDS}
        try:
            instrument = services.instrument_update(
                instrument=instrument,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The instrument was changed."))
            return redirect(instrument)
    return render(
        request,
        "qc_records/form.html",
        {
            "form": form,
            "title": _("Change instrument %(code)s") % {"code": Instrument.objects.get(pk=pk).code},
            "cancel_url": instrument.get_absolute_url(),
        },
        status=400 if form.errors else 200,
    )


# --- reagents -----------------------------------------------------------------------------------


def reagent_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.view_reagent")
    form = RegisterFilterForm(request.GET or None)
    reagents = Reagent.objects.all()
    view = ""
    if form.is_valid():
        view = form.cleaned_data["view"]
        if view == "due":
            reagents = Reagent.objects.expiring_within(settings.QC_DUE_SOON_DAYS)
        elif view == "expired":
            reagents = Reagent.objects.expired()
        if form.cleaned_data["q"]:
            q = form.cleaned_data["q"]
            reagents = reagents.filter(Q(name__icontains=q) | Q(lot_number__icontains=q) | Q(source__icontains=q))
    order = ("expiry_date", "name") if view else ("name", "-received_date")
    return render(
        request,
        "qc_records/reagent_list.html",
        {
            "form": form,
            "page_obj": paginate(request, reagents.order_by(*order)),
            "query": query_without_page(request),
            "today": timezone.localdate(),
            "soon": timezone.localdate() + timedelta(days=settings.QC_DUE_SOON_DAYS),
        },
    )


def reagent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reagent = get_object_for_user(
        request, Reagent.objects.select_related("last_changed_by"), pk, "qc_records.view_reagent"
    )
    uses = (
        reagent.uses.filter(voided_at__isnull=True)
        .select_related("record", "record__sample", "last_changed_by")
        .order_by("-record__test_date", "-pk")
    )
    return render(
        request,
        "qc_records/reagent_detail.html",
        {
            "reagent": reagent,
            "uses": paginate(request, uses),
            "problem": reagent.unusable_reason(timezone.localdate()),
        },
    )


def reagent_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.add_reagent")
    form = ReagentForm(posted(request), initial={"received_date": timezone.localdate()})
    if form.is_valid():
        try:
            reagent = services.reagent_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Reagent registered."))
            return redirect(reagent)
    return render(
        request,
        "qc_records/form.html",
        {"form": form, "title": _("Register a reagent or reference standard"), "back": "qc_records:reagent_list"},
        status=400 if form.errors else 200,
    )


def reagent_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reagent = get_object_for_user(request, Reagent, pk, "qc_records.change_reagent")
    form = ReagentEditForm(posted(request), instance=reagent)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Reagent.EDITABLE_FIELDS}
        try:
            reagent = services.reagent_update(
                reagent=reagent,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The reagent was changed."))
            return redirect(reagent)
    return render(
        request,
        "qc_records/form.html",
        {
            "form": form,
            "title": _("Change %(reagent)s") % {"reagent": Reagent.objects.get(pk=pk)},
            "cancel_url": reagent.get_absolute_url(),
        },
        status=400 if form.errors else 200,
    )
