"""Distribution records behind the shipping gate (R-SHIP-1, R-SHIP-2, R-SHIP-3, R-REC-1, R-PERF-1,
R-RCL-3, R-UX-2; AS-4.3 sales samples)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aftersales import services
from aftersales.for_recalls import consignees
from aftersales.models import CustomerPerson, CustomerType, Shipment
from core.models import Signature
from core.roles import ALL_ROLES, SALES
from core.workflow import InputError, WorkflowError
from release import services as release_services
from release.models import Batch
from tests.aftersales.conftest import TODAY, customer_data, qualify, ship_data
from tests.aftersales.helpers import english_client, shown_meaning
from tests.factories import PASSWORD, BatchFactory

pytestmark = pytest.mark.django_db


def refused(user, data) -> list[str]:
    before = Shipment.objects.count()
    with pytest.raises(InputError) as exc:
        services.shipment_create(user=user, data=data)
    assert Shipment.objects.count() == before, "nothing is written on a refusal"
    return [str(m) for msgs in exc.value.errors.values() for m in msgs]


def test_shipment_copies_and_freezes_batch_and_consignee(released, qualified_customer, users):
    """R-SHIP-1: the GMP 第二百九十五条 / GSP 第九十二条 fields, frozen at shipping; amount computed."""
    s = services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer))
    product = released.product
    assert s.number.startswith(f"SHP-{TODAY().year}-")
    assert (s.generic_name, s.strength, s.dosage_form) == (product.generic_name, "0.25g", "Capsule")
    assert (s.batch_number, s.expiry_date, s.manufacturer) == ("S2610001", released.expiry_date, product.manufacturer)
    assert s.amount == Decimal("2220.00")
    assert s.consignee_name == "华东医药有限公司" and s.consignee_address == "杭州市余杭区仓前街道2号"
    assert "陈经理" in s.consignee_contact
    assert s.history.get().history_user == users["sales"]
    services.customer_update(
        customer=qualified_customer, user=users["sales"], data={"delivery_address": "新地址"}, reason="搬迁"
    )
    s.refresh_from_db()
    assert s.consignee_address == "杭州市余杭区仓前街道2号"


def test_gate_refuses_a_batch_not_released(approved_product, qualified_customer, users, admin_user):
    """R-SHIP-2: a quarantined batch never ships; the reason is the gate's text."""
    batch = BatchFactory(product=approved_product, batch_number="Q1", last_changed_by=admin_user)
    (reason,) = refused(users["sales"], ship_data(batch, qualified_customer))
    assert "Batch Q1 is not released (it is Quarantine)." == reason


def test_gate_refuses_a_held_batch(released, qualified_customer, users):
    release_services.hold_place(batch=released, user=users["qa_reviewer"], reason="投诉调查中", source_text="CMP-1")
    (reason,) = refused(users["sales"], ship_data(released, qualified_customer))
    assert "S2610001 is on hold" in reason and "投诉调查中" in reason


def test_gate_refuses_an_expired_batch(approved_product, qualified_customer, users, admin_user):
    batch = BatchFactory(
        product=approved_product,
        batch_number="E1",
        status=Batch.Status.RELEASED,
        manufacture_date=date(2024, 1, 1),
        expiry_date=date(2025, 12, 31),
        last_changed_by=admin_user,
    )
    (reason,) = refused(users["sales"], ship_data(batch, qualified_customer))
    assert reason == "Batch E1 expired on 2025-12-31."


def test_gate_refuses_a_rejected_batch(approved_product, qualified_customer, users, admin_user):
    batch = BatchFactory(
        product=approved_product, batch_number="R1", status=Batch.Status.REJECTED, last_changed_by=admin_user
    )
    (reason,) = refused(users["sales"], ship_data(batch, qualified_customer))
    assert "rejected by the qualified person" in reason


def test_every_reason_is_listed_at_once(approved_product, draft_customer, users, admin_user):
    """R-SHIP-2/3: the refusal lists every reason of the gate and of the qualification."""
    batch = BatchFactory(product=approved_product, batch_number="Q2", last_changed_by=admin_user)
    release_services.hold_place(batch=batch, user=users["qa_reviewer"], reason="偏差", source_text="DEV-1")
    reasons = refused(users["sales"], ship_data(batch, draft_customer))
    assert any("not released" in r for r in reasons)
    assert any("on hold" in r for r in reasons)
    assert any("not in the qualified-customer file" in r for r in reasons)


def test_customer_not_qualified(released, draft_customer, users):
    """R-SHIP-3."""
    assert any(
        "not in the qualified-customer file (GSP-5.5)" in r
        for r in refused(users["sales"], ship_data(released, draft_customer))
    )


