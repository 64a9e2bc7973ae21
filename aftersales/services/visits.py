"""Customer quality visits (VIS-4.1.3, R-VIS-1) and the monthly feedback ledger (AS-4.2.6, R-VIS-2).

A visit record is written by customer service and approved by the customer-service manager with a
signature (报客服部经理批准). A side effect mentioned during a visit is ADR information: recording
the visit records a "possible ADR" feedback in the same transaction, so its ADR case opens with
day 0 = the visit (AS-4.2.3). The monthly ledger's figures are computed from the feedback records
and frozen when the manager signs them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.models import (
    VISIT_CYCLE_MONTHS,
    Complaint,
    Customer,
    CustomerVisit,
    Feedback,
    FeedbackClass,
    LedgerSignoff,
    Shipment,
    VisitTopic,
)
from core.dates import add_months
from core.models import Signature, User
from core.numbering import formatted_number
from core.pdf import issue_after_commit
from core.signatures import sign, verify_signer
from core.workflow import (
    InputError,
    WorkflowError,
    apply_changes,
    move,
    require_permission,
    save_changed,
    save_step,
    signs,
)


def visit_problems(data: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not data.get("topics"):
        problems["topics"] = [_("Choose at least one topic.")]
    elif any(t not in VisitTopic.values for t in data["topics"]):
        problems["topics"] = [_("Choose topics from the list.")]
    if data.get("visited_at") and data["visited_at"] > timezone.now():
        problems["visited_at"] = [_("The visit cannot be in the future.")]
    if data.get("side_effect_mentioned"):
        if not (data.get("side_effect_description") or "").strip():
            problems["side_effect_description"] = [_("Describe the side effect: it is reported as a possible ADR.")]
        if not (data.get("side_effect_patient") or "").strip():
            problems["side_effect_patient"] = [
                _("An adverse reaction report needs an identifiable patient (initials, age or sex).")
            ]
        if data.get("side_effect_product") is None:
            problems["side_effect_product"] = [_("An adverse reaction report needs the suspected drug.")]
    return problems


@transaction.atomic
def visit_record(*, user: User, data: dict[str, Any]) -> CustomerVisit:
    """Record a visit (draft). A side effect mentioned opens an ADR intake at once (AS-4.2.3)."""
    require_permission(user, "aftersales.add_customervisit")
    if problems := visit_problems(data):
        raise InputError(problems)
    visit = CustomerVisit(recorded_by=user, last_changed_by=user)
    apply_changes(visit, data)
    visit.number = formatted_number("VIS", timezone.localtime(visit.visited_at).year, width=4)
    if visit.side_effect_mentioned:
        from aftersales.services.intake import feedback_record

        visit.adr_feedback = feedback_record(
            user=user,
            data=dict(
                received_at=visit.visited_at,
                channel="customer_visit",
                customer=visit.customer,
                reporter_name=visit.person_visited,
                reporter_type="patient"
                if visit.target == "patient"
                else "pharmacy"
                if visit.target == "pharmacy_head"
                else "distributor",
                reporter_contact="",
                product=visit.side_effect_product,
                batch=None,
                batch_number="",
                description=visit.side_effect_description,
                classification="possible_adr",
                sales_chain_problem="",
                patient=visit.side_effect_patient,
            ),
        )
    save_changed(visit, user, "created")
    return visit


def cannot_approve_visit(visit: CustomerVisit, user: User) -> str | None:
    if not user.has_perm("aftersales.approve_customervisit"):
        return _("You do not have permission to do this.")
    if visit.status != CustomerVisit.Status.DRAFT:
        return _("This visit record has already been approved.")
    if visit.opinions.strip() and not visit.handling.strip():
        return _("Record how the opinions were handled before approval.")
    if visit.recorded_by_id == user.pk:
        return _("You recorded this visit; another manager must approve it.")
    return None


@signs(Signature.Meaning.APPROVED)
def visit_approve(
    *, visit: CustomerVisit, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> CustomerVisit:
    """The customer-service manager approves the visit record, signed (VIS-4.1.3)."""
    require_permission(user, "aftersales.approve_customervisit")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        visit = CustomerVisit.objects.select_for_update().get(pk=visit.pk)
        if visit.status != CustomerVisit.Status.DRAFT:
            move(visit, CustomerVisit.Status.APPROVED)
        if refusal := cannot_approve_visit(visit, user):
            raise WorkflowError(refusal)
        move(visit, CustomerVisit.Status.APPROVED)
        visit.approved_by, visit.approved_at = user, timezone.now()
        save_step(visit, user, comment or "approved")
        sign(credential=credential, record=visit, meaning=visit_approve.meaning, comment=comment)
        store_last_visit(visit, user)
    return visit


def store_last_visit(visit: CustomerVisit, user: User) -> None:
    """The customer's latest approved visit, stored for the due list (``visits_due``) with a
    history row; a visit approved after a later one leaves it as it is."""
    customer = Customer.objects.select_for_update().get(pk=visit.customer_id)
    if customer.last_visit_at is None or visit.visited_at > customer.last_visit_at:
        customer.last_visit_at = visit.visited_at
        save_step(customer, user, "last approved visit recorded")  # registered in aftersales.apps


def visits_due(
    on: date, *, due_by: date | None = None, limit: int | None = None
) -> list[tuple[Customer, date | None, date]]:
    """Qualified customers with their last approved visit and the next due date (half-year cycle,
    VIS-4.1.3.4), most overdue first (then by name); a customer never visited is due now.
    ``due_by``: only those due by that day; ``limit``: the first so many.

    Visited customers are read in the order of their stored last visit, along which the due date only
    grows: reading stops once ``limit`` are found and the next is due later, or one is due after
    ``due_by``. Those never visited (all due ``on``) are read by name, ``limit`` at most. So a page
    reads about ``limit`` rows of a plant's thousands of customers (issue 12)."""
    rows: list[tuple[date, str, int, date | None]] = []
    tz = timezone.get_current_timezone()
    # The stored last approved visit (store_last_visit), read in its index's order.
    visited = (
        Customer.objects.qualified()
        .filter(last_visit_at__isnull=False)
        .order_by("last_visit_at", "pk")
        .values_list("pk", "name", "last_visit_at")
    )
    for pk, name, last_visit in visited.iterator(chunk_size=100):
        last = last_visit.astimezone(tz).date()
        due = add_months(last, VISIT_CYCLE_MONTHS)
        if due_by is not None and due > due_by:
            break  # every later customer is due later still
        if limit is not None and len(rows) >= limit and (not rows or due > rows[-1][0]):
            break
        rows.append((due, name, pk, last))
    if due_by is None or on <= due_by:
        never = (
            Customer.objects.qualified()
            .filter(last_visit_at__isnull=True)
            .order_by("name", "pk")
            .values_list("pk", "name")
        )
        rows += [(on, name, pk, None) for pk, name in (never[:limit] if limit is not None else never)]
    rows.sort(key=lambda r: (r[0], r[1]))
    if limit is not None:
        rows = rows[:limit]
    found = Customer.objects.in_bulk([r[2] for r in rows])
    return [(found[pk], last, due) for due, _name, pk, last in rows]


