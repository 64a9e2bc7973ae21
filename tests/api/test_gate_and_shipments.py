"""The shipping gate and distribution records through the API (R-SHIP-2, R-SHIP-3, R-API-1):
one gate (release.gate.may_ship), one service (shipment_create) — the API refuses with exactly
the words the ERP import form shows, and returns per-row errors."""

from __future__ import annotations

import html
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aftersales.models import Shipment
from release import services as release_services
from release.models import Batch
from tests.api.conftest import token_client
from tests.factories import BatchFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 2)


def make_batch(reason: str, product, users, admin) -> tuple[Batch, str]:
    """A batch that may not ship for ``reason``, and the gate's English words for it."""
    kwargs = dict(product=product, batch_number="G1", status=Batch.Status.RELEASED, last_changed_by=admin)
    if reason == "quarantine":
        return BatchFactory(
            **{**kwargs, "status": Batch.Status.QUARANTINE}
        ), "Batch G1 is not released (it is Quarantine)."
    if reason == "rejected":
        batch = BatchFactory(**{**kwargs, "status": Batch.Status.REJECTED})
        return batch, "Batch G1 was rejected by the qualified person; it can never ship."
    if reason == "factory_released":
        batch = BatchFactory(**{**kwargs, "status": Batch.Status.FACTORY_RELEASED})
        return batch, "Batch G1 has its factory release (出厂放行) but not yet its market release (上市放行)"
    if reason == "expired":
        batch = BatchFactory(**kwargs, manufacture_date=date(2024, 1, 1), expiry_date=date(2026, 11, 1))
        return batch, "Batch G1 expired on 2026-11-01."
    batch = BatchFactory(**kwargs)
    if reason == "batch_hold":
        release_services.hold_place(batch=batch, user=users["qa_reviewer"], reason="投诉调查中", source_text="CMP-9")
        return batch, "Batch G1 is on hold since"
    release_services.product_hold_place(
        product=product, user=users["qa_reviewer"], reason="召回信息", source_text="RCL-1"
    )
    return batch, "(every batch, including G1) is locked since"


def via_import_form(users, client_for, batch, customer) -> str:
    """The ERP import form (the same service, row by row): the page the person reads."""
    client = client_for(users["sales"])
    client.cookies["django_language"] = "en"
    content = (
        "delivery_note,batch_number,product,customer,quantity,unit_price,dispatch_date,transport_mode,purpose\n"
        f"DN-1,{batch.batch_number},,{customer.name},10,2.00,{DAY.isoformat()},carrier,sale\n"
    ).encode()
    response = client.post(
        reverse("aftersales:shipment_import"), {"file": SimpleUploadedFile("erp.csv", content, "text/csv")}
    )
    assert response.status_code == 400
    return html.unescape(response.content.decode())


def via_api(key, batch, customer) -> tuple[list[str], list[str]]:
    client = token_client(key, "en")
    row = {
        "batch_number": batch.batch_number,
        "customer": customer.name,
        "quantity": 10,
        "unit_price": "2.00",
        "dispatch_date": DAY.isoformat(),
        "transport_mode": "carrier",
    }
    posted = client.post("/api/v1/shipments/", {"shipments": [row]}, content_type="application/json")
    assert posted.status_code == 400
    errors = posted.json()["errors"]
    assert all(e["row"] == 0 and e["field"] is None and e["code"] == "refused" for e in errors)
    gate = client.get(f"/api/v1/batches/{batch.pk}/gate/?on={DAY.isoformat()}").json()
    assert gate["may_ship"] is False
    return [e["message"] for e in errors], gate["reasons"]


@pytest.mark.parametrize(
    "reason", ["quarantine", "rejected", "factory_released", "expired", "batch_hold", "product_hold"]
)
def test_the_api_refuses_each_gate_reason_exactly_as_the_import_form(
    reason, approved_product, qualified_customer, users, admin_user, erp, client_for
):
    """R-SHIP-2 on every path: the same sentence on the form, in POST /shipments/ and in GET …/gate/."""
    batch, words = make_batch(reason, approved_product, users, admin_user)
    page = via_import_form(users, client_for, batch, qualified_customer)
    posted, gate = via_api(erp[1], batch, qualified_customer)
    assert len(posted) == 1 and posted == gate
    assert words in posted[0]
    assert posted[0] in page
    assert not Shipment.objects.exists()


