from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import SignatureForm, SignWithReasonForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.workflow import WorkflowError
from release import services
from release.forms import (
    BatchEditForm,
    BatchFilterForm,
    BatchForm,
    ProductEditForm,
    ProductFilterForm,
    ProductForm,
)
from release.models import Batch, Product

PAGE_SIZE = 25


def _posted(request: HttpRequest):
    """The POST data of a POST, even an empty one: an empty submission must show the "required"
    errors, not an untouched form (``request.POST or None`` would treat it as a GET)."""
    return request.POST if request.method == "POST" else None


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- products -----------------------------------------------------------------------------------


def product_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.view_product")
    form = ProductFilterForm(request.GET or None)
    products = Product.objects.all()
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            products = products.filter(
                Q(name__icontains=d["q"]) | Q(generic_name__icontains=d["q"]) | Q(approval_number__icontains=d["q"])
            )
        if d["status"]:
            products = products.filter(status=d["status"])
        if d["dosage_form"]:
            products = products.filter(dosage_form=d["dosage_form"])
    return render(
        request,
        "release/product_list.html",
        {
            "form": form,
            "page_obj": _page(request, products.order_by("name", "strength", "pk")),
            "query": _query_without_page(request),
        },
    )


def _show_errors_of_hidden_form(request: HttpRequest, form, shown: bool) -> None:
    """A refused action whose form is no longer offered (someone else approved or voided the
    record meanwhile) would otherwise re-render the page without saying why (R-UX-2)."""
    if form is not None and form.is_bound and not shown:
        for error in form.non_field_errors():
            messages.error(request, error)


def _product_detail_context(request: HttpRequest, product: Product, **extra) -> dict:
    user = request.user
    approver_role = product.status == Product.Status.DRAFT and user.has_perm("release.approve_product")
    # The same rule product_approve enforces (R-SEQ-2): an author is not offered the form.
    is_author = approver_role and (
        product.last_changed_by_id == user.pk or Product.objects.filter(pk=product.pk).authored_by(user).exists()
    )
    can_approve = approver_role and not is_author
    can_void = product.status != Product.Status.VOIDED and user.has_perm("release.void_product")
    _show_errors_of_hidden_form(request, extra.get("approve_form"), can_approve)
    _show_errors_of_hidden_form(request, extra.get("void_form"), can_void)
    return {
        "product": product,
        "signatures": signatures_for(product),
        "batches": product.batches.order_by("-manufacture_date", "-pk")[:10],
        "batch_count": product.batches.count(),
        "can_approve": can_approve,
        "approval_needs_another_person": is_author,
        "can_edit": product.status != Product.Status.VOIDED and user.has_perm("release.change_product"),
        "can_void": can_void,
        "approve_form": extra.pop("approve_form", None) or SignatureForm(meaning="approved", prefix="approve"),
        "void_form": extra.pop("void_form", None) or SignWithReasonForm(meaning="voided", prefix="void"),
        **extra,
    }


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_for_user(
        request, Product.objects.select_related("last_changed_by"), pk, "release.view_product"
    )
    return render(request, "release/product_detail.html", _product_detail_context(request, product))


def product_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.add_product")
    form = ProductForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Product %(name)s was created as a draft; a QA reviewer must approve it.") % {"name": product},
            )
            return redirect(product)
    return render(request, "release/product_form.html", {"form": form, "product": None})


def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_for_user(request, Product, pk, "release.change_product")
    if product.status == Product.Status.VOIDED:
        # A voided record stays readable (R-REC-1) but is never offered for editing.
        messages.error(request, _("A voided product cannot be changed."))
        return redirect(product)
    form = ProductEditForm(_posted(request), instance=product)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Product.EDITABLE_FIELDS}
        try:
            was_approved = Product.objects.get(pk=pk).status == Product.Status.APPROVED
            product = services.product_update(
                product=product, user=request.user, data=data, reason=form.cleaned_data["reason"]
            )
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            if was_approved:
                messages.warning(request, _("The product was changed and is back in draft: it must be approved again."))
            else:
                messages.success(request, _("The product was changed."))
            return redirect(product)
    return render(request, "release/product_form.html", {"form": form, "product": Product.objects.get(pk=pk)})


