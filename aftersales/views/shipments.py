"""Distribution records (R-SHIP-1/2/3): list with keyset paging, detail, create, void, CSV import
and export; returned goods (R-RET-1): list by batch and channel, record, detail, evaluate, destroy,
restock."""

from __future__ import annotations

from django.contrib import messages
from django.db import connection
from django.db.models import BooleanField, OuterRef, Prefetch, Q, Subquery
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.forms import (
    ReturnDestroyForm,
    ReturnEvaluateForm,
    ReturnForm,
    ShipmentFilterForm,
    ShipmentForm,
    ShipmentImportForm,
    ShipmentVoidForm,
)
from aftersales.models import Complaint, Customer, GoodsReturn, Shipment
from core.forms import SignatureForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import (
    attach_people,
    csv_line_writer,
    cursor_page,
    explain_hidden_form,
    paginate,
    posted,
    query_without_page,
    show_refusal,
)
from core.workflow import WorkflowError
from release.models import Batch, Product

PAGE_SIZE = 50
# Products or customers a typed filter lists by id (see _ids).
IDS_LISTED = 5000


def _ids(queryset) -> list[int] | object:
    """The ids of a few master records (a list), or the queryset itself when it matches so many
    that a list of ids would only be longer SQL."""
    ids = list(queryset.order_by().values_list("pk", flat=True)[: IDS_LISTED + 1])
    return ids if len(ids) <= IDS_LISTED else queryset


def _with_ids(rows, field: str, ids):
    """``rows.filter(<field>__in=ids)``; on PostgreSQL a list of ids goes as one array parameter
    (``= ANY(%s)``): a typed name can match thousands of customers, and Django and the driver spent
    ~7 ms turning 2,500 ids into as many parameters (issue 12)."""
    if isinstance(ids, list) and connection.vendor == "postgresql":
        column = f"{connection.ops.quote_name(Shipment._meta.db_table)}.{connection.ops.quote_name(field + '_id')}"
        return rows.filter(RawSQL(f"{column} = ANY(%s)", [ids], output_field=BooleanField()))
    return rows.filter(**{f"{field}__in": ids})


def _shipment_rows(request: HttpRequest):
    form = ShipmentFilterForm(request.GET or None)
    rows = Shipment.objects.all()
    if form.is_valid():
        d = form.cleaned_data
        # The typed names are matched in the small master tables first and the shipments found by
        # those ids (the planner then knows how many; a subquery got a nested loop over the
        # million rows): never a LIKE over the shipments themselves.
        if text := d["product"].strip():
            by_name = Q(name__icontains=text) | Q(generic_name__icontains=text)
            rows = _with_ids(rows, "product", _ids(Product.objects.filter(by_name)))
        if d["batch"]:
            rows = rows.filter(batch_number=d["batch"].strip())
        if text := d["customer"].strip():
            rows = _with_ids(rows, "customer", _ids(Customer.objects.filter(name__icontains=text)))
        if d["date_from"]:
            rows = rows.filter(dispatch_date__gte=d["date_from"])
        if d["date_to"]:
            rows = rows.filter(dispatch_date__lte=d["date_to"])
    return form, rows.order_by("-dispatch_date", "-pk")


def shipment_list(request: HttpRequest) -> HttpResponse:
    """Newest first, paged by a cursor (dispatch date, id): a page costs the same at row 1,000,000
    (R-PERF-1)."""
    require_perm(request, "aftersales.view_shipment")
    form, rows = _shipment_rows(request)
    page = cursor_page(request, rows, "dispatch_date", PAGE_SIZE)
    return render(request, "aftersales/shipment_list.html", {"form": form, **page.context()})


def shipment_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.add_shipment")
    initial = {}
    complaint_pk = request.GET.get("complaint", "")
    if complaint_pk.isdigit():
        initial = {"complaint": int(complaint_pk), "purpose": Shipment.Purpose.REPLACEMENT}
    form = ShipmentForm(posted(request), initial=initial)
    if form.is_valid():
        try:
            shipment = services.shipment_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Distribution record %(number)s saved.") % {"number": shipment.number})
            return redirect(shipment)
    return render(
        request,
        "aftersales/form.html",
        {
            "form": form,
            "title": _("Record a shipment"),
            "back": None,
            "help": _(
                "Only released, unheld, in-date batches and qualified customers are offered; the gate and the "
                "qualification are checked again for the dispatch date when you save."
            ),
        },
        status=400 if form.is_bound else 200,
    )


def _shipment_context(request: HttpRequest, shipment: Shipment, **forms) -> dict:
    refusal = services.cannot_void_shipment(shipment, request.user)
    void_form = forms.get("void_form")
    explain_hidden_form(request, void_form, refusal is None)
    return {
        "shipment": shipment,
        "signatures": signatures_for(shipment),
        "can_void": refusal is None,
        "void_form": void_form or ShipmentVoidForm(meaning=services.shipment_void.meaning, prefix="void"),
    }


