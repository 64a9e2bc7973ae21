"""Deviations (偏差) and change controls (变更控制), light: raise, change while open, close with
QA's signature. An open one affecting a batch blocks its release (R-REL-4).

Each action: permission → (password, outside the transaction) → lock → predicate → ``move`` →
save with reason → signature with the service's meaning (core/workflow.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Signature, User
from core.numbering import formatted_number
from core.signatures import sign, verify_signer
from core.workflow import (
    InputError,
    WorkflowError,
    apply_changes,
    move,
    require_permission,
    require_reason,
    save_changed,
    save_step,
    signs,
)
from qc_records.for_release import OOSInvestigation
from release.models import Batch, ChangeControl, Deviation, QualityEvent


def _perm(model: type[QualityEvent], action: str) -> str:
    return f"release.{action}_{model._meta.model_name}"


def cannot_change_event(event: QualityEvent, user: User) -> str | None:
    """Why ``user`` may not change this deviation / change control now, or None."""
    if not user.has_perm(_perm(type(event), "change")):
        return _("You do not have permission to do this.")
    if event.status != QualityEvent.Status.OPEN:
        return _("%(number)s is closed; it cannot be changed.") % {"number": event.number}
    return None


def cannot_close_event(event: QualityEvent, user: User) -> str | None:
    """Why ``user`` may not close this deviation / change control now, or None."""
    if not user.has_perm(_perm(type(event), "close")):
        return _("You do not have permission to do this.")
    if event.status != QualityEvent.Status.OPEN:
        return _("%(number)s is already closed.") % {"number": event.number}
    return None


def _set_batches(event: QualityEvent, batches: Iterable[Batch]) -> bool:
    ids = sorted({b.pk for b in batches})
    if ids == list(event.batch_ids or []):
        return False
    event.batch_ids = ids
    return True


def _check_values(event: QualityEvent) -> None:
    errors: dict[str, list[str]] = {}
    for name in ("title", "description", "classification"):
        if not str(getattr(event, name) or "").strip():
            errors[name] = [_("This field is required.")]
    if errors:
        raise InputError(errors)


def _create(
    model: type[QualityEvent],
    *,
    user: User,
    data: dict[str, Any],
    batches: Iterable[Batch],
    links: dict[str, Any] | None = None,
) -> QualityEvent:
    require_permission(user, _perm(model, "add"))
    batches = list(batches)
    with transaction.atomic():
        event = model(raised_by=user, raised_at=timezone.now(), last_changed_by=user, **(links or {}))
        apply_changes(event, data)
        _check_values(event)
        _set_batches(event, batches)
        # Taken last, inside the transaction: a refused creation gives its number back (no gaps).
        event.number = formatted_number(model.NUMBER_SERIES, timezone.localdate().year, width=4)
        save_changed(event, user, "raised")
        event.batches.set(batches)
    return event


def _update(
    model: type[QualityEvent],
    *,
    event: QualityEvent,
    user: User,
    data: dict[str, Any],
    batches: Iterable[Batch] | None,
    reason: str,
) -> QualityEvent:
    require_permission(user, _perm(model, "change"))
    with transaction.atomic():
        event = model.objects.select_for_update().get(pk=event.pk)
        if refusal := cannot_change_event(event, user):
            raise WorkflowError(refusal)
        reason = require_reason(reason)
        changed = apply_changes(event, data)
        batches = list(batches) if batches is not None else None
        if batches is not None and _set_batches(event, batches):
            changed.append("batches")
        if not changed:
            raise WorkflowError(_("Nothing was changed."))
        _check_values(event)
        save_changed(event, user, reason)
        if batches is not None:
            event.batches.set(batches)
    return event


def _close(
    model: type[QualityEvent],
    meaning: str,
    *,
    event: QualityEvent,
    user: User,
    password: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> QualityEvent:
    require_permission(user, _perm(model, "close"))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        event = model.objects.select_for_update().get(pk=event.pk)
        if event.status != QualityEvent.Status.OPEN:
            move(event, QualityEvent.Status.CLOSED)  # refuses with the state table's message (R-SEQ-1)
        if refusal := cannot_close_event(event, user):
            raise WorkflowError(refusal)
        missing = {}
        if not event.investigation.strip():
            missing["investigation"] = [
                _("Record the investigation, including whether other batches are affected, before closing.")
            ]
        if not event.conclusion.strip():
            missing["conclusion"] = [_("Record the conclusion before closing.")]
        if missing:
            raise InputError(missing)
        move(event, QualityEvent.Status.CLOSED)
        event.closed_by = user
        event.closed_at = timezone.now()
        save_step(event, user, comment or "closed")
        sign(credential=credential, record=event, meaning=meaning, comment=comment)
    return event


def deviation_create(
    *, user: User, data: dict[str, Any], batches: Iterable[Batch] = (), oos: OOSInvestigation | None = None
) -> Deviation:
    """Raise a deviation (numbered DEV-YYYY-NNNN, gap-free), open, naming the batches it affects;
    with ``oos``, raised for that OOS investigation (shown on both pages; issue 7)."""
    links = {"oos": oos} if oos is not None else None
    return _create(Deviation, user=user, data=data, batches=batches, links=links)  # type: ignore[return-value]


def cannot_link_deviation_to_oos(deviation: Deviation, oos: OOSInvestigation, user: User) -> str | None:
    """Why ``user`` may not link ``deviation`` to ``oos`` now, or None: an open deviation, not yet
    linked to an OOS investigation (one deviation answers for one OOS; an OOS may have several)."""
    if refusal := cannot_change_event(deviation, user):
        return refusal
    if deviation.oos_id == oos.pk:
        return _("%(number)s is already linked to %(oos)s.") % {"number": deviation.number, "oos": oos.number}
    if deviation.oos_id is not None:
        return _("%(number)s is already linked to %(oos)s; open a new deviation for this OOS.") % {
            "number": deviation.number,
            "oos": deviation.oos.number,
        }
    return None


def deviation_link_oos(*, deviation: Deviation, oos: OOSInvestigation, user: User, reason: str) -> Deviation:
    """Link an existing open deviation to the OOS investigation it answers (issue 7): recorded in
    the deviation's audit trail with the reason; shown on the deviation and on the OOS page."""
    require_permission(user, "release.change_deviation")
    reason = require_reason(reason)
    with transaction.atomic():
        deviation = Deviation.objects.select_for_update().get(pk=deviation.pk)
        if refusal := cannot_link_deviation_to_oos(deviation, oos, user):
            raise WorkflowError(refusal)
        deviation.oos = oos
        save_changed(deviation, user, reason)
    return deviation


