"""Issue 7: QC data integrity — the holes an inspector would cite, each reproduced as a test that
failed before the fix (../shared/reference/sop-checklists.md §A.7 P1–P6; GMP 第一百六十一条,
检验记录书写规程 4.2.4, 检验原始记录管理规程 4.1.4 / 4.2.1, PIC/S PI 041 §9.8, FDA OOS guidance).

This file: numbers a result can take, and the evidence the specification requires."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.workflow import InputError, WorkflowError
from qc_records import services
from qc_records.models import TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import assay_result, fill

pytestmark = pytest.mark.django_db


# --- (9) numbers a result can take ---------------------------------------------------------------


def test_impossible_values_are_refused_naming_the_item_and_what_to_do(qc, draft_record):
    """Hole 7: TOC −1.00 mg/L and a microbial count of −5 cfu/ml were saved and judged 符合规定.
    A count or a content cannot be negative; the item's own physical range refuses it too."""
    from qc_records.criteria import Criterion, ResultError

    toc = Criterion(kind="numeric", upper=Decimal("0.50"), decimals=2, unit="mg/L", physical_min=Decimal("0"))
    with pytest.raises(ResultError, match="not a possible value"):
        toc.judge("-1.00")
    # With no range set, a unit that cannot be negative gets "≥ 0" by default (issue 7, smaller item).
    with pytest.raises(ResultError, match="≥ 0mg/L"):
        Criterion(kind="numeric", upper=Decimal("0.50"), decimals=2, unit="mg/L").judge("-1.00")
    count = Criterion(kind="report", unit="cfu/ml", physical_min=Decimal("0"))
    with pytest.raises(ResultError, match="≥ 0cfu/ml"):
        count.judge("-5")
    ph = Criterion(kind="numeric", lower=Decimal("5.0"), physical_min=0, physical_max=14)
    with pytest.raises(ResultError, match="0～14"):
        ph.judge("15")
    rotation = Criterion(kind="numeric", lower=Decimal("-15"), upper=Decimal("-10"), unit="°")
    assert rotation.judge("-12")[1] == "pass"  # a negative quantity stays possible where it is
    # Through the service on an item with its range: refused beside the result, nothing written.
    micro = draft_record.results.get(item__name="微生物限度")
    micro_item = micro.item
    micro_item.physical_min = Decimal("0")
    micro_item.save_audited(user=qc.head, reason="test setup: range ≥ 0")
    with pytest.raises(InputError) as refused:
        services.record_update(
            record=draft_record, user=qc.analyst, results={micro.pk: services.ResultEntry(value_text="-5")}
        )
    assert "not a possible value" in refused.value.errors[f"result:{micro.pk}"][0]
    micro.refresh_from_db()
    assert micro.value_text == ""


@pytest.mark.parametrize("unit", ["%", "mg", "g", "mL", "ml", "cfu/g", "mg/ml", " mg / L ", "粒"])
def test_a_unit_that_cannot_be_negative_refuses_a_negative_value_without_a_range(unit):
    """Issue 7 (smaller item): an item with no lowest possible value of its own, in a unit whose
    quantity cannot be negative, refuses a negative value as a typing error; zero stays possible."""
    from qc_records.criteria import Criterion, ResultError, default_physical_min

    assert default_physical_min(unit) == 0
    with pytest.raises(ResultError, match="not a possible value here"):
        Criterion(kind="report", unit=unit).judge("-0.1")
    assert Criterion(kind="report", unit=unit).judge("0")[0] == 0


def test_units_that_can_be_negative_keep_no_default_and_an_items_own_range_wins():
    """pH, degrees of rotation, mV and unitless items have no default; a relative deviation in %
    is recorded by setting the item's own lowest possible value (e.g. −100)."""
    from qc_records.criteria import Criterion, default_physical_min

    for unit in ("", "°", "mV", "pH", "℃"):
        assert default_physical_min(unit) is None
        assert Criterion(kind="report", unit=unit).judge("-3.2")[1] == "report"
    deviation = Criterion(kind="numeric", lower=Decimal("-5"), upper=Decimal("5"), unit="%", physical_min=-100)
    assert deviation.judge("-3.2")[1] == "pass"


def test_the_default_range_refuses_a_negative_content_through_the_service(qc, draft_record):
    """R-QC-2, hole 7: the assay (含量测定, %) of the test specification has no range of its own;
    −98.6 is refused beside the result and nothing is written."""
    assay = assay_result(draft_record)
    assert assay.item.physical_min is None and assay.item.unit == "%"
    with pytest.raises(InputError) as refused:
        services.record_update(
            record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="-98.6")}
        )
    assert "≥ 0%" in refused.value.errors[f"result:{assay.pk}"][0]
    assay.refresh_from_db()
    assert assay.value_text == ""


