"""No lost updates (issue 8 item 7): an edit form carries the version it was read at; saving over a
newer version is refused with who changed what and when, and nothing typed is lost (R-AT-1, R-UX-2)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from core.concurrency import edit_version
from release import services
from release.models import Product
from tests.factories import BatchFactory, ProductFactory
from tests.release.helpers import batch_form_data, product_form_data

pytestmark = pytest.mark.django_db


def _english(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def _version_on_page(page: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', page)
    assert match, "the edit form carries no version"
    return match.group(1)


def test_the_second_of_two_open_product_forms_is_refused_with_the_first_change_shown(users, admin_user, qa_reviewer2):
    product = ProductFactory(last_changed_by=admin_user)
    url = reverse("release:product_edit", args=[product.pk])
    first, second = _english(users["qa_reviewer"]), _english(qa_reviewer2)
    version = _version_on_page(first.get(url).content.decode())
    assert _version_on_page(second.get(url).content.decode()) == version

    saved = first.post(url, product_form_data(product, pack_size="24粒/盒", reason="新包装", version=version))
    assert saved.status_code == 302

    typed = product_form_data(
        product, storage_conditions="遮光，密封，阴凉处保存", reason="储存条件更正", version=version
    )
    refused = second.post(url, typed)
    page = refused.content.decode()
    assert refused.status_code == 200  # the form again, as for any refusal on the release edit pages
    assert "changed this record at" in page and users["qa_reviewer"].printed_name in page
    assert "12粒×2板/盒 → 24粒/盒" in page  # their change, old → new
    assert "遮光，密封，阴凉处保存" in page  # what this person typed is still in the form
    assert 'value="24粒/盒"' in page  # and the other's change replaced the value this person had not touched
    product.refresh_from_db()
    assert product.pack_size == "24粒/盒" and product.storage_conditions == "密封保存"
    assert product.history.count() == 2  # created, the first change: nothing written by the refusal

    # The re-rendered form (as the browser now holds it) stands for the version this person has been shown.
    again = second.post(url, {**typed, "pack_size": "24粒/盒", "version": _version_on_page(page)})
    assert again.status_code == 302
    product.refresh_from_db()
    assert product.storage_conditions == "遮光，密封，阴凉处保存" and product.pack_size == "24粒/盒"


def test_a_stale_batch_correction_is_refused(users, admin_user):
    batch = BatchFactory(last_changed_by=admin_user)
    stale = edit_version(batch)
    services.batch_update(batch=batch, user=users["qa_reviewer"], data={"site": "二车间"}, reason="车间更正")
    url = reverse("release:batch_edit", args=[batch.pk])
    response = _english(users["production_reviewer"]).post(
        url, batch_form_data(batch, batch_size="90000", reason="批量更正", version=stale)
    )
    assert response.status_code == 200  # the form again, with the refusal
    assert "changed this record at" in response.content.decode()
    batch.refresh_from_db()
    assert batch.site == "二车间" and batch.batch_size == 100000


def test_services_refuse_a_stale_version_on_the_locked_row(users, admin_user):
    product = ProductFactory(last_changed_by=admin_user)
    stale = edit_version(product)
    services.product_update(product=product, user=users["qa_reviewer"], data={"strength": "0.5g"}, reason="规格")
    with translation.override("en"), pytest.raises(services.WorkflowError, match="after you opened the form"):
        services.product_update(
            product=product, user=users["admin"], data={"pack_size": "x"}, reason="r", version=stale
        )
    assert Product.objects.get(pk=product.pk).pack_size == "12粒×2板/盒"
