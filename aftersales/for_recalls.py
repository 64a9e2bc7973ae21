"""What after-sales publishes for recalls (R-RCL-3): who received how much of which batch.

``consignees(batches) -> list[dict]`` — one row per consignee and batch from the distribution
records that are not voided (sales, samples and replacements alike: a sample is traceable in a
recall): ``customer_id``, ``customer`` (name as shipped), ``address``, ``contact``, ``batch_id``,
``batch_number``, ``quantity`` (total shipped), ``shipments`` (count), ``first_dispatch``,
``last_dispatch``. One grouped query whatever the number of shipments.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Max, Min, Sum

from aftersales.models import Shipment

__all__ = ["consignees"]


def consignees(batches: Iterable) -> list[dict]:
    ids = [b if isinstance(b, int) else b.pk for b in batches]
    rows = (
        Shipment.objects.active()
        .filter(batch_id__in=ids)
        .values("customer_id", "batch_id", "batch_number")
        .annotate(
            customer=Max("consignee_name"),
            address=Max("consignee_address"),
            contact=Max("consignee_contact"),
            quantity=Sum("quantity"),
            shipments=Count("id"),
            first_dispatch=Min("dispatch_date"),
            last_dispatch=Max("dispatch_date"),
        )
        .order_by("batch_number", "customer", "customer_id")
    )
    return list(rows)