def test_full_width_digits_and_the_chinese_decimal_point_are_normalised(qc, draft_record):
    """Hole 7: "１２．５" typed with a Chinese IME was "not a number"; so was "99。6"."""
    from qc_records.criteria import Criterion

    assert Criterion(kind="numeric", decimals=1).judge("１２．５")[0] == Decimal("12.5")
    assay = assay_result(draft_record)
    services.record_update(
        record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="９９。６")}
    )
    assay.refresh_from_db()
    assert assay.value_text == "99.6" and assay.conclusion == "pass"


def test_gb_8170_rounding_is_offered_where_more_decimals_are_typed(qc, draft_record):
    """GB/T 8170 四舍六入五成双: 99.45 → 99.4, 99.55 → 99.6, 99.451 → 99.5; offered, never silent."""
    from qc_records.criteria import Criterion, ResultError, round_gb8170

    assert [round_gb8170(Decimal(v), 1) for v in ("99.45", "99.55", "99.451", "99.35")] == [
        Decimal("99.4"),
        Decimal("99.6"),
        Decimal("99.5"),
        Decimal("99.4"),
    ]
    with pytest.raises(ResultError) as refused:
        Criterion(kind="numeric", decimals=1).judge("99.45")
    assert "GB/T 8170" in str(refused.value) and "enter 99.4" in str(refused.value)
    with pytest.raises(ResultError) as fewer:
        Criterion(kind="numeric", decimals=1).judge("99")
    assert "GB/T 8170" not in str(fewer.value)


def test_a_physical_range_on_the_item_is_part_of_the_signed_specification(qc, approved_product):
    """The range is specification content: a version approved before the field existed still
    verifies (the empty range is not in its payload); a range set changes the digest."""
    from tests.qc_records.helpers import make_spec

    spec = make_spec(author=qc.head, approver=None, product=approved_product, code="ZL-BZ-PHYS-1")
    item = spec.items.get(name="含量测定")
    assert "physical_min" not in item.signed_payload()
    before = spec.compute_content_digest() if hasattr(spec, "compute_content_digest") else None
    services.specification_item_update(
        item=item, user=qc.head, data={"physical_min": Decimal("0")}, reason="含量不能为负"
    )
    item.refresh_from_db()
    assert item.signed_payload()["physical_min"] == "0.000000"
    if before is not None:
        spec.refresh_from_db()
        assert spec.compute_content_digest() != before


# --- (6) evidence the specification requires; per-item date and analyst; co-analysts sign; back-filling


def _require_evidence(qc, spec, **flags):
    """A new version of ``spec`` whose assay requires ``flags``, approved by QA (test setup)."""
    new = services.specification_new_version(spec=spec, user=qc.head)
    assay = new.items.get(name="含量测定")
    services.specification_item_update(item=assay, user=qc.head, data=flags, reason="证据要求")
    return services.specification_approve(spec=new, user=qc.qa, password=PASSWORD)


