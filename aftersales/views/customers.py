"""Customer file pages: list, detail, create, edit, licences and people, submit, approve, void."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.for_shipping import customer_may_buy
from aftersales.forms import (
    CustomerApproveSignForm,
    CustomerEditForm,
    CustomerFilterForm,
    CustomerForm,
    LicenceForm,
    LicenceScanForm,
    PersonForm,
)
from aftersales.models import APPROVAL_PERMISSIONS, ApprovalRole, Customer, CustomerLicence, CustomerLicenceScan
from core.forms import SignWithReasonForm
from core.permissions import get_object_for_user, require_any_perm, require_perm
from core.signatures import signatures_for
from core.storage import StoredFileAltered, altered_response, read_verified
from core.web import explain_hidden_form, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError


def customer_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.view_customer")
    form = CustomerFilterForm(request.GET or None)
    customers = Customer.objects.all()
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            customers = customers.filter(Q(name__icontains=d["q"]) | Q(registered_address__icontains=d["q"]))
        if d["status"]:
            customers = customers.filter(status=d["status"])
        if d["customer_type"]:
            customers = customers.filter(customer_type=d["customer_type"])
    return render(
        request,
        "aftersales/customer_list.html",
        {
            "form": form,
            "page_obj": paginate(request, customers.order_by("name", "pk")),
            "query": query_without_page(request),
        },
    )


EXPIRY_WARNING_DAYS = 30


def licences_expiring(request: HttpRequest) -> HttpResponse:
    """Licences of customers in the file that expire within 30 days or have expired (GSP-5.3.1: a
    licence out of date blocks the sale, so renewals are asked for ahead)."""
    require_perm(request, "aftersales.view_customerlicence")
    today = timezone.localdate()
    licences = (
        CustomerLicence.objects.filter(valid_to__lte=today + timedelta(days=EXPIRY_WARNING_DAYS))
        .exclude(customer__status=Customer.Status.VOIDED)
        .select_related("customer")
        .order_by("valid_to", "pk")
    )
    return render(
        request,
        "aftersales/licence_expiring.html",
        {
            "page_obj": paginate(request, licences),
            "query": query_without_page(request),
            "today": today,
            "days": EXPIRY_WARNING_DAYS,
        },
    )


def _detail_context(request: HttpRequest, customer: Customer, **forms) -> dict:
    user = request.user
    roles = services.approval_roles_for(customer, user)
    approve_form = forms.get("approve_form")
    void_form = forms.get("void_form")
    can_void = customer.status != Customer.Status.VOIDED and user.has_perm("aftersales.change_customer")
    explain_hidden_form(request, approve_form, bool(roles))
    explain_hidden_form(request, void_form, can_void)
    approvals = {a.role: a for a in customer.current_approvals().select_related("approver")}
    return {
        "customer": customer,
        "licences": _licences_with_scans(request, customer),
        "people": customer.people.order_by("kind", "name", "pk"),
        "approvals": [(ApprovalRole(role).label, approvals.get(role)) for role in ApprovalRole.values],
        "signatures": signatures_for(customer),
        "may_buy_problems": customer_may_buy(customer, None, timezone.localdate()),
        "can_edit": services.cannot_change_customer(customer, user) is None,
        "can_add": customer.status != Customer.Status.VOIDED
        and (user.has_perm("aftersales.add_customer") or user.has_perm("aftersales.change_customer")),
        "can_add_licence": customer.status != Customer.Status.VOIDED
        and user.has_perm("aftersales.add_customerlicence"),
        "can_submit": services.cannot_submit_customer(customer, user) is None,
        "submit_refusal": services.cannot_submit_customer(customer, user)
        if customer.status == Customer.Status.DRAFT
        else None,
        "can_approve": bool(roles),
        "can_void": can_void,
        "approve_form": approve_form
        or CustomerApproveSignForm(meaning=services.customer_approve.meaning, prefix="approve", roles=roles),
        "void_form": void_form or SignWithReasonForm(meaning=services.customer_void.meaning, prefix="void"),
    }


def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_for_user(request, Customer, pk, "aftersales.view_customer")
    return render(request, "aftersales/customer_detail.html", _detail_context(request, customer))


def customer_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.add_customer")
    form = CustomerForm(posted(request))
    if form.is_valid():
        try:
            customer = services.customer_create(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Customer recorded as a draft: add its licences, then submit it for approval."))
            return redirect(customer)
    return render(request, "aftersales/form.html", {"form": form, "title": _("New customer"), "back": None})


def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_for_user(request, Customer, pk, "aftersales.change_customer")
    if customer.status == Customer.Status.VOIDED:
        messages.error(request, _("A voided customer cannot be changed."))
        return redirect(customer)
    form = CustomerEditForm(posted(request), instance=customer)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in Customer.EDITABLE_FIELDS}
        try:
            customer = services.customer_update(
                customer=customer,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The customer was changed."))
            return redirect(customer)
    customer = Customer.objects.get(pk=pk)
    return render(request, "aftersales/form.html", {"form": form, "title": _("Edit customer"), "back": customer})


def _licences_with_scans(request: HttpRequest, customer: Customer) -> list:
    """Each licence with its scans, each scan re-hashed from storage now (a file swapped or changed
    on disk shows red), and for those who may file scans an upload form per licence."""
    from django.db.models import Prefetch

    may_add = request.user.has_perm("aftersales.add_customerlicence") and customer.status != Customer.Status.VOIDED
    licences = customer.licences.order_by("kind", "-valid_to", "pk").prefetch_related(
        Prefetch("scans", queryset=CustomerLicenceScan.objects.order_by("pk"))
    )
    out = []
    for licence in licences:
        for scan in licence.scans.all():
            scan.intact = scan.is_intact()
        licence.scan_form = LicenceScanForm(prefix=f"scan{licence.pk}") if may_add else None
        out.append(licence)
    return out


def licence_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_for_user(request, Customer, pk, "aftersales.add_customerlicence")
    form = LicenceForm(posted(request))
    if form.is_valid():
        try:
            services.licence_add(customer=customer, user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Licence filed."))
            return redirect(customer)
    return render(request, "aftersales/form.html", {"form": form, "title": _("File a licence"), "back": customer})


@require_POST
def licence_scan_add(request: HttpRequest, pk: int) -> HttpResponse:
    licence = get_object_for_user(
        request, CustomerLicence.objects.select_related("customer"), pk, "aftersales.add_customerlicence"
    )
    form = LicenceScanForm(posted(request), request.FILES, prefix=f"scan{licence.pk}")
    if form.is_valid():
        try:
            scan = services.licence_scan_add(licence=licence, user=request.user, upload=form.cleaned_data["file"])
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s filed (SHA-256 %(sha)s…).") % {"name": scan.original_name, "sha": scan.sha256[:12]},
            )
            return redirect(licence.customer)
    for error in form.errors.get("file", []) + form.non_field_errors():
        messages.error(request, _("Scan of %(licence)s not filed: %(error)s") % {"licence": licence, "error": error})
    return redirect(licence.customer)


def licence_scan_download(request: HttpRequest, pk: int) -> HttpResponse:
    scan = get_object_for_user(request, CustomerLicenceScan, pk, "aftersales.view_customerlicence")
    try:
        handle = read_verified(scan.file, scan.sha256)
    except FileNotFoundError:
        raise Http404 from None
    except StoredFileAltered:
        return altered_response()
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=scan.original_name,
        content_type=scan.content_type or "application/octet-stream",
    )
    # The hash taken on upload, so the receiver can check the copy.
    response["X-Content-SHA256"] = scan.sha256
    return response


def person_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_for_user(request, Customer, pk, "aftersales.view_customer")
    require_any_perm(request, "aftersales.add_customer", "aftersales.change_customer")
    form = PersonForm(posted(request))
    if form.is_valid():
        try:
            services.person_add(customer=customer, user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Person recorded."))
            return redirect(customer)
    return render(request, "aftersales/form.html", {"form": form, "title": _("Add a person"), "back": customer})


@require_POST
def customer_submit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_for_user(request, Customer, pk, "aftersales.view_customer")
    require_any_perm(request, "aftersales.add_customer", "aftersales.change_customer")
    try:
        services.customer_submit(customer=customer, user=request.user)
    except WorkflowError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Submitted for approval by sales, QA, finance and the quality head."))
    return redirect(customer)


@require_POST
def customer_approve(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_for_user(request, Customer, pk, "aftersales.view_customer")
    user = request.user
    require_any_perm(request, *APPROVAL_PERMISSIONS.values())
    form = CustomerApproveSignForm(posted(request), meaning=services.customer_approve.meaning, prefix="approve")
    if form.is_valid():
        try:
            services.customer_approve(
                customer=customer,
                user=user,
                role=form.cleaned_data["role"],
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Approval signed."))
            return redirect(customer)
    customer.refresh_from_db()
    return render(
        request, "aftersales/customer_detail.html", _detail_context(request, customer, approve_form=form), status=400
    )


@require_POST
def customer_void(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_for_user(request, Customer, pk, "aftersales.change_customer")
    form = SignWithReasonForm(posted(request), meaning=services.customer_void.meaning, prefix="void")
    if form.is_valid():
        try:
            services.customer_void(
                customer=customer,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Customer voided."))
            return redirect(customer)
    customer.refresh_from_db()
    return render(
        request, "aftersales/customer_detail.html", _detail_context(request, customer, void_form=form), status=400
    )
