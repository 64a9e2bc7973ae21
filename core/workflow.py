"""The one workflow vocabulary every app uses (DESIGN.md "Workflow states"; CONTRIBUTING.md).

A workflow action is a service function written in this order (HOUSE_STYLE):

1. ``require_permission(user, "app.perm")`` — the role, because commands and the admin reach
   services without a view;
2. for a signed action, ``credential = verify_signer(...)`` *before* the transaction, so a wrong
   password is counted even though the action is refused;
3. inside ``transaction.atomic()``: re-read and lock the row (``select_for_update``);
4. the action's predicate (``cannot_<verb>_<thing>(obj, user) -> str | None``, defined next to the
   service and also used by the page and the My-work queue) — raise its reason;
5. ``move(obj, Status.X)`` — the model's ``TRANSITIONS`` table decides, never a bare assignment;
6. ``apply_changes`` / ``require_reason``, then ``save_changed`` (data edited) or ``save_step``
   (a workflow step) with the reason;
7. ``sign(credential=..., record=obj, meaning=<service>.meaning)`` — the meaning belongs to the
   service (``@signs(Signature.Meaning.X)``), and the form shows the same one;
8. ``transaction.on_commit`` for PDFs and mail.

Every refusal is a ``WorkflowError`` (``InputError`` when it belongs to one field of a form,
``SignatureError`` when the signature could not be applied): the views show its message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _


class WorkflowError(Exception):
    """A workflow action was refused; the message tells the person what to do."""


class InputError(WorkflowError):
    """Input refused field by field.

    ``errors`` maps a form field name (or an app-specific key such as ``"result:<id>"``, or ``""``
    for the whole form) to messages; the view puts each beside its field (``core.web.show_refusal``).
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(" ".join(str(m) for msgs in errors.values() for m in msgs))


class SignatureError(WorkflowError):
    """Signing was refused (wrong password, locked account, administrator, expired check)."""


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


def move(obj: models.Model, target: str) -> None:
    """Set ``obj.status`` to ``target`` if the model's TRANSITIONS table allows it, else refuse.

    The only way a service changes a status (R-SEQ-1): the table is checked at the moment of the
    change, on the row the service has locked. The caller saves.
    """
    check_transition(obj, target)
    obj.status = target  # type: ignore[attr-defined]


def require_reason(reason: str | None, message: str | None = None) -> str:
    """The reason for a change, stripped; refused beside the form's "reason" field when empty
    (R-AT-2: every change after creation carries one)."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError({"reason": [message or _("Give a reason for the change: it is recorded in the audit trail.")]})
    return reason


def apply_changes(obj: models.Model, data: dict[str, Any]) -> list[str]:
    """Set the fields given that the model lists in ``EDITABLE_FIELDS``; return the names that
    really changed (a form resubmitted unchanged changes nothing and needs no reason)."""
    changed = []
    editable = type(obj).EDITABLE_FIELDS  # type: ignore[attr-defined]
    for name, value in data.items():
        if name not in editable:
            raise WorkflowError(f"{name} cannot be changed here.")
        field = obj._meta.get_field(name)
        new_raw = value.pk if field.is_relation and value is not None else value
        if getattr(obj, field.attname) != new_raw:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def save_changed(obj: models.Model, user, reason: str) -> None:
    """Save a change of the record's own data by ``user`` now, with the reason in its history row.

    Sets ``last_changed_by`` / ``updated_at`` (``core.audit.ChangeTracked``): they name the last
    person who changed what the record *says*. A workflow step is saved with ``save_step``.
    """
    obj.last_changed_by = user  # type: ignore[attr-defined]
    obj.updated_at = timezone.now()  # type: ignore[attr-defined]
    obj.save_audited(user=user, reason=reason)  # type: ignore[attr-defined]


def save_step(obj: models.Model, user, reason: str) -> None:
    """Save a workflow step (approved, reviewed, voided …) by ``user``, with the reason in its
    history row. The step's own fields and signature say who did it; ``last_changed_by`` keeps
    naming the last editor of the data, so an approval never makes the approver look like an author."""
    obj.save_audited(user=user, reason=reason)  # type: ignore[attr-defined]


F = TypeVar("F", bound=Callable[..., Any])


def signs(meaning: str) -> Callable[[F], F]:
    """Declare the signature meaning a service applies: ``@signs(Signature.Meaning.APPROVED)``.

    The service signs with ``<service>.meaning`` and its form is built with the same attribute
    (``SignatureForm(meaning=services.x.meaning)``), so the meaning a person is shown before
    signing is the meaning recorded (R-SIG-2). A test walks every signing form to prove it.
    """

    def decorate(func: F) -> F:
        func.meaning = meaning  # type: ignore[attr-defined]
        return func

    return decorate


def history_user_ids(obj: models.Model) -> set[int]:
    """Everyone who wrote a history row of ``obj`` (created or changed it): the authors that
    segregation-of-duties rules exclude from approving it (R-SEQ-2)."""
    return {uid for uid in obj.history.values_list("history_user_id", flat=True) if uid}  # type: ignore[attr-defined]
