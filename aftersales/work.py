"""After-sales queues on the "My work" page (R-UX-3): oldest or most urgent first, with due dates."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    APPROVAL_PERMISSIONS,
    ADRCase,
    ADRFollowUp,
    Complaint,
    Customer,
    CustomerVisit,
    Feedback,
    GoodsReturn,
    ReturnDecision,
)
from core.work import WorkItem, WorkQueue
from release.models import Product

# Each queue is counted with the page's others in one query and read (one query) only when it has
# rows: QA sees seven queues of this app besides release's and QC's (R-PERF-1). Each reads only the
# columns its rows show (``.only()``): a page of eleven queues spent more time converting and
# building unused columns than PostgreSQL took to find the rows (issue 12).
PRODUCT_NAME = ("product__name", "product__strength")  # str(product)


def product_label() -> Subquery:
    """``str(product)`` ("name strength") of the row's product, as a scalar subquery."""
    return Subquery(
        Product.objects.filter(pk=OuterRef("product_id"))
        .annotate(label=Concat("name", Value(" "), "strength"))
        .values("label")[:1]
    )


def queues(user) -> list[WorkQueue]:
    out: list[WorkQueue] = []
    if user.has_perm("aftersales.change_feedback"):
        out.append(
            WorkQueue(
                key="feedback_first_response",
                title=_("Market feedback awaiting a first response"),
                rows=Feedback.objects.awaiting_response()
                .only("number", "reporter_name", "received_at", "first_response_due", "status", "classification")
                .order_by("first_response_due", "pk"),
                item=lambda f: WorkItem(
                    title=f"{f.number} · {f.reporter_name}",
                    url=f.get_absolute_url(),
                    since=f.received_at,
                    due=f.first_response_due,
                    note=str(_("Overdue")) if f.response_overdue else f.get_classification_display(),
                ),
                more_url=reverse("aftersales:feedback_list") + "?status=open",
                empty_text=_("No feedback is waiting for a response."),
            )
        )
    if user.has_perm("aftersales.change_complaint"):
        out.append(
            WorkQueue(
                key="complaints_open",
                title=_("Open complaints"),
                rows=Complaint.objects.open()
                .select_related("product")
                .only("number", *PRODUCT_NAME, "received_at", "reply_due", "reply_at", "status")
                .order_by("reply_due", "pk"),
                item=lambda c: WorkItem(
                    title=f"{c.number} · {c.product or ''}",
                    url=c.get_absolute_url(),
                    since=c.received_at,
                    due=c.reply_due if c.reply_at is None else None,
                    note=c.get_status_display(),
                ),
                more_url=reverse("aftersales:complaint_list"),
                empty_text=_("No open complaints."),
            )
        )
    if user.has_perm("aftersales.report_adrcase"):
        # Reports not yet made, and investigation reports (death, group event) still due.
        # The product's name as a scalar subquery, not a join: PostgreSQL then names only the ten
        # rows shown, after sorting, where the join named every waiting case first (~750 at scale
        # 1.0: 2.2 ms against 0.9, issue 12).
        out.append(
            WorkQueue(
                key="adr_to_report",
                title=_("ADR cases to report"),
                rows=ADRCase.objects.awaiting_action()
                .select_related("investigation_report")
                .annotate(product_label=product_label())
                .only(
                    "number",
                    "day0",
                    "status",
                    "report_due",
                    "report_immediately",
                    "investigation_due",
                    "investigation_report__id",
                )
                .order_by("next_due", "pk"),
                item=lambda c: WorkItem(
                    title=f"{c.number} · {c.product_label}",
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
                ),
                more_url=reverse("aftersales:adr_list") + "?status=open",
                empty_text=_("No ADR case is waiting to be reported."),
            )
        )
    if user.has_perm("aftersales.report_adrcase"):
        out.append(
            WorkQueue(
                key="adr_followups_to_report",
                title=_("ADR follow-up reports to make"),
                rows=ADRFollowUp.objects.filter(status=ADRFollowUp.Status.OPEN)
                .select_related("case", "case__product", "case__ruleset")
                .only(
                    "sequence",
                    "received_at",
                    "report_due",
                    "status",
                    "case__number",
                    "case__product__name",
                    "case__product__strength",
                    "case__ruleset__followup_confidence",
                )
                .order_by("report_due", "pk"),
                item=lambda f: WorkItem(
                    title=f"{f.case.number} · {f.case.product} · {_('Follow-up')} {f.sequence}",
                    url=f.get_absolute_url(),
                    since=f.received_at,
                    due=f.report_due,
                    note=" · ".join(
                        str(n)
                        for n in (
                            _("Overdue") if f.report_overdue else "",
                            _("deadline to be confirmed by QA") if f.due_unverified else "",
                        )
                        if n
                    ),
                ),
                empty_text=_("No follow-up report is due."),
            )
        )
    if user.has_perm("aftersales.acknowledge_complaint"):
        out.append(
            WorkQueue(
                key="complaints_for_qp",
                title=_("Quality complaints to read (QP)"),
                rows=Complaint.objects.unread_by_qp()
                .select_related("product")
                .only("number", *PRODUCT_NAME, "received_at")
                .order_by("received_at", "pk"),
                item=lambda c: WorkItem(
                    title=f"{c.number} · {c.product or ''}", url=c.get_absolute_url(), since=c.received_at
                ),
                more_url=reverse("aftersales:complaint_list"),
                empty_text=_("No complaint is waiting for you to read."),
            )
        )
    roles = [role for role, perm in APPROVAL_PERMISSIONS.items() if user.has_perm(perm)]
    if roles:
        out.append(
            WorkQueue(
                key="customer_approval",
                title=_("New customers awaiting your approval"),
                rows=Customer.objects.awaiting_approval_by(user, roles)
                .only("name", "updated_at")
                .order_by("updated_at", "pk"),
                item=lambda c: WorkItem(title=c.name, url=c.get_absolute_url(), since=c.updated_at),
                more_url=reverse("aftersales:customer_list") + "?status=in_approval",
                empty_text=_("No customer is waiting for your approval."),
            )
        )
    if user.has_perm("aftersales.approve_customervisit"):
        # Not their own records (the recorder does not approve, VIS-4.1.3).
        out.append(
            WorkQueue(
                key="visits_to_approve",
                title=_("Customer quality visits awaiting your approval"),
                rows=CustomerVisit.objects.filter(status=CustomerVisit.Status.DRAFT)
                .exclude(recorded_by=user)
                .select_related("customer")
                .only("number", "visited_at", "customer__name")
                .order_by("visited_at", "pk"),
                item=lambda v: WorkItem(
                    title=f"{v.number} · {v.customer.name}", url=v.get_absolute_url(), since=v.visited_at
                ),
                more_url=reverse("aftersales:visit_list"),
                empty_text=_("No visit record is waiting for your approval."),
            )
        )
    out.extend(_return_queues(user))
    return out


