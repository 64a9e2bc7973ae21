"""Accounts: sign-in, idle timeout, lockout, no deletion, password policy (R-AUTH-1…5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from core.audit import AuditError
from core.forms import LinkSetPasswordForm
from core.models import AuthEvent, User
from core.roles import ADMIN, ALL_ROLES, AUDITOR, QA_REVIEWER
from tests.core.helpers import english_client, login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED_MESSAGE = "This account is locked after too many failed sign-ins"
NEW_PASSWORD = "Another-Long-Passphrase-77"

# Pages anyone may open without signing in; everything else in the URL configuration is GMP.
# "health": the monitoring endpoint says only ok or fail per check (tests/core/test_operations.py).
PUBLIC_URL_NAMES = {"login", "logout", "set_language", "javascript-catalog", "password_reset_confirm", "health"}


def _gmp_urls() -> list[str]:
    """One concrete URL for every named route outside admin and the public pages.

    Anonymous requests are turned away before the view runs, so placeholder ids are enough.
    Enumerated from the resolver so that a page added later is covered without editing this test.
    """
    samples = {
        "int": "1",
        "string": "release.product",
        "path": "x",
        "slug": "x",
        "uuid": "00000000-0000-0000-0000-000000000000",
    }
    found: list[str] = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            elif isinstance(p, URLPattern) and p.name and p.name not in PUBLIC_URL_NAMES:
                name = f"{namespace}:{p.name}" if namespace else p.name
                kwargs = {
                    k: samples[type(c).__name__.replace("Converter", "").lower()]
                    for k, c in p.pattern.converters.items()
                }
                found.append(reverse(name, kwargs=kwargs))

    walk(get_resolver().url_patterns, "", None)
    return sorted(set(found))


GMP_URLS = _gmp_urls()


def test_url_enumeration_finds_the_gmp_pages():
    """R-AUTH-1: guard for the test below — the enumeration really lists the known pages."""
    for url in [
        "/",
        "/audit/",
        "/audit/export.csv",
        "/accounts/locked/",
        "/release/products/",
        "/release/batches/1/edit/",
        "/api/v1/batches/1/gate/",
        "/api/v1/shipments/",
    ]:
        assert url in GMP_URLS


# The integration API answers its callers (other systems) with 401, not a sign-in page; its docs
# page is a page like the others.
API_URLS = {url for url in GMP_URLS if url.startswith("/api/v1/") and url != "/api/v1/docs/"}


def _refused_as_api(response) -> None:
    # The schema URL answers in the schema's own media type (OpenAPI YAML), the rest in JSON.
    assert response.status_code == 401
    assert b"not_authenticated" in response.content


@pytest.mark.parametrize("url", GMP_URLS)
def test_anonymous_get_of_gmp_page_is_sent_to_login(url, anon):
    """R-AUTH-1: an anonymous request to any GMP page gets the login page (the API: 401), not the data."""
    response = anon.get(url)
    if url in API_URLS:
        return _refused_as_api(response)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", GMP_URLS)
def test_anonymous_post_to_gmp_url_is_sent_to_login(url, anon, draft_product):
    """R-AUTH-1: an anonymous POST changes nothing and is sent to the login page."""
    response = anon.post(url, {"reason": "x", "approve-password": PASSWORD})
    if url in API_URLS:
        _refused_as_api(response)
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    draft_product.refresh_from_db()
    assert draft_product.status == "draft"


def test_active_user_signs_in_and_the_sign_in_is_audited(make_user, anon):
    """R-AUTH-1, R-AUTH-3: the happy path the refusals below are measured against."""
    user = make_user(QA_REVIEWER, username="li.na")
    response = login(anon, "li.na", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:my_work")
    assert anon.get("/").status_code == 200
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.LOGIN).count() == 1


def test_deactivated_user_cannot_sign_in(make_user, anon):
    """R-AUTH-1: a deactivated account is refused even with the right password."""
    user = make_user(QA_REVIEWER, username="wang.fang")
    user.is_active = False
    user._change_reason = "left the company"
    user.save()
    response = login(anon, "wang.fang", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in anon.session
    assert response.context["form"].non_field_errors()
    assert anon.get("/").status_code == 302
    assert not Client().login(username="wang.fang", password=PASSWORD)


def test_deactivating_a_signed_in_user_ends_their_session(make_user, client_for):
    """R-AUTH-1: deactivation takes effect on the next request, not at the next sign-in."""
    user = make_user(QA_REVIEWER)
    client = client_for(user)
    assert client.get("/release/products/").status_code == 200
    user.is_active = False
    user.save()
    response = client.get("/release/products/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- R-AUTH-2 idle timeout ----------------------------------------------------------------------


def test_idle_timeout_defaults_to_30_minutes_and_slides_with_each_request():
    """R-AUTH-2: 30 minutes of inactivity (a setting), renewed by requests (core.sessions)."""
    assert settings.SESSION_IDLE_TIMEOUT_MINUTES == 30
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_ENGINE == "core.sessions"
    assert "core.sessions.SlidingSessionMiddleware" in settings.MIDDLEWARE


def _session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_session_expires_30_minutes_after_the_last_request(make_user, anon):
    """R-AUTH-2: the stored expiry is 30 minutes ahead and each request pushes it forward."""
    make_user(QA_REVIEWER, username="zhao.lei")
    login(anon, "zhao.lei", PASSWORD)
    row = _session_row(anon)
    assert abs((row.expire_date - timezone.now()) - timedelta(minutes=30)) < timedelta(seconds=30)
    # Pretend 25 idle minutes have passed: 5 minutes left. A request renews the full window.
    Session.objects.filter(pk=row.pk).update(expire_date=timezone.now() + timedelta(minutes=5))
    assert anon.get("/").status_code == 200
    renewed = _session_row(anon).expire_date
    assert renewed - timezone.now() > timedelta(minutes=29)


def test_pages_read_within_a_minute_of_the_last_renewal_write_no_session_row(
    make_user, anon, django_assert_num_queries
):
    """R-AUTH-2, R-PERF-1: the window slides at most once a minute, not with a write on every page.
    Within that minute the stored expiry stays; a request once it is over a minute old renews it."""
    make_user(QA_REVIEWER, username="qian.hong")
    login(anon, "qian.hong", PASSWORD)
    anon.get("/")
    stored = _session_row(anon).expire_date
    with CaptureQueriesContext(connection) as queries:
        assert anon.get("/").status_code == 200
    assert not [q for q in queries if "django_session" in q["sql"] and q["sql"].lstrip().startswith("UPDATE")]
    assert _session_row(anon).expire_date == stored
    # 61 seconds later (the stored expiry moved back by as much), the next request renews it.
    Session.objects.filter(session_key=anon.session.session_key).update(expire_date=stored - timedelta(seconds=61))
    assert anon.get("/").status_code == 200
    assert _session_row(anon).expire_date - timezone.now() > timedelta(minutes=29, seconds=50)


def test_a_short_idle_timeout_renews_within_a_tenth_of_the_window(settings, make_user, anon):
    """R-AUTH-2: with a 1-minute timeout the window slides after 6 seconds, so a person working
    keeps their session (a fixed one-minute step would let it lapse)."""
    settings.SESSION_COOKIE_AGE = 60
    make_user(QA_REVIEWER, username="zhou.min")
    login(anon, "zhou.min", PASSWORD)
    key = anon.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(seconds=53))
    assert anon.get("/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date - timezone.now() > timedelta(seconds=55)


def test_expired_session_is_sent_to_login(make_user, anon):
    """R-AUTH-2: after the idle timeout the next request needs a new sign-in."""
    make_user(QA_REVIEWER, username="sun.li")
    login(anon, "sun.li", PASSWORD)
    assert anon.get("/release/products/").status_code == 200
    Session.objects.filter(session_key=anon.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = anon.get("/release/products/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- R-AUTH-3 lockout ----------------------------------------------------------------------------


def _fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        response = login(client, username, "not-the-password")
        assert response.status_code == 200


def test_lockout_threshold_defaults_to_five():
    """R-AUTH-3: 5 failed sign-ins by default (a setting)."""
    assert settings.LOCKOUT_THRESHOLD == 5


def test_failed_sign_ins_lock_the_account_and_are_audited(make_user, anon):
    """R-AUTH-3: LOCKOUT_THRESHOLD failures lock the account; each failure and the lock are audited."""
    user = make_user(QA_REVIEWER, username="zhou.min")
    _fail(anon, "zhou.min", settings.LOCKOUT_THRESHOLD - 1)
    user.refresh_from_db()
    assert not user.is_locked and user.failed_login_count == settings.LOCKOUT_THRESHOLD - 1
    _fail(anon, "zhou.min", 1)
    user.refresh_from_db()
    assert user.is_locked
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.LOGIN_FAILED).count() == settings.LOCKOUT_THRESHOLD
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.LOCKED).count() == 1

    response = login(anon, "zhou.min", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in anon.session
    assert LOCKED_MESSAGE in response.content.decode()


def test_lockout_threshold_is_a_setting(make_user, anon, settings):
    """R-AUTH-3: the company's own threshold is honoured."""
    settings.LOCKOUT_THRESHOLD = 3
    user = make_user(QA_REVIEWER, username="wu.gang")
    _fail(anon, "wu.gang", 2)
    user.refresh_from_db()
    assert not user.is_locked
    _fail(anon, "wu.gang", 1)
    user.refresh_from_db()
    assert user.is_locked


