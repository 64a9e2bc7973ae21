"""市场信息反馈记录 pages: list, record (routes at once), detail, first response, filing the result."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.forms import FeedbackCloseForm, FeedbackFilterForm, FeedbackForm, FeedbackReplyForm
from aftersales.models import ADRCase, Complaint, Feedback
from aftersales.services.intake import first_response_hours
from core.permissions import get_object_for_user, require_perm
from core.web import explain_hidden_form, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError


def feedback_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.view_feedback")
    form = FeedbackFilterForm(request.GET or None)
    records = Feedback.objects.select_related("customer", "product", "batch")
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            records = records.filter(
                Q(number__icontains=d["q"]) | Q(reporter_name__icontains=d["q"]) | Q(description__icontains=d["q"])
            )
        if d["classification"]:
            records = records.filter(classification=d["classification"])
        if d["status"]:
            records = records.filter(status=d["status"])
    return render(
        request,
        "aftersales/feedback_list.html",
        {
            "form": form,
            "page_obj": paginate(request, records.order_by("-received_at", "-pk")),
            "query": query_without_page(request),
            "now": timezone.now(),
        },
    )


def feedback_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "aftersales.add_feedback")
    initial = {"received_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = FeedbackForm(posted(request), initial=initial)
    if form.is_valid():
        try:
            feedback = services.feedback_record(user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Feedback %(number)s recorded and routed.") % {"number": feedback.number})
            return redirect(feedback)
    return render(
        request,
        "aftersales/form.html",
        {
            "form": form,
            "title": _("Record market feedback"),
            "back": None,
            "help": _("The first response is due within %(hours)s hours of receipt.")
            % {"hours": first_response_hours()},
        },
    )


def _detail_context(request: HttpRequest, feedback: Feedback, **forms) -> dict:
    user = request.user
    can_reply = services.cannot_reply_feedback(feedback, user) is None
    can_close = services.cannot_close_feedback(feedback, user) is None
    # A refused reply or close whose form is not offered in this state still says why (R-UX-2).
    explain_hidden_form(request, forms.get("reply_form"), can_reply)
    explain_hidden_form(request, forms.get("close_form"), can_close)
    return {
        "feedback": feedback,
        "complaint": Complaint.objects.filter(feedback=feedback).first(),
        "adr_case": ADRCase.objects.filter(feedback=feedback).first(),
        "can_reply": can_reply,
        "can_close": can_close,
        "reply_form": forms.get("reply_form") or FeedbackReplyForm(prefix="reply", instance=feedback),
        "close_form": forms.get("close_form") or FeedbackCloseForm(prefix="close", instance=feedback),
    }


def feedback_detail(request: HttpRequest, pk: int) -> HttpResponse:
    feedback = get_object_for_user(
        request,
        Feedback.objects.select_related("customer", "product", "batch", "received_by"),
        pk,
        "aftersales.view_feedback",
    )
    return render(request, "aftersales/feedback_detail.html", _detail_context(request, feedback))


@require_POST
def feedback_reply(request: HttpRequest, pk: int) -> HttpResponse:
    feedback = get_object_for_user(request, Feedback, pk, "aftersales.change_feedback")
    form = FeedbackReplyForm(posted(request), prefix="reply", instance=Feedback.objects.get(pk=pk))
    if form.is_valid():
        try:
            services.feedback_reply(feedback=feedback, user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Reply recorded."))
            return redirect(feedback)
    feedback.refresh_from_db()
    return render(
        request, "aftersales/feedback_detail.html", _detail_context(request, feedback, reply_form=form), status=400
    )


@require_POST
def feedback_close(request: HttpRequest, pk: int) -> HttpResponse:
    feedback = get_object_for_user(request, Feedback, pk, "aftersales.change_feedback")
    form = FeedbackCloseForm(posted(request), prefix="close", instance=Feedback.objects.get(pk=pk))
    if form.is_valid():
        try:
            services.feedback_close(feedback=feedback, user=request.user, data=form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Result filed."))
            return redirect(feedback)
    feedback.refresh_from_db()
    return render(
        request, "aftersales/feedback_detail.html", _detail_context(request, feedback, close_form=form), status=400
    )
