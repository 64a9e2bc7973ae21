"""Samples received by QC (the sampling ledger): registration and correction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.concurrency import check_edit_version
from core.dates import plausible_date_window
from core.models import User
from core.numbering import next_number
from core.workflow import (
    InputError,
    WorkflowError,
    apply_changes,
    require_permission,
    require_reason,
    save_changed,
    save_step,
)
from qc_records.models import PRODUCT_CATEGORIES, Category, Sample, Specification, TestRecord


def _check_sample(sample: Sample) -> None:
    errors: dict[str, list[str]] = {}
    spec = sample.specification
    if spec.status != Specification.Status.APPROVED:
        errors["specification"] = [_("Choose a specification that is approved (in force).")]
    elif spec.category != sample.category:
        errors["specification"] = [
            _("%(spec)s is for %(cat)s, not for %(sample_cat)s.")
            % {"spec": spec, "cat": spec.get_category_display(), "sample_cat": Category(sample.category).label}
        ]
    if sample.category == Category.FINISHED_PRODUCT and sample.batch_id is None:
        errors["batch"] = [_("A finished-product sample names the batch sampled.")]
    if sample.batch_id is not None:
        batch = sample.batch
        if sample.product_id is None:
            sample.product_id = batch.product_id
        elif sample.product_id != batch.product_id:
            errors["batch"] = [_("Batch %(batch)s is not a batch of this product.") % {"batch": batch}]
        if not sample.lot_number:
            sample.lot_number = batch.batch_number
    if sample.category in PRODUCT_CATEGORIES:
        if sample.product_id is None:
            errors["product"] = [_("Choose the product sampled.")]
        elif spec.product_id and spec.product_id != sample.product_id and "specification" not in errors:
            errors["specification"] = [_("%(spec)s is not the specification of this product.") % {"spec": spec}]
        if sample.product_id and not sample.strength:
            sample.strength = sample.product.strength
    else:
        if sample.batch_id is not None or sample.product_id is not None:
            errors["batch"] = [_("Only product samples are linked to a product or batch.")]
        if not sample.material_name:
            sample.material_name = spec.material_name
    if sample.quantity is not None and sample.quantity <= 0:
        errors["quantity"] = [_("The quantity must be more than zero.")]
    if sample.received_date and sample.received_date > timezone.localdate():
        errors["received_date"] = [_("The received date cannot be in the future.")]
    elif sample.received_date and sample.received_date < plausible_date_window()[0]:
        # Back-dating decades would also make the record due for purging at once (issue 8 item 10).
        errors["received_date"] = [
            _("The received date cannot be before %(date)s (EARLIEST_PLAUSIBLE_DATE).")
            % {"date": plausible_date_window()[0].isoformat()}
        ]
    if errors:
        raise InputError(errors)


def sample_create(*, user: User, data: dict[str, Any]) -> Sample:
    """Register a sample received by QC; it gets the next sample number of the year."""
    require_permission(user, "qc_records.add_sample")
    sample = Sample(last_changed_by=user)
    apply_changes(sample, data)
    _check_sample(sample)
    with transaction.atomic():
        year = sample.received_date.year
        sample.number = f"S-{year}-{next_number('sample', year):04d}"
        sample.save_audited(user=user, reason="registered")
    return sample


@transaction.atomic
def sample_update(
    *, sample: Sample, user: User, data: dict[str, Any], reason: str, version: int | None = None
) -> Sample:
    """Correct a sample's registration while none of its records has been submitted."""
    require_permission(user, "qc_records.change_sample")
    sample = Sample.objects.select_for_update().get(pk=sample.pk)
    check_edit_version(sample, version)
    reason = require_reason(reason)
    if sample.records.exclude(status__in=[TestRecord.Status.DRAFT, TestRecord.Status.VOIDED]).exists():
        raise WorkflowError(_("This sample's test record has been submitted; its registration can no longer change."))
    if not apply_changes(sample, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_sample(sample)
    save_changed(sample, user, reason)
    return sample


def store_test_state(*, sample: Sample, user: User, reason: str) -> Sample:
    """Store whether ``sample`` (locked by the caller, in its transaction) has a live test record.

    Called by every service that starts or voids a test record, after that record is saved; it
    reads the records rather than trusting the caller, so a path that forgot a case still stores
    the truth. Saved as a workflow step with ``reason`` (the sample's audit trail shows when it
    started or went back to waiting); nothing is written when the state is unchanged.
    """
    live = sample.records.exclude(status=TestRecord.Status.VOIDED).exists()
    state = Sample.TestState.STARTED if live else Sample.TestState.WAITING
    if sample.test_state != state:
        sample.test_state = state
        save_step(sample, user, reason)
    return sample