def test_successful_sign_in_resets_the_failure_count(make_user, anon):
    """R-AUTH-3: the threshold counts failures in a row."""
    user = make_user(QA_REVIEWER, username="zheng.yu")
    _fail(anon, "zheng.yu", settings.LOCKOUT_THRESHOLD - 1)
    assert login(anon, "zheng.yu", PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.failed_login_count == 0
    anon.post("/accounts/logout/")
    _fail(anon, "zheng.yu", settings.LOCKOUT_THRESHOLD - 1)
    user.refresh_from_db()
    assert not user.is_locked


def test_locking_ends_the_locked_persons_open_session(make_user, client_for, anon):
    """R-AUTH-3: someone guessing the password elsewhere locks the account for every session."""
    user = make_user(QA_REVIEWER, username="qian.hui")
    client = client_for(user)
    assert client.get("/").status_code == 200
    _fail(anon, "qian.hui", settings.LOCKOUT_THRESHOLD)
    assert client.get("/").status_code == 302


def _lock(user: User) -> None:
    _fail(english_client(), user.username, settings.LOCKOUT_THRESHOLD)
    user.refresh_from_db()
    assert user.is_locked


def test_admin_sees_locked_accounts_and_unlocks_with_audit(make_user, admin_user, client_for):
    """R-AUTH-3: only an administrator unlocks; the unlock is audited with who did it."""
    user = make_user(QA_REVIEWER, username="feng.jie", full_name="冯杰")
    _lock(user)
    client = client_for(admin_user)
    page = client.get(reverse("core:locked_users"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "feng.jie" in html and "Account locked" in html and "Failed sign-in" in html

    response = client.post(reverse("core:unlock", args=[user.pk]))
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_locked and user.failed_login_count == 0
    event = AuthEvent.objects.get(user=user, kind=AuthEvent.Kind.UNLOCKED)
    assert event.actor == admin_user
    last = user.history.first()
    assert last.history_user == admin_user and last.history_change_reason == "unlocked by administrator"
    assert login(english_client(), "feng.jie", PASSWORD).status_code == 302


def test_unlock_needs_post(make_user, admin_user, client_for):
    """R-AUTH-3: a link (GET) cannot unlock an account."""
    user = make_user(QA_REVIEWER)
    _lock(user)
    assert client_for(admin_user).get(reverse("core:unlock", args=[user.pk])).status_code == 405
    user.refresh_from_db()
    assert user.is_locked


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != ADMIN])
def test_other_roles_cannot_see_or_unlock_locked_accounts(role, users, make_user, client_for):
    """R-AUTH-3: the unlock action is for administrators only; the list also for auditors."""
    victim = make_user(QA_REVIEWER, username="victim")
    _lock(victim)
    client = client_for(users[role])
    # Auditors read the lock list and security log (R-AT-5); nobody but an administrator unlocks.
    expected_view = 200 if role == AUDITOR else 403
    assert client.get(reverse("core:locked_users")).status_code == expected_view
    assert client.post(reverse("core:unlock", args=[victim.pk])).status_code == 403
    victim.refresh_from_db()
    assert victim.is_locked
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.UNLOCKED).exists()


