"""Permission helpers used at the top of every view (HOUSE_STYLE: authorise first)."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest

M = TypeVar("M", bound=models.Model)


def require_perm(request: HttpRequest, perm: str, obj: models.Model | None = None) -> None:
    """403 unless the signed-in user holds ``perm`` (globally, or on ``obj`` via guardian)."""
    user = request.user
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied
    if user.has_perm(perm) or (obj is not None and user.has_perm(perm, obj)):
        return
    raise PermissionDenied


def get_object_for_user(request: HttpRequest, queryset: models.QuerySet[M] | type[M], pk: object, perm: str) -> M:
    """Fetch or 404, then 403 unless the user holds ``perm``. A malformed id is a 404, not a 500."""
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    try:
        obj = queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    require_perm(request, perm, obj)
    return obj


def require_any_perm(request: HttpRequest, *perms: str) -> None:
    """403 unless the signed-in person holds at least one of ``perms`` (e.g. the reviewer or the
    QC head may send a record back)."""
    user = request.user
    if not (user.is_authenticated and user.is_active and any(user.has_perm(p) for p in perms)):
        raise PermissionDenied
