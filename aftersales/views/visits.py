"""Customer quality visits (list, due list, record, detail, approval) and the monthly feedback ledger
(page, CSV, sign-off)."""

from __future__ import annotations

import csv
from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.forms import LedgerMonthForm, VisitForm
from aftersales.models import CustomerVisit, Feedback, FeedbackClass, LedgerSignoff, Satisfaction, VisitTopic
from core.forms import SignatureForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import explain_hidden_form, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError


def visit_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.view_customervisit")
    visits = CustomerVisit.objects.select_related("customer").order_by("-visited_at", "-pk")
    today = timezone.localdate()
    due = services.visits_due(today, due_by=today, limit=50)
    return render(
        request,
        "aftersales/visit_list.html",
        {"page_obj": paginate(request, visits), "query": query_without_page(request), "due": due, "today": today},
    )


def visit_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.add_customervisit")
    form = VisitForm(posted(request))
    if form.is_valid():
        try:
            visit = services.visit_record(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            if visit.adr_feedback:
                messages.warning(
                    request,
                    _("The side effect was recorded as possible ADR information: %(number)s.")
                    % {"number": visit.adr_feedback.number},
                )
            messages.success(request, _("Visit recorded; the customer-service manager approves it."))
            return redirect(visit)
    return render(
        request, "aftersales/form.html", {"form": form, "title": _("Record a customer quality visit"), "back": None}
    )


def _detail_context(request: HttpRequest, visit: CustomerVisit, **forms) -> dict:
    refusal = services.cannot_approve_visit(visit, request.user)
    approve_form = forms.get("approve_form")
    explain_hidden_form(request, approve_form, refusal is None)
    topics = dict(VisitTopic.choices)
    return {
        "visit": visit,
        "topics": [topics.get(t, t) for t in visit.topics],
        "signatures": signatures_for(visit),
        "can_approve": refusal is None,
        "approve_refusal": refusal
        if visit.status == CustomerVisit.Status.DRAFT and request.user.has_perm("aftersales.approve_customervisit")
        else None,
        "approve_form": approve_form or SignatureForm(meaning=services.visit_approve.meaning, prefix="approve"),
    }


def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_object_for_user(
        request,
        CustomerVisit.objects.select_related("customer", "adr_feedback", "recorded_by", "approved_by"),
        pk,
        "aftersales.view_customervisit",
    )
    return render(request, "aftersales/visit_detail.html", _detail_context(request, visit))


@require_POST
def visit_approve(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_object_for_user(request, CustomerVisit, pk, "aftersales.approve_customervisit")
    form = SignatureForm(posted(request), meaning=services.visit_approve.meaning, prefix="approve")
    if form.is_valid():
        try:
            services.visit_approve(
                visit=visit,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Visit record approved and signed."))
            return redirect(visit)
    visit.refresh_from_db()
    return render(
        request, "aftersales/visit_detail.html", _detail_context(request, visit, approve_form=form), status=400
    )


# --- monthly ledger -------------------------------------------------------------------------------


def _month(request: HttpRequest) -> tuple[LedgerMonthForm, date]:
    form = LedgerMonthForm(request.GET if "month" in request.GET else None)
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["month"]
    today = timezone.localdate()
    return form, date(today.year, today.month, 1)


def ledger(request: HttpRequest, sign_form=None, status: int = 200) -> HttpResponse:
    require_perm(request, "aftersales.view_feedback")
    form, first = _month(request)
    figures = services.ledger_figures(first.year, first.month)
    signoff = LedgerSignoff.objects.filter(year=first.year, month=first.month).select_related("signed_by").first()
    refusal = services.cannot_sign_ledger(first.year, first.month, request.user)
    explain_hidden_form(request, sign_form, refusal is None)
    classes = dict(FeedbackClass.choices)
    statuses = dict(Feedback.Status.choices)
    peak = max(figures["by_class"].values(), default=0) or 1
    by_class = [(classes.get(k, k), v, round(200 * v / peak)) for k, v in sorted(figures["by_class"].items())]
    return render(
        request,
        "aftersales/ledger.html",
        {
            "form": form,
            "first": first,
            "figures": figures,
            "by_class": by_class,
            "by_status": [(statuses.get(k, k), v) for k, v in sorted(figures["by_status"].items())],
            "satisfaction": [
                (Satisfaction(k).label if k in Satisfaction.values else k, v)
                for k, v in sorted(figures["satisfaction"].items())
            ],
            "signoff": signoff,
            "signatures": signatures_for(signoff) if signoff else [],
            "can_sign": refusal is None,
            "sign_form": sign_form or SignatureForm(meaning=services.ledger_sign.meaning, prefix="sign"),
            "sign_url": reverse("aftersales:ledger_sign") + f"?month={first:%Y-%m}",
        },
        status=status,
    )


def ledger_pdf(request: HttpRequest) -> HttpResponse:
    """The signed month's ledger PDF (both languages, the figures as signed, the signature)."""
    require_perm(request, "aftersales.view_feedback")
    _form, first = _month(request)
    signoff = LedgerSignoff.objects.filter(year=first.year, month=first.month).first()
    if signoff is None:
        messages.error(request, _("The ledger PDF is issued when the customer-service manager signs the month."))
        return redirect(reverse("aftersales:ledger") + f"?month={first:%Y-%m}")
    from aftersales.pdf import ledger_response

    return ledger_response(signoff)


def ledger_csv(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.view_feedback")
    _form, first = _month(request)
    start, end = services.visits.month_bounds(first.year, first.month)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="feedback-ledger-{first:%Y-%m}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 Chinese correctly with a BOM
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Number"),
            _("Received at"),
            _("Reporter"),
            _("Product"),
            _("Classification"),
            _("Status"),
            _("First response due"),
            _("Reply"),
            _("Handling result"),
        ]
    )
    rows = (
        Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
        .select_related("product")
        .order_by("received_at", "pk")
    )
    for f in rows.iterator(chunk_size=500):
        writer.writerow(
            _cell(v)
            for v in [
                f.number,
                timezone.localtime(f.received_at).strftime("%Y-%m-%d %H:%M"),
                f.reporter_name,
                str(f.product or ""),
                f.get_classification_display(),
                f.get_status_display(),
                timezone.localtime(f.first_response_due).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(f.reply_at).strftime("%Y-%m-%d %H:%M") if f.reply_at else "",
                f.result,
            ]
        )
    # The month's figures after the records (R-VIS-2: "the same in a PDF and CSV"), each labelled
    # with what it counts, as on the page.
    figures = services.ledger_figures(first.year, first.month)
    writer.writerow([])
    for label, value in (
        (_("Feedback received (every class, enquiries included)"), figures["total"]),
        (_("of which enquiries"), figures["enquiries"]),
        (_("Complaints (enquiries not counted, as in the complaint rate)"), figures["complaints"]),
        (_("Complaints triaged as enquiries (not counted)"), figures["complaint_enquiries"]),
    ):
        writer.writerow([label, value])
    writer.writerow([])
    writer.writerow([_("Product"), _("Units shipped"), _("Complaints"), _("Per 10,000 units")])
    for r in figures["complaint_rate"]:
        writer.writerow([_cell(r["product"]), r["units"], r["complaints"], r["per_10000"] or "—"])
    return response


def _cell(value: object) -> object:
    # A value typed by a person (a reporter's name, a result) that starts like a formula must stay
    # text in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@require_POST
def ledger_sign(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.sign_ledger")
    _form, first = _month(request)
    form = SignatureForm(posted(request), meaning=services.ledger_sign.meaning, prefix="sign")
    if form.is_valid():
        try:
            services.ledger_sign(
                year=first.year,
                month=first.month,
                user=request.user,
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Monthly feedback ledger signed."))
            return redirect(reverse("aftersales:ledger") + f"?month={first:%Y-%m}")
    return ledger(request, sign_form=form, status=400)
