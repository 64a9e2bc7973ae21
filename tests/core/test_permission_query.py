"""A person's permissions in one query (core.auth.LockoutModelBackend, issue 12, R-PERF-1):
the same answer as Django's two queries, for own, group, inactive and superuser accounts (R-AUTH-4)."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission

from core.auth import LockoutModelBackend
from core.models import User
from core.roles import AUDITOR, QA_REVIEWER

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # no permission cache


def test_own_and_group_permissions_in_one_query(make_user, django_assert_num_queries):
    user = make_user(QA_REVIEWER, username="wu.fang")
    user.user_permissions.add(Permission.objects.get(codename="view_audit_trail"))
    expected = ModelBackend().get_all_permissions(_fresh(user))
    assert "core.view_audit_trail" in expected  # her own
    assert "release.approve_product" in expected  # her group's
    user = _fresh(user)
    with django_assert_num_queries(1):
        assert LockoutModelBackend().get_all_permissions(user) == expected
    with django_assert_num_queries(0):  # cached on the person for the request
        assert user.has_perm("release.approve_product") and user.has_perm("core.view_audit_trail")
    assert not user.has_perm("release.decide_batch")


def test_a_group_change_shows_on_the_next_request(make_user):
    user = make_user(AUDITOR, username="he.jun")
    assert not _fresh(user).has_perm("release.approve_product")
    user.groups.add(Group.objects.get(name=QA_REVIEWER))
    assert _fresh(user).has_perm("release.approve_product")


def test_inactive_accounts_have_none_and_superusers_all(make_user, django_assert_num_queries):
    inactive = _fresh(make_user(QA_REVIEWER, username="gone", is_active=False))
    with django_assert_num_queries(0):
        assert LockoutModelBackend().get_all_permissions(inactive) == set()
    root = _fresh(make_user(username="root", is_superuser=True))
    every = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    assert LockoutModelBackend().get_all_permissions(root) == every
    assert LockoutModelBackend().get_all_permissions(root, obj=object()) == set()
