"""Samples, the instrument and reagent registers (due soon / expired), their validity rules."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.workflow import WorkflowError
from qc_records import services
from qc_records.models import Category, Instrument, Reagent
from tests.factories import BatchFactory, InstrumentFactory, ReagentFactory

pytestmark = pytest.mark.django_db


def test_finished_product_sample_takes_product_lot_and_strength_from_the_batch(sample, batch):
    assert sample.number == f"S-{sample.received_date.year}-0001"
    assert sample.product == batch.product and sample.lot_number == batch.batch_number
    assert sample.strength == batch.product.strength


def test_sample_needs_a_batch_of_the_specifications_product(qc, spec, batch):
    other = BatchFactory(last_changed_by=qc.qa)
    with pytest.raises(services.InputError) as exc:
        services.sample_create(
            user=qc.analyst,
            data=dict(
                category=Category.FINISHED_PRODUCT,
                specification=spec,
                batch=None,
                quantity=Decimal("1"),
                quantity_unit="盒",
                received_date=timezone.localdate(),
            ),
        )
    assert "batch" in exc.value.errors
    with pytest.raises(services.InputError) as exc:
        services.sample_create(
            user=qc.analyst,
            data=dict(
                category=Category.FINISHED_PRODUCT,
                specification=spec,
                batch=other,
                quantity=Decimal("1"),
                quantity_unit="盒",
                received_date=timezone.localdate(),
            ),
        )
    assert "specification" in exc.value.errors


def test_sample_category_must_match_the_specification(qc, spec):
    with pytest.raises(services.InputError) as exc:
        services.sample_create(
            user=qc.analyst,
            data=dict(
                category=Category.WATER,
                specification=spec,
                quantity=Decimal("1"),
                quantity_unit="ml",
                received_date=timezone.localdate(),
            ),
        )
    assert "specification" in exc.value.errors


def test_sample_is_fixed_once_its_record_is_submitted(qc, submitted_record):
    with pytest.raises(WorkflowError, match="can no longer change"):
        services.sample_update(
            sample=submitted_record.sample, user=qc.analyst, data={"quantity": Decimal("30")}, reason="更正"
        )


def test_sample_correction_needs_a_reason(qc, sample):
    with pytest.raises(services.InputError):
        services.sample_update(sample=sample, user=qc.analyst, data={"quantity": Decimal("30")}, reason="")
    services.sample_update(sample=sample, user=qc.analyst, data={"quantity": Decimal("30")}, reason="数量登记错误")
    assert sample.history.first().history_change_reason == "数量登记错误"


def test_due_soon_and_expired_views(qc):
    today = timezone.localdate()
    soon = InstrumentFactory(calibration_due=today + timedelta(days=10), last_changed_by=qc.head)
    later = InstrumentFactory(calibration_due=today + timedelta(days=60), last_changed_by=qc.head)
    gone = InstrumentFactory(calibration_due=today - timedelta(days=1), last_changed_by=qc.head)
    assert list(Instrument.objects.due_within(30)) == [soon]
    assert list(Instrument.objects.calibration_expired()) == [gone]
    assert later.unusable_reason(today) == "" and "past its calibration due date" in gone.unusable_reason(today)
    r_soon = ReagentFactory(expiry_date=today + timedelta(days=5), last_changed_by=qc.head)
    r_gone = ReagentFactory(
        expiry_date=today - timedelta(days=5), received_date=today - timedelta(days=100), last_changed_by=qc.head
    )
    assert list(Reagent.objects.expiring_within(30)) == [r_soon]
    assert list(Reagent.objects.expired()) == [r_gone]


def test_out_of_service_instrument_cannot_be_used(qc, instrument, draft_record):
    services.instrument_update(
        instrument=instrument, user=qc.head, data={"status": "out_of_service"}, reason="故障报修"
    )
    instrument.refresh_from_db()
    with pytest.raises(services.InputError, match="out of service"):
        services.record_update(record=draft_record, user=qc.analyst, instruments=[instrument])


def test_instrument_changes_need_a_reason_and_follow_the_status_table(qc, instrument):
    with pytest.raises(services.InputError):
        services.instrument_update(instrument=instrument, user=qc.head, data={"location": "x"}, reason="")
    services.instrument_update(instrument=instrument, user=qc.head, data={"status": "retired"}, reason="报废")
    with pytest.raises(WorkflowError):
        services.instrument_update(instrument=instrument, user=qc.head, data={"status": "in_service"}, reason="恢复")
    with pytest.raises(WorkflowError, match="permission"):
        services.instrument_update(instrument=instrument, user=qc.analyst, data={"location": "y"}, reason="z")


def test_instrument_ids_are_unique(qc, instrument):
    with pytest.raises(services.InputError, match="already exists"):
        services.instrument_create(
            user=qc.head,
            data=dict(
                code=instrument.code.lower(),
                name="x",
                model="y",
                kind="instrument",
                location="z",
                calibration_due=timezone.localdate(),
            ),
        )


def test_reagent_registration_and_usage_log(qc, filled_record, reagent):
    assert list(reagent.uses.values_list("record_id", flat=True)) == [filled_record.pk]
    use = reagent.uses.get()
    assert use.expiry_date == reagent.expiry_date
    with pytest.raises(services.InputError):
        services.reagent_create(
            user=qc.analyst,
            data=dict(
                kind="titrant",
                name="盐酸滴定液",
                lot_number="T1",
                source="自配 SOP-QC-101",
                received_date=timezone.localdate(),
                expiry_date=timezone.localdate() - timedelta(days=1),
            ),
        )
    r = services.reagent_create(
        user=qc.analyst,
        data=dict(
            kind="titrant",
            name="盐酸滴定液",
            lot_number="T1",
            source="自配 SOP-QC-101",
            concentration="0.1 mol/L F=1.002",
            received_date=timezone.localdate(),
            expiry_date=timezone.localdate() + timedelta(days=30),
        ),
    )
    with pytest.raises(services.InputError, match="already registered"):
        services.reagent_create(
            user=qc.analyst,
            data=dict(
                kind="titrant",
                name="盐酸滴定液",
                lot_number="T1",
                source="x",
                received_date=timezone.localdate(),
                expiry_date=timezone.localdate(),
            ),
        )
    assert r.status == "in_use"
