from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse

from core.models import Signature
from core.roles import ADMIN, ALL_ROLES, PRODUCTION_REVIEWER, QA_REVIEWER
from release import services
from release.models import Batch, Product
from tests.factories import ProductFactory
from tests.release.helpers import batch_form_data, product_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(approved_product, production_reviewer) -> Batch:
    return services.batch_create(
        user=production_reviewer,
        data=dict(
            product=approved_product,
            batch_number="C2405001",
            batch_size=100000,
            batch_size_unit="capsules",
            manufacture_date=date(2024, 5, 10),
            site="固体制剂车间一",
        ),
    )


def _url(name: str, product: Product, batch: Batch) -> str:
    if name.startswith("release:product_") and not name.endswith(("_list", "_create")):
        return reverse(name, args=[product.pk])
    if name.startswith("release:batch_") and not name.endswith(("_list", "_create")):
        return reverse(name, args=[batch.pk])
    return reverse(name)


# --- 404 and 405 ---------------------------------------------------------------------------------

OBJECT_PAGES = ["product_detail", "product_edit", "batch_detail", "batch_edit"]
ACTIONS = ["product_approve", "product_void", "batch_void"]


@pytest.mark.parametrize("name", OBJECT_PAGES + ACTIONS)
def test_a_nonexistent_id_is_404(name, qa_reviewer, client_for):
    client = client_for(qa_reviewer)
    url = reverse(f"release:{name}", args=[987654])
    response = client.post(url, {}) if name in ACTIONS else client.get(url)
    assert response.status_code == 404


def test_an_id_of_another_kind_of_record_is_404(approved_product, qa_reviewer, client_for):
    """A product's id in a batch URL finds no batch: 404, not someone else's record."""
    assert not Batch.objects.filter(pk=approved_product.pk).exists()
    client = client_for(qa_reviewer)
    assert client.get(reverse("release:batch_detail", args=[approved_product.pk])).status_code == 404
    assert client.post(reverse("release:batch_void", args=[approved_product.pk]), {}).status_code == 404


@pytest.mark.parametrize("path", ["/release/products/abc/", "/release/batches/-1/", "/release/products/1.5/edit/"])
def test_a_malformed_id_is_404(path, qa_reviewer, client_for):
    assert client_for(qa_reviewer).get(path).status_code == 404


@pytest.mark.parametrize("name", ACTIONS)
def test_get_on_an_action_url_is_405(name, approved_product, batch, qa_reviewer, client_for):
    response = client_for(qa_reviewer).get(_url(f"release:{name}", approved_product, batch))
    assert response.status_code == 405
    approved_product.refresh_from_db()
    batch.refresh_from_db()
    assert (approved_product.status, batch.status) == (Product.Status.APPROVED, Batch.Status.QUARANTINE)
    assert Signature.objects.count() == 1  # the approval only


