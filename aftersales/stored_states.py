"""States aftersales stores on a row from other records, and the check that they still agree.

A customer's ``last_visit_at`` (the latest approved visit) is stored by ``visit_approve``
(``services.visits.store_last_visit``), so that the visit due list reads a few rows in an index's
order instead of every customer's visits (issue 12). A write path that skipped it would put a
customer at the wrong place in the due list — never visited, or visited when they were not;
``verify_integrity`` recomputes it from the approved visits and names the customers that
differ (the first ``FINDINGS_SHOWN``, then how many more). ``generate_volume`` sets it on generated customers with ``fill``.
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
    """To the second, with the zone: two stored times a few seconds apart must not read the same."""
    if value is None:
        return _("none")
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i:s T")


@integrity.register
def check_last_visit(report: integrity.Report) -> None:
    """Every customer's stored last approved visit against their approved visits; at most
    ``FINDINGS_SHOWN`` are listed, then how many more. With ``report.limit``, the most recent
    customers and those of the ``limit`` most recent approved visits (the stored time changes
    when a visit is approved, mostly for customers qualified long ago)."""
    from aftersales.models import Customer, CustomerVisit

    customers = Customer._base_manager.all()
    since = integrity.first_of_last(customers, report.limit)
    if since is not None:
        recently_visited = (
            CustomerVisit._base_manager.filter(status=CustomerVisit.Status.APPROVED)
            .order_by("-pk")
            .values("customer_id")[: report.limit]
        )
        customers = customers.filter(Q(pk__gte=since) | Q(pk__in=recently_visited))
    report.count(_("stored last visits of customers"), customers.count())
    differing = customers.annotate(latest=latest_approved_visit()).filter(
        Q(last_visit_at__isnull=True, latest__isnull=False)
        | Q(last_visit_at__isnull=False, latest__isnull=True)
        | Q(last_visit_at__lt=F("latest"))
        | Q(last_visit_at__gt=F("latest"))
    )
    wrong = list(differing.order_by("pk").values_list("pk", "name", "last_visit_at", "latest")[:FINDINGS_SHOWN])
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
    if len(wrong) == FINDINGS_SHOWN and (more := differing.count() - FINDINGS_SHOWN) > 0:
        report.add(
            "stored states",
            _("customers"),
            _("%(n)s more customers differ in the same way (only the first %(shown)s are listed)")
            % {"n": more, "shown": FINDINGS_SHOWN},
        )


def fill(lo: int, hi: int) -> int:
    """Store the last approved visit of customers ``lo``..``hi`` from their visits (set-based), as
    ``store_last_visit`` would have; returns how many customers changed.

    Writes no history row: it is for ``generate_volume``, which sets the state before it writes the
    generated rows' history. Never a repair on a live database (that goes through the services,
    with the audit trail)."""
    from aftersales.models import Customer, CustomerVisit

    qn = connection.ops.quote_name
    c, v = qn(Customer._meta.db_table), qn(CustomerVisit._meta.db_table)
    latest = f"(SELECT MAX(v.visited_at) FROM {v} v WHERE v.customer_id = {c}.id AND v.status = %s)"  # noqa: S608
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"  # NULL-safe, both
    approved = CustomerVisit.Status.APPROVED
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {c} SET last_visit_at = {latest} "  # noqa: S608
            f"WHERE id BETWEEN %s AND %s AND last_visit_at {differs} {latest}",
            [approved, lo, hi, approved],
        )
        return cursor.rowcount


def connect() -> None:
    volume.register_stored_state("aftersales.Customer", fill)