def test_p4_submission_without_the_evidence_the_item_requires_is_refused_naming_it(
    qc, spec, sample, instrument, reagent, settings, tmp_path
):
    """R-QC-1, R-QC-7, P4: a record with no HPLC, no reference standard, no chromatogram and no
    calculation passed submit, review and approval. Now "Tested" is refused, naming the item and
    each missing piece; with them it passes."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qc_records.models import Reagent

    settings.MEDIA_ROOT = tmp_path
    _require_evidence(
        qc,
        spec,
        required_instrument="高效液相色谱仪",
        requires_reference_standard=True,
        requires_raw_data_file=True,
        requires_calculation=True,
    )
    record = services.record_create(sample=sample, user=qc.analyst)
    services.record_update(
        record=record,
        user=qc.analyst,
        header=dict(temperature=Decimal("22.5"), humidity=Decimal("55.0")),
        results={
            k: services.ResultEntry(value_text=v.value_text, complies=v.complies, calculation="")
            for k, v in __import__("tests.qc_records.helpers", fromlist=["entries_for"]).entries_for(record).items()
        },
    )
    with pytest.raises(WorkflowError) as refused:
        services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    message = str(refused.value)
    assert "含量测定 needs" in message and "高效液相色谱仪" in message and "reference standard" in message
    assert "raw-data file attached to this item" in message and "calculation of every result" in message
    record.refresh_from_db()
    assert record.status == TestRecord.Status.DRAFT
    # With the evidence: an HPLC, a reference standard, the chromatogram, the calculation.
    reagent.kind = Reagent.Kind.REFERENCE_STANDARD
    reagent.save_audited(user=qc.head, reason="test setup")
    instrument.name = "高效液相色谱仪"
    instrument.save_audited(user=qc.head, reason="test setup")
    assay = assay_result(record)
    services.record_update(
        record=record,
        user=qc.analyst,
        instruments=[instrument],
        reagents=[reagent],
        results={assay.pk: services.ResultEntry(value_text=assay.value_text, calculation="外标法")},
    )
    services.attachment_add(
        record=record, user=qc.analyst, upload=SimpleUploadedFile("assay.cdf", b"chromatogram"), item=assay.item
    )
    record, _ = services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    assert record.status == TestRecord.Status.SUBMITTED


def test_every_analyst_who_entered_results_signs_tested(qc, make_user, client_for, filled_record):
    """检验记录和检验报告管理规程 1.2′.9: only the submitter signed "Tested"; a second analyst's results
    carried no signature. Now submission is refused naming them until they sign."""
    from django.urls import reverse

    from core.models import Signature

    second = make_user("qc_analyst", username="second_analyst", full_name="王二")
    micro = filled_record.results.get(item__name="微生物限度")
    services.record_update(
        record=filled_record,
        user=second,
        reason="微生物限度由王二检验",
        results={micro.pk: services.ResultEntry(value_text="<20")},
    )
    with pytest.raises(WorkflowError, match="王二 entered results and must sign"):
        services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    assert services.cannot_sign_tested(filled_record, qc.reviewer)
    page = client_for(second).get(filled_record.get_absolute_url()).content.decode()
    assert reverse("qc_records:record_sign_tested", args=[filled_record.pk]) in page
    services.record_sign_tested(record=filled_record, user=second, password=PASSWORD)
    record, _ = services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    tested = Signature.objects.for_record(record).filter(meaning="tested")
    assert {s.signer for s in tested} == {second, qc.analyst}
    assert "微生物限度" in tested.get(signer=second).comment


def test_per_item_test_date_and_analyst_are_recorded_and_shown(qc, client_for, filled_record):
    """R-QC-1, SOP-W 4.2.4 a: microbial limits finish days after the assay."""
    from datetime import timedelta

    from django.utils import timezone

    micro = filled_record.results.get(item__name="微生物限度")
    day = timezone.localdate()
    services.record_update(
        record=filled_record,
        user=qc.analyst,
        results={
            micro.pk: services.ResultEntry(value_text=micro.value_text, calculation=micro.calculation, tested_on=day)
        },
        header={"test_date": day - timedelta(days=1)},
    )
    micro.refresh_from_db()
    assert micro.tested_on == day and micro.test_day == day
    html = client_for(qc.reviewer).get(filled_record.get_absolute_url()).content.decode()
    row = html.split('data-item="微生物限度"')[1].split("</tr>")[0]
    assert day.isoformat() in row and qc.analyst.printed_name in row
    with pytest.raises(InputError):
        services.record_update(
            record=filled_record,
            user=qc.analyst,
            results={
                micro.pk: services.ResultEntry(
                    value_text=micro.value_text, calculation=micro.calculation, tested_on=day + timedelta(days=3)
                )
            },
        )


def test_p5_results_entered_long_after_their_test_date_are_flagged_to_the_reviewer(
    qc, client_for, spec, batch, settings
):
    """SOP-W 4.2.4 c (事后补记), P5: sample received 45 days ago, test date 40 days ago, results typed
    today: accepted before with nothing shown. Now flagged beside each value on the review screen."""
    from datetime import timedelta

    from django.utils import timezone

    from qc_records.models import Category

    settings.QC_BACKFILL_DAYS = 1
    today = timezone.localdate()
    sample = services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.FINISHED_PRODUCT,
            specification=spec,
            batch=batch,
            quantity=Decimal("60"),
            quantity_unit="粒",
            received_date=today - timedelta(days=45),
        ),
    )
    record = services.record_create(sample=sample, user=qc.analyst)
    services.record_update(record=record, user=qc.analyst, header={"test_date": today - timedelta(days=40)})
    fill(record, qc.analyst)
    record.refresh_from_db()
    assay = assay_result(record)
    assert (assay.test_day, timezone.localdate(assay.entered_at)) == (today - timedelta(days=40), today)
    assert assay.entered_days_late == 40
    html = client_for(qc.reviewer).get(record.get_absolute_url()).content.decode()
    assert 'data-testid="backfilled"' in html and "entered 40 days after its test date" in html
    settings.QC_BACKFILL_DAYS = 60
    assert assay_result(record).entered_days_late == 0
