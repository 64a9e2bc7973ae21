"""R-PERF-1: pages issue a bounded number of queries whatever the number of items and rows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from qc_records import services
from qc_records.models import Category
from tests.factories import InstrumentFactory, ReagentFactory
from tests.qc_records.helpers import make_spec

pytestmark = pytest.mark.django_db


def _items(n: int):
    kinds = [
        ("numeric", Decimal("95.0"), Decimal("105.0"), 1, "%", "", 1),
        ("text", None, None, None, "", "应符合规定", 1),
        ("numeric", None, Decimal("0.5"), 2, "%", "", 2),
        ("report", None, None, None, "cfu/g", "", 1),
    ]
    return [(f"检验项目{i:02d}",) + kinds[i % 4] for i in range(n)]


def _record(qc, product, batch, n_items, code):
    spec = make_spec(author=qc.head, approver=qc.qa, product=product, code=code, items=_items(n_items))
    sample = services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.FINISHED_PRODUCT,
            specification=spec,
            batch=batch,
            quantity=Decimal("10"),
            quantity_unit="粒",
            received_date=timezone.localdate(),
        ),
    )
    return services.record_create(sample=sample, user=qc.analyst)


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_forty_item_record_form_and_detail_use_the_same_queries_as_five(qc, approved_product, batch, client_for):
    for _n in range(5):
        InstrumentFactory(last_changed_by=qc.head)
        ReagentFactory(last_changed_by=qc.head)
    small = _record(qc, approved_product, batch, 5, "ZL-S")
    large = _record(qc, approved_product, batch, 40, "ZL-L")
    assert large.results.count() == 50
    client = client_for(qc.analyst)
    for name in ("qc_records:record_edit", "qc_records:record_detail"):
        n_small = _count(client, reverse(name, args=[small.pk]))
        n_large = _count(client, reverse(name, args=[large.pk]))
        assert n_large <= n_small, name
        assert n_large <= 30, name


def test_list_pages_do_not_grow_with_rows(qc, approved_product, batch, client_for):
    record = _record(qc, approved_product, batch, 3, "ZL-Q")
    client = client_for(qc.head)
    pages = [
        reverse(n)
        for n in (
            "qc_records:spec_list",
            "qc_records:instrument_list",
            "qc_records:reagent_list",
            "qc_records:sample_list",
            "qc_records:ledger",
            "qc_records:oos_list",
            "qc_records:index",
            "core:my_work",
        )
    ]

    def add_rows():
        InstrumentFactory(last_changed_by=qc.head, calibration_due=timezone.localdate())
        ReagentFactory(last_changed_by=qc.head, expiry_date=timezone.localdate())
        sample = services.sample_create(
            user=qc.analyst,
            data=dict(
                category=Category.FINISHED_PRODUCT,
                specification=record.specification,
                batch=batch,
                quantity=Decimal("1"),
                quantity_unit="粒",
                received_date=timezone.localdate(),
            ),
        )
        services.record_create(sample=sample, user=qc.analyst)

    add_rows()
    before = {url: _count(client, url) for url in pages}
    for _ in range(6):
        add_rows()
    for url in pages:
        assert _count(client, url) <= before[url], url