# --- R-AUTH-4 never deleted, never reused ----------------------------------------------------


def test_user_delete_is_refused(make_user):
    """R-AUTH-4: users are deactivated, never deleted — by instance, queryset or base manager."""
    user = make_user(QA_REVIEWER)
    with pytest.raises(AuditError):
        user.delete()
    with pytest.raises(AuditError):
        User.objects.filter(pk=user.pk).delete()
    with pytest.raises(AuditError):
        User.objects.all().delete()
    with pytest.raises(AuditError):
        User._base_manager.filter(pk=user.pk).delete()
    assert User.objects.filter(pk=user.pk).exists()


def test_account_writes_that_bypass_its_history_are_refused(make_user):
    """R-AT-4, R-AUTH-3: no queryset update or bulk write on users — e.g. an unlock without the audit."""
    user = make_user(QA_REVIEWER)
    _lock(user)
    for write in (
        lambda: User.objects.filter(pk=user.pk).update(locked_at=None, failed_login_count=0),
        lambda: User._base_manager.filter(pk=user.pk).update(locked_at=None),
        lambda: User.objects.bulk_update([user], ["locked_at"]),
        lambda: User.objects.bulk_create([User(username="bulk.made")]),
    ):
        with pytest.raises(AuditError):
            write()
    user.refresh_from_db()
    assert user.is_locked
    assert not User.objects.filter(username="bulk.made").exists()


