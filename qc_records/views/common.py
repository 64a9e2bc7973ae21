from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest

PAGE_SIZE = 25


def require_any(request: HttpRequest, *perms: str) -> None:
    """403 unless the signed-in person holds at least one of ``perms``."""
    user = request.user
    if not (user.is_authenticated and user.is_active and any(user.has_perm(p) for p in perms)):
        raise PermissionDenied


def page(request: HttpRequest, queryset, size: int = PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
