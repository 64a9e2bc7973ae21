"""What after-sales publishes for recalls (R-RCL-3): who received how much of which batch.

``consignees(batches) -> list[dict]`` — one row per consignee and batch from the distribution
records that are not voided (sales, samples and replacements alike: a sample is traceable in a
recall): ``customer_id``, ``customer`` (name as shipped), ``address``, ``contact``, ``batch_id``,
``batch_number``, ``quantity`` (total shipped), ``shipments`` (count), ``first_dispatch``,
``last_dispatch``. One grouped query whatever the number of shipments.

``recall_returns(batches) -> dict[(customer_id, batch_id), int]`` — the quantities returned
through after-sales returns on the recall channel, per consignee and batch (R-RCL-5: "returned"
comes from the returns where they exist). One grouped query.

``customer_types(ids) -> dict[int, str]`` — each consignee's type (a distributor must confirm it
passed the notice on). One query.

``on_return_recorded(listener)`` — recalls registers here (in its ``ready()``) to hear of every
return recorded after a recall started, so the consignee's returned quantity follows the returns
(issue 11). After-sales calls ``listener(customer_id=, batch_id=, user=, number=)`` inside the
transaction that records the return: imports still point one way (recalls → aftersales).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from django.db.models import Count, Max, Min, Q, Sum

from aftersales.models import Customer, GoodsReturn, ReturnChannel, Shipment

__all__ = ["consignees", "customer_types", "on_return_recorded", "recall_returns", "return_recorded"]

_return_listeners: list[Callable[..., None]] = []


def on_return_recorded(listener: Callable[..., None]) -> Callable[..., None]:
    """Register ``listener`` for returns being recorded (idempotent)."""
    if listener not in _return_listeners:
        _return_listeners.append(listener)
    return listener


def return_recorded(goods, user) -> None:
    """Called by ``aftersales.services.return_record`` in its transaction, after the return is saved."""
    for listener in _return_listeners:
        listener(customer_id=goods.customer_id, batch_id=goods.batch_id, user=user, number=goods.number)


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


def recall_returns(batches: Iterable, *, since: date | None = None) -> dict[tuple[int, int], int]:
    """Returns on the recall channel, and — with ``since`` (the day the recall started) — returns
    of any channel received from that day on: goods of a recalled batch that come back while the
    recall runs are recovered, whatever form the customer used."""
    ids = [b if isinstance(b, int) else b.pk for b in batches]
    which = Q(channel=ReturnChannel.RECALL)
    if since is not None:
        which |= Q(received_on__gte=since)
    rows = (
        GoodsReturn.objects.filter(which, batch_id__in=ids)
        .values("customer_id", "batch_id")
        .annotate(quantity=Sum("quantity"))
        .order_by()
    )
    return {(r["customer_id"], r["batch_id"]): r["quantity"] or 0 for r in rows}


def customer_types(ids: Iterable[int]) -> dict[int, str]:
    return dict(Customer.objects.filter(pk__in=list(ids)).values_list("pk", "customer_type"))
