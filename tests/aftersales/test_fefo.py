"""FEFO warning when a shipment is recorded (issue 10 item 2; GSP 近效期先出): an earlier-expiring
shippable batch of the same product is named; the person confirms to proceed (warned, not refused);
the shipment's history says it was confirmed; held or expired batches do not count."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import Shipment
from release import services as release_services
from release.models import Batch
from tests.aftersales.conftest import TODAY
from tests.aftersales.helpers import english_client
from tests.factories import BatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def older(approved_product, admin_user, released) -> Batch:
    """Same product as ``released`` (S2610001, expiry 2028-09-30), expiring earlier."""
    return BatchFactory(
        product=approved_product,
        batch_number="S2609001",
        manufacture_date=date(2026, 9, 1),
        expiry_date=date(2028, 8, 31),
        status=Batch.Status.RELEASED,
        last_changed_by=admin_user,
    )


def _post(batch, customer, **extra):
    return dict(
        purpose="sale",
        batch=batch.pk,
        customer=customer.pk,
        quantity="10",
        unit_price="18.5",
        dispatch_date=TODAY().isoformat(),
        transport_mode="carrier",
        **extra,
    )


def test_shipping_a_later_batch_warns_naming_the_earlier_one(older, released, qualified_customer, users):
    client = english_client(users["sales"])
    url = reverse("aftersales:shipment_create")
    response = client.post(url, _post(released, qualified_customer))
    page = response.content.decode()
    assert response.status_code == 400
    assert "First expiry, first out: batch S2609001 (2028-08-31) of the same product expires earlier" in page
    assert "Ship this batch although an earlier-expiring batch is available" in page
    assert 'type="checkbox" name="fefo_confirmed"' in page and not Shipment.objects.exists()
    # What was typed is kept.
    assert 'value="18.5"' in page
    response = client.post(url, _post(released, qualified_customer, fefo_confirmed="on"))
    assert response.status_code == 302
    shipment = Shipment.objects.get()
    assert shipment.batch == released
    assert shipment.history.get().history_change_reason == (
        "created; FEFO warning confirmed: earlier-expiring batch S2609001 (2028-08-31) available"
    )


def test_shipping_the_earliest_batch_gives_no_warning(older, released, qualified_customer, users):
    client = english_client(users["sales"])
    page = client.get(reverse("aftersales:shipment_create")).content.decode()
    assert 'type="checkbox" name="fefo_confirmed"' not in page
    response = client.post(reverse("aftersales:shipment_create"), _post(older, qualified_customer))
    assert response.status_code == 302
    assert Shipment.objects.get().history.get().history_change_reason == "created"


def test_a_held_earlier_batch_is_not_offered_as_the_alternative(older, released, qualified_customer, users):
    release_services.hold_place(batch=older, user=users["qa_reviewer"], reason="投诉调查中", source_text="CMP-1")
    assert services.fefo_warning(released, TODAY()) is None
    response = english_client(users["sales"]).post(
        reverse("aftersales:shipment_create"), _post(released, qualified_customer)
    )
    assert response.status_code == 302


def test_the_service_alone_warns_nothing_and_records_plainly(older, released, qualified_customer, users):
    """The warning is the form's (a person confirms); imports and replacements are not refused."""
    from tests.aftersales.conftest import ship_data

    shipment = services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer))
    assert shipment.history.get().history_change_reason == "created"
    assert "S2609001" in services.fefo_warning(released, TODAY())


# --- the CSV import: the same rule, per row (issue 10 remainder 1) ---------------------------------

HEADER = "delivery_note,batch_number,product,customer,quantity,unit_price,dispatch_date,transport_mode,purpose"


def _file(*rows: str, header: str = HEADER):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("erp.csv", (header + "\n" + "\n".join(rows) + "\n").encode(), content_type="text/csv")


def test_import_warns_per_row_naming_the_earlier_batch_and_writes_nothing(older, released, qualified_customer, users):
    """R-SHIP-2, GSP 近效期先出: an imported row of a later-expiring batch is warned like the form's,
    with the same text; unconfirmed, it is not written and (all or nothing) neither is the rest."""
    day = TODAY().isoformat()
    client = english_client(users["sales"])
    url = reverse("aftersales:shipment_import")
    rows = (
        f"DN-1,S2609001,,华东医药有限公司,10,18.50,{day},carrier,sale",
        f"DN-2,S2610001,,华东医药有限公司,10,18.50,{day},carrier,sale",
    )
    response = client.post(url, {"file": _file(*rows)})
    page = response.content.decode()
    assert response.status_code == 400 and not Shipment.objects.exists()
    assert response.context["result"]["fefo_warnings"] == [(3, services.fefo_warning(released, TODAY()))]
    assert "Rows with a FEFO warning (not written)" in page
    assert "First expiry, first out: batch S2609001 (2028-08-31) of the same product expires earlier" in page
    assert "2 rows read, 0 imported, 0 refused, 1 awaiting FEFO confirmation." in page
    assert "Ship the rows listed with a FEFO warning anyway (choose the same file again)" in page
    # With "import the valid rows", the earliest batch lands; the warned row still does not.
    response = client.post(url, {"file": _file(*rows), "import_good_rows": "on"})
    assert list(Shipment.objects.values_list("delivery_note", flat=True)) == ["DN-1"]
    assert [line for line, _w in response.context["result"]["fefo_warnings"]] == [3]


