"""A shipment already open on the form when recall information locks the product (R-RCL-2,
R-SHIP-2, R-UX-2; found by the recall browser path): saving it is refused with the lock's reason
on the form — not Django's "Select a valid choice", which says nothing of why — and nothing is
written."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.models import Shipment
from tests.aftersales.helpers import english_client

pytestmark = pytest.mark.django_db


def _post(batch, customer) -> dict:
    return dict(
        purpose="sale",
        batch=batch.pk,
        customer=customer.pk,
        quantity="10",
        unit_price="18.50",
        dispatch_date=timezone.localdate().isoformat(),
        transport_mode="carrier",
    )


def test_a_shipment_saved_after_the_product_was_locked_is_refused_with_the_locks_reason(
    shipped, customers, users, information
):
    before = Shipment.objects.count()
    response = english_client(users["sales"]).post(
        reverse("aftersales:shipment_create"), _post(shipped[1], customers[0])
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert f"(every batch, including {shipped[1].batch_number}) is locked since" in page
    assert information.number in page
    assert "Select a valid choice" not in page
    assert Shipment.objects.count() == before


def test_the_form_still_offers_only_batches_that_may_ship(shipped, users, information):
    page = english_client(users["sales"]).get(reverse("aftersales:shipment_create")).content.decode()
    assert shipped[0].batch_number not in page and shipped[1].batch_number not in page


def test_a_voided_or_unknown_batch_is_refused_without_a_500(shipped, customers, users):
    data = {**_post(shipped[1], customers[0]), "batch": "999999"}
    response = english_client(users["sales"]).post(reverse("aftersales:shipment_create"), data)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
