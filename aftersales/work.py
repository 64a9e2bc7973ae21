"""After-sales queues on the "My work" page (R-UX-3): oldest or most urgent first, with due dates."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftersales.models import APPROVAL_PERMISSIONS, ADRCase, Complaint, Customer, CustomerVisit, Feedback
from core.work import WorkItem, WorkQueue

QUEUE_LENGTH = 20


def queues(user) -> list[WorkQueue]:
    out: list[WorkQueue] = []
    if user.has_perm("aftersales.change_feedback"):
        waiting = Feedback.objects.awaiting_response().order_by("first_response_due", "pk")
        out.append(
            WorkQueue(
                key="feedback_first_response",
                title=_("Market feedback awaiting a first response"),
                items=[
                    WorkItem(
                        title=f"{f.number} · {f.reporter_name}",
                        url=f.get_absolute_url(),
                        since=f.received_at,
                        due=f.first_response_due,
                        note=str(_("Overdue")) if f.response_overdue else f.get_classification_display(),
                    )
                    for f in waiting[:QUEUE_LENGTH]
                ],
                total=waiting.count(),
                more_url=reverse("aftersales:feedback_list") + "?status=open",
                empty_text=_("No feedback is waiting for a response."),
            )
        )
    if user.has_perm("aftersales.change_complaint"):
        open_ = Complaint.objects.open().select_related("product").order_by("reply_due", "pk")
        out.append(
            WorkQueue(
                key="complaints_open",
                title=_("Open complaints"),
                items=[
                    WorkItem(
                        title=f"{c.number} · {c.product or ''}",
                        url=c.get_absolute_url(),
                        since=c.received_at,
                        due=c.reply_due if c.reply_at is None else None,
                        note=c.get_status_display(),
                    )
                    for c in open_[:QUEUE_LENGTH]
                ],
                total=open_.count(),
                more_url=reverse("aftersales:complaint_list"),
                empty_text=_("No open complaints."),
            )
        )
    if user.has_perm("aftersales.report_adrcase"):
        # Reports not yet made, and investigation reports (death, group event) still due.
        cases = (
            ADRCase.objects.awaiting_action()
            .select_related("product", "investigation_report")
            .order_by("next_due", "pk")
        )
        out.append(
            WorkQueue(
                key="adr_to_report",
                title=_("ADR cases to report"),
                items=[
                    WorkItem(
                        title=f"{c.number} · {c.product}",
                        url=c.get_absolute_url(),
                        since=c.day0,
                        due=c.next_due,
                        note=" ".join(
                            str(text)
                            for text, shown in (
                                (_("Investigation report"), c.status == ADRCase.Status.REPORTED),
                                (_("Immediately"), c.status == ADRCase.Status.OPEN and c.report_immediately),
                                (_("Overdue"), c.is_overdue),
                            )
                            if shown
                        ),
                    )
                    for c in cases[:QUEUE_LENGTH]
                ],
                total=cases.count(),
                more_url=reverse("aftersales:adr_list") + "?status=open",
                empty_text=_("No ADR case is waiting to be reported."),
            )
        )
    if user.has_perm("aftersales.acknowledge_complaint"):
        unread = Complaint.objects.unread_by_qp().select_related("product").order_by("received_at", "pk")
        out.append(
            WorkQueue(
                key="complaints_for_qp",
                title=_("Quality complaints to read (QP)"),
                items=[
                    WorkItem(title=f"{c.number} · {c.product or ''}", url=c.get_absolute_url(), since=c.received_at)
                    for c in unread[:QUEUE_LENGTH]
                ],
                total=unread.count(),
                more_url=reverse("aftersales:complaint_list"),
                empty_text=_("No complaint is waiting for you to read."),
            )
        )
    roles = [role for role, perm in APPROVAL_PERMISSIONS.items() if user.has_perm(perm)]
    if roles:
        waiting = Customer.objects.awaiting_approval_by(user, roles).order_by("updated_at", "pk")
        out.append(
            WorkQueue(
                key="customer_approval",
                title=_("New customers awaiting your approval"),
                items=[
                    WorkItem(title=c.name, url=c.get_absolute_url(), since=c.updated_at) for c in waiting[:QUEUE_LENGTH]
                ],
                total=waiting.count(),
                more_url=reverse("aftersales:customer_list") + "?status=in_approval",
                empty_text=_("No customer is waiting for your approval."),
            )
        )
    if user.has_perm("aftersales.approve_customervisit"):
        # Not their own records (the recorder does not approve, VIS-4.1.3).
        drafts = (
            CustomerVisit.objects.filter(status=CustomerVisit.Status.DRAFT)
            .exclude(recorded_by=user)
            .select_related("customer")
            .order_by("visited_at", "pk")
        )
        out.append(
            WorkQueue(
                key="visits_to_approve",
                title=_("Customer quality visits awaiting your approval"),
                items=[
                    WorkItem(title=f"{v.number} · {v.customer.name}", url=v.get_absolute_url(), since=v.visited_at)
                    for v in drafts[:QUEUE_LENGTH]
                ],
                total=drafts.count(),
                more_url=reverse("aftersales:visit_list"),
                empty_text=_("No visit record is waiting for your approval."),
            )
        )
    return out
