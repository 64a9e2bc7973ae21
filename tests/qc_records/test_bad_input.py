"""Odd input on the QC pages gets a clear refusal, never a server error (R-UX-2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from qc_records import services
from qc_records.criteria import Criterion, ResultError
from qc_records.models import Category

pytestmark = pytest.mark.django_db


def _result_field(client, record, item_name: str) -> str:
    form = client.get(reverse("qc_records:record_edit", args=[record.pk])).context["form"]
    return next(row.value.name for block, rows in form.rows for row in rows if block.item.name == item_name)


@pytest.mark.parametrize(
    "item_name, value",
    [
        ("含量测定", "9" * 40 + ".0"),  # numeric item with 1 decimal
        ("含量测定", "100000000000000.0"),  # 15 digits before the point
        ("微生物限度", "12345678901234567"),  # report-only item, any decimals
    ],
)
def test_a_number_too_large_to_record_is_refused_beside_the_field(qc, client_for, draft_record, item_name, value):
    """R-UX-2, R-QC-2: a number longer than the result column holds is refused with a message
    (before: saved, then a 500 — PostgreSQL numeric overflow; on SQLite the record page could
    never be read again)."""
    client = client_for(qc.analyst)
    field = _result_field(client, draft_record, item_name)
    response = client.post(
        reverse("qc_records:record_edit", args=[draft_record.pk]),
        {"test_date": draft_record.test_date.isoformat(), field: value},
    )
    assert response.status_code == 400
    assert "too large to record" in response.context["form"].errors[field][0]
    assert not draft_record.results.exclude(value_text="").exists()
    assert client.get(reverse("qc_records:record_detail", args=[draft_record.pk])).status_code == 200


def test_the_largest_number_the_column_holds_is_accepted():
    """R-QC-2: the limit refuses only what cannot be stored."""
    report = Criterion(kind="report")
    assert report.judge("99999999999999.999999")[0] == Decimal("99999999999999.999999")
    with pytest.raises(ResultError, match="too large"):
        report.judge("100000000000000")
    with pytest.raises(ResultError, match="too large"):
        Criterion(kind="numeric", upper=Decimal("1"), decimals=0).judge("-100000000000000")


def test_the_sampling_ledger_of_the_last_month_of_the_calendar_is_empty_not_an_error(qc, client_for):
    """R-UX-2, R-QC-8: ?month=9999-12 on the sampling ledger (before: 500, date(10000, 1, 1))."""
    client = client_for(qc.head)
    for url in ("qc_records:ledger", "qc_records:ledger_export"):
        response = client.get(reverse(url), {"month": "9999-12", "category": "sampling"})
        assert response.status_code == 200, url


def test_ledger_csv_cells_typed_like_a_formula_stay_text(qc, client_for, approved_product):
    """R-QC-8: a sample registered with a supplier or name starting with = + - @ is exported with
    a leading apostrophe, so a spreadsheet shows the text instead of running it (CSV injection)."""
    from tests.qc_records.helpers import make_spec

    spec = make_spec(
        author=qc.head,
        approver=qc.qa,
        category=Category.RAW_MATERIAL,
        material="=1+1",
        code="ZL-BZ-Y-1",
        items=[("性状", "text", None, None, None, "", "应符合规定", 1)],
    )
    today = timezone.localdate()
    services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.RAW_MATERIAL,
            specification=spec,
            material_name='=HYPERLINK("http://x")',
            lot_number="+L1",
            quantity=Decimal("1"),
            quantity_unit="kg",
            supplier="@SUM(A1)",
            manufacturer="-2+3",
            received_date=today,
        ),
    )
    client = client_for(qc.head)
    body = b"".join(
        client.get(
            reverse("qc_records:ledger_export"), {"month": today.strftime("%Y-%m"), "category": "sampling"}
        ).streaming_content
    ).decode()
    assert "'=HYPERLINK" in body and "'+L1" in body and "'@SUM(A1)" in body and "'-2+3" in body
    for line in body.splitlines()[1:]:
        for cell in line.split(","):
            assert cell.lstrip('"')[:1] not in ("=", "+", "@"), line


def _calc_field(client, record, item_name: str) -> str:
    form = client.get(reverse("qc_records:record_edit", args=[record.pk])).context["form"]
    return next(row.calculation.name for block, rows in form.rows for row in rows if block.item.name == item_name)


def test_adding_a_calculation_to_a_recorded_result_needs_no_reason(qc, client_for, draft_record):
    """R-QC-1, R-UX-2: before, the save raised "reason required" deep in the audit layer — a 500."""
    assay = draft_record.results.get(item__name="含量测定")
    services.record_update(
        record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="99.6")}
    )
    client = client_for(qc.analyst)
    response = client.post(
        reverse("qc_records:record_edit", args=[draft_record.pk]),
        {
            "test_date": draft_record.test_date.isoformat(),
            _result_field(client, draft_record, "含量测定"): "99.6",
            _calc_field(client, draft_record, "含量测定"): "按外标法计算",
        },
    )
    assert response.status_code == 302
    assay.refresh_from_db()
    assert assay.calculation == "按外标法计算" and assay.history.first().history_change_reason == "calculation recorded"


def test_rewriting_a_recorded_calculation_needs_a_reason_beside_the_field(qc, client_for, draft_record):
    """R-AT-2, R-UX-2 (检验原始记录管理规程 4.1.4): a written calculation is corrected with a reason, not a 500."""
    assay = draft_record.results.get(item__name="含量测定")
    services.record_update(
        record=draft_record,
        user=qc.analyst,
        results={assay.pk: services.ResultEntry(value_text="99.6", calculation="按外标法计算")},
    )
    client = client_for(qc.analyst)
    data = {
        "test_date": draft_record.test_date.isoformat(),
        _result_field(client, draft_record, "含量测定"): "99.6",
        _calc_field(client, draft_record, "含量测定"): "按内标法计算",
    }
    url = reverse("qc_records:record_edit", args=[draft_record.pk])
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "calculation of this result was already recorded" in str(refused.context["form"].errors)
    assert client.post(url, {**data, "reason": "计算方法笔误"}).status_code == 302
    assay.refresh_from_db()
    assert assay.calculation == "按内标法计算" and assay.history.first().history_change_reason == "计算方法笔误"


def test_impossible_dates_are_refused(qc, client_for, spec, batch, draft_record):
    """R-QC-1, R-UX-2: a sample received in the future, a test dated before the sample arrived, a
    reagent lot received after the test date — each refused beside its field, nothing saved."""
    from tests.factories import ReagentFactory

    client = client_for(qc.analyst)
    future = client.post(
        reverse("qc_records:sample_create"),
        {
            "category": "finished_product",
            "specification": spec.pk,
            "batch": batch.pk,
            "quantity": "10",
            "quantity_unit": "粒",
            "received_date": "9999-12-31",
        },
    )
    assert future.status_code == 400 and "cannot be in the future" in str(
        future.context["form"].errors["received_date"]
    )

    received = draft_record.sample.received_date
    early = client.post(
        reverse("qc_records:record_edit", args=[draft_record.pk]),
        {"test_date": (received - timedelta(days=3)).isoformat()},
    )
    assert early.status_code == 400 and received.isoformat() in str(early.context["form"].errors["test_date"])

    new_lot = ReagentFactory(lot_number="LATE-1", received_date=timezone.localdate(), last_changed_by=qc.head)
    late = client.post(
        reverse("qc_records:record_edit", args=[draft_record.pk]),
        {"test_date": received.isoformat(), "reagents": [new_lot.pk]},
    )
    assert late.status_code == 400 and "LATE-1" in str(late.context["form"].errors["reagents"])
    draft_record.refresh_from_db()
    assert draft_record.test_date == timezone.localdate() and not draft_record.reagent_uses.exists()


def test_ledger_csv_prints_quantities_as_people_write_them(qc, client_for, approved_product):
    """Issue 8 item 10, R-QC-8: a sampled quantity of 60 was exported as "6E+1"."""
    from tests.qc_records.helpers import make_spec

    spec = make_spec(
        author=qc.head,
        approver=qc.qa,
        category=Category.RAW_MATERIAL,
        material="维生素C",
        code="ZL-BZ-Y-60",
        items=[("性状", "text", None, None, None, "", "应符合规定", 1)],
    )
    today = timezone.localdate()
    services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.RAW_MATERIAL,
            specification=spec,
            material_name="维生素C",
            lot_number="L60",
            quantity=Decimal("60.000"),
            quantity_unit="g",
            supplier="示例原料厂",
            received_date=today,
        ),
    )
    body = b"".join(
        client_for(qc.head)
        .get(reverse("qc_records:ledger_export"), {"month": today.strftime("%Y-%m"), "category": "sampling"})
        .streaming_content
    ).decode()
    row = next(line for line in body.splitlines() if "L60" in line)
    assert ",60," in row and "E+" not in row


def test_a_sample_back_dated_decades_is_refused_beside_the_date(qc, approved_product):
    """Issue 8 item 10: a sample received twenty years ago was accepted (and purgeable at once)."""
    from core.workflow import InputError
    from tests.qc_records.helpers import make_spec

    spec = make_spec(
        author=qc.head,
        approver=qc.qa,
        category=Category.RAW_MATERIAL,
        material="维生素C",
        code="ZL-BZ-Y-OLD",
        items=[("性状", "text", None, None, None, "", "应符合规定", 1)],
    )
    data = dict(
        category=Category.RAW_MATERIAL,
        specification=spec,
        material_name="维生素C",
        lot_number="OLD-1",
        quantity=Decimal("1"),
        quantity_unit="g",
        received_date=timezone.localdate().replace(year=timezone.localdate().year - 30),
    )
    with pytest.raises(InputError) as refused:
        services.sample_create(user=qc.analyst, data=data)
    assert "cannot be before 2000-01-01" in refused.value.errors["received_date"][0]
