"""System accounts of connected systems (R-API-1, R-SIG-5, R-AUTH-1): token shown once and kept
hashed, issued and revoked by an administrator with security events, never a page sign-in, never
a signature; every call logged with the account."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import translation

from api.models import ApiRequest, ApiToken
from api.services import api_token_issue, api_token_revoke, system_account_create
from core.models import AuthEvent, Signature
from core.signatures import verify_signer
from core.workflow import InputError, SignatureError, WorkflowError
from tests.api.conftest import token_client


@pytest.fixture(autouse=True)
def _english():
    """The refusals are read in English whatever language an earlier request left active."""
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db


def test_token_is_stored_hashed_and_rotation_revokes_the_old_one(erp, users):
    account, key = erp
    token = ApiToken.objects.get(account=account)
    assert token.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {token.prefix, token.key_sha256} and len(token.prefix) < len(key) // 2
    _new, new_key = api_token_issue(user=users["admin"], account=account)
    assert token_client(key).get("/api/v1/products/").status_code == 401
    assert token_client(new_key).get("/api/v1/products/").status_code == 200
    kinds = list(AuthEvent.objects.filter(user=account).order_by("pk").values_list("kind", "actor__username"))
    assert kinds == [
        ("api_token_issued", "admin"),
        ("api_token_revoked", "admin"),
        ("api_token_issued", "admin"),
    ]


def test_revocation_needs_a_reason_is_audited_and_cuts_the_system_off(erp, users):
    account, key = erp
    with pytest.raises(InputError):
        api_token_revoke(user=users["admin"], account=account, reason=" ")
    assert api_token_revoke(user=users["admin"], account=account, reason="ERP 更换") == 1
    event = AuthEvent.objects.filter(kind=AuthEvent.Kind.API_TOKEN_REVOKED).get()
    assert (event.actor, event.user, event.detail.endswith("ERP 更换")) == (users["admin"], account, True)
    response = token_client(key, "en").get("/api/v1/products/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "The token is not valid or has been revoked."


@pytest.mark.parametrize("role", ["qa_reviewer", "qualified_person", "auditor", "sales"])
def test_only_a_system_administrator_manages_system_accounts(role, users):
    with pytest.raises(WorkflowError, match="Only a system administrator"):
        system_account_create(user=users[role], name="LIMS", scopes=[], reason="")


def test_tokens_go_to_system_accounts_only(users):
    with pytest.raises(WorkflowError, match="never to a person"):
        api_token_issue(user=users["admin"], account=users["sales"])


def test_system_account_holds_no_role_and_cannot_sign_in_to_pages(erp, client):
    """R-SIG-5 / R-API-1: no group (no signing role), no usable password, refused by the sign-in backend."""
    account, key = erp
    assert account.is_system_account and not account.groups.exists() and not account.has_usable_password()
    assert not client.login(username=account.username, password=key)
    # A page is not reached with the token either: pages know sessions only.
    assert token_client(key).get("/release/products/").status_code == 302


def test_a_system_account_can_never_sign(erp, users):
    """R-SIG-5: verify_signer refuses a system account whatever it holds, and the refusal is audited."""
    account, _key = erp
    account.set_password("ReleaseDesk-2026!")  # even an account someone gave a password to
    account.full_name = "ERP"
    account._change_reason = "test"
    account.save()
    with (
        translation.override("en"),
        pytest.raises(SignatureError, match="System accounts of connected systems cannot sign"),
    ):
        verify_signer(user=account, password="ReleaseDesk-2026!")
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SIGNATURE_REFUSED, user=account).exists()


def test_no_electronic_signature_can_be_made_through_the_api(erp, released, qualified_customer, document):
    """R-SIG-5: every endpoint called by the ERP, writes included — no signature row appears, and
    no endpoint of the schema takes a password."""
    _account, key = erp
    before = Signature.objects.count()
    client = token_client(key)
    payload = {
        "shipments": [
            {
                "batch_number": released.batch_number,
                "customer": qualified_customer.name,
                "quantity": 10,
                "unit_price": "2.00",
                "dispatch_date": released.manufacture_date.isoformat(),
                "transport_mode": "carrier",
                "password": "ReleaseDesk-2026!",
            }
        ]
    }
    assert client.post("/api/v1/shipments/", payload, content_type="application/json").status_code == 201
    assert Signature.objects.count() == before
    schema = client.get("/api/v1/schema/?format=json").json()
    assert "password" not in str(schema).lower()


def test_every_call_is_logged_with_the_account(erp, users, client_for):
    account, key = erp
    token_client(key).get("/api/v1/products/?status=approved")
    Client().get("/api/v1/batches/")
    client_for(users["qa_reviewer"]).get("/api/v1/products/")
    rows = list(ApiRequest.objects.order_by("pk").values_list("account__username", "method", "path", "status"))
    assert rows == [
        ("system-erp", "GET", "/api/v1/products/?status=approved", 200),
        (None, "GET", "/api/v1/batches/", 401),
        ("qa_reviewer", "GET", "/api/v1/products/", 200),
    ]
    assert ApiRequest.objects.filter(account=account).get().token.account == account


def test_the_request_log_is_append_only(erp):
    """R-AT-3: the log cannot be changed through the ORM nor by raw SQL (trigger)."""
    _account, key = erp
    token_client(key).get("/api/v1/products/")
    row = ApiRequest.objects.get()
    row.status = 500
    with pytest.raises(Exception, match="never changed"):
        row.save()
    for sql in (f"UPDATE {ApiRequest._meta.db_table} SET status = 500", f"DELETE FROM {ApiRequest._meta.db_table}"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert ApiRequest.objects.get().status == 200


def test_management_command_creates_issues_and_revokes(users):
    out = StringIO()
    call_command("api_account", "create", "WMS", "--by", "admin", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("rdk_") and token_client(key).get("/api/v1/batches/").status_code == 200
    call_command("api_account", "revoke", "WMS", "--by", "admin", "--reason", "decommissioned", stdout=out)
    assert token_client(key).get("/api/v1/batches/").status_code == 401
    listing = StringIO()
    call_command("api_account", "list", stdout=listing)
    assert "system-wms\tactive\tno working token" in listing.getvalue()
