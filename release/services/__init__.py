"""Workflow actions of the release app, one module per subject; every public name is here too."""

from core.workflow import InputError, WorkflowError
from release.services.batches import (
    batch_create,
    batch_update,
    batch_void,
    cannot_change_batch,
    cannot_void_batch,
)
from release.services.holds import cannot_lift_hold, cannot_place_hold, hold_lift, hold_place
from release.services.products import (
    cannot_approve_product,
    cannot_change_product,
    cannot_void_product,
    product_approve,
    product_create,
    product_update,
    product_void,
)
from release.services.quality_events import (
    cannot_change_event,
    cannot_close_event,
    change_control_close,
    change_control_create,
    change_control_update,
    deviation_close,
    deviation_create,
    deviation_update,
)

__all__ = [
    "InputError",
    "WorkflowError",
    "batch_create",
    "batch_update",
    "batch_void",
    "cannot_approve_product",
    "cannot_change_event",
    "cannot_close_event",
    "change_control_close",
    "change_control_create",
    "change_control_update",
    "deviation_close",
    "deviation_create",
    "deviation_update",
    "cannot_lift_hold",
    "cannot_place_hold",
    "hold_lift",
    "hold_place",
    "cannot_change_batch",
    "cannot_change_product",
    "cannot_void_batch",
    "cannot_void_product",
    "product_approve",
    "product_create",
    "product_update",
    "product_void",
]
