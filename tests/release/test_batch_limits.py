from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from release import services
from release.models import Batch, Product
from tests.factories import BatchFactory, ProductFactory
from tests.release.helpers import batch_form_data

pytestmark = pytest.mark.django_db


def test_expiry_later_than_shelf_life_allows_is_a_field_error(approved_product, production_reviewer, client_for):
    """R-UX-2: a typed expiry past manufacture + shelf life is refused beside the field."""
    data = batch_form_data(
        product=approved_product,
        manufacture_date="2026-01-10",
        expiry_date="2028-01-10",  # shelf life 24 → 2028-01-09
    )
    response = client_for(production_reviewer).post(reverse("release:batch_create"), data)
    assert response.status_code == 200
    assert "expiry_date" in response.context["form"].errors
    assert "2028-01-09" in str(response.context["form"].errors["expiry_date"])
    assert not Batch.objects.exists()


def test_expiry_on_the_last_allowed_day_or_earlier_is_accepted(approved_product, production_reviewer):
    for number, expiry in (("L1", date(2028, 1, 9)), ("L2", date(2027, 6, 30))):
        batch = services.batch_create(
            user=production_reviewer,
            data=dict(
                product=approved_product,
                batch_number=number,
                batch_size=1000,
                batch_size_unit="capsules",
                manufacture_date=date(2026, 1, 10),
                expiry_date=expiry,
                site="车间",
            ),
        )
        assert batch.expiry_date == expiry


def test_service_refuses_expiry_past_shelf_life_for_every_caller(approved_product, production_reviewer):
    batch = services.batch_create(
        user=production_reviewer,
        data=dict(
            product=approved_product,
            batch_number="S1",
            batch_size=1000,
            batch_size_unit="capsules",
            manufacture_date=date(2026, 1, 10),
            site="车间",
        ),
    )
    with translation.override("en"), pytest.raises(services.WorkflowError, match="cannot be later than 2028-01-09"):
        services.batch_update(
            batch=batch, user=production_reviewer, data={"expiry_date": date(2028, 6, 1)}, reason="延长"
        )
    batch.refresh_from_db()
    assert batch.expiry_date == date(2028, 1, 9)


def test_service_refuses_moving_a_batch_to_another_product(production_reviewer):
    batch = BatchFactory()
    other = ProductFactory(status=Product.Status.APPROVED)
    with pytest.raises(services.WorkflowError):
        services.batch_update(batch=batch, user=production_reviewer, data={"product": other}, reason="换产品")
    batch.refresh_from_db()
    assert batch.product_id != other.pk


def test_approval_numbers_differing_only_in_case_are_refused_by_the_database(admin_user):
    ProductFactory(approval_number="国药准字H20990001")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(approval_number="国药准字h20990001")


def test_service_reports_a_case_variant_approval_number_as_a_duplicate(admin_user):
    existing = ProductFactory(approval_number="国药准字H20990002")
    data = {f: getattr(existing, f) for f in Product.EDITABLE_FIELDS}
    data["approval_number"] = "国药准字h20990002"
    with translation.override("en"), pytest.raises(services.WorkflowError, match="already exists"):
        services.product_create(user=admin_user, data=data)


def test_batch_numbers_differing_only_in_case_are_refused_by_the_database():
    """R-SEQ-1 by every path: one batch number is one batch of a product, whatever the letter case."""
    batch = BatchFactory(batch_number="A2411002")
    with pytest.raises(IntegrityError), transaction.atomic():
        BatchFactory(product=batch.product, batch_number="a2411002")
    BatchFactory(batch_number="a2411002")  # another product may use it
