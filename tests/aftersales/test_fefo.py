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