def test_customer_licence_expired(released, users):
    customer = qualify(users, valid_from=date(2020, 1, 1), valid_to=date(2025, 6, 30))
    reasons = refused(users["sales"], ship_data(released, customer))
    assert any("is not valid on" in r and "2025-06-30" in r for r in reasons)


def test_customer_scope_does_not_cover_the_dosage_form(released, users):
    customer = qualify(users, scope_dosage_forms=["tablet"])
    reasons = refused(users["sales"], ship_data(released, customer))
    assert any("does not cover Capsule (GSP-5.3.3)" in r for r in reasons)


def test_chain_outlet_is_never_supplied(released, users):
    outlet = services.customer_create(
        user=users["sales"],
        data=customer_data(name="连锁门店一", seal_name="连锁门店一", customer_type=CustomerType.CHAIN_OUTLET),
    )
    (reason,) = refused(users["sales"], ship_data(released, outlet))
    assert "chain-pharmacy outlet" in reason


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("quantity", 0, "greater than zero"),
        ("quantity", -5, "greater than zero"),
        ("quantity", 10**12, "implausibly large"),
        ("unit_price", Decimal("-1"), "zero or more"),
        ("unit_price", Decimal("1.005"), "two decimal places"),
        ("dispatch_date", None, "Enter the dispatch date"),
    ],
)
def test_bad_input_is_refused_by_field(released, qualified_customer, users, field, value, message):
    with pytest.raises(InputError) as exc:
        services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer, **{field: value}))
    assert message in " ".join(str(m) for m in exc.value.errors[field])
    assert not Shipment.objects.exists()


def test_future_dispatch_date_refused(released, qualified_customer, users):
    with pytest.raises(InputError) as exc:
        services.shipment_create(
            user=users["sales"], data=ship_data(released, qualified_customer, dispatch_date=TODAY() + timedelta(days=1))
        )
    assert "future" in str(exc.value)


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != SALES])
def test_wrong_roles_cannot_ship(role, released, qualified_customer, make_user):
    user = make_user(role)
    with pytest.raises(WorkflowError, match="permission"):
        services.shipment_create(user=user, data=ship_data(released, qualified_customer))
    assert english_client(user).get(reverse("aftersales:shipment_create")).status_code == 403


def test_sample_and_pickup_person(released, qualified_customer, users):
    """AS-4.3: a sales sample is a distribution record (traceable); GSP 第八十九条 pick-up person recorded."""
    person = services.person_add(
        customer=qualified_customer,
        user=users["sales"],
        data=dict(kind="pickup", name="王五", id_number="", phone="1", authorised_until=None),
    )
    s = services.shipment_create(
        user=users["sales"],
        data=ship_data(
            released,
            qualified_customer,
            purpose="sample",
            unit_price=Decimal("0"),
            pickup_person=person,
            transport_mode="customer_pickup",
        ),
    )
    assert s.purpose == Shipment.Purpose.SAMPLE and s.pickup_person_name == "王五" and s.amount == 0
    assert consignees([released])[0]["quantity"] == 120


def test_pickup_person_of_another_kind_refused(released, qualified_customer, users):
    contact = CustomerPerson.objects.create(
        customer=qualified_customer, kind="contact", name="联系人", last_changed_by=users["sales"]
    )
    with pytest.raises(InputError) as exc:
        services.shipment_create(
            user=users["sales"], data=ship_data(released, qualified_customer, pickup_person=contact)
        )
    assert "not a pick-up person" in str(exc.value)


def test_duplicate_delivery_note_refused(released, qualified_customer, users):
    services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer, delivery_note="DN-1"))
    with pytest.raises(InputError) as exc:
        services.shipment_create(
            user=users["sales"], data=ship_data(released, qualified_customer, delivery_note="DN-1")
        )
    assert "already recorded" in str(exc.value.errors["delivery_note"])


def test_form_happy_path_and_bad_input(released, qualified_customer, users):
    """R-UX-2: text in the quantity gets a message beside the field, no 500."""
    client = english_client(users["sales"])
    url = reverse("aftersales:shipment_create")
    post = dict(
        purpose="sale",
        batch=released.pk,
        customer=qualified_customer.pk,
        quantity="abc",
        unit_price="18.5",
        dispatch_date=TODAY().isoformat(),
        transport_mode="carrier",
    )
    response = client.post(url, post)
    assert response.status_code == 400 and "Enter a whole number" in response.content.decode()
    response = client.post(url, {**post, "quantity": "99999999999999999999"})
    assert response.status_code == 400
    response = client.post(url, {**post, "quantity": "10"})
    assert response.status_code == 302
    shipment = Shipment.objects.get()
    page = client.get(shipment.get_absolute_url()).content.decode()
    assert "S2610001" in page and "185.00" in page


