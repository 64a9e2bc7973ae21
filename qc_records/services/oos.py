"""OOS investigations (R-QC-5): phase I findings, phase II, closure with a signature."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Signature, User
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
from qc_records.models import OOSInvestigation, TestRecord, TestResult
from qc_records.services.records import _back_to_draft, _locked_record


def _locked_oos(oos: OOSInvestigation) -> OOSInvestigation:
    return OOSInvestigation.objects.select_for_update().select_related("record", "item").get(pk=oos.pk)


@transaction.atomic
def oos_update(*, oos: OOSInvestigation, user: User, data: dict[str, Any], reason: str = "") -> OOSInvestigation:
    """Record the investigation's findings. Phase I findings while in phase I, phase II findings
    in phase II; overwriting text already recorded needs a reason."""
    require_permission(user, "qc_records.change_oosinvestigation")
    oos = _locked_oos(oos)
    if not oos.is_open:
        raise WorkflowError(_("%(oos)s is closed.") % {"oos": oos})
    allowed = (
        {"phase1_findings", "assignable_cause"}
        if oos.status == OOSInvestigation.Status.PHASE_1
        else {"phase2_findings"}
    )
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items() if k in allowed}
    before = {k: getattr(oos, k) for k in data}
    changed = apply_changes(oos, data)
    if not changed:
        raise WorkflowError(_("Nothing was changed."))
    overwritten = [k for k in changed if before[k] not in ("", None)]
    if overwritten and not (reason or "").strip():
        raise InputError({"reason": [_("Give a reason for changing findings already recorded.")]})
    save_changed(oos, user, (reason or "").strip() or "findings recorded")
    return oos


@transaction.atomic
def oos_start_phase_two(*, oos: OOSInvestigation, user: User, reason: str) -> OOSInvestigation:
    """No assignable laboratory cause in phase I: the full investigation (phase II) begins."""
    require_permission(user, "qc_records.change_oosinvestigation")
    oos = _locked_oos(oos)
    move(oos, OOSInvestigation.Status.PHASE_2)
    if not oos.phase1_findings.strip() or oos.assignable_cause is None:
        raise WorkflowError(_("Record the phase I findings and whether an assignable cause was found first."))
    if oos.assignable_cause:
        raise WorkflowError(
            _("Phase I found an assignable laboratory cause: close the investigation as laboratory error.")
        )
    reason = require_reason(reason)
    oos.phase2_started_at = timezone.now()
    save_step(oos, user, reason)
    return oos


def cannot_close_oos(oos: OOSInvestigation, user: User) -> str | None:
    """Why ``user`` may not close ``oos``, or None: whoever tested the record does not judge its
    out-of-specification result (R-QC-5, R-SEQ-2; ``TestRecord.objects.tested_by``)."""
    if TestRecord.objects.filter(pk=oos.record_id).tested_by(user).exists():
        return _("You tested this record; another person must close its OOS investigation.")
    return None


@signs(Signature.Meaning.CLOSED)
def oos_close(
    *,
    oos: OOSInvestigation,
    user: User,
    password: str,
    outcome: str,
    summary: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> OOSInvestigation:
    """QA approves the investigation's conclusion and closes it with a signature (R-QC-5): the QC
    head alone can no longer invalidate a result as laboratory error nor confirm an OOS
    (``close_oosinvestigation`` is QA's; FDA OOS guidance, GMP 第一百六十一条). The QC head and
    analysts record the findings (``oos_update``) that QA reads before signing.

    Laboratory error (phase I with an assignable cause, or phase II): every current result of the
    item is invalidated with the reason and blank retest results are added; the record goes back
    to draft for the retest. Confirmed (phase II only): the results stand and the batch fails QC.
    The analyst whose result it is cannot close it.
    """
    require_permission(user, "qc_records.close_oosinvestigation")
    summary = (summary or "").strip()
    if not summary:
        raise InputError({"summary": [_("Write the conclusion and its justification.")]})
    if outcome not in (OOSInvestigation.Outcome.LAB_ERROR, OOSInvestigation.Outcome.CONFIRMED):
        raise InputError({"outcome": [_("Choose the conclusion.")]})
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        oos = _locked_oos(oos)
        phase = oos.status
        move(oos, OOSInvestigation.Status.CLOSED)
        record = _locked_record(oos.record)
        refusal = cannot_close_oos(oos, user)
        if refusal:
            raise WorkflowError(refusal)
        if phase == OOSInvestigation.Status.PHASE_1:
            if outcome == OOSInvestigation.Outcome.CONFIRMED:
                raise WorkflowError(_("An OOS result is confirmed only after the phase II investigation."))
            if not oos.assignable_cause or not oos.phase1_findings.strip():
                raise WorkflowError(
                    _("A laboratory error in phase I needs the findings and an assignable cause recorded first.")
                )
        elif not oos.phase2_findings.strip():
            raise WorkflowError(_("Record the phase II findings first."))
        oos.outcome = outcome
        oos.summary = summary
        oos.closed_by = user
        oos.closed_at = timezone.now()
        save_step(oos, user, comment or _("closed: %(outcome)s") % {"outcome": oos.get_outcome_display()})
        sign(credential=credential, record=oos, meaning=oos_close.meaning, comment=comment or summary)
        if outcome == OOSInvestigation.Outcome.LAB_ERROR:
            _invalidate_for_retest(record, oos, user, summary)
    return oos


def _invalidate_for_retest(record: TestRecord, oos: OOSInvestigation, user: User, summary: str) -> None:
    reason = _("invalidated by %(oos)s (laboratory error): %(summary)s") % {"oos": oos.number, "summary": summary}
    current = list(record.results.select_for_update().filter(item=oos.item, voided_at__isnull=True))
    for result in current:
        result.voided_at = timezone.now()
        result.void_reason = reason
        save_changed(result, user, reason)
        TestResult(
            record=record,
            item=oos.item,
            replicate=result.replicate,
            attempt=result.attempt + 1,
            unit=result.unit,
            last_changed_by=user,
        ).save_audited(user=user, reason=_("retest required by %(oos)s") % {"oos": oos.number})
    if record.status in (TestRecord.Status.SUBMITTED, TestRecord.Status.REVIEWED):
        _back_to_draft(record, user, reason)
    save_changed(record, user, _("retest required by %(oos)s") % {"oos": oos.number})
