"""The material-balance formula (物料平衡, R-REL-8; ZL-086 4.2.8: "the formula is correct").

The system computes the percentage; nobody types it. The formula is fixed and versioned: each
``MaterialBalance`` row stores the version it was computed with, so a later formula never changes
what was recorded. A new formula is a new entry in ``FORMULAS`` and a new ``CURRENT_VERSION``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

TWO_PLACES = Decimal("0.01")

# version → the formula as printed on the pages and the certificate.
FORMULAS = {
    1: _(
        "material balance % = (actual quantity + samples taken + collected waste) ÷ theoretical quantity × 100, rounded half up to 0.01"
    ),
}
CURRENT_VERSION = 1


def balance_percent(
    *,
    theoretical: Decimal,
    actual: Decimal,
    samples: Decimal = Decimal(0),
    waste: Decimal = Decimal(0),
    version: int = CURRENT_VERSION,
) -> Decimal:
    """The material balance in percent by formula ``version`` (exact decimal arithmetic)."""
    if version != 1:
        raise ValueError(f"unknown material-balance formula version {version}")
    if theoretical <= 0:
        raise ValueError("the theoretical quantity must be greater than zero")
    value = (Decimal(actual) + Decimal(samples) + Decimal(waste)) * 100 / Decimal(theoretical)
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def within(percent: Decimal, lower: Decimal, upper: Decimal) -> bool:
    return lower <= percent <= upper