def test_void_needs_reason_and_signature_meaning_shown_is_stored(released, qualified_customer, users):
    """R-REC-1, R-SIG-2: voided with reason and signature; the record stays readable."""
    s = services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer))
    client = english_client(users["sales"])
    url = reverse("aftersales:shipment_void", args=[s.pk])
    shown = shown_meaning(client.get(s.get_absolute_url()).content.decode(), url)
    response = client.post(url, {"void-password": PASSWORD})
    assert response.status_code == 400 and "Give a reason" in response.content.decode()
    assert client.post(url, {"void-password": PASSWORD, "void-reason": "录入错误"}).status_code == 302
    s.refresh_from_db()
    assert s.status == Shipment.Status.VOIDED and s.void_reason == "录入错误"
    sig = Signature.objects.for_record(s).get()
    assert sig.is_valid() and shown == Signature.Meaning(sig.meaning).label == "Voided"
    assert s.history.first().history_change_reason == "录入错误"
    assert consignees([released]) == []
    assert client.get(s.get_absolute_url()).status_code == 200
    with pytest.raises(WorkflowError, match="already voided"):
        services.shipment_void(shipment=s, user=users["sales"], password=PASSWORD, reason="again")
    assert (
        english_client(users["customer_service"]).post(url, {"void-password": PASSWORD, "void-reason": "x"}).status_code
        == 403
    )


def test_transitions_matrix_written_out():
    """R-SEQ-1: the whole table, independently of the model."""
    expected = {("shipped", "voided")}
    states = ["shipped", "voided"]
    actual = {(a, b) for a in states for b in states if b in Shipment.TRANSITIONS.get(a, set())}
    assert actual == expected


def test_consignees_one_query(released, qualified_customer, users, django_assert_num_queries):
    """R-RCL-3: who got how much of each batch, in one query."""
    services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer, quantity=10))
    services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer, quantity=5))
    other = qualify(users)
    services.shipment_create(user=users["sales"], data=ship_data(released, other, quantity=7))
    with django_assert_num_queries(1):
        rows = consignees([released.pk])
    assert [(r["customer"], r["quantity"], r["shipments"]) for r in rows] == [
        ("华东医药有限公司", 15, 2),
        ("华北医药有限公司", 7, 1),
    ] or sorted((r["customer"], r["quantity"]) for r in rows) == sorted(
        [("华东医药有限公司", 15), ("华北医药有限公司", 7)]
    )


def test_list_keyset_paging_with_fixed_queries(released, qualified_customer, users, django_assert_max_num_queries):
    """R-PERF-1: the list costs the same queries whatever the row count; paging by cursor."""
    for n in range(55):
        services.shipment_create(
            user=users["sales"],
            data=ship_data(released, qualified_customer, quantity=n + 1, dispatch_date=TODAY() - timedelta(days=n % 7)),
        )
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:shipment_list")
    client.get(url)
    with django_assert_max_num_queries(12):
        first = client.get(url)
    assert len(first.context["rows"]) == 50 and first.context["next_after"]
    second = client.get(url, {"after": first.context["next_after"]})
    assert len(second.context["rows"]) == 5
    seen = {r.pk for r in first.context["rows"]} | {r.pk for r in second.context["rows"]}
    assert len(seen) == 55
    assert client.get(url, {"after": "garbage_x"}).status_code == 200
    filtered = client.get(url, {"batch": "S2610001", "customer": "华东", "date_from": TODAY().isoformat()})
    assert filtered.context["rows"] and all(r.dispatch_date == TODAY() for r in filtered.context["rows"])
    csv_text = b"".join(client.get(reverse("aftersales:shipment_csv")).streaming_content).decode()
    assert csv_text.count("\n") == 56 and "S2610001" in csv_text


def _csv(*rows: str) -> SimpleUploadedFile:
    header = "delivery_note,batch_number,product,customer,quantity,unit_price,dispatch_date,transport_mode,purpose\n"
    return SimpleUploadedFile("erp.csv", (header + "\n".join(rows) + "\n").encode("utf-8"), content_type="text/csv")


