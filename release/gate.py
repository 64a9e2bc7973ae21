"""The shipping gate: the one answer to "may this batch ship, and if not, why" (R-SHIP-2, R-REL-7).

Every path that ships — the shipment form, a CSV import, the admin, the API — calls
:func:`may_ship` inside its own transaction (after locking what it ships from) and refuses with
the reasons it returns. Other apps import it through ``release.for_shipping``.
"""

from __future__ import annotations

from datetime import date

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from release.models import Batch, BatchHold, ProductHold

__all__ = ["may_ship"]


def may_ship(batch: Batch | int, on: date | None = None) -> list[str]:
    """The reasons ``batch`` may not ship on ``on`` (default today, site time zone); empty = it may.

    Reads the batch again (a page or form may hold an old copy): released (both stages for a
    two-stage product), not rejected or voided, no active hold on the batch or on its whole
    product (each one named; recall information locks the product, R-RCL-2), not expired.
    Three queries, whatever the number of holds.
    """
    on = on or timezone.localdate()
    pk = batch.pk if isinstance(batch, Batch) else batch
    batch = Batch.objects.select_related("product").get(pk=pk)
    number = batch.batch_number
    reasons: list[str] = []
    status = Batch.Status
    if batch.status == status.VOIDED:
        reasons.append(_("Batch %(number)s is voided.") % {"number": number})
    elif batch.status == status.REJECTED:
        reasons.append(
            _("Batch %(number)s was rejected by the qualified person; it can never ship.") % {"number": number}
        )
    elif batch.status == status.FACTORY_RELEASED:
        reasons.append(
            _(
                "Batch %(number)s has its factory release (出厂放行) but not yet its market release (上市放行) by the marketing authorisation holder's qualified person."
            )
            % {"number": number}
        )
    elif batch.status != status.RELEASED:
        reasons.append(
            _("Batch %(number)s is not released (it is %(status)s).")
            % {"number": number, "status": batch.get_status_display()}
        )
    holds = BatchHold.objects.filter(batch_id=batch.pk, status=BatchHold.Status.ACTIVE).select_related("placed_by")
    for hold in holds.order_by("placed_at", "pk"):
        source = hold.source_text or ""
        if hold.source_type_id and hold.source_id:
            source = hold.source_label
        reasons.append(
            _("Batch %(number)s is on hold since %(date)s: %(reason)s%(source)s (placed by %(person)s).")
            % {
                "number": number,
                "date": formats.date_format(timezone.localtime(hold.placed_at), "Y-m-d"),
                "reason": hold.reason,
                "source": f" — {source}" if source else "",
                "person": hold.placed_by.printed_name,
            }
        )
    product_holds = ProductHold.objects.filter(
        product_id=batch.product_id, status=ProductHold.Status.ACTIVE
    ).select_related("placed_by")
    for hold in product_holds.order_by("placed_at", "pk"):
        source = hold.source_text or ""
        if hold.source_type_id and hold.source_id:
            source = hold.source_label
        reasons.append(
            _(
                "Product %(product)s (every batch, including %(number)s) is locked since %(date)s: %(reason)s%(source)s (placed by %(person)s)."
            )
            % {
                "product": batch.product.generic_name,
                "number": number,
                "date": formats.date_format(timezone.localtime(hold.placed_at), "Y-m-d"),
                "reason": hold.reason,
                "source": f" — {source}" if source else "",
                "person": hold.placed_by.printed_name,
            }
        )
    if batch.expiry_date < on:
        reasons.append(
            _("Batch %(number)s expired on %(date)s.") % {"number": number, "date": batch.expiry_date.isoformat()}
        )
    return reasons
