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
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import (
    InstrumentEditForm,
    InstrumentForm,
    ReagentEditForm,
    ReagentForm,
    RegisterFilterForm,
    add_input_errors,
)
from qc_records.models import Instrument, Reagent
from qc_records.services import InputError
from qc_records.views.common import page, query_without_page


def _edit(request, *, form, save, success, template_ctx, redirect_to=None):
    """Shared by the register pages: validate, call the service, show its refusal by the fields."""
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(form.cleaned_data)
        except InputError as exc:
            add_input_errors(form, exc)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, success)
            return redirect(redirect_to or obj)
    return render(request, "qc_records/form.html", {"form": form, **template_ctx}, status=400 if form.errors else 200)


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
            "page_obj": page(request, instruments.order_by(*order)),
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
            "uses": page(request, uses),
            "today": timezone.localdate(),
            "problem": instrument.unusable_reason(timezone.localdate()),
        },
    )


def instrument_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.add_instrument")
    return _edit(
        request,
        form=InstrumentForm(request.POST or None),
        save=lambda d: services.instrument_create(user=request.user, data=d),
        success=_("Instrument registered."),
        template_ctx={"title": _("Register an instrument"), "back": "qc_records:instrument_list"},
    )


def instrument_edit(request: HttpRequest, pk: int) -> HttpResponse:
    instrument = get_object_for_user(request, Instrument, pk, "qc_records.change_instrument")
    return _edit(
        request,
        form=InstrumentEditForm(request.POST or None, instance=instrument),
        save=lambda d: services.instrument_update(
            instrument=instrument,
            user=request.user,
            reason=d["reason"],
            data={k: v for k, v in d.items() if k in Instrument.EDITABLE_FIELDS},
        ),
        success=_("The instrument was changed."),
        template_ctx={
            "title": _("Change instrument %(code)s") % {"code": Instrument.objects.get(pk=pk).code},
            "cancel_url": instrument.get_absolute_url(),
        },
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
            "page_obj": page(request, reagents.order_by(*order)),
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
            "uses": page(request, uses),
            "problem": reagent.unusable_reason(timezone.localdate()),
        },
    )


def reagent_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.add_reagent")
    return _edit(
        request,
        form=ReagentForm(request.POST or None, initial={"received_date": timezone.localdate()}),
        save=lambda d: services.reagent_create(user=request.user, data=d),
        success=_("Reagent registered."),
        template_ctx={"title": _("Register a reagent or reference standard"), "back": "qc_records:reagent_list"},
    )


def reagent_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reagent = get_object_for_user(request, Reagent, pk, "qc_records.change_reagent")
    return _edit(
        request,
        form=ReagentEditForm(request.POST or None, instance=reagent),
        save=lambda d: services.reagent_update(
            reagent=reagent,
            user=request.user,
            reason=d["reason"],
            data={k: v for k, v in d.items() if k in Reagent.EDITABLE_FIELDS},
        ),
        success=_("The reagent was changed."),
        template_ctx={
            "title": _("Change %(reagent)s") % {"reagent": Reagent.objects.get(pk=pk)},
            "cancel_url": reagent.get_absolute_url(),
        },
    )