def test_username_differing_only_in_case_is_refused_by_the_database(make_user):
    """R-AUTH-4: "zhang" and "Zhang" would be the same name on a signature."""
    make_user(username="zhang.san")
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            User.objects.create_user(username="Zhang.San", password=PASSWORD)
    assert User.objects.filter(username__iexact="zhang.san").count() == 1


def test_deactivated_users_username_is_never_reused(make_user):
    """R-AUTH-4: a deactivated account keeps its username for ever."""
    old = make_user(username="chen.jing")
    old.is_active = False
    old.save()
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            User.objects.create_user(username="chen.jing", password=PASSWORD)


def test_a_username_cannot_be_renamed_so_it_can_never_be_issued_again(make_user):
    """R-AUTH-4: renaming "chen.jing" would free the name for another person; refused."""
    person = make_user(username="chen.jing2")
    person = User.objects.get(pk=person.pk)
    person.username = "chen.jing2.old"
    with pytest.raises(AuditError):
        person.save()
    assert User.objects.filter(username="chen.jing2").exists()
    # Other changes to the same person are saved as usual.
    person = User.objects.get(pk=person.pk)
    person.full_name = "陈静"
    person.save()


def test_a_new_account_cannot_be_renamed_after_its_first_save_either():
    """R-AUTH-4: the same in-memory object that created the account cannot rename it."""
    person = User.objects.create_user(username="lin.tao", password=PASSWORD)
    person.username = "lin.tao2"
    with pytest.raises(AuditError):
        person.save()
    assert User.objects.filter(username="lin.tao").exists()


