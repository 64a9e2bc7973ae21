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
from core.web import paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError
from qc_records import services
from qc_records.forms import OOSCloseForm, OOSPhaseOneForm, OOSPhaseTwoForm
from qc_records.models import OOSInvestigation

OOS_RELATED = ("record", "record__sample", "record__sample__product", "record__specification", "item", "closed_by")


def oos_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "qc_records.view_oosinvestigation")
    # What the list shows: the sample (and its product's name) and the item; the detail's other
    # joins would be planning time on every page (issue 12).
    rows = OOSInvestigation.objects.select_related("record__sample__product", "item")
    state = request.GET.get("state", "open")
    if state == "open":
        rows = rows.open()
    elif state in OOSInvestigation.Status.values:
        rows = rows.filter(status=state)
    return render(
        request,
        "qc_records/oos_list.html",
        {
            "page_obj": paginate(request, rows.order_by("created_at", "pk")),
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
    closer_role = oos.is_open and user.has_perm("qc_records.close_oosinvestigation")
    close_refusal = services.cannot_close_oos(oos, user) if closer_role else None
    return {
        "oos": oos,
        "record": oos.record,
        "results": list(oos.results.select_related("item").order_by("replicate", "attempt")),
        # Deviations raised for it live in release, which points down here by its FK: read through the
        # reverse relation, so qc_records never imports release (DESIGN.md import direction).
        "deviations": list(oos.deviations.order_by("pk")),
        "signatures": signatures_for(oos),
        "can_phase1": phase1 and can_change,
        "can_phase2": phase2 and can_change,
        "can_escalate": phase1 and can_change,
        "can_close": closer_role and close_refusal is None,
        "close_refusal": close_refusal,
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
        "close_form": forms.get("close_form") or OOSCloseForm(meaning=services.oos_close.meaning, prefix="close"),
    }


def _oos(request: HttpRequest, pk: int, perm: str) -> OOSInvestigation:
    return get_object_for_user(request, OOSInvestigation.objects.select_related(*OOS_RELATED), pk, perm)


def oos_detail(request: HttpRequest, pk: int) -> HttpResponse:
    oos = _oos(request, pk, "qc_records.view_oosinvestigation")
    return render(request, "qc_records/oos_detail.html", _context(request, oos))


def _refused(request: HttpRequest, pk: int, perm: str, **forms) -> HttpResponse:
    """The investigation's page again, as it is now, with the refused form (status 400)."""
    oos = _oos(request, pk, perm)
    return render(request, "qc_records/oos_detail.html", _context(request, oos, **forms), status=400)


@require_POST
def oos_update(request: HttpRequest, pk: int) -> HttpResponse:
    oos = _oos(request, pk, "qc_records.change_oosinvestigation")
    phase_one = request.POST.get("phase", "1") == "1"
    if phase_one:
        form = OOSPhaseOneForm(posted(request), prefix="p1")
    else:
        form = OOSPhaseTwoForm(posted(request), prefix="p2")
    if form.is_valid():
        try:
            services.oos_update(
                oos=oos, user=request.user, data=form.data_for_service(), reason=form.cleaned_data["reason"]
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Findings recorded."))
            return redirect(oos)
    if phase_one:
        return _refused(request, pk, "qc_records.change_oosinvestigation", phase1_form=form)
    return _refused(request, pk, "qc_records.change_oosinvestigation", phase2_form=form)


@require_POST
def oos_phase_two(request: HttpRequest, pk: int) -> HttpResponse:
    oos = _oos(request, pk, "qc_records.change_oosinvestigation")
    form = ReasonForm(posted(request), prefix="esc")
    if form.is_valid():
        try:
            services.oos_start_phase_two(oos=oos, user=request.user, reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Phase II (full investigation) started."))
            return redirect(oos)
    return _refused(request, pk, "qc_records.change_oosinvestigation", escalate_form=form)


@require_POST
def oos_close(request: HttpRequest, pk: int) -> HttpResponse:
    oos = _oos(request, pk, "qc_records.close_oosinvestigation")
    form = OOSCloseForm(posted(request), meaning=services.oos_close.meaning, prefix="close")
    if form.is_valid():
        try:
            services.oos_close(
                oos=oos,
                user=request.user,
                password=form.cleaned_data["password"],
                outcome=form.cleaned_data["outcome"],
                summary=form.cleaned_data["summary"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The OOS investigation is closed."))
            return redirect(oos)
    return _refused(request, pk, "qc_records.close_oosinvestigation", close_form=form)
