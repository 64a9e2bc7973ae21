"""Material lot pages (list, register, detail, release, reject, void) and a batch's bill of
materials and material balance (R-MAT-1, R-REL-8)."""

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
from qc_records.for_release import test_record_status
from release import services
from release.balance import FORMULAS
from release.forms import (
    BatchMaterialForm,
    LinkQCRecordForm,
    MaterialBalanceForm,
    MaterialLotFilterForm,
    MaterialLotForm,
)
from release.models import Batch, MaterialLot


def materiallot_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.view_materiallot")
    form = MaterialLotFilterForm(request.GET or None)
    lots = MaterialLot.objects.all()
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            lots = lots.filter(
                Q(lot_number__icontains=d["q"])
                | Q(material_name__icontains=d["q"])
                | Q(material_code__icontains=d["q"])
                | Q(supplier__icontains=d["q"])
                | Q(supplier_lot__icontains=d["q"])
            )
        if d["status"]:
            lots = lots.filter(status=d["status"])
    return render(
        request,
        "release/materiallot_list.html",
        {
            "form": form,
            "page_obj": paginate(request, lots.order_by("-received_date", "-pk")),
            "query": query_without_page(request),
            "can_create": request.user.has_perm("release.add_materiallot"),
        },
    )


def materiallot_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.add_materiallot")
    form = MaterialLotForm(posted(request))
    if form.is_valid():
        data = dict(form.cleaned_data)
        report = data.pop("qc_report_number", "")
        try:
            lot = services.material_lot_create(user=request.user, data=data, qc_report_number=report)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Lot %(lot)s registered in quarantine.") % {"lot": lot.lot_number})
            return redirect(lot)
    return render(request, "release/materiallot_form.html", {"form": form})


def _detail_context(request: HttpRequest, lot: MaterialLot, **forms) -> dict:
    user = request.user
    can_release = services.cannot_release_material_lot(lot, user) is None
    can_reject = services.cannot_reject_material_lot(lot, user) is None
    can_void = services.cannot_void_material_lot(lot, user) is None
    can_link = services.cannot_link_qc_record(lot, user) is None
    explain_hidden_form(request, forms.get("link_form"), can_link)
    explain_hidden_form(request, forms.get("release_form"), can_release)
    explain_hidden_form(request, forms.get("reject_form"), can_reject)
    explain_hidden_form(request, forms.get("void_form"), can_void)
    refusal = None
    if user.has_perm("release.release_materiallot") and lot.status == MaterialLot.Status.QUARANTINE:
        refusal = services.cannot_release_material_lot(lot, user)
    return {
        "lot": lot,
        "qc_record": test_record_status(pk=lot.qc_record_id) if lot.qc_record_id else None,
        "used_in": lot.used_in.select_related("batch", "batch__product").order_by("pk"),
        "signatures": signatures_for(lot),
        "release_refusal": refusal,
        "can_release": can_release,
        "can_reject": can_reject,
        "can_void": can_void,
        "can_link": can_link,
        "link_form": forms.get("link_form") or LinkQCRecordForm(prefix="link"),
        "release_form": forms.get("release_form")
        or SignatureForm(meaning=services.material_lot_release.meaning, prefix="release"),
        "reject_form": forms.get("reject_form")
        or SignWithReasonForm(meaning=services.material_lot_reject.meaning, prefix="reject"),
        "void_form": forms.get("void_form")
        or SignWithReasonForm(meaning=services.material_lot_void.meaning, prefix="void"),
    }


def materiallot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lot = get_object_for_user(
        request, MaterialLot.objects.select_related("registered_by", "decided_by"), pk, "release.view_materiallot"
    )
    return render(request, "release/materiallot_detail.html", _detail_context(request, lot))


def _lot(request: HttpRequest, pk: int, perm: str) -> MaterialLot:
    return get_object_for_user(request, MaterialLot.objects.select_related("registered_by", "decided_by"), pk, perm)


@require_POST
def materiallot_link_qc(request: HttpRequest, pk: int) -> HttpResponse:
    lot = _lot(request, pk, "release.change_materiallot")
    form = LinkQCRecordForm(posted(request), prefix="link")
    if form.is_valid():
        try:
            services.material_lot_link_qc(lot=lot, user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("QC test record linked."))
            return redirect(lot)
    lot = _lot(request, pk, "release.change_materiallot")
    return render(request, "release/materiallot_detail.html", _detail_context(request, lot, link_form=form), status=400)


