"""States aftersales stores on a row from other records, and the check that they still agree.

A customer's ``last_visit_at`` (the latest approved visit) is stored by ``visit_approve``
(``services.visits.store_last_visit``), so that the visit due list reads a few rows in an index's
order instead of every customer's visits (issue 12). A write path that skipped it would put a
customer at the wrong place in the due list — never visited, or visited when they were not;
``verify_integrity`` recomputes it from the approved visits and names every customer that
differs. ``generate_volume`` sets it on generated customers with ``fill``.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core import integrity, volume

FINDINGS_SHOWN = 50


def latest_approved_visit():
    """The outer customer's latest approved visit time (None without one): what ``last_visit_at`` stores."""
    from aftersales.models import CustomerVisit

    return Subquery(
        CustomerVisit._base_manager.filter(customer=OuterRef("pk"), status=CustomerVisit.Status.APPROVED)
        .order_by("-visited_at")
        .values("visited_at")[:1]
    )


def _when(value) -> str:
    if value is None:
        return _("none")
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i")


@integrity.register
def check_last_visit(report: integrity.Report) -> None:
    """Every customer's stored last approved visit against their approved visits (with
    ``report.limit``, the most recent customers); at most ``FINDINGS_SHOWN`` are listed."""
    from aftersales.models import Customer

    customers = Customer._base_manager.all()
    since = integrity.first_of_last(customers, report.limit)
    if since is not None:
        customers = customers.filter(pk__gte=since)
    report.count(_("stored last visits of customers"), customers.count())
    wrong = (
        customers.annotate(latest=latest_approved_visit())
        .filter(
            Q(last_visit_at__isnull=True, latest__isnull=False)
            | Q(last_visit_at__isnull=False, latest__isnull=True)
            | Q(last_visit_at__lt=F("latest"))
            | Q(last_visit_at__gt=F("latest"))
        )
        .order_by("pk")
        .values_list("pk", "name", "last_visit_at", "latest")[:FINDINGS_SHOWN]
    )
    for pk, name, stored, latest in wrong:
        report.add(
            "stored states",
            _("customer %(name)s (#%(id)s)") % {"name": name, "id": pk},
            _(
                "the stored last approved visit is %(stored)s, but the approved visits say %(latest)s: "
                "the visit due list places this customer by the stored one"
            )
            % {"stored": _when(stored), "latest": _when(latest)},
        )


def fill(lo: int, hi: int) -> int:
    """Store the last approved visit of customers ``lo``..``hi`` from their visits (set-based), as
    ``store_last_visit`` would have; returns how many customers it updated."""
    from aftersales.models import Customer, CustomerVisit

    qn = connection.ops.quote_name
    c, v = qn(Customer._meta.db_table), qn(CustomerVisit._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {c} SET last_visit_at = (SELECT MAX(v.visited_at) FROM {v} v "  # noqa: S608
            f"WHERE v.customer_id = {c}.id AND v.status = %s) WHERE id BETWEEN %s AND %s",
            [CustomerVisit.Status.APPROVED, lo, hi],
        )
        return cursor.rowcount


def connect() -> None:
    volume.register_stored_state("aftersales.Customer", fill)
