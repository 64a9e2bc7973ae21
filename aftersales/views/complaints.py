"""Complaint pages: list, detail, triage, investigation, recall decision, reply, QP read, closure."""

from __future__ import annotations

from datetime import date, datetime, time

from django.contrib import messages
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.forms import (
    ComplaintDecisionForm,
    ComplaintFilterForm,
    ComplaintHoldForm,
    ComplaintInvestigationForm,
    ComplaintNoHoldForm,
    ComplaintReplyForm,
    ComplaintTriageForm,
)
from aftersales.models import Complaint
from core.dates import add_months
from core.forms import SignatureForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import attach_people, explain_hidden_form, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError


def complaint_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.view_complaint")
    form = ComplaintFilterForm(request.GET or None)
    complaints = Complaint.objects.select_related("product", "batch", "assigned_to")
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            complaints = complaints.filter(Q(number__icontains=d["q"]) | Q(description__icontains=d["q"]))
        if d["status"]:
            complaints = complaints.filter(status=d["status"])
        if d["triage"]:
            complaints = complaints.filter(triage=d["triage"])
    return render(
        request,
        "aftersales/complaint_list.html",
        {
            "form": form,
            "page_obj": paginate(request, complaints.order_by("-received_at", "-pk")),
            "query": query_without_page(request),
            "now": timezone.now(),
        },
    )


def _initial_decision(complaint: Complaint) -> dict:
    if complaint.recall_needed is None:
        return {"recall_rationale": complaint.recall_rationale}
    return {"recall_needed": "yes" if complaint.recall_needed else "no", "recall_rationale": complaint.recall_rationale}


def _detail_context(request: HttpRequest, complaint: Complaint, **forms) -> dict:
    user = request.user
    close_refusal = services.cannot_close_complaint(complaint, user)
    close_form = forms.get("close_form")
    explain_hidden_form(request, close_form, close_refusal is None)
    reply_initial = {"reply_at": complaint.reply_at, "reply_content": complaint.reply_content}
    hold_refusal = services.cannot_place_hold_from_complaint(complaint, user)
    hold_form = forms.get("hold_form")
    explain_hidden_form(request, hold_form, hold_refusal is None)
    no_hold_refusal = services.cannot_decide_no_hold(complaint, user)
    no_hold_form = forms.get("no_hold_form")
    explain_hidden_form(request, no_hold_form, no_hold_refusal is None)
    holds = list(
        complaint.hold_decisions.select_related("batch", "placed_by", "hold", "hold__lifted_by").order_by(
            "placed_at", "pk"
        )
    )
    return {
        # Each hold with its signature "Hold placed" (a complaint has one or two, not hundreds).
        "holds": [(h, signatures_for(h)) for h in holds],
        "can_place_hold": hold_refusal is None,
        "can_decide_no_hold": no_hold_refusal is None,
        "no_hold_form": no_hold_form or ComplaintNoHoldForm(prefix="nohold"),
        "hold_form": hold_form or ComplaintHoldForm(meaning=services.complaint_place_hold.meaning, prefix="hold"),
        "complaint": complaint,
        "signatures": signatures_for(complaint),
        "now": timezone.now(),
        "gaps": services.closure_gaps(complaint) if complaint.status == Complaint.Status.INVESTIGATING else [],
        "can_triage": services.cannot_triage_complaint(complaint, user) is None,
        "can_record": services.cannot_investigate_complaint(complaint, user) is None,
        "can_acknowledge": services.cannot_acknowledge_complaint(complaint, user) is None,
        "can_close": close_refusal is None,
        "close_refusal": close_refusal
        if complaint.status == Complaint.Status.INVESTIGATING and user.has_perm("aftersales.close_complaint")
        else None,
        "triage_form": forms.get("triage_form")
        or ComplaintTriageForm(prefix="triage", initial={"triage": complaint.triage, "assigned_to": user.pk}),
        "investigation_form": forms.get("investigation_form")
        or ComplaintInvestigationForm(prefix="inv", instance=complaint),
        "decision_form": forms.get("decision_form")
        or ComplaintDecisionForm(prefix="decision", initial=_initial_decision(complaint), versioned=complaint),
        "reply_form": forms.get("reply_form")
        or ComplaintReplyForm(prefix="reply", initial=reply_initial, versioned=complaint),
        "close_form": close_form or SignatureForm(meaning=services.complaint_close.meaning, prefix="close"),
    }


# The complaint's people in one query of their own (core.web.attach_people): joined with the
# complaint, its feedback, product and batch they made an 8-table join PostgreSQL took ~6 ms to plan
# on every view at scale 1.0 (issue 12).
PEOPLE = ("assigned_to", "qp_acknowledged_by", "closed_by", "hold_not_needed_by")


def _get(request: HttpRequest, pk: int, perm: str) -> Complaint:
    complaint = get_object_for_user(request, Complaint.objects.select_related("feedback", "product", "batch"), pk, perm)
    attach_people(complaint, PEOPLE)
    return complaint


