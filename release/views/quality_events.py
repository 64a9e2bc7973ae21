"""Deviations and change controls: list, detail, raise, change, close (QA, signed).

One set of views serves both models; the URL configuration passes ``model``.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import SignatureForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import explain_hidden_form, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError
from qc_records.for_release import oos_investigation
from release import services
from release.forms import DeviationLinkForm, QualityEventEditForm, QualityEventFilterForm, QualityEventForm
from release.models import Batch, Deviation, QualityEvent
from release.services.quality_events import SERVICES


def _perm(model: type[QualityEvent], action: str) -> str:
    return f"release.{action}_{model._meta.model_name}"


def _url_name(model: type[QualityEvent], view: str) -> str:
    return f"release:{model._meta.model_name}_{view}"


def event_list(request: HttpRequest, model: type[QualityEvent]) -> HttpResponse:
    require_perm(request, _perm(model, "view"))
    form = QualityEventFilterForm(request.GET or None)
    events = model.objects.select_related("raised_by")
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            events = events.filter(Q(number__icontains=d["q"]) | Q(title__icontains=d["q"]))
        if d["status"]:
            events = events.filter(status=d["status"])
        if d["classification"]:
            events = events.filter(classification=d["classification"])
    return render(
        request,
        "release/quality_event_list.html",
        {
            "form": form,
            "model_meta": model._meta,
            "create_url": _url_name(model, "create"),
            "can_create": request.user.has_perm(_perm(model, "add")),
            "page_obj": paginate(request, events.order_by("-raised_at", "-pk")),
            "query": query_without_page(request),
        },
    )


def _detail_context(request: HttpRequest, event: QualityEvent, close_form: SignatureForm | None = None) -> dict:
    model = type(event)
    close_service = SERVICES[model][2]
    can_close = services.cannot_close_event(event, request.user) is None
    explain_hidden_form(request, close_form, can_close)
    return {
        "event": event,
        "model_meta": model._meta,
        "batches": event.batches.select_related("product").order_by("batch_number"),
        "signatures": signatures_for(event),
        "can_edit": services.cannot_change_event(event, request.user) is None,
        "can_close": can_close,
        "edit_url": _url_name(model, "edit"),
        "close_url": _url_name(model, "close"),
        "list_url": _url_name(model, "list"),
        "close_form": close_form or SignatureForm(meaning=close_service.meaning, prefix="close"),
    }


def event_detail(request: HttpRequest, pk: int, model: type[QualityEvent]) -> HttpResponse:
    event = get_object_for_user(
        request, model.objects.select_related("raised_by", "closed_by"), pk, _perm(model, "view")
    )
    return render(request, "release/quality_event_detail.html", _detail_context(request, event))


def event_create(request: HttpRequest, model: type[QualityEvent]) -> HttpResponse:
    require_perm(request, _perm(model, "add"))
    initial = {}
    if request.method == "GET" and request.GET.get("batch", "").isdigit():
        batch = Batch.objects.filter(pk=request.GET["batch"]).first()
        if batch is not None:
            initial["batch_numbers"] = batch.batch_number
    form = QualityEventForm(posted(request), initial=initial)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in model.EDITABLE_FIELDS}
        try:
            event = SERVICES[model][0](user=request.user, data=data, batches=form.cleaned_data["batch_numbers"])
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("%(number)s was raised.") % {"number": event.number})
            return redirect(event)
    return render(request, "release/quality_event_form.html", {"form": form, "event": None, "model_meta": model._meta})


def event_edit(request: HttpRequest, pk: int, model: type[QualityEvent]) -> HttpResponse:
    require_perm(request, _perm(model, "change"))
    event = get_object_for_user(request, model, pk, _perm(model, "view"))
    if refusal := services.cannot_change_event(event, request.user):
        messages.error(request, refusal)
        return redirect(event)
    initial = {
        "batch_numbers": ", ".join(event.batches.order_by("batch_number").values_list("batch_number", flat=True))
    }
    form = QualityEventEditForm(posted(request), instance=event, initial=initial)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in model.EDITABLE_FIELDS}
        key = SERVICES[model][3]
        try:
            event = SERVICES[model][1](
                **{key: event},
                user=request.user,
                data=data,
                batches=form.cleaned_data["batch_numbers"],
                reason=form.cleaned_data["reason"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("%(number)s was changed.") % {"number": event.number})
            return redirect(event)
    return render(
        request,
        "release/quality_event_form.html",
        {"form": form, "event": model.objects.get(pk=pk), "model_meta": model._meta},
    )


@require_POST
def event_close(request: HttpRequest, pk: int, model: type[QualityEvent]) -> HttpResponse:
    require_perm(request, _perm(model, "close"))
    event = get_object_for_user(request, model, pk, _perm(model, "view"))
    create, update, close, key = SERVICES[model]
    form = SignatureForm(posted(request), meaning=close.meaning, prefix="close")
    if form.is_valid():
        try:
            close(
                **{key: event},
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("%(number)s was closed and signed.") % {"number": event.number})
            return redirect(event)
    event.refresh_from_db()
    return render(request, "release/quality_event_detail.html", _detail_context(request, event, form), status=400)


def deviation_for_oos(request: HttpRequest, pk: int) -> HttpResponse:
    """From an OOS investigation: open a deviation raised for it, or link an existing open one
    (issue 7; GMP 第二百五十条 deviations, FDA OOS guidance). Both are shown on the deviation's and
    the OOS's pages. Two forms on one page, told apart by their prefix; a refusal or bad input is
    shown beside its field and nothing typed is lost."""
    require_perm(request, "release.add_deviation")
    require_perm(request, "qc_records.view_oosinvestigation")
    oos = oos_investigation(pk)
    if oos is None:
        raise Http404
    batch = oos.record.sample.batch
    initial = {
        "title": _("OOS %(oos)s: %(item)s") % {"oos": oos.number, "item": oos.item.name},
        "description": _("Out-of-specification result of %(item)s on %(record)s, investigated as %(oos)s.")
        % {"item": oos.item.name, "record": oos.record, "oos": oos.number},
        "batch_numbers": batch.batch_number if batch is not None else "",
    }
    action = request.POST.get("action") if request.method == "POST" else None
    new_form = QualityEventForm(posted(request) if action == "new" else None, initial=initial, prefix="new")
    link_form = DeviationLinkForm(posted(request) if action == "link" else None, prefix="link")
    if action == "new" and new_form.is_valid():
        data = {k: v for k, v in new_form.cleaned_data.items() if k in Deviation.EDITABLE_FIELDS}
        try:
            deviation = services.deviation_create(
                user=request.user, data=data, batches=new_form.cleaned_data["batch_numbers"], oos=oos
            )
        except WorkflowError as exc:
            show_refusal(new_form, exc)
        else:
            messages.success(
                request, _("%(number)s was raised for %(oos)s.") % {"number": deviation.number, "oos": oos.number}
            )
            return redirect(deviation)
    if action == "link" and link_form.is_valid():
        try:
            deviation = services.deviation_link_oos(
                deviation=link_form.cleaned_data["number"],
                oos=oos,
                user=request.user,
                reason=link_form.cleaned_data["reason"],
            )
        except WorkflowError as exc:
            show_refusal(link_form, exc)
        else:
            messages.success(
                request, _("%(number)s is linked to %(oos)s.") % {"number": deviation.number, "oos": oos.number}
            )
            return redirect(deviation)
    return render(
        request,
        "release/deviation_for_oos.html",
        {"oos": oos, "new_form": new_form, "link_form": link_form},
        status=400 if action else 200,
    )
