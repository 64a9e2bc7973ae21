from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.web import PAGE_SIZE
from release.models import Batch, DosageForm, Product
from tests.factories import BatchFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCT_LIST = reverse("release:product_list")
BATCH_LIST = reverse("release:batch_list")

# Session, user, permissions, count, page, session save: a fixed cost, not a per-row one.
MAX_QUERIES = 12


def shown(response) -> list:
    if "rows" in response.context:  # the batch list pages by cursor
        return list(response.context["rows"])
    return list(response.context["page_obj"].object_list)


@pytest.fixture
def client(qa_reviewer, client_for):
    return client_for(qa_reviewer)


@pytest.fixture
def catalogue(admin_user):
    """Three products of different status and dosage form, with batches."""
    amox = ProductFactory(
        name="阿莫西林胶囊",
        approval_number="国药准字H11110001",
        status=Product.Status.APPROVED,
        last_changed_by=admin_user,
    )
    ibu = ProductFactory(
        name="布洛芬片",
        generic_name="Ibuprofen Tablets",
        dosage_form=DosageForm.TABLET,
        approval_number="国药准字H22220002",
        status=Product.Status.APPROVED,
        last_changed_by=admin_user,
    )
    vitc = ProductFactory(
        name="维生素C注射液",
        dosage_form=DosageForm.INJECTION,
        approval_number="国药准字H33330003",
        last_changed_by=admin_user,
    )
    batches = {
        "A1": BatchFactory(
            product=amox, batch_number="A2410001", manufacture_date=date(2024, 10, 8), last_changed_by=admin_user
        ),
        "A2": BatchFactory(
            product=amox, batch_number="A2411002", manufacture_date=date(2024, 11, 12), last_changed_by=admin_user
        ),
        "B1": BatchFactory(
            product=ibu,
            batch_number="B2609001",
            manufacture_date=date(2026, 9, 21),
            status=Batch.Status.VOIDED,
            last_changed_by=admin_user,
        ),
    }
    return {"amox": amox, "ibu": ibu, "vitc": vitc, **batches}


# --- products ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["amox", "ibu", "vitc"]),
        ({"status": "draft"}, ["vitc"]),
        ({"status": "approved"}, ["amox", "ibu"]),
        ({"dosage_form": "tablet"}, ["ibu"]),
        ({"dosage_form": "injection", "status": "approved"}, []),
        ({"q": "阿莫西林"}, ["amox"]),  # name
        ({"q": "ibuprofen"}, ["ibu"]),  # generic name, any case
        ({"q": "H3333"}, ["vitc"]),  # approval number
        ({"q": "国药准字"}, ["amox", "ibu", "vitc"]),
    ],
)
def test_product_list_filters_and_search(params, expected, catalogue, client):
    response = client.get(PRODUCT_LIST, params)
    assert response.status_code == 200
    # Sorted by name; how Chinese names sort depends on the database's collation.
    assert sorted(shown(response), key=lambda p: p.pk) == [catalogue[k] for k in expected]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["B1", "A2", "A1"]),  # newest manufacture first
        ({"status": "voided"}, ["B1"]),
        ({"status": "quarantine"}, ["A2", "A1"]),
        ({"q": "a2411"}, ["A2"]),  # batch number, any case
        ({"q": "布洛芬"}, ["B1"]),  # product name
    ],
)
def test_batch_list_filters_and_search(params, expected, catalogue, client):
    response = client.get(BATCH_LIST, params)
    assert response.status_code == 200
    assert shown(response) == [catalogue[k] for k in expected]


def test_batch_list_filters_by_product(catalogue, client):
    response = client.get(BATCH_LIST, {"product": catalogue["amox"].pk})
    assert shown(response) == [catalogue["A2"], catalogue["A1"]]


def test_product_page_show_all_link_lists_that_products_batches(catalogue, client, admin_user):
    """The product page's "Show all" link still narrows the list to one product (by its id); the list
    says so in words and offers the way back to every product; an unknown id lists nothing."""
    amox = catalogue["amox"]
    for i in range(12):  # more than the product page shows, so it offers "Show all"
        BatchFactory(product=amox, batch_number=f"A26{i:05d}", last_changed_by=admin_user)
    client.cookies["django_language"] = "en"
    product_page = client.get(amox.get_absolute_url()).content.decode()
    link = f"{BATCH_LIST}?product={amox.pk}"
    assert f'href="{link}"' in product_page
    response = client.get(link)
    page = response.content.decode()
    assert {b.product_id for b in shown(response)} == {amox.pk} and len(shown(response)) == 14
    assert "Batches of 阿莫西林胶囊 only." in page and "Show batches of every product" in page
    # Filtering further (by status) keeps the product: its id rides along in the form.
    assert f'<input type="hidden" name="product" value="{amox.pk}"' in page
    response = client.get(BATCH_LIST, {"product": "999999"})
    assert shown(response) == [] and "No such product." in response.content.decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("阿莫西林", ["A2", "A1"]), ("ibuprofen", ["B1"]), ("2410", ["A1"]), ("nothing-like-it", [])],
)
def test_batch_list_search_types_product_generic_name_or_number(text, expected, catalogue, client):
    """The product filter is typed (product or generic name, any case), not chosen from a list."""
    assert shown(client.get(BATCH_LIST, {"q": text})) == [catalogue[k] for k in expected]