def test_gate_answers_in_chinese_by_default_and_checks_its_date(released, erp):
    """R-UX-1: without Accept-Language the gate speaks 简体中文; a bad date is refused by field."""
    client = token_client(erp[1])
    expired = client.get(f"/api/v1/batches/{released.pk}/gate/?on=2099-01-01")
    assert expired["Content-Language"] == "zh-hans"
    assert expired.json()["reasons"] == [
        f"批号 {released.batch_number} 已于 {released.expiry_date.isoformat()} 过有效期。"
    ]
    assert client.get(f"/api/v1/batches/{released.pk}/gate/").json()["may_ship"] is True
    bad = client.get(f"/api/v1/batches/{released.pk}/gate/?on=yesterday")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "on"
    assert client.get("/api/v1/batches/999999/gate/").status_code == 404


def row(batch, customer, **overrides):
    data = {
        "batch_number": batch.batch_number,
        "customer": customer.name,
        "quantity": 10,
        "unit_price": "2.00",
        "dispatch_date": DAY.isoformat(),
        "transport_mode": "carrier",
    }
    data.update(overrides)
    return data


def test_a_list_with_a_bad_row_records_nothing_and_names_each_row(released, qualified_customer, erp, users):
    """Per-row errors; all or nothing by default (as the CSV import)."""
    from aftersales import services
    from tests.aftersales.conftest import customer_data

    draft_customer = services.customer_create(user=users["sales"], data=customer_data(name="未审核药店"))
    client = token_client(erp[1], "en")
    rows = [
        row(released, qualified_customer),
        row(released, qualified_customer, quantity=0),
        row(released, draft_customer),
        row(released, qualified_customer, batch_number="NOPE"),
    ]
    response = client.post("/api/v1/shipments/", {"shipments": rows}, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {(e.get("row"), e["field"]) for e in errors} == {(3, "batch_number")}, errors
    rows.pop()
    response = client.post("/api/v1/shipments/", {"shipments": rows}, content_type="application/json")
    errors = response.json()["errors"]
    assert response.status_code == 400 and not Shipment.objects.exists()
    assert (errors[0]["row"], errors[0]["field"]) == (1, "quantity")
    assert errors[0]["message"] == "Enter the quantity shipped as a whole number greater than zero."
    assert {e["row"] for e in errors[1:]} == {2} and {e["field"] for e in errors[1:]} == {None}
    assert any("not in the qualified-customer file" in e["message"] for e in errors[1:])


def test_good_rows_are_recorded_when_asked(released, qualified_customer, erp):
    client = token_client(erp[1], "en")
    rows = [row(released, qualified_customer, delivery_note="DN-7"), row(released, qualified_customer, quantity=0)]
    response = client.post(
        "/api/v1/shipments/", {"shipments": rows, "import_good_rows": True}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    shipment = Shipment.objects.get()
    assert body["created"][0]["number"] == shipment.number and body["refused_rows"] == [1]
    assert body["errors"][0]["row"] == 1
    assert (shipment.recorded_by.username, shipment.delivery_note, shipment.amount) == ("system-erp", "DN-7", 20)
    assert shipment.history.get().history_user.username == "system-erp"
    listed = client.get("/api/v1/shipments/").json()["results"]
    assert [s["number"] for s in listed] == [shipment.number]


def test_batch_list_is_paged_by_cursor_with_a_fixed_number_of_queries(
    approved_product, admin_user, users, erp, django_assert_max_num_queries
):
    """R-PERF-1: cursor pages on the primary key; holds prefetched (no query per batch)."""
    for n in range(5):
        batch = BatchFactory(product=approved_product, batch_number=f"P{n}", last_changed_by=admin_user)
        release_services.hold_place(batch=batch, user=users["qa_reviewer"], reason="调查", source_text=f"X{n}")
    client = token_client(erp[1])
    with django_assert_max_num_queries(12):
        first = client.get("/api/v1/batches/?page_size=3").json()
    assert [b["batch_number"] for b in first["results"]] == ["P4", "P3", "P2"]
    assert first["results"][0]["active_holds"][0]["reason"] == "调查"
    second = client.get(first["next"]).json()
    assert [b["batch_number"] for b in second["results"]] == ["P1", "P0"] and second["next"] is None