def _return_queues(user) -> list[WorkQueue]:
    """Returned goods wait in quarantine for QA's signed evaluation, then for the signed
    destruction under supervision or the restocking (R-RET-1, B.2.5); oldest receipt first."""
    out: list[WorkQueue] = []
    more = reverse("aftersales:return_list")
    if user.has_perm("aftersales.evaluate_goodsreturn"):
        out.append(
            WorkQueue(
                key="returns_to_evaluate",
                title=_("Returned goods in quarantine awaiting QA's evaluation"),
                rows=GoodsReturn.objects.awaiting_evaluation()
                .select_related("customer", "batch")
                .only("number", "created_at", "channel", "batch__batch_number", "customer__name")
                .order_by("received_on", "pk"),
                item=lambda g: WorkItem(
                    title=f"{g.number} · {g.batch.batch_number} · {g.customer.name}",
                    url=g.get_absolute_url(),
                    since=g.created_at,
                    note=g.get_channel_display(),
                ),
                more_url=more + "?status=quarantine",
                empty_text=_("No returned goods are waiting for evaluation."),
            )
        )
    if user.has_perm("aftersales.complete_goodsreturn"):
        out.append(
            WorkQueue(
                key="returns_to_dispose",
                title=_("Returned goods to destroy or restock"),
                rows=GoodsReturn.objects.awaiting_disposal()
                .select_related("customer", "batch")
                .only("number", "evaluated_at", "decision", "batch__batch_number", "customer__name")
                .order_by("evaluated_at", "pk"),
                item=lambda g: WorkItem(
                    title=f"{g.number} · {g.batch.batch_number} · {g.customer.name}",
                    url=g.get_absolute_url(),
                    since=g.evaluated_at,
                    note=str(_("Destroy under supervision"))
                    if g.decision == ReturnDecision.DESTROY
                    else str(_("Restock")),
                ),
                more_url=more + "?status=evaluated",
                empty_text=_("No returned goods are waiting for destruction or restocking."),
            )
        )
    return out
