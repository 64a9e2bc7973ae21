"""Reconciliation of a recall (R-RCL-5): shipped vs recovered vs outstanding, and effectiveness.

Pure arithmetic over consignee rows (no database), shared by the recall page, the closing service,
the CSV and the final report, so every place prints the same numbers.

* recovered = returned + destroyed on site (out of the market for good);
* accounted = held + returned + used + destroyed; outstanding = shipped − accounted;
* effectiveness % = recovered ÷ (shipped − used) × 100 — what was used or dispensed can no longer
  be recovered; 100 % when nothing recoverable was shipped. Rounded half-up to 0.1 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal


@dataclass
class Totals:
    shipped: int = 0
    held: int = 0
    returned: int = 0
    used: int = 0
    destroyed: int = 0
    consignees: int = 0
    notified: int = 0
    acknowledged: int = 0
    by_batch: dict = field(default_factory=dict)

    @property
    def recovered(self) -> int:
        return self.returned + self.destroyed

    @property
    def outstanding(self) -> int:
        return self.shipped - (self.held + self.returned + self.used + self.destroyed)

    @property
    def effectiveness(self) -> Decimal:
        return effectiveness(recovered=self.recovered, shipped=self.shipped, used=self.used)


def effectiveness(*, recovered: int, shipped: int, used: int) -> Decimal:
    recoverable = shipped - used
    if recoverable <= 0:
        return Decimal("100.0")
    return (Decimal(recovered) * 100 / Decimal(recoverable)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def reconcile(rows) -> Totals:
    """Totals over consignee rows (objects with the RecallConsignee quantity attributes), overall and
    per batch number (``by_batch``: number → Totals)."""
    total = Totals()
    for row in rows:
        number = row.batch.batch_number
        per = total.by_batch.setdefault(number, Totals())
        for t in (total, per):
            t.shipped += row.quantity_shipped
            t.held += row.quantity_held
            t.returned += row.quantity_returned
            t.used += row.quantity_used
            t.destroyed += row.quantity_destroyed
            t.consignees += 1
            t.notified += 1 if row.notified_at else 0
            t.acknowledged += 1 if row.acknowledged_at else 0
    return total