def test_admin_cannot_rename_a_user(make_user, admin_user):
    """R-AUTH-4: the admin change page shows the username read-only; a posted new one is ignored."""
    admin_user.is_staff = True
    admin_user.save()
    person = make_user(QA_REVIEWER, username="he.ping")
    client = english_client()
    client.force_login(admin_user)
    url = reverse("admin:core_user_change", args=[person.pk])
    assert "username" not in client.get(url).context["adminform"].form.fields
    response = client.post(
        url,
        {
            "username": "he.ping.old",
            "full_name": "何平",
            "first_name": "",
            "last_name": "",
            "email": person.email,
            "is_active": "on",
            "groups": [g.pk for g in person.groups.all()],
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.username == "he.ping" and person.full_name == "何平"
    assert not User.objects.filter(username="he.ping.old").exists()


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(username="root", password=PASSWORD, email="root@example.com")


def test_admin_site_offers_no_way_to_delete_users(superuser, make_user):
    """R-AUTH-4: even a superuser cannot delete a user in admin (no delete view, no bulk action)."""
    user = make_user(QA_REVIEWER)
    client = english_client()
    client.force_login(superuser)
    url = reverse("admin:core_user_delete", args=[user.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    changelist = client.get(reverse("admin:core_user_changelist"))
    assert changelist.status_code == 200
    assert "delete_selected" not in changelist.content.decode()
    assert User.objects.filter(pk=user.pk).exists()


def test_admin_add_user_refuses_a_username_differing_only_in_case(superuser, make_user):
    """R-AUTH-4: the admin form says so beside the field rather than failing in the database."""
    make_user(username="liu.yang")
    client = english_client()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:core_user_add"),
        {"username": "LIU.YANG", "full_name": "刘洋"},
    )
    assert response.status_code == 200
    assert "username" in response.context["adminform"].form.errors
    assert User.objects.filter(username__iexact="liu.yang").count() == 1


# --- R-AUTH-5 password policy, reset = forced change ------------------------------------------


@pytest.mark.parametrize("weak", ["short1!", "password123", "12345678901234", "qa_reviewer2024"])
def test_weak_passwords_are_rejected(weak, make_user):
    """R-AUTH-5: length, common, all-numeric and similar-to-username passwords are refused."""
    user = make_user(username="qa_reviewer2024x")
    with pytest.raises(ValidationError):
        validate_password(weak, user=user)


def test_a_strong_password_passes_the_validators(make_user):
    """R-AUTH-5: the validators do not refuse everything."""
    validate_password(NEW_PASSWORD, user=make_user())


def test_reset_link_form_refuses_a_weak_password(make_user):
    """R-AUTH-5: the password chosen with a reset link obeys the same policy."""
    user = make_user()
    form = LinkSetPasswordForm(user, data={"new_password1": "12345", "new_password2": "12345"})
    assert not form.is_valid()
    assert "new_password2" in form.errors or "new_password1" in form.errors


@pytest.fixture
def admin_staff(make_user) -> User:
    """A system administrator with access to the admin site (role permissions only)."""
    return make_user(ADMIN, username="sysadmin", is_staff=True)


def test_admin_reset_forces_a_password_change_at_next_sign_in(admin_staff, make_user):
    """R-AUTH-5: after a reset the person chooses their own password with the one-time link before
    anything else; the administrator never sets one."""
    user = make_user(QA_REVIEWER, username="he.ping")
    admin = english_client()
    admin.force_login(admin_staff)
    response = admin.post(reverse("admin:auth_user_password_change", args=[user.pk]))
    assert response.status_code == 200
    assert response.context["sent_to"] == user.email
    link = next(line for line in mail.outbox[-1].body.splitlines() if line.startswith(settings.SITE_URL))
    user.refresh_from_db()
    assert user.must_change_password and not user.has_usable_password()
    assert user.history.first().history_change_reason == "password reset by administrator"
    person = english_client()
    assert login(person, "he.ping", PASSWORD).status_code == 200  # the old password no longer works

    form_url = person.get(link.removeprefix(settings.SITE_URL), follow=True).redirect_chain[-1][0]
    response = person.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert user.check_password(NEW_PASSWORD)
    assert AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.PASSWORD_CHANGED).exists()
    assert login(person, "he.ping", NEW_PASSWORD).status_code == 302
    assert person.get("/release/products/").status_code == 200


def test_forced_change_refuses_keeping_the_administrators_password(make_user):
    """R-AUTH-5: a new account's first password was typed by the administrator: it cannot be kept."""
    user = make_user(username="luo.xin", must_change_password=True)
    client = english_client()
    client.force_login(user)
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD}
    )
    assert response.status_code == 200
    assert "new_password1" in response.context["form"].errors
    assert "must be different from the current one" in response.content.decode()
    user.refresh_from_db()
    assert user.must_change_password
    assert client.get("/").status_code == 302


def test_forced_change_refuses_a_weak_new_password(make_user):
    """R-AUTH-5: the forced change obeys the policy and keeps the flag until a good password is set."""
    user = make_user(username="tang.wei", must_change_password=True)
    client = english_client()
    client.force_login(user)
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    user.refresh_from_db()
    assert user.must_change_password and user.check_password(PASSWORD)
    assert client.get("/").status_code == 302


def test_admin_cannot_read_a_users_password(admin_staff, make_user):
    """R-AUTH-5: the admin user page never shows the password hash."""
    user = make_user(QA_REVIEWER)
    client = english_client()
    client.force_login(admin_staff)
    page = client.get(reverse("admin:core_user_change", args=[user.pk]))
    assert page.status_code == 200
    stored_hash = user.password.split("$")[-1]
    assert stored_hash not in page.content.decode()