@pytest.mark.parametrize("language, text", [("zh-hans", "未执行任何操作"), ("en", "Nothing was done")])
@pytest.mark.parametrize("name", ACTIONS)
def test_get_on_an_action_url_explains_and_leads_back_to_the_record(
    name, language, text, approved_product, batch, qa_reviewer, client_for
):
    """Issue 2 "Bad input", R-UX-1, R-UX-2: a GET on an action URL (a reload, a bookmark, or the
    language switch on a refused form's page) is a page that says nothing was done and links
    back to the record, in the reader's language; not a blank 405."""
    client = client_for(qa_reviewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    url = _url(f"release:{name}", approved_product, batch)
    response = client.get(url)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert text in html
    record = approved_product if name.startswith("product") else batch
    assert f'href="{record.get_absolute_url()}"' in html


def test_language_switch_after_a_refused_signature_does_not_end_on_a_blank_page(
    approved_product, qa_reviewer, client_for
):
    """R-UX-1, R-UX-2: a wrong password re-renders the record at the action URL; switching the
    language from there lands on a page with words and a way back."""
    client = client_for(qa_reviewer)
    url = reverse("release:product_void", args=[approved_product.pk])
    refused = client.post(url, {"void-password": "wrong", "void-reason": "登记错误"})
    assert refused.status_code == 400
    response = client.post(reverse("set_language"), {"language": "en", "next": url}, follow=True)
    assert response.status_code == 405
    assert "Nothing was done" in response.content.decode()
    assert approved_product.get_absolute_url() in response.content.decode()


# --- garbage in forms (R-UX-2) --------------------------------------------------------------------

PRODUCT_GARBAGE = [
    {},
    {"name": "x" * 5000},
    {"name": "阿莫\x00西林"},
    {"dosage_form": "bogus"},
    {"shelf_life_months": "abc"},
    {"shelf_life_months": "-3"},
    {"shelf_life_months": "99999999999999999999"},
    {"approval_number": " "},
    {"requires_two_stage_release": "maybe"},
]


@pytest.mark.parametrize("garbage", PRODUCT_GARBAGE)
def test_garbage_product_input_gives_form_errors(garbage, qa_reviewer, client_for):
    data = product_form_data(**garbage) if garbage else {}
    response = client_for(qa_reviewer).post(reverse("release:product_create"), data)
    if response.status_code == 302:  # a lenient field ("maybe" is a true checkbox) may be fine
        assert garbage == {"requires_two_stage_release": "maybe"}
        return
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Product.objects.exists()


BATCH_GARBAGE = [
    {"batch_size": "abc"},
    {"batch_size": "0"},
    {"batch_size": "-5"},
    {"batch_size": "NaN"},
    {"batch_size": "Infinity"},
    {"batch_size": "1e30"},
    {"batch_size": "1.23456"},
    {"batch_size_unit": "bogus"},
    {"product": "abc"},
    {"product": "987654"},
    {"manufacture_date": "2024-02-30"},
    {"manufacture_date": "yesterday"},
    {"manufacture_date": "0000-01-01"},
    {"manufacture_date": "9999-12-31"},
    {"manufacture_date": "9999-06-01", "expiry_date": "9999-12-31"},
    {"expiry_date": "10000-01-01"},
    {"batch_number": ""},
    {"batch_number": "x" * 500},
    {"site": "\x00"},
]


@pytest.mark.parametrize("garbage", BATCH_GARBAGE)
def test_garbage_batch_input_gives_field_errors_on_register(garbage, approved_product, production_reviewer, client_for):
    """R-UX-2: every bad value is reported beside its field; nothing is saved; never a 500."""
    data = batch_form_data(**{"product": approved_product, **garbage})
    response = client_for(production_reviewer).post(reverse("release:batch_create"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) & set(garbage), form.errors
    assert not Batch.objects.exists()


@pytest.mark.parametrize("garbage", [g for g in BATCH_GARBAGE if "product" not in g])
def test_garbage_batch_input_gives_field_errors_on_edit(garbage, batch, production_reviewer, client_for):
    data = batch_form_data(batch, reason="更正", **garbage)
    response = client_for(production_reviewer).post(reverse("release:batch_edit", args=[batch.pk]), data)
    assert response.status_code == 200
    assert set(response.context["form"].errors) & set(garbage), response.context["form"].errors
    assert batch.history.count() == 1


@pytest.mark.parametrize("product_value", ["abc", "987654"])
def test_a_batch_cannot_be_moved_to_another_product_by_editing(product_value, batch, production_reviewer, client_for):
    """R-UX-2: the product field is fixed on edit; whatever is posted for it is ignored."""
    other = ProductFactory(status=Product.Status.APPROVED)
    for value in (product_value, str(other.pk)):
        data = batch_form_data(batch, reason="更正", site="新车间", product=value)
        response = client_for(production_reviewer).post(reverse("release:batch_edit", args=[batch.pk]), data)
        assert response.status_code in (200, 302)
        batch.refresh_from_db()
        assert batch.product_id != other.pk


def test_an_empty_batch_form_gives_an_error_for_each_required_field(production_reviewer, client_for):
    response = client_for(production_reviewer).post(reverse("release:batch_create"), {})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {
        "product",
        "batch_number",
        "batch_size",
        "batch_size_unit",
        "manufacture_date",
        "site",
    }


@pytest.mark.parametrize(
    "data",
    [{}, {"void-password": ""}, {"void-reason": "x" * 10000, "void-password": "x" * 10000}, {"void-reason": "\x00"}],
)
def test_garbage_on_a_signing_form_signs_nothing(data, approved_product, batch, qa_reviewer, client_for):
    client = client_for(qa_reviewer)
    for url in (
        reverse("release:product_void", args=[approved_product.pk]),
        reverse("release:batch_void", args=[batch.pk]),
    ):
        response = client.post(url, data)
        assert response.status_code == 400
        assert response.context["void_form"].errors
    assert not Signature.objects.filter(meaning=Signature.Meaning.VOIDED).exists()


# --- who may open which page ---------------------------------------------------------------------

READ_PAGES = ["release:product_list", "release:product_detail", "release:batch_list", "release:batch_detail"]
WRITE_PAGES = {
    "release:product_create": {ADMIN, QA_REVIEWER},
    "release:product_edit": {ADMIN, QA_REVIEWER},
    "release:batch_create": {PRODUCTION_REVIEWER, QA_REVIEWER},
    "release:batch_edit": {PRODUCTION_REVIEWER, QA_REVIEWER},
}
ACCESS = [(page, role, 200) for page in READ_PAGES for role in ALL_ROLES] + [
    (page, role, 200 if role in allowed else 403) for page, allowed in WRITE_PAGES.items() for role in ALL_ROLES
]


@pytest.mark.parametrize(("page", "role", "status"), ACCESS)
def test_each_role_gets_each_page_or_403(page, role, status, users, approved_product, batch, client_for):
    response = client_for(users[role]).get(_url(page, approved_product, batch))
    assert response.status_code == status


@pytest.mark.parametrize("page", READ_PAGES + list(WRITE_PAGES))
def test_a_user_without_a_role_gets_403(page, make_user, approved_product, batch, client_for):
    assert client_for(make_user()).get(_url(page, approved_product, batch)).status_code == 403


@pytest.mark.parametrize("page", READ_PAGES + list(WRITE_PAGES))
def test_anonymous_requests_go_to_the_login_page(page, approved_product, batch, client):
    """R-AUTH-1."""
    response = client.get(_url(page, approved_product, batch))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_auditor_reads_every_page_but_every_post_is_403(auditor, admin_user, batch, client_for, password):
    """R-AT-5: auditors see everything and change nothing."""
    draft = ProductFactory(last_changed_by=admin_user)  # something the approve form could act on
    client = client_for(auditor)
    for page in READ_PAGES:
        for product in (draft, batch.product):
            assert client.get(_url(page, product, batch)).status_code == 200, page
    assert client.get(reverse("core:record_history", args=["release.product", draft.pk])).status_code == 200
    assert client.get(reverse("core:record_history", args=["release.batch", batch.pk])).status_code == 200
    posts = {
        "release:product_create": product_form_data(),
        "release:product_edit": product_form_data(draft, pack_size="1盒", reason="x"),
        "release:product_approve": {"approve-password": password},
        "release:product_void": {"void-reason": "x", "void-password": password},
        "release:batch_create": batch_form_data(product=batch.product, batch_number="NEW1"),
        "release:batch_edit": batch_form_data(batch, site="车间九", reason="x"),
        "release:batch_void": {"void-reason": "x", "void-password": password},
    }
    for name, data in posts.items():
        assert client.post(_url(name, draft, batch), data).status_code == 403, name
    assert Product.objects.count() == 2 and Batch.objects.count() == 1
    draft.refresh_from_db()
    batch.refresh_from_db()
    assert (draft.status, draft.pack_size) == (Product.Status.DRAFT, "12粒×2板/盒")
    assert (batch.status, batch.site) == (Batch.Status.QUARANTINE, "固体制剂车间一")
    assert Signature.objects.count() == 1  # the product approval made by the fixture


@pytest.mark.parametrize("value", ["abc", "987654", "-1", "\x00"])
def test_a_bad_product_in_the_register_link_is_ignored(value, production_reviewer, client_for):
    """The "register batch" link carries ?product=<id>; a bad one still shows the empty form."""
    response = client_for(production_reviewer).get(reverse("release:batch_create"), {"product": value})
    assert response.status_code == 200
    assert not response.context["form"].is_bound