@require_POST
def materiallot_release(request: HttpRequest, pk: int) -> HttpResponse:
    lot = _lot(request, pk, "release.release_materiallot")
    form = SignatureForm(posted(request), meaning=services.material_lot_release.meaning, prefix="release")
    if form.is_valid():
        try:
            services.material_lot_release(
                lot=lot,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Lot %(lot)s released.") % {"lot": lot.lot_number})
            return redirect(lot)
    lot = _lot(request, pk, "release.release_materiallot")
    return render(
        request, "release/materiallot_detail.html", _detail_context(request, lot, release_form=form), status=400
    )


@require_POST
def materiallot_reject(request: HttpRequest, pk: int) -> HttpResponse:
    lot = _lot(request, pk, "release.release_materiallot")
    form = SignWithReasonForm(posted(request), meaning=services.material_lot_reject.meaning, prefix="reject")
    if form.is_valid():
        try:
            services.material_lot_reject(
                lot=lot,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Lot %(lot)s rejected.") % {"lot": lot.lot_number})
            return redirect(lot)
    lot = _lot(request, pk, "release.release_materiallot")
    return render(
        request, "release/materiallot_detail.html", _detail_context(request, lot, reject_form=form), status=400
    )


@require_POST
def materiallot_void(request: HttpRequest, pk: int) -> HttpResponse:
    lot = _lot(request, pk, "release.void_materiallot")
    form = SignWithReasonForm(posted(request), meaning=services.material_lot_void.meaning, prefix="void")
    if form.is_valid():
        try:
            services.material_lot_void(
                lot=lot,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Lot %(lot)s voided.") % {"lot": lot.lot_number})
            return redirect(lot)
    lot = _lot(request, pk, "release.void_materiallot")
    return render(request, "release/materiallot_detail.html", _detail_context(request, lot, void_form=form), status=400)


# --- a batch's bill of materials and material balance ------------------------------------------------


def batch_materials_context(request: HttpRequest, batch: Batch, **forms) -> dict:
    """The batch page's sections for the bill of materials and the material balance."""
    user = request.user
    can_add_material = services.cannot_record_batch_materials(batch, user) is None
    can_add_balance = services.cannot_record_balance(batch, user) is None
    explain_hidden_form(request, forms.get("material_form"), can_add_material)
    explain_hidden_form(request, forms.get("balance_form"), can_add_balance)
    return {
        "materials": batch.materials.select_related("lot").order_by("pk"),
        "balances": batch.material_balances.order_by("pk"),
        "balance_formulas": FORMULAS,
        "can_add_material": can_add_material,
        "can_add_balance": can_add_balance,
        "material_form": forms.get("material_form") or BatchMaterialForm(prefix="material"),
        "balance_form": forms.get("balance_form") or MaterialBalanceForm(prefix="balance"),
    }


def _batch_page(request: HttpRequest, batch: Batch, **forms) -> HttpResponse:
    from release.views.batches import _detail_context as batch_context  # batches imports this module

    batch = Batch.objects.select_related("product", "last_changed_by").get(pk=batch.pk)
    return render(request, "release/batch_detail.html", batch_context(request, batch, **forms), status=400)


@require_POST
def batch_material_add(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_for_user(request, Batch, pk, "release.add_batchmaterial")
    form = BatchMaterialForm(posted(request), prefix="material")
    if form.is_valid():
        try:
            line = services.batch_material_add(batch=batch, user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Lot %(lot)s added to the bill of materials.") % {"lot": line.lot.lot_number})
            return redirect(batch)
    return _batch_page(request, batch, material_form=form)


@require_POST
def material_balance_add(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_for_user(request, Batch, pk, "release.add_materialbalance")
    form = MaterialBalanceForm(posted(request), prefix="balance")
    if form.is_valid():
        try:
            row = services.material_balance_add(batch=batch, user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            if row.within_limits:
                messages.success(
                    request,
                    _("Material balance of %(step)s: %(percent)s %%.") % {"step": row.step, "percent": row.percent},
                )
            else:
                messages.warning(
                    request,
                    _("Material balance of %(step)s: %(percent)s %% is outside the limits %(lower)s–%(upper)s %%.")
                    % {"step": row.step, "percent": row.percent, "lower": row.lower_limit, "upper": row.upper_limit},
                )
            return redirect(batch)
    return _batch_page(request, batch, balance_form=form)