@require_POST
def product_approve(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_for_user(request, Product, pk, "release.approve_product")
    form = SignatureForm(request.POST, meaning="approved", prefix="approve")
    if form.is_valid():
        try:
            services.product_approve(
                product=product,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Product approved and signed."))
            return redirect(product)
    product.refresh_from_db()
    return render(
        request, "release/product_detail.html", _product_detail_context(request, product, approve_form=form), status=400
    )


@require_POST
def product_void(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_for_user(request, Product, pk, "release.void_product")
    form = SignWithReasonForm(request.POST, meaning="voided", prefix="void")
    if form.is_valid():
        try:
            services.product_void(
                product=product,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Product voided."))
            return redirect(product)
    product.refresh_from_db()
    return render(
        request, "release/product_detail.html", _product_detail_context(request, product, void_form=form), status=400
    )


# --- batches -------------------------------------------------------------------------------------


def batch_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.view_batch")
    form = BatchFilterForm(request.GET or None)
    batches = Batch.objects.select_related("product")
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            batches = batches.filter(Q(batch_number__icontains=d["q"]) | Q(product__name__icontains=d["q"]))
        if d["product"]:
            batches = batches.filter(product=d["product"])
        if d["status"]:
            batches = batches.filter(status=d["status"])
    return render(
        request,
        "release/batch_list.html",
        {
            "form": form,
            "page_obj": _page(request, batches.order_by("-manufacture_date", "-pk")),
            "query": _query_without_page(request),
        },
    )


def _batch_detail_context(request: HttpRequest, batch: Batch, **extra) -> dict:
    user = request.user
    can_void = batch.status == Batch.Status.QUARANTINE and user.has_perm("release.void_batch")
    _show_errors_of_hidden_form(request, extra.get("void_form"), can_void)
    return {
        "batch": batch,
        "signatures": signatures_for(batch),
        "can_edit": batch.status == Batch.Status.QUARANTINE and user.has_perm("release.change_batch"),
        "can_void": can_void,
        "void_form": extra.pop("void_form", None) or SignWithReasonForm(meaning="voided", prefix="void"),
        **extra,
    }


def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_for_user(
        request, Batch.objects.select_related("product", "last_changed_by"), pk, "release.view_batch"
    )
    return render(request, "release/batch_detail.html", _batch_detail_context(request, batch))


def batch_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.add_batch")
    initial = {}
    if request.method == "GET" and request.GET.get("product"):
        initial["product"] = request.GET["product"]
    form = BatchForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.batch_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Batch %(number)s registered in quarantine.") % {"number": batch.batch_number})
            return redirect(batch)
    return render(request, "release/batch_form.html", {"form": form, "batch": None})


def batch_edit(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_for_user(request, Batch, pk, "release.change_batch")
    if batch.status != Batch.Status.QUARANTINE:
        messages.error(request, _("Only a batch in quarantine can be changed."))
        return redirect(batch)
    form = BatchEditForm(_posted(request), instance=batch)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Batch.EDITABLE_FIELDS}
        try:
            batch = services.batch_update(batch=batch, user=request.user, data=data, reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The batch was changed."))
            return redirect(batch)
    return render(
        request, "release/batch_form.html", {"form": form, "batch": Batch.objects.select_related("product").get(pk=pk)}
    )


@require_POST
def batch_void(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_for_user(request, Batch.objects.select_related("product"), pk, "release.void_batch")
    form = SignWithReasonForm(request.POST, meaning="voided", prefix="void")
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
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Batch voided."))
            return redirect(batch)
    batch.refresh_from_db()
    return render(
        request, "release/batch_detail.html", _batch_detail_context(request, batch, void_form=form), status=400
    )
