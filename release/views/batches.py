"""Batch pages: list, detail, register, correct, void."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import SignWithReasonForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import PAGE_SIZE, cursor_page, explain_hidden_form, posted, show_refusal
from core.workflow import WorkflowError
from release import services
from release.forms import BatchEditForm, BatchFilterForm, BatchForm, HoldForm
from release.gate import may_ship
from release.models import Batch, BatchHold, BatchRejection, Product
from release.views.materials import batch_materials_context

# Products a search looks up by id (see batch_list).
PRODUCTS_SEARCHED = 500


def batch_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.view_batch")
    form = BatchFilterForm(request.GET or None)
    batches = Batch.objects.select_related("product")
    product = None
    if form.is_valid():
        d = form.cleaned_data
        if text := d["q"].strip():
            # Product names are matched in the product table (2,000 rows) and its batches found by
            # id: with the batch number's trigram index (PostgreSQL) both sides of the OR are indexes,
            # where a condition on the joined table would read every batch.
            # (Past PRODUCTS_SEARCHED matching products the join is used: right, only slower.)
            by_name = Q(name__icontains=text) | Q(generic_name__icontains=text)
            products = list(Product.objects.filter(by_name).values_list("pk", flat=True)[: PRODUCTS_SEARCHED + 1])
            batches = batches.filter(
                Q(batch_number__icontains=text)
                | (
                    Q(product__in=products)
                    if len(products) <= PRODUCTS_SEARCHED
                    else Q(product__name__icontains=text) | Q(product__generic_name__icontains=text)
                )
            )
        if d["product"].isdigit():
            product = Product.objects.filter(pk=int(d["product"])).first()
            batches = batches.filter(product=product) if product else batches.none()
        if d["status"]:
            batches = batches.filter(status=d["status"])
    # Paged by a cursor (manufacture date, id), with no count of the 100,000 batches (issue 12:
    # the count was the page's slowest query).
    page = cursor_page(request, batches, "manufacture_date", PAGE_SIZE)
    without_product = request.GET.copy()
    without_product.pop("after", None)
    without_product.pop("product", None)
    return render(
        request,
        "release/batch_list.html",
        {"form": form, "product": product, "without_product": without_product.urlencode(), **page.context()},
    )


def _detail_context(request: HttpRequest, batch: Batch, **forms) -> dict:
    user = request.user
    can_void = services.cannot_void_batch(batch, user) is None
    void_form = forms.get("void_form")
    explain_hidden_form(request, void_form, can_void)
    holds = list(batch.holds.select_related("placed_by", "lifted_by").order_by("-placed_at", "-pk"))
    lift_forms = forms.get("lift_forms") or {}
    may_lift = user.has_perm("release.lift_batchhold")
    for hold in holds:
        hold.lift_form = (
            lift_forms.get(hold.pk) or SignWithReasonForm(meaning=services.hold_lift.meaning, prefix=f"lift{hold.pk}")
            if may_lift and hold.status == BatchHold.Status.ACTIVE
            else None
        )
    rejection = BatchRejection.objects.filter(batch=batch).select_related("rejected_by").first()
    return {
        "batch": batch,
        "rejection": rejection,
        "rejection_signatures": signatures_for(rejection, as_loaded=True) if rejection else [],
        "holds": holds,
        "deviations": batch.deviations.order_by("-raised_at", "-pk"),
        "change_controls": batch.change_controls.order_by("-raised_at", "-pk"),
        "ship_refusals": may_ship(batch),
        "can_hold": services.cannot_place_hold(batch, user) is None,
        "hold_form": forms.get("hold_form") or HoldForm(prefix="hold"),
        "signatures": signatures_for(batch, as_loaded=True),
        "can_edit": services.cannot_change_batch(batch, user) is None,
        "can_void": can_void,
        "void_form": void_form or SignWithReasonForm(meaning=services.batch_void.meaning, prefix="void"),
        **batch_materials_context(
            request, batch, material_form=forms.get("material_form"), balance_form=forms.get("balance_form")
        ),
    }


def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_for_user(
        request, Batch.objects.select_related("product", "last_changed_by"), pk, "release.view_batch"
    )
    return render(request, "release/batch_detail.html", _detail_context(request, batch))


def batch_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.add_batch")
    initial = {}
    if request.method == "GET" and request.GET.get("product"):
        initial["product"] = request.GET["product"]
    form = BatchForm(posted(request), initial=initial)
    if form.is_valid():
        try:
            batch = services.batch_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Batch %(number)s registered in quarantine.") % {"number": batch.batch_number})
            return redirect(batch)
    return render(request, "release/batch_form.html", {"form": form, "batch": None})


def batch_edit(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_for_user(request, Batch, pk, "release.change_batch")
    if refusal := services.cannot_change_batch(batch, request.user):
        messages.error(request, refusal)
        return redirect(batch)
    form = BatchEditForm(posted(request), instance=batch)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Batch.EDITABLE_FIELDS}
        try:
            batch = services.batch_update(
                batch=batch,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The batch was changed."))
            return redirect(batch)
    return render(
        request,
        "release/batch_form.html",
        {"form": form, "batch": Batch.objects.select_related("product").get(pk=pk)},
    )


@require_POST
def batch_void(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_for_user(request, Batch.objects.select_related("product"), pk, "release.void_batch")
    form = SignWithReasonForm(posted(request), meaning=services.batch_void.meaning, prefix="void")
    if form.is_valid():
        try:
            services.batch_void(
                batch=batch,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Batch voided."))
            return redirect(batch)
    batch.refresh_from_db()
    return render(request, "release/batch_detail.html", _detail_context(request, batch, void_form=form), status=400)