def deviation_update(
    *, deviation: Deviation, user: User, data: dict[str, Any], batches: Iterable[Batch] | None = None, reason: str
) -> Deviation:
    """Change an open deviation (investigation, conclusion, batches …) with a reason."""
    return _update(Deviation, event=deviation, user=user, data=data, batches=batches, reason=reason)  # type: ignore[return-value]


@signs(Signature.Meaning.CLOSED)
def deviation_close(
    *, deviation: Deviation, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> Deviation:
    """QA closes an open deviation with a signature (meaning "Closed"). Needs the investigation
    (including other batches) and the conclusion. Records: history row and a Signature."""
    return _close(
        Deviation,
        deviation_close.meaning,
        event=deviation,
        user=user,
        password=password,
        comment=comment,
        request=request,
    )  # type: ignore[return-value]


def change_control_create(*, user: User, data: dict[str, Any], batches: Iterable[Batch] = ()) -> ChangeControl:
    """Raise a change control (numbered CC-YYYY-NNNN, gap-free), open."""
    return _create(ChangeControl, user=user, data=data, batches=batches)  # type: ignore[return-value]


def change_control_update(
    *,
    change_control: ChangeControl,
    user: User,
    data: dict[str, Any],
    batches: Iterable[Batch] | None = None,
    reason: str,
) -> ChangeControl:
    return _update(ChangeControl, event=change_control, user=user, data=data, batches=batches, reason=reason)  # type: ignore[return-value]


@signs(Signature.Meaning.CLOSED)
def change_control_close(
    *, change_control: ChangeControl, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> ChangeControl:
    """QA closes an open change control with a signature (meaning "Closed")."""
    return _close(
        ChangeControl,
        change_control_close.meaning,
        event=change_control,
        user=user,
        password=password,
        comment=comment,
        request=request,
    )  # type: ignore[return-value]


SERVICES = {
    Deviation: (deviation_create, deviation_update, deviation_close, "deviation"),
    ChangeControl: (change_control_create, change_control_update, change_control_close, "change_control"),
}
