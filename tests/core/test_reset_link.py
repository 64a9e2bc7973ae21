"""No impersonation by administrators (issue 8 item 6; R-AUTH-5, R-SIG-5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse

from core.models import AuthEvent, Signature
from core.signatures import SignatureError, check_may_sign, verify_signer
from core.workflow import WorkflowError
from release import services
from tests.core.helpers import english_client, login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TEMPORARY = "Temporary-Reset-9911"
CHOSEN = "Her-Own-Passphrase-42"
REFUSED = "Choose your own password before signing: a password set by an administrator cannot sign."


@pytest.fixture
def staff_admin(admin_user):
    admin_user.is_staff = True
    admin_user._change_reason = "test"
    admin_user.save()
    return admin_user


def _reset(admin, person) -> str:
    client = english_client()
    client.force_login(admin)
    # What today's admin form takes: a password the administrator chooses.
    response = client.post(
        reverse("admin:auth_user_password_change", args=[person.pk]),
        {"password1": TEMPORARY, "password2": TEMPORARY, "usable_password": "true"},
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 200
    assert "One-time link for" in response.content.decode()
    return response.context["link"]


def _use_link(link: str, password: str, address: str = "10.0.0.50"):
    client = english_client()
    response = client.get(link.removeprefix(settings.SITE_URL), follow=True, REMOTE_ADDR=address)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link.removeprefix(settings.SITE_URL)
    return client, client.post(
        form_url, {"new_password1": password, "new_password2": password}, follow=True, REMOTE_ADDR=address
    )


def test_admin_reset_gives_no_password_the_admin_can_sign_in_with(staff_admin, qa_reviewer, draft_product):
    """Issue 8 reproduction 6 (R-AUTH-5, R-SIG-5): the administrator resets a QA reviewer's password
    choosing one, and tries to sign in with it and approve as that person. The reset sets no
    password the administrator chose: it issues a one-time link; the chosen one does not sign in."""
    _reset(staff_admin, qa_reviewer)
    qa_reviewer.refresh_from_db()
    assert not qa_reviewer.check_password(TEMPORARY) and not qa_reviewer.has_usable_password()
    as_person = english_client()
    response = login(as_person, qa_reviewer.username, TEMPORARY)
    assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()
    with pytest.raises(WorkflowError, match="Choose your own password before signing"):
        services.product_approve(product=draft_product, user=qa_reviewer, password=TEMPORARY)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.PASSWORD_RESET, user=qa_reviewer)
    assert (event.actor, event.username, event.ip_address) == (staff_admin, qa_reviewer.username, "10.0.0.9")


def test_the_person_chooses_a_password_with_the_link_once_and_signs(staff_admin, qa_reviewer, draft_product):
    """R-AUTH-5: the link lets the person choose their own password, once; then they sign as usual."""
    link = _reset(staff_admin, qa_reviewer)
    _client, response = _use_link(link, CHOSEN)
    assert "Your password has been set. Sign in with it." in response.content.decode()
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.check_password(CHOSEN) and not qa_reviewer.must_change_password
    services.product_approve(product=draft_product, user=qa_reviewer, password=CHOSEN)
    assert Signature.objects.for_record(draft_product).get().signer == qa_reviewer
    _again, response = _use_link(link, "Somebody-Elses-Pass-77")
    assert "This link has already been used or has expired." in response.content.decode()
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.check_password(CHOSEN)


def test_the_link_expires(staff_admin, qa_reviewer, monkeypatch):
    """R-AUTH-5: a link not used within PASSWORD_RESET_TIMEOUT no longer works."""
    link = _reset(staff_admin, qa_reviewer)
    later = default_token_generator._now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    _client, response = _use_link(link, CHOSEN)
    assert "This link has already been used or has expired." in response.content.decode()


def test_qa_sees_resets_naming_both_and_a_link_used_from_the_admins_address(
    staff_admin, qa_reviewer, qa_reviewer2, users, client_for
):
    """R-AUTH-5, R-SIG-5: what remains — an administrator who uses the link themselves — is visible
    to QA: the reset names the administrator and the person, and the link used from the
    administrator's own address is flagged."""
    link = _reset(staff_admin, qa_reviewer)
    _use_link(link, CHOSEN, address="10.0.0.9")
    page = client_for(qa_reviewer2).get(reverse("password_resets"))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"({staff_admin.username})" in text and f"({qa_reviewer.username})" in text
    assert "same address as the administrator" in text
    assert client_for(users["customer_service"]).get(reverse("password_resets")).status_code == 403


def test_an_account_whose_password_an_admin_typed_cannot_sign(make_user):
    """R-AUTH-5, R-SIG-5: a new account still on the password its administrator typed signs nothing,
    even with that password, and the refusal says why."""
    person = make_user("qa_reviewer", must_change_password=True)
    with pytest.raises(SignatureError) as exc:
        verify_signer(user=person, password=PASSWORD)
    assert str(exc.value) == REFUSED
    refused = AuthEvent.objects.get(kind=AuthEvent.Kind.SIGNATURE_REFUSED, user=person)
    assert refused.detail == REFUSED
    person.must_change_password = False
    check_may_sign(person)