def test_csv_import_all_or_nothing_by_default(released, qualified_customer, users, approved_product, admin_user):
    """Issue 10 item 2: each row through the same service; a refused row names its line and reasons;
    a file with errors writes nothing unless asked to import the good rows."""
    BatchFactory(product=approved_product, batch_number="Q9", last_changed_by=admin_user)
    day = TODAY().isoformat()
    rows = (
        f"DN-1,S2610001,,华东医药有限公司,10,18.50,{day},carrier,sale",
        f"DN-2,Q9,,华东医药有限公司,10,18.50,{day},carrier,sale",
        f"=HYPERLINK(1),S2610001,,华东医药有限公司,10,18.50,{day},carrier,sale",
        "DN-4,S2610001,,华东医药有限公司,abc,18.50,2026-13-40,teleport,sale",
        f"DN-5,S2610001,,华东医药有限公司,3,0,{day},courier,sample",
    )
    client = english_client(users["sales"])
    url = reverse("aftersales:shipment_import")
    response = client.post(url, {"file": _csv(*rows)})
    page = response.content.decode()
    assert response.status_code == 400 and not Shipment.objects.exists()
    errors = dict(response.context["result"]["errors"])
    assert set(errors) == {3, 4, 5}
    assert "Batch Q9 is not released" in " ".join(errors[3])
    assert "spreadsheet formula" in " ".join(errors[4])
    assert "quantity: abc" in " ".join(errors[5]) and "dispatch_date" in " ".join(errors[5])
    assert "Nothing was imported" in page
    response = client.post(url, {"file": _csv(*rows), "import_good_rows": "on"})
    assert sorted(Shipment.objects.values_list("delivery_note", flat=True)) == ["DN-1", "DN-5"]
    assert Shipment.objects.get(delivery_note="DN-5").purpose == "sample"


def test_csv_import_bad_files(users):
    client = english_client(users["sales"])
    url = reverse("aftersales:shipment_import")
    assert client.post(url, {}).status_code == 400
    bad = SimpleUploadedFile("x.csv", b"\xff\xfe\x00garbage", content_type="text/csv")
    response = client.post(url, {"file": bad})
    assert response.status_code == 400 and "UTF-8" in response.content.decode()
    wrong = SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")
    response = client.post(url, {"file": wrong})
    assert response.status_code == 400 and "Columns missing" in response.content.decode()
    assert english_client(users["qa_reviewer"]).get(url).status_code == 403


def test_list_filters_by_typed_product_and_customer(released, qualified_customer, users, approved_product):
    """Issue 12: product and consignee are typed (part of a name), not chosen from lists of every
    product and customer; the page renders no <option> of either."""
    other = qualify(users)
    services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer, quantity=10))
    services.shipment_create(user=users["sales"], data=ship_data(released, other, quantity=7))
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:shipment_list")

    def consignees(**params) -> list[str]:
        return sorted(r.consignee_name for r in client.get(url, params).context["rows"])

    assert consignees() == ["华东医药有限公司", "华北医药有限公司"]
    assert consignees(customer="华北") == ["华北医药有限公司"]
    assert consignees(customer="  华东医药 ") == ["华东医药有限公司"]
    assert consignees(customer="无此客户") == []
    assert consignees(product=approved_product.name[:2]) == ["华东医药有限公司", "华北医药有限公司"]
    assert consignees(product=approved_product.generic_name.upper()) == ["华东医药有限公司", "华北医药有限公司"]
    assert consignees(product="无此品种", customer="华北") == []
    page = client.get(url).content.decode()
    assert "Part of the customer name." in page and "Part of the product or generic name." in page
    assert f">{approved_product.name}</option>" not in page and ">华北医药有限公司</option>" not in page
    for bad in ({"customer": "x" * 5000}, {"product": "%_\\'"}, {"customer": "\x00"}):
        assert client.get(url, bad).status_code == 200


def test_a_typed_name_matching_many_customers_is_one_array_parameter_on_postgresql(
    released, qualified_customer, users, django_assert_max_num_queries
):
    """Issue 12: the customers a typed name matches are passed as one array (``= ANY``), not one
    parameter each (2,500 ids cost Django and the driver ~7 ms); the rows are the same as the
    plain ``IN`` gives on SQLite."""
    from django.db import connection

    others = [qualify(users, name=f"华东医药第{i}分公司") for i in range(3)]
    for customer in [qualified_customer, *others]:
        services.shipment_create(user=users["sales"], data=ship_data(released, customer, quantity=5))
    client = english_client(users["qa_reviewer"])
    with django_assert_max_num_queries(10) as ctx:
        rows = client.get(reverse("aftersales:shipment_list"), {"customer": "华东医药"}).context["rows"]
    assert sorted(r.consignee_name for r in rows) == sorted(["华东医药有限公司", *(c.name for c in others)])
    listed = next(q["sql"] for q in ctx.captured_queries if 'FROM "aftersales_shipment"' in q["sql"])
    if connection.vendor == "postgresql":
        assert '"aftersales_shipment"."customer_id" = ANY(' in listed and " IN (" not in listed
    else:
        assert '"aftersales_shipment"."customer_id" IN (' in listed
