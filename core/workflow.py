"""Shared workflow helpers: each model has a Status and one TRANSITIONS table (DESIGN.md)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _


class WorkflowError(Exception):
    """A workflow action was refused; the message tells the person what to do."""


def require_permission(user, *perms: str) -> None:
    """Refuse unless the person is active and holds at least one of ``perms``.

    Services check the role themselves because management commands and admin actions reach
    them without a view.
    """
    if not (user.is_active and any(user.has_perm(p) for p in perms)):
        raise WorkflowError(_("You do not have permission to do this."))


def check_transition(obj: models.Model, target: str) -> None:
    """Refuse any move that the model's TRANSITIONS table does not list (R-SEQ-1)."""
    table: dict[str, set[str]] = type(obj).TRANSITIONS  # type: ignore[attr-defined]
    current = obj.status  # type: ignore[attr-defined]
    if target not in table.get(current, set()):
        status_field = obj._meta.get_field("status")
        labels = dict(status_field.flatchoices)
        raise WorkflowError(
            _("%(record)s is %(current)s; it cannot become %(target)s.")
            % {"record": obj, "current": labels.get(current, current), "target": labels.get(target, target)}
        )
