"""The sample list: text search and paging by cursor (issue 12; R-PERF-1, R-UX-2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from qc_records import services
from qc_records.models import Category
from qc_records.views.samples import PAGE_SIZE

pytestmark = pytest.mark.django_db

URL = reverse("qc_records:sample_list")


def register(qc, spec, batch, days_ago: int, **extra):
    return services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.FINISHED_PRODUCT,
            specification=spec,
            batch=batch,
            quantity=Decimal("60"),
            quantity_unit="粒",
            received_date=timezone.localdate() - timedelta(days=days_ago),
        )
        | extra,
    )


def numbers(response) -> list[str]:
    return [s.number for s in response.context["rows"]]


def test_the_search_finds_number_lot_product_and_generic_name(qc, client_for, spec, batch, approved_product):
    sample = register(qc, spec, batch, 1, lot_number="LOT-7731")
    client = client_for(qc.analyst)
    for text in (sample.number.lower(), "t-773", approved_product.name[1:3], approved_product.generic_name.upper()):
        assert numbers(client.get(URL, {"q": text})) == [sample.number], text
    assert numbers(client.get(URL, {"q": "无此样品"})) == []
    for bad in ({"q": "%_\\'"}, {"q": "\x00"}, {"q": "x" * 5000}, {"after": "garbage_x"}, {"after": "2026-01-01_"}):
        assert client.get(URL, bad).status_code == 200


def test_the_list_pages_by_cursor_without_counting_every_sample(qc, client_for, spec, batch):
    """Newest first; "Older" continues after the last row shown; no count(*) of the samples."""
    for i in range(PAGE_SIZE + 5):
        register(qc, spec, batch, i % 9)
    client = client_for(qc.analyst)
    client.get(URL)
    with CaptureQueriesContext(connection) as ctx:
        first = client.get(URL)
    assert len(first.context["rows"]) == PAGE_SIZE and first.context["next_after"]
    sample_sql = [q["sql"] for q in ctx.captured_queries if "qc_records_sample" in q["sql"]]
    assert sample_sql and not any("COUNT(" in q.upper() for q in sample_sql)
    dates = [s.received_date for s in first.context["rows"]]
    assert dates == sorted(dates, reverse=True)
    assert "Older" in first.content.decode() and ">Newest<" not in first.content.decode()
    second = client.get(URL, {"after": first.context["next_after"]})
    assert len(second.context["rows"]) == 5 and not second.context["next_after"]
    assert set(numbers(first)).isdisjoint(numbers(second))
    assert ">Newest<" in second.content.decode()
    # The cursor keeps the filters.
    waiting = client.get(URL, {"waiting": "on", "after": first.context["next_after"]})
    assert numbers(waiting) == numbers(second)
