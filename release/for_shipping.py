"""What after-sales and recalls may ask release about shipping a batch — the published read interface
(imports point one way: aftersales/recalls → release; see DESIGN.md "Apps and the direction of imports").

* ``may_ship(batch, on=date) -> list[str]`` — empty when the batch may ship, else the reasons,
  translated (R-SHIP-2). Call it in every shipping path, inside the transaction that records the
  shipment.
* ``shippable_batches(on=date)`` — the same rule as a queryset, for pick lists.
* ``hold_place`` / ``cannot_place_hold`` — recalls and complaints put a batch on hold naming their
  record as the source; lifting needs QA's signature (``release.services.hold_lift``).
* ``holds_from(source)`` — the holds that name ``source`` (a complaint, a recall) as their cause,
  newest first, with who placed and lifted them: what that record shows about its holds.
* ``product_hold_place`` — lock a whole product (recall information, R-RCL-2), in the caller's
  transaction; it locks the product row, which serialises it with shipments being recorded.
* ``source_holds_lift`` / ``count_active_holds_of`` / ``active_holds_of`` — the record that placed
  holds (a recall) lifts them in its own signed step, one signature per hold; holds a recall owns
  cannot be lifted from the hold page.
* ``recalled_batches_reject`` / ``cannot_reject_after_recall`` / ``rejections_from`` — a recall
  closed keeping its batches as rejected goods moves each released batch to "Rejected", each with
  its own signed ``BatchRejection`` naming the recall (the only path from released to rejected).
"""

from __future__ import annotations

from datetime import date

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef

from release.gate import may_ship
from release.models import Batch, BatchHold, BatchRejection, ProductHold
from release.services.holds import (
    active_holds_of,
    cannot_place_hold,
    count_active_holds_of,
    hold_place,
    product_hold_place,
    source_holds_lift,
)
from release.services.rejections import cannot_reject_after_recall, recalled_batches_reject, rejections_from

__all__ = [
    "BatchHold",
    "ProductHold",
    "active_holds_of",
    "cannot_reject_after_recall",
    "cannot_place_hold",
    "count_active_holds_of",
    "hold_place",
    "holds_from",
    "may_ship",
    "product_hold_place",
    "recalled_batches_reject",
    "rejections_from",
    "shippable_batches",
    "source_holds_lift",
    "with_source_flags",
]


def shippable_batches(on: date | None = None):
    return Batch.objects.shippable(on)


def holds_from(source: models.Model):
    """Holds placed with ``source`` as their cause (``hold_place(source=...)``), newest first."""
    source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
    return BatchHold.objects.filter(source_type=source_type, source_id=source.pk).select_related(
        "batch", "placed_by", "lifted_by"
    )


def with_source_flags(sources: models.QuerySet) -> models.QuerySet:
    """``sources`` (records that hold and reject batches: recalls), each saying (EXISTS) whether
    it placed any batch hold (``has_holds``) and rejected any batch (``has_rejections``): a page
    reads ``holds_from`` / ``rejections_from`` only for one that did (issue 12)."""
    source_type = ContentType.objects.get_for_model(sources.model, for_concrete_model=True)
    return sources.annotate(
        has_holds=Exists(BatchHold.objects.filter(source_type=source_type, source_id=OuterRef("pk"))),
        has_rejections=Exists(BatchRejection.objects.filter(source_type=source_type, source_id=OuterRef("pk"))),
    )
