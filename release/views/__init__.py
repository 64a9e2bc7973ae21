"""Release pages, one module per subject (urls.py refers to the names here)."""

from release.views.batches import batch_create, batch_detail, batch_edit, batch_list, batch_void
from release.views.holds import batch_hold_place, hold_lift
from release.views.products import (
    product_approve,
    product_create,
    product_detail,
    product_edit,
    product_list,
    product_void,
)

__all__ = [
    "batch_create",
    "batch_detail",
    "batch_edit",
    "batch_list",
    "batch_void",
    "batch_hold_place",
    "hold_lift",
    "product_approve",
    "product_create",
    "product_detail",
    "product_edit",
    "product_list",
    "product_void",
]
