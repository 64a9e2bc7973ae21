import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from core.models import AuthEvent, User
from release import services
from tests.factories import PASSWORD, ProductFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Secret-991!"


def _staff_admin(admin_user):
    admin_user.is_staff = True
    admin_user._change_reason = "test"
    admin_user.save()
    return admin_user


def test_admin_password_reset_writes_a_security_event_and_unlocks(admin_user, qa_reviewer, client_for):
    """R-AUTH-3, R-AUTH-5: a reset is audited with who did it; a lock it clears is audited as an unlock."""
    qa_reviewer.locked_at = timezone.now()
    qa_reviewer._change_reason = "test"
    qa_reviewer.save()
    client = client_for(_staff_admin(admin_user))
    url = reverse("admin:auth_user_password_change", args=[qa_reviewer.pk])
    response = client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 200 and response.context["sent_to"] == qa_reviewer.email, response.content[:2000]
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.must_change_password and not qa_reviewer.is_locked
    reset = AuthEvent.objects.get(kind=AuthEvent.Kind.PASSWORD_RESET, user=qa_reviewer)
    assert reset.actor == admin_user
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.UNLOCKED, user=qa_reviewer, actor=admin_user).exists()


def test_an_administrator_cannot_change_their_own_roles(admin_user, client_for):
    """R-SIG-5: an administrator cannot move themselves into a signing role."""
    client = client_for(_staff_admin(admin_user))
    page = client.get(f"/admin/core/user/{admin_user.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "groups" not in form.fields  # shown read-only, not as an input
    qa = Group.objects.get(name="qa_reviewer")
    client.post(
        f"/admin/core/user/{admin_user.pk}/change/",
        {"username": admin_user.username, "full_name": "x", "groups": [qa.pk], "is_active": "on"},
    )
    assert not User.objects.get(pk=admin_user.pk).groups.filter(name="qa_reviewer").exists()


def test_an_administrator_can_change_another_persons_roles(admin_user, make_user, client_for):
    other = make_user("qc_analyst", username="analyst9")
    client = client_for(_staff_admin(admin_user))
    form = client.get(f"/admin/core/user/{other.pk}/change/").context["adminform"].form
    assert "groups" in form.fields


def test_auditor_reads_security_events_without_unlock_buttons(auditor, make_user, client_for):
    """R-AT-5, R-AUTH-3: failures and lockouts are visible to auditors, who cannot unlock."""
    locked = make_user("qc_analyst", username="lockedone")
    locked.locked_at = timezone.now()
    locked._change_reason = "test"
    locked.save()
    AuthEvent.objects.create(kind=AuthEvent.Kind.LOCKED, username="lockedone", user=locked)
    page = client_for(auditor).get(reverse("core:locked_users"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "lockedone" in html and "Account locked" in html
    assert reverse("core:unlock", args=[locked.pk]) not in html
    assert client_for(auditor).post(reverse("core:unlock", args=[locked.pk])).status_code == 403


def test_csv_export_keeps_formula_like_values_as_text(qa_reviewer, admin_user, auditor, client_for):
    """R-AT-5: a value typed as "=cmd()" cannot run as a formula when the CSV is opened."""
    product = ProductFactory(last_changed_by=admin_user)
    services.product_update(product=product, user=admin_user, data={"pack_size": '=HYPERLINK("x")'}, reason="+1 test")
    response = client_for(auditor).get(reverse("core:audit_export"), {"record_type": "release.product"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    cells = [c for row in rows for c in row]
    assert '\'=HYPERLINK("x")' in cells
    assert "'+1 test" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert PASSWORD not in text


def test_role_changes_in_admin_are_security_events_with_who_and_what(admin_user, make_user, auditor, client_for):
    """R-AT-1, R-AT-5 (Annex 11 §12.3): granting and withdrawing a role is recorded with the
    administrator who did it, and auditors read it; the user's history alone shows no difference."""
    person = make_user("qc_analyst", username="analyst10")
    qa = Group.objects.get(name="qa_reviewer")
    client = client_for(_staff_admin(admin_user))
    response = client.post(
        reverse("admin:core_user_change", args=[person.pk]),
        {
            "username": person.username,
            "full_name": person.full_name,
            "first_name": "",
            "last_name": "",
            "email": person.email,
            "is_active": "on",
            "groups": [qa.pk],
        },
    )
    assert response.status_code == 302
    events = AuthEvent.objects.filter(kind=AuthEvent.Kind.ROLES_CHANGED, user=person, actor=admin_user)
    assert sorted(events.values_list("detail", flat=True)) == ["+qa_reviewer", "-qc_analyst"]
    page = client_for(auditor).get(reverse("core:locked_users")).content.decode()
    assert "Roles changed" in page and "+qa_reviewer" in page and "-qc_analyst" in page


def test_role_changes_outside_the_admin_are_recorded_too(make_user):
    """R-AT-1 by every path: a command or shell that adds, removes or clears roles (from either
    side of the relation) leaves a security event, with no person as actor."""
    person = make_user(username="analyst11")
    qc_head = Group.objects.get(name="qc_head")
    qc_head.user_set.add(person)
    person.groups.add(Group.objects.get(name="qc_reviewer"))
    person.groups.clear()
    details = list(
        AuthEvent.objects.filter(kind=AuthEvent.Kind.ROLES_CHANGED, user=person)
        .order_by("id")
        .values_list("detail", "actor")
    )
    assert details == [("+qc_head", None), ("+qc_reviewer", None), ("-qc_head -qc_reviewer", None)]


def test_admin_cannot_clear_the_forced_password_change_after_a_reset(admin_user, make_user, client_for):
    """R-AUTH-5: after a reset the person must choose their own password; the administrator cannot
    untick "must change password" and leave the person on a password the administrator knows."""
    person = make_user("qc_analyst", username="analyst12")
    client = client_for(_staff_admin(admin_user))
    reset = client.post(reverse("admin:auth_user_password_change", args=[person.pk]))
    assert reset.status_code == 200 and reset.context["sent_to"] == person.email
    url = reverse("admin:core_user_change", args=[person.pk])
    assert "must_change_password" not in client.get(url).context["adminform"].form.fields
    client.post(
        url,
        {
            "full_name": person.full_name,
            "first_name": "",
            "last_name": "",
            "email": person.email,
            "is_active": "on",
            "groups": [g.pk for g in person.groups.all()],  # the checkbox left unticked
        },
    )
    person.refresh_from_db()
    assert person.must_change_password


def test_wrong_passwords_do_not_grow_the_persons_history(qa_reviewer):
    """R-PERF-1, R-AUTH-3: failures are security events; the user's history gets only the lock."""
    from django.conf import settings
    from django.test import Client

    before = qa_reviewer.history.count()
    client = Client()
    for _ in range(settings.LOCKOUT_THRESHOLD + 3):
        client.post(reverse("login"), {"username": qa_reviewer.username, "password": "wrong-password"})
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.is_locked
    assert qa_reviewer.history.count() == before + 1  # the lock
    assert (
        AuthEvent.objects.filter(user=qa_reviewer, kind=AuthEvent.Kind.LOGIN_FAILED).count()
        == settings.LOCKOUT_THRESHOLD + 3
    )


def test_audit_search_pages_past_any_depth_and_an_old_page_link_shows_the_newest(auditor, client_for):
    """R-PERF-1, R-AT-5, issue 12: paging is by keyset, so there is no depth limit (the old cap of
    100 offset pages is gone); a bookmarked ``?page=`` link shows the newest changes, no error."""
    from core import audit_trail

    for n in range(3):
        ProductFactory(name=f"分页测试{n}")
    client = client_for(auditor)
    page = client.get(reverse("core:audit_search"), {"page": "999"})
    assert page.status_code == 200
    assert not page.context["not_first"] and page.context["entries"]
    cursor, pages = None, 0
    while True:
        _entries, cursor = audit_trail.search_page(audit_trail.SearchFilter(), cursor, per_page=1)
        pages += 1
        if cursor is None:
            break
    total = sum(m.objects.count() for m in audit_trail.history_models())
    assert pages == total