def shipment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = get_object_for_user(
        request,
        Shipment.objects.select_related("customer", "batch", "complaint", "recorded_by", "voided_by"),
        pk,
        "aftersales.view_shipment",
    )
    return render(request, "aftersales/shipment_detail.html", _shipment_context(request, shipment))


@require_POST
def shipment_void(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = get_object_for_user(request, Shipment, pk, "aftersales.void_shipment")
    form = ShipmentVoidForm(posted(request), meaning=services.shipment_void.meaning, prefix="void")
    if form.is_valid():
        try:
            services.shipment_void(
                shipment=shipment,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Distribution record voided."))
            return redirect(shipment)
    shipment.refresh_from_db()
    return render(
        request, "aftersales/shipment_detail.html", _shipment_context(request, shipment, void_form=form), status=400
    )


def shipment_import(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.add_shipment")
    form = ShipmentImportForm(posted(request), request.FILES or None)
    result = None
    status = 200
    if form.is_valid():
        try:
            result = services.shipment_import(
                user=request.user,
                content=form.cleaned_data["file"].read(services.shipments.MAX_IMPORT_BYTES + 1),
                import_good_rows=form.cleaned_data["import_good_rows"],
                fefo_confirmation=form.cleaned_data["fefo_confirmation"]
                if form.cleaned_data.get("confirm_fefo")
                else "",
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
            status = 400
        else:
            if result["created"]:
                messages.success(
                    request, _("%(count)s distribution records imported.") % {"count": len(result["created"])}
                )
            if result["errors"] or result["fefo_warnings"]:
                status = 400
                if not result["created"]:
                    messages.error(
                        request, _("Nothing was imported: correct the rows below, or import the valid rows.")
                    )
            if result["fefo_token"]:
                # The file input cannot be refilled: a fresh form carries the confirmation offer.
                form = ShipmentImportForm(
                    initial={
                        "fefo_confirmation": result["fefo_token"],
                        "import_good_rows": form.cleaned_data["import_good_rows"],
                    }
                )
    elif form.is_bound:
        status = 400
    return render(request, "aftersales/shipment_import.html", {"form": form, "result": result}, status=status)


def _csv_cell(value: object) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def shipment_csv(request: HttpRequest) -> StreamingHttpResponse:
    require_perm(request, "aftersales.view_shipment")
    _form, rows = _shipment_rows(request)
    writer = csv_line_writer()
    header = [
        _("Number"),
        _("Purpose"),
        _("Generic name"),
        _("Strength"),
        _("Dosage form"),
        _("Batch number"),
        _("Expiry date"),
        _("Manufacturer"),
        _("Quantity"),
        _("Unit"),
        _("Unit price"),
        _("Amount"),
        _("Consignee"),
        _("Address"),
        _("Contact"),
        _("Dispatch date"),
        _("Transport mode"),
        _("Delivery note"),
        _("Status"),
    ]

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for r in rows.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    r.number,
                    r.get_purpose_display(),
                    _csv_cell(r.generic_name),
                    _csv_cell(r.strength),
                    _csv_cell(r.dosage_form),
                    _csv_cell(r.batch_number),
                    r.expiry_date.isoformat(),
                    _csv_cell(r.manufacturer),
                    r.quantity,
                    _csv_cell(r.unit),
                    r.unit_price,
                    r.amount,
                    _csv_cell(r.consignee_name),
                    _csv_cell(r.consignee_address),
                    _csv_cell(r.consignee_contact),
                    r.dispatch_date.isoformat(),
                    r.get_transport_mode_display(),
                    _csv_cell(r.delivery_note),
                    r.get_status_display(),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="distribution-records.csv"'
    return response


# --- returned goods ---------------------------------------------------------------------------------


def return_list(request: HttpRequest) -> HttpResponse:
    """By batch, then channel: returns of one batch from different channels stay apart (R-RET-1)."""
    require_perm(request, "aftersales.view_goodsreturn")
    # Sorted by each return's batch number looked up by the batch's primary key, then the page's
    # batches and customers fetched by id: joining every return to the batch table made PostgreSQL
    # hash all 100,000 batches on every page (~25 ms at scale 1.0, issue 12).
    rows = (
        GoodsReturn.objects.only("number", "channel", "received_on", "quantity", "status", "batch", "customer")
        .annotate(batch_number_order=Subquery(Batch.objects.filter(pk=OuterRef("batch_id")).values("batch_number")[:1]))
        .prefetch_related(
            Prefetch("batch", Batch.objects.only("batch_number")), Prefetch("customer", Customer.objects.only("name"))
        )
        .order_by("batch_number_order", "channel", "-received_on", "-pk")
    )
    status = request.GET.get("status", "")
    if status in GoodsReturn.Status.values:
        rows = rows.filter(status=status)
    return render(
        request,
        "aftersales/return_list.html",
        {
            "page_obj": paginate(request, rows, size=50),
            "query": query_without_page(request),
            "statuses": GoodsReturn.Status.choices,
            "status": status,
        },
    )


def return_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.add_goodsreturn")
    initial = {}
    complaint_pk = request.GET.get("complaint", "")
    if complaint_pk.isdigit():
        complaint = Complaint.objects.filter(pk=int(complaint_pk)).first()
        if complaint is not None:
            initial = {"complaint": complaint.pk, "batch": complaint.batch_id, "quality_reason": True}
    form = ReturnForm(posted(request), initial=initial)
    if form.is_valid():
        try:
            goods = services.return_record(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            if goods.complaint_id and not form.cleaned_data.get("complaint"):
                messages.warning(
                    request,
                    _("Returned on quality grounds: complaint %(number)s was opened.")
                    % {"number": goods.complaint.number},
                )
            messages.success(request, _("Return %(number)s recorded in quarantine.") % {"number": goods.number})
            return redirect(goods)
    return render(
        request,
        "aftersales/form.html",
        {"form": form, "title": _("Record returned goods"), "back": None},
        status=400 if form.is_bound else 200,
    )


def _return_context(request: HttpRequest, goods: GoodsReturn, **forms) -> dict:
    eval_refusal = services.cannot_evaluate_return(goods, request.user)
    complete_refusal = services.cannot_complete_return(goods, request.user)
    for name, shown in (
        ("evaluate_form", eval_refusal is None),
        ("destroy_form", complete_refusal is None),
        ("restock_form", complete_refusal is None),
    ):
        explain_hidden_form(request, forms.get(name), shown)
    from aftersales.models import ReturnDecision

    return {
        "goods": goods,
        "signatures": signatures_for(goods),
        "forced": services.forced_decision(goods),
        "can_evaluate": eval_refusal is None,
        "can_destroy": complete_refusal is None and goods.decision == ReturnDecision.DESTROY,
        "can_restock": complete_refusal is None and goods.decision == ReturnDecision.RESTOCK,
        "evaluate_form": forms.get("evaluate_form")
        or ReturnEvaluateForm(meaning=services.return_evaluate.meaning, prefix="evaluate"),
        "destroy_form": forms.get("destroy_form")
        or ReturnDestroyForm(meaning=services.return_destroy.meaning, prefix="destroy"),
        "restock_form": forms.get("restock_form")
        or SignatureForm(meaning=services.return_restock.meaning, prefix="restock"),
    }


# The return's people in one query of their own (core.web.attach_people), not joined (issue 12).
RETURN_PEOPLE = ("recorded_by", "evaluated_by", "completed_by")


def return_detail(request: HttpRequest, pk: int) -> HttpResponse:
    goods = get_object_for_user(
        request,
        GoodsReturn.objects.select_related("customer", "batch", "product", "complaint"),
        pk,
        "aftersales.view_goodsreturn",
    )
    attach_people(goods, RETURN_PEOPLE)
    return render(request, "aftersales/return_detail.html", _return_context(request, goods))


@require_POST
def return_evaluate(request: HttpRequest, pk: int) -> HttpResponse:
    goods = get_object_for_user(request, GoodsReturn, pk, "aftersales.evaluate_goodsreturn")
    form = ReturnEvaluateForm(posted(request), meaning=services.return_evaluate.meaning, prefix="evaluate")
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.return_evaluate(
                goods=goods,
                user=request.user,
                password=d["password"],
                decision=d["decision"],
                evaluation=d["evaluation"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Evaluation signed."))
            return redirect(goods)
    goods.refresh_from_db()
    return render(
        request, "aftersales/return_detail.html", _return_context(request, goods, evaluate_form=form), status=400
    )


@require_POST
def return_destroy(request: HttpRequest, pk: int) -> HttpResponse:
    goods = get_object_for_user(request, GoodsReturn, pk, "aftersales.complete_goodsreturn")
    form = ReturnDestroyForm(posted(request), meaning=services.return_destroy.meaning, prefix="destroy")
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.return_destroy(
                goods=goods,
                user=request.user,
                password=d["password"],
                destroyed_on=d["destroyed_on"],
                method=d["method"],
                witnesses=d["witnesses"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Destruction recorded and signed."))
            return redirect(goods)
    goods.refresh_from_db()
    return render(
        request, "aftersales/return_detail.html", _return_context(request, goods, destroy_form=form), status=400
    )


@require_POST
def return_restock(request: HttpRequest, pk: int) -> HttpResponse:
    goods = get_object_for_user(request, GoodsReturn, pk, "aftersales.complete_goodsreturn")
    form = SignatureForm(posted(request), meaning=services.return_restock.meaning, prefix="restock")
    if form.is_valid():
        try:
            services.return_restock(
                goods=goods,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Restocking recorded and signed."))
            return redirect(goods)
    goods.refresh_from_db()
    return render(
        request, "aftersales/return_detail.html", _return_context(request, goods, restock_form=form), status=400
    )
