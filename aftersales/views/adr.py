"""ADR case pages: list (overdue flagged), detail with the rule used and its confidence, assessment, report."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.forms import (
    ADRAssessForm,
    ADRFilterForm,
    ADRFollowUpForm,
    ADRFollowUpReportForm,
    ADRInvestigationSignForm,
    ADRReportSignForm,
)
from aftersales.models import ADRCase, ADRFollowUp
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import explain_hidden_form, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError


def adr_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.view_adrcase")
    form = ADRFilterForm(request.GET or None)
    cases = ADRCase.objects.select_related("product", "batch", "investigation_report")
    if form.is_valid():
        d = form.cleaned_data
        if d["status"]:
            cases = cases.filter(status=d["status"])
        if d["overdue"]:
            cases = cases.overdue()
    return render(
        request,
        "aftersales/adr_list.html",
        {
            "form": form,
            "page_obj": paginate(request, cases.order_by("status", "report_due", "pk")),
            "query": query_without_page(request),
            "today": timezone.localdate(),
        },
    )


def _detail_context(request: HttpRequest, case: ADRCase, **forms) -> dict:
    user = request.user
    report_form = forms.get("report_form")
    investigation_form = forms.get("investigation_form")
    can_report = services.cannot_report_adr(case, user) is None
    can_investigate = services.cannot_record_adr_investigation(case, user) is None
    explain_hidden_form(request, report_form, can_report)
    explain_hidden_form(request, investigation_form, can_investigate)
    return {
        "case": case,
        "rules": case.ruleset.rules.order_by("report_within_days", "applies_to"),
        "signatures": signatures_for(case),
        "today": timezone.localdate(),
        "can_assess": services.cannot_assess_adr(case, user) is None,
        "can_report": can_report,
        "assess_form": forms.get("assess_form") or ADRAssessForm(prefix="assess", instance=case),
        "report_form": report_form or ADRReportSignForm(meaning=services.adr_report.meaning, prefix="report"),
        "can_investigate": can_investigate,
        "investigation": getattr(case, "investigation_report", None),
        "investigation_signatures": signatures_for(case.investigation_report)
        if hasattr(case, "investigation_report")
        else [],
        "investigation_form": investigation_form
        or ADRInvestigationSignForm(meaning=services.adr_record_investigation.meaning, prefix="investigation"),
        **_followup_context(request, case, forms),
    }


def _followup_context(request: HttpRequest, case: ADRCase, forms: dict) -> dict:
    """Follow-up reports (随访/跟踪报告): each with its due date, state, signature and — while
    open, for QA — its own signing form (the one posted keeps what was typed)."""
    user = request.user
    can_add = services.cannot_add_adr_followup(case, user) is None
    explain_hidden_form(request, forms.get("followup_form"), can_add)
    posted_pk, posted_form = forms.get("followup_report", (None, None))
    rows = []
    for followup in case.follow_ups.select_related("recorded_by", "reported_by").order_by("sequence"):
        can_report = services.cannot_report_adr_followup(followup, user) is None
        form = None
        if can_report:
            form = (
                posted_form
                if posted_pk == followup.pk
                else ADRFollowUpReportForm(
                    meaning=services.adr_followup_report.meaning, prefix=f"followup{followup.pk}"
                )
            )
        elif posted_pk == followup.pk:
            explain_hidden_form(request, posted_form, False)
        rows.append((followup, signatures_for(followup), form))
    return {
        "followups": rows,
        "can_add_followup": can_add,
        "followup_form": forms.get("followup_form") or ADRFollowUpForm(prefix="followup"),
    }


def _get(request: HttpRequest, pk: int, perm: str) -> ADRCase:
    return get_object_for_user(
        request,
        # No accounts joined: the page names none of them (issue 12: each join is planning time).
        ADRCase.objects.select_related("product", "batch", "ruleset", "feedback", "investigation_report"),
        pk,
        perm,
    )


def adr_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _get(request, pk, "aftersales.view_adrcase")
    return render(request, "aftersales/adr_detail.html", _detail_context(request, case))


@require_POST
def adr_assess(request: HttpRequest, pk: int) -> HttpResponse:
    case = _get(request, pk, "aftersales.change_adrcase")
    form = ADRAssessForm(posted(request), prefix="assess", instance=ADRCase.objects.get(pk=pk))
    if form.is_valid():
        data = {k: form.cleaned_data[k] for k in ADRCase.EDITABLE_FIELDS}
        try:
            services.adr_assess(
                case=case,
                user=request.user,
                data=data,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Assessment recorded; the due dates were recomputed."))
            return redirect(case)
    case = _get(request, pk, "aftersales.view_adrcase")
    return render(request, "aftersales/adr_detail.html", _detail_context(request, case, assess_form=form), status=400)


@require_POST
def adr_report(request: HttpRequest, pk: int) -> HttpResponse:
    case = _get(request, pk, "aftersales.report_adrcase")
    form = ADRReportSignForm(posted(request), meaning=services.adr_report.meaning, prefix="report")
    if form.is_valid():
        try:
            services.adr_report(case=case, user=request.user, request=request, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("National report recorded and signed."))
            return redirect(case)
    case = _get(request, pk, "aftersales.view_adrcase")
    return render(request, "aftersales/adr_detail.html", _detail_context(request, case, report_form=form), status=400)


@require_POST
def adr_investigation(request: HttpRequest, pk: int) -> HttpResponse:
    case = _get(request, pk, "aftersales.report_adrcase")
    form = ADRInvestigationSignForm(
        posted(request), meaning=services.adr_record_investigation.meaning, prefix="investigation"
    )
    if form.is_valid():
        try:
            services.adr_record_investigation(case=case, user=request.user, request=request, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Investigation report recorded and signed."))
            return redirect(case)
    case = _get(request, pk, "aftersales.view_adrcase")
    return render(
        request, "aftersales/adr_detail.html", _detail_context(request, case, investigation_form=form), status=400
    )


@require_POST
def adr_followup_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = _get(request, pk, "aftersales.change_adrcase")
    form = ADRFollowUpForm(posted(request), prefix="followup")
    if form.is_valid():
        try:
            followup = services.adr_followup_record(case=case, user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request,
                _("Follow-up %(n)s recorded; its report is due by %(due)s.")
                % {"n": followup.sequence, "due": f"{followup.report_due:%Y-%m-%d}"},
            )
            return redirect(case)
    case = _get(request, pk, "aftersales.view_adrcase")
    return render(request, "aftersales/adr_detail.html", _detail_context(request, case, followup_form=form), status=400)


@require_POST
def adr_followup_report(request: HttpRequest, pk: int) -> HttpResponse:
    followup = get_object_for_user(request, ADRFollowUp.objects.select_related("case"), pk, "aftersales.report_adrcase")
    form = ADRFollowUpReportForm(
        posted(request), meaning=services.adr_followup_report.meaning, prefix=f"followup{followup.pk}"
    )
    if form.is_valid():
        try:
            services.adr_followup_report(followup=followup, user=request.user, request=request, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Follow-up report recorded and signed."))
            return redirect(followup.case)
    case = _get(request, followup.case_id, "aftersales.view_adrcase")
    return render(
        request,
        "aftersales/adr_detail.html",
        _detail_context(request, case, followup_report=(followup.pk, form)),
        status=400,
    )
