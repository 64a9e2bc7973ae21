"""One error format for every refusal the API gives (documented in the README and the schema):

    {"errors": [{"field": "quantity", "code": "invalid", "message": "…", "row": 0}]}

``field`` is null for what concerns the whole request (the shipping gate, a permission);
``row`` appears only for a list (the index of the row refused). ``message`` is translated into
the language asked with ``Accept-Language`` (简体中文 when none is asked).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.workflow import InputError, WorkflowError


def error(message: Any, *, field: str | None = None, code: str = "invalid", row: int | None = None) -> dict:
    item: dict[str, Any] = {"field": field or None, "code": str(code), "message": str(message)}
    if row is not None:
        item["row"] = row
    return item


def _flatten(detail: Any, field: str | None, row: int | None, out: list[dict]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "") else (f"{field}.{key}" if field else str(key))
            _flatten(value, name, row, out)
    elif isinstance(detail, list):
        for value in detail:
            _flatten(value, field, row, out)
    else:
        out.append(error(detail, field=field, code=getattr(detail, "code", "invalid"), row=row))


def drf_errors(detail: Any, row: int | None = None) -> list[dict]:
    out: list[dict] = []
    _flatten(detail, None, row, out)
    return out


def input_errors(exc: WorkflowError, row: int | None = None) -> list[dict]:
    """A service's refusal: field by field (``InputError``), or one message (``WorkflowError``)."""
    if isinstance(exc, InputError):
        return [
            error(message, field=key or None, code="refused" if not key else "invalid", row=row)
            for key, messages in exc.errors.items()
            for message in messages
        ]
    return [error(exc, code="refused", row=row)]


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exceptions, Django's 404/403 and the services' refusals in the one format."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(_("You do not have permission to do this."))
    if isinstance(exc, WorkflowError):
        set_rollback()
        return Response({"errors": input_errors(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc.detail, dict | list):
        errors = drf_errors(exc.detail)
    else:
        errors = [error(exc.detail, code=getattr(exc.detail, "code", exc.default_code))]
    set_rollback()
    return Response({"errors": errors}, status=exc.status_code, headers=headers)
