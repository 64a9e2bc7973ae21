"""OOS investigations: phase I, phase II, closure with a signature."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import ReasonForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import OOSCloseForm, OOSPhaseOneForm, OOSPhaseTwoForm, add_input_errors
from qc_records.models import OOSInvestigation
from qc_records.services import InputError
from qc_records.views.common import page, query_without_page

OOS_RELATED = ("record", "record__sample", "record__sample__product", "record__specification", "item", "closed_by")


def oos_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.view_oosinvestigation")
    rows = OOSInvestigation.objects.select_related(*OOS_RELATED)
    state = request.GET.get("state", "open")
    if state == "open":
        rows = rows.open()
    elif state in OOSInvestigation.Status.values:
        rows = rows.filter(status=state)
    return render(
        request,
        "qc_records/oos_list.html",
        {
            "page_obj": page(request, rows.order_by("created_at", "pk")),
            "state": state,
            "query": query_without_page(request),
            "states": [("open", _("Open")), ("", _("All"))] + OOSInvestigation.Status.choices,
        },
    )


def _context(request: HttpRequest, oos: OOSInvestigation, **forms) -> dict:
    user = request.user
    phase1 = oos.status == OOSInvestigation.Status.PHASE_1
    phase2 = oos.status == OOSInvestigation.Status.PHASE_2
    can_change = oos.is_open and user.has_perm("qc_records.change_oosinvestigation")
    return {
        "oos": oos,
        "record": oos.record,
        "results": list(oos.results.select_related("item").order_by("replicate", "attempt")),
        "signatures": signatures_for(oos),
        "can_phase1": phase1 and can_change,
        "can_phase2": phase2 and can_change,
        "can_escalate": phase1 and can_change,
        "can_close": oos.is_open and user.has_perm("qc_records.close_oosinvestigation"),
        "phase1_form": forms.get("phase1_form")
        or OOSPhaseOneForm(
            prefix="p1",
            initial={
                "phase1_findings": oos.phase1_findings,
                "assignable_cause": {True: "yes", False: "no", None: ""}[oos.assignable_cause],
            },
        ),
        "phase2_form": forms.get("phase2_form")
        or OOSPhaseTwoForm(prefix="p2", initial={"phase2_findings": oos.phase2_findings}),
        "escalate_form": forms.get("escalate_form") or ReasonForm(prefix="esc"),
        "close_form": forms.get("close_form") or OOSCloseForm(meaning="closed", prefix="close"),
    }


def _oos(request: HttpRequest, pk: int, perm: str) -> OOSInvestigation:
    return get_object_for_user(request, OOSInvestigation.objects.select_related(*OOS_RELATED), pk, perm)


def oos_detail(request: HttpRequest, pk: int) -> HttpResponse:
    oos = _oos(request, pk, "qc_records.view_oosinvestigation")
    return render(request, "qc_records/oos_detail.html", _context(request, oos))


def _act(request: HttpRequest, pk: int, perm: str, form, key: str, call, success: str) -> HttpResponse:
    oos = _oos(request, pk, perm)
    if form.is_valid():
        try:
            call(oos, form)
        except InputError as exc:
            add_input_errors(form, exc)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, success)
            return redirect(oos)
    oos = _oos(request, pk, perm)
    return render(request, "qc_records/oos_detail.html", _context(request, oos, **{key: form}), status=400)


@require_POST
def oos_update(request: HttpRequest, pk: int) -> HttpResponse:
    phase = request.POST.get("phase", "1")
    form = OOSPhaseOneForm(request.POST, prefix="p1") if phase == "1" else OOSPhaseTwoForm(request.POST, prefix="p2")
    return _act(
        request,
        pk,
        "qc_records.change_oosinvestigation",
        form,
        "phase1_form" if phase == "1" else "phase2_form",
        lambda oos, f: services.oos_update(
            oos=oos, user=request.user, data=f.data_for_service(), reason=f.cleaned_data["reason"]
        ),
        _("Findings recorded."),
    )


@require_POST
def oos_phase_two(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "qc_records.change_oosinvestigation",
        ReasonForm(request.POST, prefix="esc"),
        "escalate_form",
        lambda oos, f: services.oos_start_phase_two(oos=oos, user=request.user, reason=f.cleaned_data["reason"]),
        _("Phase II (full investigation) started."),
    )


@require_POST
def oos_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        "qc_records.close_oosinvestigation",
        OOSCloseForm(request.POST, meaning="closed", prefix="close"),
        "close_form",
        lambda oos, f: services.oos_close(
            oos=oos,
            user=request.user,
            password=f.cleaned_data["password"],
            outcome=f.cleaned_data["outcome"],
            summary=f.cleaned_data["summary"],
            comment=f.cleaned_data["comment"],
            request=request,
        ),
        _("The OOS investigation is closed."),
    )
