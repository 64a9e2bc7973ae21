"""API fixtures: a connected system's account and token made through the real services, a
shippable batch, a qualified customer and an issued document."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from api.services import api_token_issue, system_account_create
from tests.aftersales.conftest import (  # noqa: F401 - fixtures shared with the after-sales tests
    batch,
    draft_customer,
    qualified_customer,
    released,
    submitted_customer,
)
from tests.core.test_documents import TEST_TEMPLATES, product_context


@pytest.fixture
def erp(users):
    """The ERP's system account, allowed to post shipments and feedback, and its token."""
    account = system_account_create(
        user=users["admin"], name="ERP", scopes=["shipments", "feedback"], reason="ERP go-live"
    )
    _token, key = api_token_issue(user=users["admin"], account=account)
    return account, key


@pytest.fixture
def wms(users):
    """A system account with the read scope only."""
    account = system_account_create(user=users["admin"], name="WMS", scopes=[], reason="WMS go-live")
    _token, key = api_token_issue(user=users["admin"], account=account)
    return account, key


def token_client(key: str, language: str | None = None) -> Client:
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
    if language:
        headers["HTTP_ACCEPT_LANGUAGE"] = language
    return Client(**headers)


@pytest.fixture
def document(settings, tmp_path, approved_product, qa_reviewer):
    from core import pdf

    settings.MEDIA_ROOT = tmp_path / "media"
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEST_TEMPLATES]
    settings.TEMPLATES = templates
    return pdf.issue_document(
        record=approved_product,
        kind="test_product_sheet",
        template_name="pdf/test_document.html",
        context=product_context(approved_product),
        user=qa_reviewer,
        number="TPS-2026-001",
        title="产品主数据 / Product master record",
    )
