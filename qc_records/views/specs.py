"""Specifications (质量标准) and their test items."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import ReasonForm, SignatureForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import (
    RegisterFilterForm,
    SpecificationEditForm,
    SpecificationForm,
    SpecificationItemEditForm,
    SpecificationItemForm,
)
from qc_records.models import Category, Specification, SpecificationItem


def spec_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.view_specification")
    form = RegisterFilterForm(request.GET or None)
    # Counted per row shown (a subquery PostgreSQL evaluates after the page's LIMIT), not by a
    # GROUP BY over every specification and item (26 ms at 2,000 specifications).
    live_items = (
        SpecificationItem.objects.filter(specification=OuterRef("pk"), voided_at__isnull=True)
        .order_by()
        .values("specification")
        .annotate(n=Count("pk"))
        .values("n")
    )
    specs = Specification.objects.select_related("product").annotate(item_count=Coalesce(Subquery(live_items), 0))
    status = request.GET.get("status", "")
    if status in Specification.Status.values:
        specs = specs.filter(status=status)
    if form.is_valid() and form.cleaned_data["q"]:
        q = form.cleaned_data["q"]
        specs = specs.filter(
            Q(code__icontains=q) | Q(title__icontains=q) | Q(material_name__icontains=q) | Q(product__name__icontains=q)
        )
    return render(
        request,
        "qc_records/spec_list.html",
        {
            "form": form,
            "page_obj": paginate(request, specs.order_by("code", "-version")),
            "query": query_without_page(request),
            "statuses": Specification.Status.choices,
            "status": status,
        },
    )


def _spec_context(request: HttpRequest, spec: Specification, **extra) -> dict:
    user = request.user
    is_draft = spec.status == Specification.Status.DRAFT
    approver_role = is_draft and user.has_perm("qc_records.approve_specification")
    # The service's own rule (R-SEQ-2): an author is told why instead of being offered the form.
    approve_refusal = services.cannot_approve_specification(spec, user) if approver_role else None
    return {
        "spec": spec,
        "items": spec.items.filter(voided_at__isnull=True).order_by("position", "pk"),
        "removed_items": spec.items.filter(voided_at__isnull=False).order_by("position", "pk"),
        "versions": Specification.objects.filter(code=spec.code).order_by("-version"),
        "signatures": signatures_for(spec),
        "digest_ok": spec.status == Specification.Status.DRAFT or spec.content_digest == spec.compute_content_digest(),
        "can_edit": is_draft and user.has_perm("qc_records.change_specification"),
        "can_approve": approver_role and approve_refusal is None,
        "approve_refusal": approve_refusal,
        "can_new_version": spec.status in (Specification.Status.APPROVED, Specification.Status.SUPERSEDED)
        and user.has_perm("qc_records.add_specification"),
        "approve_form": extra.pop("approve_form", None)
        or SignatureForm(meaning=services.specification_approve.meaning, prefix="approve"),
        "void_form": extra.pop("void_form", None) or ReasonForm(prefix="void"),
        "item_form": extra.pop("item_form", None) or SpecificationItemForm(prefix="item"),
        **extra,
    }


def spec_detail(request: HttpRequest, pk: int) -> HttpResponse:
    spec = get_object_for_user(
        request,
        Specification.objects.select_related("product", "approved_by", "last_changed_by"),
        pk,
        "qc_records.view_specification",
    )
    return render(request, "qc_records/spec_detail.html", _spec_context(request, spec))


def spec_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.add_specification")
    form = SpecificationForm(posted(request), initial={"category": Category.FINISHED_PRODUCT})
    if form.is_valid():
        try:
            spec = services.specification_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request, _("Specification %(spec)s created as a draft; add its test items.") % {"spec": spec}
            )
            return redirect(spec)
    return render(
        request,
        "qc_records/form.html",
        {"form": form, "title": _("New specification"), "back": "qc_records:spec_list"},
        status=400 if form.errors else 200,
    )


def spec_edit(request: HttpRequest, pk: int) -> HttpResponse:
    spec = get_object_for_user(request, Specification, pk, "qc_records.change_specification")
    form = SpecificationEditForm(posted(request), instance=spec)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Specification.EDITABLE_FIELDS}
        try:
            services.specification_update(
                spec=spec,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The specification was changed."))
            return redirect(spec)
    return render(
        request,
        "qc_records/form.html",
        {
            "form": form,
            "title": _("Change %(spec)s") % {"spec": Specification.objects.get(pk=pk)},
            "cancel_url": spec.get_absolute_url(),
        },
        status=400 if form.errors else 200,
    )


@require_POST
def spec_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    spec = get_object_for_user(
        request, Specification.objects.select_related("product"), pk, "qc_records.change_specification"
    )
    form = SpecificationItemForm(posted(request), prefix="item")
    if form.is_valid():
        try:
            item = services.specification_item_add(spec=spec, user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Test item %(name)s added.") % {"name": item.name})
            return redirect(spec)
    spec.refresh_from_db()
    return render(request, "qc_records/spec_detail.html", _spec_context(request, spec, item_form=form), status=400)


def spec_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_for_user(
        request, SpecificationItem.objects.select_related("specification"), pk, "qc_records.change_specification"
    )
    form = SpecificationItemEditForm(posted(request), instance=item)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in SpecificationItem.EDITABLE_FIELDS}
        try:
            services.specification_item_update(
                item=item,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The test item was changed."))
            return redirect(item.specification)
    return render(
        request,
        "qc_records/form.html",
        {
            "form": form,
            "title": _("Change test item %(name)s") % {"name": SpecificationItem.objects.get(pk=pk).name},
            "cancel_url": item.specification.get_absolute_url(),
        },
        status=400 if form.errors else 200,
    )


@require_POST
def spec_item_remove(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_for_user(
        request, SpecificationItem.objects.select_related("specification"), pk, "qc_records.change_specification"
    )
    form = ReasonForm(posted(request), prefix=f"remove{item.pk}")
    if form.is_valid():
        try:
            services.specification_item_remove(item=item, user=request.user, reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Test item %(name)s removed.") % {"name": item.name})
    else:
        messages.error(request, _("Give a reason for removing the test item."))
    return redirect(item.specification)


@require_POST
def spec_approve(request: HttpRequest, pk: int) -> HttpResponse:
    spec = get_object_for_user(
        request, Specification.objects.select_related("product"), pk, "qc_records.approve_specification"
    )
    form = SignatureForm(posted(request), meaning=services.specification_approve.meaning, prefix="approve")
    if form.is_valid():
        try:
            services.specification_approve(
                spec=spec,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("%(spec)s approved: it is in force from today.") % {"spec": spec})
            return redirect(spec)
    spec.refresh_from_db()
    return render(request, "qc_records/spec_detail.html", _spec_context(request, spec, approve_form=form), status=400)


@require_POST
def spec_new_version(request: HttpRequest, pk: int) -> HttpResponse:
    spec = get_object_for_user(request, Specification, pk, "qc_records.add_specification")
    try:
        new = services.specification_new_version(spec=spec, user=request.user)
    except WorkflowError as exc:
        messages.error(request, str(exc))
        return redirect(spec)
    messages.success(request, _("Version %(v)s started as a draft copy.") % {"v": new.version})
    return redirect(new)


@require_POST
def spec_void(request: HttpRequest, pk: int) -> HttpResponse:
    spec = get_object_for_user(request, Specification, pk, "qc_records.change_specification")
    form = ReasonForm(posted(request), prefix="void")
    if form.is_valid():
        try:
            services.specification_void(spec=spec, user=request.user, reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The draft was voided."))
            return redirect(spec)
    spec.refresh_from_db()
    return render(request, "qc_records/spec_detail.html", _spec_context(request, spec, void_form=form), status=400)
