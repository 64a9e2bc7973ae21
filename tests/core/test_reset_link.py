"""No impersonation by administrators (issue 8 item 6; R-AUTH-5, R-SIG-5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from django.utils import translation

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
    page = response.content.decode()
    # The person has an e-mail address: the link goes to their mailbox, never to the admin's page.
    assert f"The one-time link for {person.username} was sent to their e-mail address {person.email}." in page
    assert response.context["link"] is None and "/reset/" not in page
    sent = mail.outbox[-1]
    assert sent.to == [person.email]
    link = next(line for line in sent.body.splitlines() if line.startswith(settings.SITE_URL))
    assert link.split("/")[-2] not in page  # the token
    return link


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
    with pytest.raises(SignatureError) as exc, translation.override("en"):
        verify_signer(user=person, password=PASSWORD)
    assert str(exc.value) == REFUSED
    refused = AuthEvent.objects.get(kind=AuthEvent.Kind.SIGNATURE_REFUSED, user=person)
    assert refused.detail == REFUSED
    person.must_change_password = False
    check_may_sign(person)


def test_a_new_account_starts_without_a_typed_password_and_gets_a_one_time_link(staff_admin, users, client_for):
    """R-AUTH-5, R-SIG-5 (issue 8 item 6): the admin's add form asks for no password; the account
    starts with an unusable password and the response shows its one-time link (named on the
    "Password resets" page as a new account); its owner chooses the password with it and signs in."""
    from core.models import User

    client = english_client()
    client.force_login(staff_admin)
    form = client.get(reverse("admin:core_user_add")).content.decode()
    assert 'name="username"' in form and 'name="password1"' not in form and 'name="password2"' not in form
    qa_group = users["qa_reviewer"].groups.get()
    response = client.post(
        reverse("admin:core_user_add"),
        {"username": "zhou.min", "full_name": "周敏", "groups": [qa_group.pk], "password1": "Typed-By-Admin-77"},
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The account zhou.min was created without a password." in page and "One-time link for zhou.min" in page
    person = User.objects.get(username="zhou.min")
    assert not person.has_usable_password() and person.must_change_password
    assert list(person.groups.all()) == [qa_group]
    assert not english_client().login(username="zhou.min", password="Typed-By-Admin-77")
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.PASSWORD_RESET, user=person)
    assert event.actor == staff_admin
    assert event.detail == "new account: one-time link issued; shown to the administrator (no e-mail address)"
    _client, done = _use_link(response.context["link"], CHOSEN)
    assert "Your password has been set. Sign in with it." in done.content.decode()
    person.refresh_from_db()
    assert person.check_password(CHOSEN) and not person.must_change_password
    resets = client_for(users["auditor"]).get(reverse("password_resets")).content.decode()
    row = [r for r in resets.split('data-testid="reset-row"')[1:] if "(zhou.min)" in r][0]
    assert "new account" in row and f"({staff_admin.username})" in row
    assert "link shown to the administrator" in row


def test_the_issuing_admin_cannot_complete_the_link_and_the_attempt_is_flagged(
    staff_admin, qa_reviewer, qa_reviewer2, client_for
):
    """R-AUTH-5, R-SIG-5 (issue 8 item 6): the administrator who reset a QA reviewer's password
    opens the link while signed in: refused (403, saying why), nothing changes, and the attempt is
    a security event flagged on the "Password resets" page. The person then uses the same link."""
    link = _reset(staff_admin, qa_reviewer)
    path = link.removeprefix(settings.SITE_URL)
    admin_client = english_client()
    admin_client.force_login(staff_admin)
    refused = admin_client.get(path, follow=True)
    assert refused.status_code == 403
    assert "You issued this link: only" in refused.content.decode() and f"({qa_reviewer.username})" in (
        refused.content.decode()
    )
    posted = admin_client.post(path, {"new_password1": TEMPORARY, "new_password2": TEMPORARY})
    assert posted.status_code == 403
    qa_reviewer.refresh_from_db()
    assert not qa_reviewer.has_usable_password()
    events = AuthEvent.objects.filter(kind=AuthEvent.Kind.RESET_LINK_REFUSED, user=qa_reviewer)
    assert events.count() == 2 and {e.actor for e in events} == {staff_admin}
    page = client_for(qa_reviewer2).get(reverse("password_resets")).content.decode()
    flag = page.split('data-testid="issuer-refused"')[1].split("</div>")[0]
    assert f"Opened by {staff_admin.printed_name}, the administrator who issued it, while signed in" in flag
    assert "refused" in flag
    _client, done = _use_link(link, CHOSEN)
    assert "Your password has been set." in done.content.decode()


def test_a_link_mailed_to_the_person_is_never_shown_to_the_admin_and_the_page_says_so(
    staff_admin, qa_reviewer, qa_reviewer2, client_for
):
    """R-AUTH-5, R-SIG-5 (issue 8 item 6): a person with an e-mail address gets the link in their
    own mailbox, in both languages; the administrator's page names the address but holds no link,
    so the administrator cannot use it even after signing out. QA's page says how it was sent."""
    link = _reset(staff_admin, qa_reviewer)
    sent = mail.outbox[-1]
    assert sent.subject == "【Release Desk】选择您的 Release Desk 密码 / Choose your Release Desk password"
    assert f"An administrator reset the password of your account {qa_reviewer.username}." in sent.body
    assert f"管理员重置了您的账户 {qa_reviewer.username} 的密码" in sent.body
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.PASSWORD_RESET, user=qa_reviewer)
    assert event.detail == "one-time link issued; sent to the person's e-mail"
    row = client_for(qa_reviewer2).get(reverse("password_resets")).content.decode()
    assert "link sent to the person&#x27;s e-mail" in row or "link sent to the person's e-mail" in row
    _client, done = _use_link(link, CHOSEN)
    assert "Your password has been set. Sign in with it." in done.content.decode()


def test_a_person_without_an_address_gets_the_link_shown_once_and_flagged(staff_admin, qa_reviewer):
    """R-AUTH-5 (issue 8 item 6): without an e-mail address the link is shown to the administrator
    once, with the instruction to hand it over in person, and the event records that it was shown."""
    qa_reviewer.email = ""
    qa_reviewer._change_reason = "test"
    qa_reviewer.save()
    client = english_client()
    client.force_login(staff_admin)
    outbox = len(mail.outbox)
    response = client.post(reverse("admin:auth_user_password_change", args=[qa_reviewer.pk]))
    page = response.content.decode()
    assert f"One-time link for {qa_reviewer.username}:" in page
    assert "This person has no e-mail address on record, so the link is shown to you once." in page
    assert response.context["link"] in page and len(mail.outbox) == outbox
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.PASSWORD_RESET, user=qa_reviewer)
    assert event.detail == "one-time link issued; shown to the administrator (no e-mail address)"


def test_a_mail_that_cannot_be_sent_resets_nothing_and_says_so(staff_admin, qa_reviewer, settings, monkeypatch):
    """R-AUTH-5 (issue 8 item 6): if the mail server refuses, the reset is rolled back — the old
    password still works, no event claims a link was issued — and the administrator is told why."""
    import smtplib

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    client = english_client()
    client.force_login(staff_admin)
    response = client.post(reverse("admin:auth_user_password_change", args=[qa_reviewer.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        f"The e-mail with the one-time link could not be sent to {qa_reviewer.email} "
        "(Connection unexpectedly closed). Nothing was reset: the current password still works." in page
    )
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.check_password(PASSWORD) and not qa_reviewer.must_change_password
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.PASSWORD_RESET, user=qa_reviewer).exists()