# --- the monthly ledger ---------------------------------------------------------------------------


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(date(year, month, 1), time.min))
    end = timezone.make_aware(datetime.combine(add_months(date(year, month, 1), 1), time.min))
    return start, end


RATE_BASE = 10_000


def complaint_rates(year: int, month: int) -> list[dict[str, Any]]:
    """Complaints per 10,000 units shipped, per product, for the local month (AS-4.2.6 KPI;
    R-VIS-2): units from the distribution records dispatched in the month (sales, samples and
    replacements; voided records left out), complaints received in the month (an enquiry is not a
    complaint about the product). One query: the product table with two correlated sums, each
    served by an index on (product, date); products with neither are left out."""
    from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    from release.models import Product

    first = date(year, month, 1)
    start, end = month_bounds(year, month)
    units = (
        Shipment.objects.active()
        .filter(product=OuterRef("pk"), dispatch_date__gte=first, dispatch_date__lt=add_months(first, 1))
        .order_by()
        .values("product")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    complaints = (
        Complaint.objects.counted()
        .filter(product=OuterRef("pk"), received_at__gte=start, received_at__lt=end)
        .order_by()
        .values("product")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        Product.objects.annotate(
            units=Coalesce(Subquery(units, output_field=IntegerField()), Value(0)),
            complaints=Coalesce(Subquery(complaints, output_field=IntegerField()), Value(0)),
        )
        .filter(Q(units__gt=0) | Q(complaints__gt=0))
        .order_by("name", "strength", "pk")
        .values("pk", "name", "strength", "units", "complaints")
    )
    target = settings.AFTERSALES_COMPLAINT_RATE_TARGET
    out = []
    for r in rows:
        rate = None
        if r["units"]:
            rate = (Decimal(r["complaints"]) * RATE_BASE / Decimal(r["units"])).quantize(Decimal("0.01"), ROUND_HALF_UP)
        out.append(
            {
                "product": f"{r['name']} {r['strength']}".strip(),
                "units": r["units"],
                "complaints": r["complaints"],
                # A string: frozen into the signed figures and the PDF exactly as shown.
                "per_10000": str(rate) if rate is not None else None,
                "above_target": bool(target and (rate is None or rate > target) and r["complaints"]),
            }
        )
    return out


def ledger_figures(year: int, month: int) -> dict[str, Any]:
    """The month's figures (AS-4.2.6, R-VIS-2) from the feedback received in it (local time)."""
    start, end = month_bounds(year, month)
    rows = list(
        Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
        .order_by("received_at", "pk")
        .values(
            "number",
            "classification",
            "status",
            "product__name",
            "product__strength",
            "reply_at",
            "first_response_due",
            "satisfaction",
        )
    )
    answered = [r for r in rows if r["reply_at"] is not None]
    on_time = sum(1 for r in answered if r["reply_at"] <= r["first_response_due"])
    # One rule for the total and the rate (``Complaint.objects.counted``: enquiries left out; every
    # complaint names its product — the intake refuses one without); the enquiries are figures of
    # their own, so the page, the PDF and the CSV can say what each number counts.
    from django.db.models import Count, Q

    counts = Complaint.objects.filter(received_at__gte=start, received_at__lt=end).aggregate(
        counted=Count("pk", filter=~Q(triage=Complaint.Triage.ENQUIRY)),
        enquiries=Count("pk", filter=Q(triage=Complaint.Triage.ENQUIRY)),
    )
    return {
        "total": len(rows),
        "by_class": dict(Counter(r["classification"] for r in rows)),
        "by_status": dict(Counter(r["status"] for r in rows)),
        "by_product": dict(
            Counter(f"{r['product__name']} {r['product__strength']}" if r["product__name"] else "—" for r in rows)
        ),
        "answered": len(answered),
        "answered_on_time": on_time,
        "timeliness_percent": round(100 * on_time / len(answered), 1) if answered else None,
        "satisfaction": dict(Counter(r["satisfaction"] for r in rows if r["satisfaction"])),
        "complaints": counts["counted"],
        "complaint_enquiries": counts["enquiries"],
        "enquiries": sum(1 for r in rows if r["classification"] == FeedbackClass.ENQUIRY),
        "complaint_rate": complaint_rates(year, month),
        "complaint_rate_target": str(settings.AFTERSALES_COMPLAINT_RATE_TARGET or ""),
        "numbers": [r["number"] for r in rows],
    }


def cannot_sign_ledger(year: int, month: int, user: User) -> str | None:
    if not user.has_perm("aftersales.sign_ledger"):
        return _("You do not have permission to do this.")
    if LedgerSignoff.objects.filter(year=year, month=month).exists():
        return _("This month's ledger has already been signed.")
    if date(year, month, 1) > timezone.localdate().replace(day=1):
        return _("A month can be signed only once it has begun.")
    return None


@signs(Signature.Meaning.APPROVED)
def ledger_sign(
    *, year: int, month: int, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> LedgerSignoff:
    """The customer-service manager signs the month's feedback summary and ledger; the figures are frozen."""
    require_permission(user, "aftersales.sign_ledger")
    credential = verify_signer(user=user, password=password, request=request)
    try:
        with transaction.atomic():
            if refusal := cannot_sign_ledger(year, month, user):
                raise WorkflowError(refusal)
            signoff = LedgerSignoff(
                year=year, month=month, figures=ledger_figures(year, month), signed_by=user, last_changed_by=user
            )
            save_changed(signoff, user, comment or "monthly ledger signed")
            sign(credential=credential, record=signoff, meaning=ledger_sign.meaning, comment=comment)
            from aftersales.pdf import issue_ledger

            issue_after_commit(issue_ledger, signoff_pk=signoff.pk, user_pk=user.pk)
    except IntegrityError:
        raise WorkflowError(_("This month's ledger has already been signed.")) from None
    return signoff
