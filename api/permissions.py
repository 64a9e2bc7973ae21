"""The API asks the same permission codenames as the pages (core/roles.py holds who has them)."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def require(*perms: str) -> type[BasePermission]:
    """A permission class: signed in (token or session) and holding every one of ``perms``."""

    class HasPerms(BasePermission):
        required = perms

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.is_active and all(user.has_perm(p) for p in perms))

    HasPerms.__name__ = "Has_" + "_".join(p.replace(".", "_") for p in perms)
    return HasPerms