def test_batch_list_does_not_list_every_product(catalogue, client):
    """Issue 12: 2,000 products as <option>s were most of the page's time at volume."""
    page = client.get(BATCH_LIST).content.decode()
    assert "<option" in page  # the disposition filter is still a list of its few states
    for product in ("阿莫西林胶囊", "布洛芬片", "维生素C注射液"):
        assert f">{product}</option>" not in page


def test_voided_records_stay_listed(catalogue, client):
    """R-REC-1: voided records are not hidden."""
    assert catalogue["B1"] in shown(client.get(BATCH_LIST))


# --- pagination and query counts (R-PERF-1) -------------------------------------------------------


def _make_products(n: int, user) -> None:
    for i in range(n):
        ProductFactory(name=f"品种{i:03d}", last_changed_by=user)


def _make_batches(n: int, user) -> None:
    product = ProductFactory(status=Product.Status.APPROVED, last_changed_by=user)
    for i in range(n):
        # A product per few batches too, so that a per-row product lookup would show.
        BatchFactory(
            product=product if i % 2 else ProductFactory(status="approved", last_changed_by=user), last_changed_by=user
        )


def test_product_list_paginates_in_the_database(admin_user, client):
    _make_products(PAGE_SIZE + 5, admin_user)
    with CaptureQueriesContext(connection) as ctx:
        page1 = client.get(PRODUCT_LIST)
    assert len(shown(page1)) == PAGE_SIZE
    assert any("release_product" in q["sql"] and f"LIMIT {PAGE_SIZE}" in q["sql"] for q in ctx.captured_queries)
    page2 = client.get(PRODUCT_LIST, {"page": 2})
    assert [p.name for p in shown(page2)] == [f"品种{i:03d}" for i in range(PAGE_SIZE, PAGE_SIZE + 5)]


def test_batch_list_pages_by_cursor_without_counting(admin_user, client):
    """Issue 12: 100,000 batches are paged by (manufacture date, id), never counted or OFFSET."""
    _make_batches(PAGE_SIZE + 3, admin_user)
    with CaptureQueriesContext(connection) as ctx:
        page1 = client.get(BATCH_LIST, {"status": "quarantine"})
    assert len(shown(page1)) == PAGE_SIZE and page1.context["next_after"]
    batch_sql = [q["sql"] for q in ctx.captured_queries if "release_batch" in q["sql"]]
    assert any(f"LIMIT {PAGE_SIZE + 1}" in q for q in batch_sql)
    assert not any("COUNT(" in q.upper() or "OFFSET" in q.upper() for q in batch_sql)
    page2 = client.get(BATCH_LIST, {"status": "quarantine", "after": page1.context["next_after"]})
    assert len(shown(page2)) == 3 and not page2.context["next_after"]
    assert set(shown(page1)).isdisjoint(shown(page2))
    assert "status=quarantine&amp;after=" in page1.content.decode()  # the filters ride along
    assert client.get(BATCH_LIST, {"after": "garbage_1"}).status_code == 200


def test_pagination_keeps_the_filters(admin_user, client):
    _make_products(PAGE_SIZE + 1, admin_user)
    html = client.get(PRODUCT_LIST, {"status": "draft"}).content.decode()
    assert "?status=draft&amp;page=2" in html


@pytest.mark.parametrize(("url", "make"), [(PRODUCT_LIST, _make_products), (BATCH_LIST, _make_batches)])
def test_list_query_count_does_not_grow_with_rows(url, make, admin_user, client, django_assert_max_num_queries):
    """R-PERF-1: 3 rows and 60 rows cost the same number of queries."""
    counts = []
    for n in (3, 57):  # 3, then 60 in all
        make(n, admin_user)
        with django_assert_max_num_queries(MAX_QUERIES) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# --- bad query parameters never give a server error (R-UX-2) -----------------------------------------


@pytest.mark.parametrize("url", [PRODUCT_LIST, BATCH_LIST])
@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "99999"},
        {"page": "-1"},
        {"page": "1e9"},
        {"status": "bogus"},
        {"dosage_form": "bogus"},
        {"product": "abc"},
        {"product": "999999"},
        {"q": "x" * 5000},
        {"q": "%_\\'\""},
        {"q": "\x00"},
    ],
)
def test_bad_query_params_never_give_a_500(url, params, catalogue, client):
    response = client.get(url, params)
    assert response.status_code == 200


def test_a_page_past_the_end_shows_the_last_page(admin_user, client):
    _make_products(PAGE_SIZE + 2, admin_user)
    response = client.get(PRODUCT_LIST, {"page": "99999"})
    assert response.context["page_obj"].number == 2
    assert client.get(PRODUCT_LIST, {"page": "abc"}).context["page_obj"].number == 1


def test_a_bogus_status_is_reported_beside_the_filter(catalogue, client):
    response = client.get(PRODUCT_LIST, {"status": "bogus"})
    assert list(response.context["form"].errors) == ["status"]


def test_the_material_lot_list_is_read_in_the_order_of_an_index(production_reviewer, client):
    """Issue 12 / R-PERF-1: lots are listed newest received first from an index on the same
    columns, not by sorting a plant's 20,000 lots on every page (15 ms at scale 1.0)."""
    from tests.release.material_helpers import make_lot

    make_lot(production_reviewer)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "release_materiallot")
    assert constraints["release_lot_received"]["columns"] == ["received_date", "id"]
    client.force_login(production_reviewer)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("release:materiallot_list")).status_code == 200
    wanted = 'ORDER BY "release_materiallot"."received_date" DESC, "release_materiallot"."id" DESC'
    assert any(wanted in q["sql"] for q in ctx.captured_queries), wanted
