"""What after-sales reminds people of by e-mail (issue 13 item 3; core.reminders sends and records them):

* ADR reports (R-ADR-1) falling due (``REMIND_ADR_DAYS_BEFORE``; a report due "immediately" is
  due on day 0 itself, so it is mailed the night it is recorded) and overdue; the investigation
  report of a death or group event likewise; follow-up reports likewise. To the people who make
  the national report (``aftersales.report_adrcase``).
* Customer licences expiring within ``REMIND_LICENCE_DAYS_BEFORE`` days and expired (GSP 5.3:
  an expired licence blocks every sale to the customer), to the people who keep the customer
  file (``aftersales.add_customerlicence``: sales and QA). Only the newest licence of each kind
  of a customer that is not voided: a renewed licence silences the old one.

Each threshold key carries the date it is about, so a changed due date starts a new reminder.
Reading costs a fixed number of queries per kind, whatever the number of items.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from aftersales.models import ADRCase, ADRFollowUp, Customer, CustomerLicence
from core.reminders import Due, holders_of


def due_reminders(today: date) -> Iterator[Due]:
    yield from _adr(today)
    yield from _licences(today)


def _adr(today: date) -> Iterator[Due]:
    people = holders_of("aftersales.report_adrcase")
    horizon = today + timedelta(days=settings.REMIND_ADR_DAYS_BEFORE)
    cases = (
        ADRCase.objects.awaiting_action()
        .filter(next_due__lte=horizon)
        .select_related("product", "investigation_report")
        .order_by("next_due", "pk")
    )
    for case in cases:
        if case.status == ADRCase.Status.OPEN:
            step, due = "report", case.report_due
            what = _("the ADR report to the national monitoring system")
        else:
            step, due = "investigation", case.investigation_due
            what = _("the investigation report")
        values = {"item": case.number, "product": str(case.product), "due": due, "what": what}
        if today > due:
            yield Due(
                record=case,
                threshold=f"{step}_overdue:{due.isoformat()}",
                subject=_("ADR case overdue: %(item)s (due %(due)s)"),
                body=_(
                    "ADR case %(item)s (%(product)s): %(what)s was due on %(due)s and has not been recorded as "
                    "made. Report it now and record it in Release Desk (R-ADR-1)."
                ),
                url=case.get_absolute_url(),
                recipients=people,
                values=values,
            )
        else:
            yield Due(
                record=case,
                threshold=f"{step}_due:{due.isoformat()}",
                subject=_("ADR case due on %(due)s: %(item)s"),
                body=_(
                    "ADR case %(item)s (%(product)s): %(what)s is due on %(due)s. Make it by then and record "
                    "it in Release Desk (R-ADR-1)."
                ),
                url=case.get_absolute_url(),
                recipients=people,
                values=values,
            )

    followups = (
        ADRFollowUp.objects.filter(status=ADRFollowUp.Status.OPEN, report_due__lte=horizon)
        .select_related("case", "case__product")
        .order_by("report_due", "pk")
    )
    for followup in followups:
        due = followup.report_due
        values = {
            "item": followup.case.number,
            "n": followup.sequence,
            "product": str(followup.case.product),
            "due": due,
        }
        overdue = today > due
        yield Due(
            record=followup,
            threshold=f"{'overdue' if overdue else 'due'}:{due.isoformat()}",
            subject=_("ADR follow-up report overdue: %(item)s no. %(n)s (due %(due)s)")
            if overdue
            else _("ADR follow-up report due on %(due)s: %(item)s no. %(n)s"),
            body=_(
                "Follow-up %(n)s of ADR case %(item)s (%(product)s) was to be reported by %(due)s and has not been "
                "recorded as reported. Report it now and record it in Release Desk (R-ADR-1)."
            )
            if overdue
            else _(
                "Follow-up %(n)s of ADR case %(item)s (%(product)s) is to be reported by %(due)s. Report it by "
                "then and record it in Release Desk (R-ADR-1)."
            ),
            url=followup.get_absolute_url(),
            recipients=people,
            values=values,
        )


def _licences(today: date) -> Iterator[Due]:
    people = holders_of("aftersales.add_customerlicence")
    renewed = CustomerLicence.objects.filter(
        customer_id=OuterRef("customer_id"), kind=OuterRef("kind"), valid_to__gt=OuterRef("valid_to")
    )
    licences = (
        CustomerLicence.objects.filter(valid_to__lte=today + timedelta(days=settings.REMIND_LICENCE_DAYS_BEFORE))
        .exclude(customer__status=Customer.Status.VOIDED)
        .exclude(Exists(renewed))
        .select_related("customer")
        .order_by("valid_to", "pk")
    )
    for licence in licences:
        values = {
            "item": str(licence),
            "customer": licence.customer.name,
            "due": licence.valid_to,
        }
        if today > licence.valid_to:
            yield Due(
                record=licence,
                threshold=f"expired:{licence.valid_to.isoformat()}",
                subject=_("Customer licence expired on %(due)s: %(customer)s"),
                body=_(
                    "%(item)s of %(customer)s expired on %(due)s. Nothing can be shipped to this customer until "
                    "the renewed licence is on file (GSP 5.3)."
                ),
                url=licence.customer.get_absolute_url(),
                recipients=people,
                values=values,
            )
        else:
            yield Due(
                record=licence,
                threshold=f"expiry_soon:{licence.valid_to.isoformat()}",
                subject=_("Customer licence expires on %(due)s: %(customer)s"),
                body=_(
                    "%(item)s of %(customer)s expires on %(due)s. Ask the customer for the renewed licence and "
                    "file it before then: an expired licence blocks every shipment to the customer (GSP 5.3)."
                ),
                url=licence.customer.get_absolute_url(),
                recipients=people,
                values=values,
            )
