"""Every API endpoint asks the permission of its page (R-API-1, R-AUTH-1): for each role the API
answers 200 (or 400 for an empty POST) exactly where the page opens, 403 where the page refuses;
a system account gets what its scopes allow; an anonymous caller gets 401."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from core.roles import ALL_ROLES
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


def endpoints(batch, document):
    """(method, API URL, the page that asks the same permission, or None for "any signed-in")."""
    return [
        ("get", "/api/v1/products/", reverse("release:product_list")),
        ("get", f"/api/v1/products/{batch.product_id}/", reverse("release:product_detail", args=[batch.product_id])),
        ("get", "/api/v1/batches/", reverse("release:batch_list")),
        ("get", f"/api/v1/batches/{batch.pk}/", reverse("release:batch_detail", args=[batch.pk])),
        # The batch page shows the gate's answer ("ship_refusals").
        ("get", f"/api/v1/batches/{batch.pk}/gate/", reverse("release:batch_detail", args=[batch.pk])),
        ("get", f"/api/v1/batches/{batch.pk}/qc-summary/", reverse("qc_records:batch_qc", args=[batch.pk])),
        ("get", "/api/v1/documents/", None),
        ("get", f"/api/v1/documents/{document.pk}/", reverse("core:document_download", args=[document.pk])),
        ("get", f"/api/v1/documents/{document.pk}/pdf/", reverse("core:document_download", args=[document.pk])),
        ("get", "/api/v1/shipments/", reverse("aftersales:shipment_list")),
        ("post", "/api/v1/shipments/", reverse("aftersales:shipment_create")),
        ("post", "/api/v1/feedback/", reverse("aftersales:feedback_create")),
    ]


def api_call(client: Client, method: str, url: str):
    if method == "post":
        return client.post(url, {}, content_type="application/json")
    return client.get(url)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_gets_from_the_api_what_its_pages_give(role, users, client_for, released, document):
    """R-API-1: the same permissions as the pages, role by role (people reach the API with their session)."""
    client = client_for(users[role])
    mismatches = []
    for method, url, page in endpoints(released, document):
        page_status = client.get(page).status_code if page else 200
        assert page_status in (200, 403), (page, page_status)
        expected = ({"get": 200, "post": 400} if page_status == 200 else {"get": 403, "post": 403})[method]
        got = api_call(client, method, url).status_code
        if got != expected:
            mismatches.append((method, url, "page", page_status, "api", got))
    assert not mismatches


def test_system_account_with_shipment_and_feedback_scopes(erp, released, document):
    """R-API-1: the ERP reads, posts shipments and feedback (empty posts are refused by field: 400)."""
    _account, key = erp
    client = token_client(key)
    got = {(m, u): api_call(client, m, u).status_code for m, u, _page in endpoints(released, document)}
    assert set(got.values()) <= {200, 400}, got
    assert got[("post", "/api/v1/shipments/")] == 400 and got[("post", "/api/v1/feedback/")] == 400


def test_system_account_with_the_read_scope_only(wms, released, document):
    """A read-only connected system cannot list or post distribution records, nor post feedback."""
    _account, key = wms
    client = token_client(key)
    got = {(m, u): api_call(client, m, u).status_code for m, u, _page in endpoints(released, document)}
    refused = {k for k, v in got.items() if v == 403}
    assert refused == {("get", "/api/v1/shipments/"), ("post", "/api/v1/shipments/"), ("post", "/api/v1/feedback/")}
    assert {v for k, v in got.items() if k not in refused} == {200}


def test_anonymous_and_bad_tokens_get_401_in_the_error_format(released, document, erp):
    """R-AUTH-1: no token (or a wrong or revoked one) → 401 with WWW-Authenticate, never a page."""
    for client in (Client(), token_client("rdk_not-a-token"), Client(HTTP_AUTHORIZATION="Token")):
        for method, url, _page in endpoints(released, document):
            response = api_call(client, method, url)
            assert response.status_code == 401, (url, response.status_code)
            assert response["WWW-Authenticate"].startswith("Token")
            (error,) = response.json()["errors"]
            assert error["field"] is None and error["code"] in ("not_authenticated", "authentication_failed")