def _refused(request: HttpRequest, complaint: Complaint, **forms) -> HttpResponse:
    complaint = _get(request, complaint.pk, "aftersales.view_complaint")
    return render(request, "aftersales/complaint_detail.html", _detail_context(request, complaint, **forms), status=400)


def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.view_complaint")
    return render(request, "aftersales/complaint_detail.html", _detail_context(request, complaint))


@require_POST
def complaint_triage(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.change_complaint")
    form = ComplaintTriageForm(posted(request), prefix="triage")
    if form.is_valid():
        try:
            services.complaint_triage(complaint=complaint, user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Complaint triaged; the investigation is open."))
            return redirect(complaint)
    return _refused(request, complaint, triage_form=form)


def _record(request: HttpRequest, complaint: Complaint, form, key: str, fields: list[str], done: str) -> HttpResponse:
    if form.is_valid():
        data = {name: form.cleaned_data[name] for name in fields}
        try:
            services.complaint_record(
                complaint=complaint,
                user=request.user,
                data=data,
                reason=form.cleaned_data.get("reason") or "",
                version=form.cleaned_data["version"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, done)
            return redirect(complaint)
    return _refused(request, complaint, **{key: form})


@require_POST
def complaint_investigate(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.change_complaint")
    form = ComplaintInvestigationForm(posted(request), prefix="inv", instance=Complaint.objects.get(pk=pk))
    fields = list(ComplaintInvestigationForm.Meta.fields)
    return _record(request, complaint, form, "investigation_form", fields, _("Investigation recorded."))


@require_POST
def complaint_decide(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.change_complaint")
    form = ComplaintDecisionForm(posted(request), prefix="decision")
    fields = ["recall_needed", "recall_rationale"]
    return _record(request, complaint, form, "decision_form", fields, _("Recall decision recorded."))


@require_POST
def complaint_reply(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.change_complaint")
    form = ComplaintReplyForm(posted(request), prefix="reply")
    fields = ["reply_at", "reply_content"]
    return _record(request, complaint, form, "reply_form", fields, _("Reply to the complainant recorded."))


@require_POST
def complaint_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.acknowledge_complaint")
    try:
        services.complaint_acknowledge(complaint=complaint, user=request.user)
    except WorkflowError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Recorded that you have read this complaint."))
    return redirect(complaint)


@require_POST
def complaint_close(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.close_complaint")
    form = SignatureForm(posted(request), meaning=services.complaint_close.meaning, prefix="close")
    if form.is_valid():
        try:
            services.complaint_close(
                complaint=complaint,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Complaint closed and signed."))
            return redirect(complaint)
    return _refused(request, complaint, close_form=form)


@require_POST
def complaint_place_hold(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.change_complaint")
    form = ComplaintHoldForm(posted(request), meaning=services.complaint_place_hold.meaning, prefix="hold")
    if form.is_valid():
        try:
            decision = services.complaint_place_hold(
                complaint=complaint,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request,
                _("Batch %(batch)s is on hold: it cannot ship until QA lifts the hold with a signature.")
                % {"batch": decision.batch.batch_number},
            )
            return redirect(complaint)
    return _refused(request, complaint, hold_form=form)


@require_POST
def complaint_no_hold(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _get(request, pk, "aftersales.change_complaint")
    form = ComplaintNoHoldForm(posted(request), prefix="nohold")
    if form.is_valid():
        try:
            services.complaint_decide_no_hold(complaint=complaint, user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Recorded: no hold is needed."))
            return redirect(complaint)
    return _refused(request, complaint, no_hold_form=form)


TREND_MONTHS = 12


def complaint_trend(request: HttpRequest) -> HttpResponse:
    """Complaints per product and month over the last year (GMP 第二百七十五条 periodic review;
    B.2.3 trend review): one grouped query, whatever the number of complaints."""
    require_perm(request, "aftersales.view_complaint")
    today = timezone.localdate()
    first = add_months(today.replace(day=1), -(TREND_MONTHS - 1))
    since = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        Complaint.objects.filter(received_at__gte=since)
        .annotate(month=TruncMonth("received_at", tzinfo=timezone.get_current_timezone()))
        .values("product__name", "product__strength", "triage", "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    months = [add_months(first, i) for i in range(TREND_MONTHS)]
    table: dict[str, dict[date, int]] = {}
    by_triage: dict[str, int] = {}
    triages = dict(Complaint.Triage.choices)
    for row in rows:
        name = f"{row['product__name']} {row['product__strength']}" if row["product__name"] else "—"
        month = timezone.localtime(row["month"]).date() if isinstance(row["month"], datetime) else row["month"]
        table.setdefault(name, {})
        table[name][month] = table[name].get(month, 0) + row["n"]
        label = str(triages.get(row["triage"], row["triage"]))
        by_triage[label] = by_triage.get(label, 0) + row["n"]
    return render(
        request,
        "aftersales/complaint_trend.html",
        {
            "months": months,
            "table": [
                (name, [counts.get(m, 0) for m in months], sum(counts.values()))
                for name, counts in sorted(table.items())
            ],
            "by_triage": sorted(by_triage.items()),
        },
    )
