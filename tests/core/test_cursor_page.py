"""``core.web.cursor_page``: the lists of samples, batches and shipments page newest first by a
(date, id) cursor with no count (R-PERF-1, issue 12)."""

from datetime import date

import pytest
from django.test import RequestFactory

from core.web import cursor_page
from release.models import Batch
from tests.factories import BatchFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def batches():
    """Seven batches over three days; three share 2 Oct, so ties on the date are broken by id."""
    user = UserFactory()
    product = ProductFactory(last_changed_by=user)
    days = [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 2), date(2026, 10, 3)]
    days += [date(2026, 10, 2), date(2026, 10, 1), date(2026, 10, 3)]
    return [BatchFactory(product=product, last_changed_by=user, manufacture_date=d) for d in days]


def _page(query: dict, size: int = 3):
    request = RequestFactory().get("/batches/", query)
    return cursor_page(request, Batch.objects.all(), "manufacture_date", size)


def _expected(batches):
    return sorted(batches, key=lambda b: (b.manufacture_date, b.pk), reverse=True)


def test_the_first_page_is_the_newest_with_a_cursor_to_the_next(batches):
    page = _page({"status": "quarantine"})
    newest = _expected(batches)
    assert page.rows == newest[:3] and page.first_page
    assert page.next_after == f"{newest[2].manufacture_date.isoformat()}_{newest[2].pk}"
    assert page.query == "status=quarantine"  # the filters kept for the "Older" link, not the cursor


def test_following_the_cursor_walks_every_row_once_ties_broken_by_id(batches):
    seen, query = [], {}
    while True:
        page = _page(query)
        seen += page.rows
        assert page.first_page == (not query)
        if not page.next_after:
            break
        query = {"after": page.next_after, "status": "quarantine"}
        assert "after=" not in _page(query).query
    assert seen == _expected(batches)  # three on 2 Oct span the first and second pages
    assert len(seen) == len(set(b.pk for b in seen)) == 7


def test_the_last_page_has_no_next_cursor(batches):
    oldest = _expected(batches)[-2]
    page = _page({"after": f"{oldest.manufacture_date.isoformat()}_{oldest.pk}"})
    assert page.rows == _expected(batches)[-1:] and page.next_after == "" and not page.first_page


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x",
        "2026-10-02",
        "2026-10-02_",
        "_5",
        "2026-13-01_5",
        "2026-10-02_abc",
        "2026-10-02_-3",
        "2026-10-02_0",
        "2026-10-02_99999999999999999999999",
        "2026-10-02_5_6",
        "１２_３",
    ],
)
def test_a_bad_cursor_shows_the_first_page(batches, bad):
    page = _page({"after": bad})
    assert page.rows == _expected(batches)[:3] and page.first_page


@pytest.mark.parametrize("url", ["release:batch_list", "qc_records:sample_list", "aftersales:shipment_list"])
def test_the_lists_answer_a_bad_cursor_with_their_first_page(url, users, client_for):
    from django.urls import reverse

    role = {"release:batch_list": "qa_reviewer", "qc_records:sample_list": "qc_analyst"}.get(url, "customer_service")
    response = client_for(users[role]).get(reverse(url), {"after": "2026-10-02_99999999999999999999999"})
    assert response.status_code == 200 and response.context["first_page"]