def test_import_confirmation_on_the_page_covers_those_lines_of_that_file(older, released, qualified_customer, users):
    """The tick is tied to the file's SHA-256 and the lines warned; the history records it as the
    form does."""
    day = TODAY().isoformat()
    client = english_client(users["sales"])
    url = reverse("aftersales:shipment_import")
    rows = (f"DN-2,S2610001,,华东医药有限公司,10,18.50,{day},carrier,sale",)
    token = client.post(url, {"file": _file(*rows)}).context["result"]["fefo_token"]
    assert token.endswith(":2")
    # A different file with the old token: warned again, nothing written.
    other = (f"DN-3,S2610001,,华东医药有限公司,11,18.50,{day},carrier,sale",)
    response = client.post(url, {"file": _file(*other), "fefo_confirmation": token, "confirm_fefo": "on"})
    assert response.status_code == 400 and not Shipment.objects.exists()
    # The token without the tick confirms nothing.
    response = client.post(url, {"file": _file(*rows), "fefo_confirmation": token})
    assert response.status_code == 400 and not Shipment.objects.exists()
    response = client.post(url, {"file": _file(*rows), "fefo_confirmation": token, "confirm_fefo": "on"})
    assert response.status_code == 200
    assert "1 rows read, 1 imported, 0 refused, 0 awaiting FEFO confirmation." in response.content.decode()
    shipment = Shipment.objects.get()
    assert shipment.delivery_note == "DN-2"
    assert shipment.history.get().history_change_reason == (
        "created; FEFO warning confirmed: earlier-expiring batch S2609001 (2028-08-31) available"
    )
    assert shipment.history.get().history_user == users["sales"]


def test_import_confirmation_by_column(older, released, qualified_customer, users):
    """The fefo_confirmed column confirms a row (yes / 是); a value that is neither yes nor no is
    refused naming the column; an unconfirmed row of the earliest batch needs nothing."""
    day = TODAY().isoformat()
    header = HEADER + ",fefo_confirmed"
    rows = (
        f"DN-1,S2610001,,华东医药有限公司,10,18.50,{day},carrier,sale,是",
        f"DN-2,S2609001,,华东医药有限公司,10,18.50,{day},carrier,sale,",
        f"DN-3,S2610001,,华东医药有限公司,10,18.50,{day},carrier,sale,maybe",
    )
    client = english_client(users["sales"])
    url = reverse("aftersales:shipment_import")
    response = client.post(url, {"file": _file(*rows, header=header)})
    assert response.status_code == 400 and not Shipment.objects.exists()
    errors = dict(response.context["result"]["errors"])
    assert errors == {4: ["fefo_confirmed: maybe is not yes or no (leave it empty when not confirmed)."]}
    assert response.context["result"]["fefo_warnings"] == []
    client.post(url, {"file": _file(*rows[:2], header=header)})
    reasons = {s.delivery_note: s.history.get().history_change_reason for s in Shipment.objects.all()}
    assert reasons == {
        "DN-1": "created; FEFO warning confirmed: earlier-expiring batch S2609001 (2028-08-31) available",
        "DN-2": "created",
    }


def test_import_row_refused_by_the_gate_says_so_rather_than_fefo(older, released, qualified_customer, users):
    """A warned row the gate refuses (held batch) is a refused row with the gate's reason."""
    release_services.hold_place(batch=released, user=users["qa_reviewer"], reason="投诉调查中", source_text="CMP-9")
    day = TODAY().isoformat()
    response = english_client(users["sales"]).post(
        reverse("aftersales:shipment_import"),
        {"file": _file(f"DN-2,S2610001,,华东医药有限公司,10,18.50,{day},carrier,sale")},
    )
    result = response.context["result"]
    assert result["fefo_warnings"] == [] and list(dict(result["errors"])) == [2]
    assert "hold" in " ".join(dict(result["errors"])[2]).lower()
