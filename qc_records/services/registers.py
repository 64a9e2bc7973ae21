"""The instrument register and the reagent / reference standard register (R-QC-3)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.concurrency import check_edit_version
from core.models import User
from core.workflow import (
    InputError,
    WorkflowError,
    apply_changes,
    move,
    require_permission,
    require_reason,
    save_changed,
)
from qc_records.models import Instrument, Reagent


def _apply_register_changes(obj: Instrument | Reagent, data: dict[str, Any]) -> list[str]:
    """Apply a register form's changes; a new status goes through the model's TRANSITIONS."""
    data = dict(data)
    status = data.pop("status", obj.status)
    changed = apply_changes(obj, data)
    if status != obj.status:
        move(obj, status)
        changed.append("status")
    return changed


def instrument_create(*, user: User, data: dict[str, Any]) -> Instrument:
    require_permission(user, "qc_records.add_instrument")
    instrument = Instrument(last_changed_by=user)
    apply_changes(instrument, data)
    if Instrument.objects.filter(code__iexact=instrument.code.strip()).exists():
        raise InputError({"code": [_("An instrument with ID %(code)s already exists.") % {"code": instrument.code}]})
    try:
        with transaction.atomic():
            instrument.save_audited(user=user, reason="registered")
    except IntegrityError:
        raise InputError(
            {"code": [_("An instrument with ID %(code)s already exists.") % {"code": instrument.code}]}
        ) from None
    return instrument


@transaction.atomic
def instrument_update(
    *, instrument: Instrument, user: User, data: dict[str, Any], reason: str, version: int | None = None
) -> Instrument:
    """Change an instrument (e.g. a new calibration due date after calibration), with a reason."""
    require_permission(user, "qc_records.change_instrument")
    instrument = Instrument.objects.select_for_update().get(pk=instrument.pk)
    check_edit_version(instrument, version)
    reason = require_reason(reason)
    if not _apply_register_changes(instrument, data):
        raise WorkflowError(_("Nothing was changed."))
    if Instrument.objects.filter(code__iexact=instrument.code).exclude(pk=instrument.pk).exists():
        raise InputError({"code": [_("An instrument with ID %(code)s already exists.") % {"code": instrument.code}]})
    save_changed(instrument, user, reason)
    return instrument


def _check_reagent_dates(reagent: Reagent) -> None:
    if reagent.expiry_date < reagent.received_date:
        raise InputError({"expiry_date": [_("The expiry date is before the date received / prepared.")]})


def reagent_create(*, user: User, data: dict[str, Any]) -> Reagent:
    require_permission(user, "qc_records.add_reagent")
    reagent = Reagent(last_changed_by=user)
    apply_changes(reagent, data)
    _check_reagent_dates(reagent)
    try:
        with transaction.atomic():
            reagent.save_audited(user=user, reason="registered")
    except IntegrityError:
        raise InputError(
            {"lot_number": [_("This lot of %(name)s is already registered.") % {"name": reagent.name}]}
        ) from None
    return reagent


@transaction.atomic
def reagent_update(
    *, reagent: Reagent, user: User, data: dict[str, Any], reason: str, version: int | None = None
) -> Reagent:
    require_permission(user, "qc_records.change_reagent")
    reagent = Reagent.objects.select_for_update().get(pk=reagent.pk)
    check_edit_version(reagent, version)
    reason = require_reason(reason)
    if not _apply_register_changes(reagent, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_reagent_dates(reagent)
    try:
        with transaction.atomic():
            save_changed(reagent, user, reason)
    except IntegrityError:
        raise InputError(
            {"lot_number": [_("This lot of %(name)s is already registered.") % {"name": reagent.name}]}
        ) from None
    return reagent
