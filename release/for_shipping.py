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
"""

from __future__ import annotations

from datetime import date

from django.contrib.contenttypes.models import ContentType
from django.db import models

from release.gate import may_ship
from release.models import Batch, BatchHold
from release.services.holds import cannot_place_hold, hold_place

__all__ = ["BatchHold", "cannot_place_hold", "hold_place", "holds_from", "may_ship", "shippable_batches"]


def shippable_batches(on: date | None = None):
    return Batch.objects.shippable(on)


def holds_from(source: models.Model):
    """Holds placed with ``source`` as their cause (``hold_place(source=...)``), newest first."""
    source_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
    return BatchHold.objects.filter(source_type=source_type, source_id=source.pk).select_related(
        "batch", "placed_by", "lifted_by"
    )
