"""Fixtures of the core machinery tests; shared helpers live in tests/core/helpers.py."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.test import Client

from release import services
from tests.core.helpers import english_client
from tests.factories import PASSWORD


@pytest.fixture
def anon() -> Client:
    return english_client()


@pytest.fixture
def client_language() -> str:
    """Core pages are read in English in these tests (``client_for`` in tests/conftest.py sets
    the language cookie, as a person choosing English with the language switcher would); the
    Chinese default is covered by the locale tests."""
    return "en"


@pytest.fixture
def audit_rows(approved_product, qa_reviewer, production_reviewer, qa_reviewer2):
    """At least one row in every audit table the core and release apps own."""
    batch = services.batch_create(
        user=production_reviewer,
        data={
            "product": approved_product,
            "batch_number": "AT-1",
            "batch_size": 1000,
            "batch_size_unit": "capsules",
            "manufacture_date": datetime(2026, 1, 5).date(),
            "site": "车间一",
        },
    )
    services.batch_void(batch=batch, user=qa_reviewer2, password=PASSWORD, reason="重复")
    english_client().post("/accounts/login/", {"username": qa_reviewer.username, "password": "wrong"})
    event = {"title": "偏差", "description": "描述", "classification": "minor"}
    deviation = services.deviation_create(user=production_reviewer, data=event, batches=[batch])
    change_control = services.change_control_create(user=production_reviewer, data=event)
    material_lot = services.material_lot_create(
        user=production_reviewer,
        data={
            "material_name": "阿莫西林",
            "material_code": "YL-001",
            "supplier": "示例原料药有限公司",
            "supplier_lot": "S-1",
            "lot_number": "AT-YL-1",
            "received_date": datetime(2026, 1, 2).date(),
            "quantity": 10,
            "unit": "kg",
            "expiry_date": datetime(2028, 1, 1).date(),
        },
    )
    return {
        "product": approved_product,
        "batch": batch,
        "deviation": deviation,
        "change_control": change_control,
        "material_lot": material_lot,
    }
