"""Product master record pages: list, detail, create, edit, QA approval, void."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import SignatureForm, SignWithReasonForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import explain_hidden_form, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError
from release import services
from release.forms import ProductEditForm, ProductFilterForm, ProductForm
from release.models import Product


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
            "page_obj": paginate(request, products.order_by("name", "strength", "pk")),
            "query": query_without_page(request),
        },
    )


def _detail_context(request: HttpRequest, product: Product, **forms) -> dict:
    user = request.user
    approve_refusal = services.cannot_approve_product(product, user)
    void_refusal = services.cannot_void_product(product, user)
    approve_form = forms.get("approve_form")
    void_form = forms.get("void_form")
    explain_hidden_form(request, approve_form, approve_refusal is None)
    explain_hidden_form(request, void_form, void_refusal is None)
    # A QA reviewer looking at a draft they may not approve is told why (an author, R-SEQ-2);
    # people without the role are not shown the rule.
    approver_sees_draft = product.status == Product.Status.DRAFT and user.has_perm("release.approve_product")
    return {
        "product": product,
        "signatures": signatures_for(product),
        "batches": product.batches.order_by("-manufacture_date", "-pk")[:10],
        "batch_count": product.batches.count(),
        "can_approve": approve_refusal is None,
        "approve_refusal": approve_refusal if approver_sees_draft else None,
        "can_edit": services.cannot_change_product(product, user) is None,
        "can_void": void_refusal is None,
        "void_refusal": void_refusal
        if product.status != Product.Status.VOIDED and user.has_perm("release.void_product")
        else None,
        "approve_form": approve_form or SignatureForm(meaning=services.product_approve.meaning, prefix="approve"),
        "void_form": void_form or SignWithReasonForm(meaning=services.product_void.meaning, prefix="void"),
    }


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_for_user(
        request, Product.objects.select_related("last_changed_by"), pk, "release.view_product"
    )
    return render(request, "release/product_detail.html", _detail_context(request, product))


def product_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.add_product")
    form = ProductForm(posted(request))
    if form.is_valid():
        try:
            product = services.product_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
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
    was_approved = product.status == Product.Status.APPROVED
    form = ProductEditForm(posted(request), instance=product)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Product.EDITABLE_FIELDS}
        try:
            product = services.product_update(
                product=product,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            if was_approved:
                messages.warning(request, _("The product was changed and is back in draft: it must be approved again."))
            else:
                messages.success(request, _("The product was changed."))
            return redirect(product)
    return render(
        request,
        "release/product_form.html",
        {"form": form, "product": Product.objects.get(pk=pk)},
    )


@require_POST
def product_approve(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_for_user(request, Product, pk, "release.approve_product")
    form = SignatureForm(posted(request), meaning=services.product_approve.meaning, prefix="approve")
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
            show_refusal(form, exc)
        else:
            messages.success(request, _("Product approved and signed."))
            return redirect(product)
    product.refresh_from_db()
    return render(
        request, "release/product_detail.html", _detail_context(request, product, approve_form=form), status=400
    )


@require_POST
def product_void(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_for_user(request, Product, pk, "release.void_product")
    form = SignWithReasonForm(posted(request), meaning=services.product_void.meaning, prefix="void")
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
            show_refusal(form, exc)
        else:
            messages.success(request, _("Product voided."))
            return redirect(product)
    product.refresh_from_db()
    return render(request, "release/product_detail.html", _detail_context(request, product, void_form=form), status=400)
