"""ADR cases (R-ADR-1; sop-checklists B.2.4, B.6; 药品不良反应报告和监测管理办法 2011).

Opened by the intake from a feedback record: day 0 is the feedback's received time — the first
time anyone in the company heard of it (AS-4.2.3) — never QA's receipt. Due dates come from the
rule set in force on day 0 (``aftersales.deadlines``), and the version used is stored on the case,
so a later regulation changes new cases only. QA assesses the case (seriousness, new, group event
— the dates are recomputed) and records the national system's report number with a signature.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.deadlines import Rule, due_dates
from aftersales.models import ADRCase, ADRFollowUp, ADRInvestigationReport, ADRRuleSet, Feedback, local_date
from core.concurrency import check_edit_version
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


def ruleset_for(day0) -> ADRRuleSet:
    ruleset = ADRRuleSet.objects.filter(effective_from__lte=local_date(day0)).order_by("-effective_from").first()
    if ruleset is None:
        raise WorkflowError(_("No ADR deadline rules are in force for this date."))
    return ruleset


def rules_of(ruleset: ADRRuleSet) -> dict[str, Rule]:
    return {
        r.applies_to: Rule(
            applies_to=r.applies_to,
            report_within_days=r.report_within_days,
            investigation_within_days=r.investigation_within_days,
            report_confidence=r.report_confidence,
            investigation_confidence=r.investigation_confidence,
            citation=r.citation,
        )
        for r in ruleset.rules.all()
    }


def _set_due_dates(case: ADRCase) -> None:
    due = due_dates(
        day0=local_date(case.day0),
        rules=rules_of(case.ruleset),
        death=case.serious_death or case.outcome == ADRCase.Outcome.DEATH,
        group_event=case.group_event,
        serious=case.is_serious,
        new=case.is_new,
    )
    case.report_due, case.report_immediately, case.investigation_due = (
        due.report_due,
        due.report_immediately,
        due.investigation_due,
    )


def open_adr_case(*, feedback: Feedback, user: User) -> ADRCase:
    """Open the ADR case of a feedback record (called by the intake, inside its transaction)."""
    case = ADRCase(
        feedback=feedback,
        day0=feedback.received_at,
        patient=feedback.patient,
        reporter=" ".join(filter(None, [feedback.reporter_name, feedback.reporter_contact])),
        product=feedback.product,
        batch=feedback.batch,
        reaction=feedback.description,
        ruleset=ruleset_for(feedback.received_at),
        last_changed_by=user,
        number=formatted_number("ADR", timezone.localtime(feedback.received_at).year, width=4),
    )
    _set_due_dates(case)
    save_changed(case, user, "created from feedback " + feedback.number)
    return case


def cannot_assess_adr(case: ADRCase, user: User) -> str | None:
    if not user.has_perm("aftersales.change_adrcase"):
        return _("You do not have permission to do this.")
    if case.status != ADRCase.Status.OPEN:
        return _("A reported case is changed by a follow-up report, not here.")
    return None


def cannot_report_adr(case: ADRCase, user: User) -> str | None:
    if not user.has_perm("aftersales.report_adrcase"):
        return _("You do not have permission to do this.")
    if case.status != ADRCase.Status.OPEN:
        return _("This case has already been reported.")
    return None


@transaction.atomic
def adr_assess(*, case: ADRCase, user: User, data: dict[str, Any], reason: str, version: int | None = None) -> ADRCase:
    """QA records the assessment (reaction, onset, outcome, seriousness, new, group event,
    causality). The due dates are recomputed under the case's own rule-set version. ``version``:
    the form's edit version; a save over a newer one is refused with who and when (issue 8 item 7)."""
    require_permission(user, "aftersales.change_adrcase")
    case = ADRCase.objects.select_for_update().get(pk=case.pk)
    check_edit_version(case, version)
    if refusal := cannot_assess_adr(case, user):
        raise WorkflowError(refusal)
    onset = data.get("onset_date")
    if onset and onset > local_date(case.day0):
        raise InputError({"onset_date": [_("The reaction cannot start after the company learned of it (day 0).")]})
    if not (data.get("patient") or case.patient).strip():
        raise InputError(
            {"patient": [_("An adverse reaction report needs an identifiable patient (initials, age or sex).")]}
        )
    reason = require_reason(reason)
    if not apply_changes(case, data):
        raise WorkflowError(_("Nothing was changed."))
    _set_due_dates(case)
    save_changed(case, user, reason)
    return case


@signs(Signature.Meaning.REPORTED)
def adr_report(
    *,
    case: ADRCase,
    user: User,
    national_report_number: str,
    reported_at,
    password: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> ADRCase:
    """QA records the report made in the national ADR system (直报系统), signed.

    Preconditions: open; ``cannot_report_adr``; a report number; the report time between day 0
    and now. Records: history row (open → reported) and a Signature.
    """
    require_permission(user, "aftersales.report_adrcase")
    number = (national_report_number or "").strip()
    if not number:
        raise InputError({"national_report_number": [_("Enter the report number the national system gave.")]})
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        case = ADRCase.objects.select_for_update().get(pk=case.pk)
        if case.status != ADRCase.Status.OPEN:
            move(case, ADRCase.Status.REPORTED)
        if refusal := cannot_report_adr(case, user):
            raise WorkflowError(refusal)
        if reported_at is None or reported_at < case.day0 or reported_at > timezone.now() + timedelta(minutes=5):
            raise InputError({"reported_at": [_("The report time must lie between day 0 and now.")]})
        move(case, ADRCase.Status.REPORTED)
        case.national_report_number, case.reported_at, case.reported_by = number, reported_at, user
        save_step(case, user, comment or "reported to the national ADR monitoring system")
        sign(credential=credential, record=case, meaning=adr_report.meaning, comment=comment)
    return case


def cannot_record_adr_investigation(case: ADRCase, user: User) -> str | None:
    if not user.has_perm("aftersales.report_adrcase"):
        return _("You do not have permission to do this.")
    if case.investigation_due is None:
        return _("This case needs no investigation report (only deaths and group events do).")
    if ADRInvestigationReport.objects.filter(case=case).exists():
        return _("The investigation report has already been recorded.")
    return None


@signs(Signature.Meaning.AUTHORED)
def adr_record_investigation(
    *,
    case: ADRCase,
    user: User,
    submitted_at,
    reference: str,
    summary: str,
    password: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> ADRInvestigationReport:
    """QA records the investigation report of a death or group event as submitted, signed
    (第二十二条: 15 days; 第二十七、二十八条: 7 days [S]). Records: the report row, its history and
    a Signature on it."""
    require_permission(user, "aftersales.report_adrcase")
    problems: dict[str, list[str]] = {}
    if not (reference or "").strip():
        problems["reference"] = [_("Enter the reference of the investigation report.")]
    if not (summary or "").strip():
        problems["summary"] = [_("Summarise the investigation.")]
    if problems:
        raise InputError(problems)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        case = ADRCase.objects.select_for_update().get(pk=case.pk)
        if refusal := cannot_record_adr_investigation(case, user):
            raise WorkflowError(refusal)
        if submitted_at is None or submitted_at < case.day0 or submitted_at > timezone.now() + timedelta(minutes=5):
            raise InputError({"submitted_at": [_("The report time must lie between day 0 and now.")]})
        report = ADRInvestigationReport(
            case=case,
            submitted_at=submitted_at,
            reference=reference.strip(),
            summary=summary.strip(),
            submitted_by=user,
            last_changed_by=user,
        )
        save_changed(report, user, comment or "investigation report submitted")
        sign(credential=credential, record=report, meaning=adr_record_investigation.meaning, comment=comment)
    return report


# --- follow-up reports (随访/跟踪报告) -----------------------------------------------------------


def cannot_add_adr_followup(case: ADRCase, user: User) -> str | None:
    if not user.has_perm("aftersales.change_adrcase"):
        return _("You do not have permission to do this.")
    if case.status != ADRCase.Status.REPORTED:
        return _("Information received before the first report goes into the case's assessment and first report.")
    return None


def cannot_report_adr_followup(followup: ADRFollowUp, user: User) -> str | None:
    if not user.has_perm("aftersales.report_adrcase"):
        return _("You do not have permission to do this.")
    if followup.status != ADRFollowUp.Status.OPEN:
        return _("This follow-up has already been reported.")
    return None


def _followup_due(case: ADRCase, followup: ADRFollowUp) -> None:
    """The case's own rule set, from the day the new information arrived: its follow-up deadline
    when the rule set has one, else the same clock as the first report with the case's
    classification as the new information leaves it (GVP 2021 [S]; 81号令 第二十一条 says
    "promptly" — unverified, see ``ADRRuleSet.followup_confidence``)."""
    day0 = local_date(followup.received_at)
    ruleset = case.ruleset
    if ruleset.followup_within_days is not None:
        followup.report_due = day0 + timedelta(days=ruleset.followup_within_days)
        followup.report_immediately = ruleset.followup_within_days == 0
        return
    due = due_dates(
        day0=day0,
        rules=rules_of(ruleset),
        death=followup.death or case.serious_death or followup.outcome == ADRCase.Outcome.DEATH,
        group_event=case.group_event,
        serious=followup.serious or case.is_serious,
        new=case.is_new,
    )
    followup.report_due, followup.report_immediately = due.report_due, due.report_immediately


def adr_followup_record(*, case: ADRCase, user: User, data: dict[str, Any]) -> ADRFollowUp:
    """Record new information about a reported case (QA): the follow-up is numbered 1, 2, … per
    case, its due date computed (``_followup_due``). Refused beside the field: no information, a
    receipt time before the case's day 0 or in the future. Records: the follow-up and its
    history; the case is not changed (its first report stays as signed)."""
    require_permission(user, "aftersales.change_adrcase")
    problems: dict[str, list[str]] = {}
    if not (data.get("information") or "").strip():
        problems["information"] = [_("Describe the new information.")]
    received = data.get("received_at")
    if received is None:
        problems["received_at"] = [_("Enter when the new information was received.")]
    elif received > timezone.now() + timedelta(minutes=5):
        problems["received_at"] = [_("The receipt time cannot be in the future.")]
    if data.get("outcome") not in ADRCase.Outcome.values:
        problems["outcome"] = [_("Choose the outcome.")]
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        case = ADRCase.objects.select_for_update().select_related("ruleset").get(pk=case.pk)
        if refusal := cannot_add_adr_followup(case, user):
            raise WorkflowError(refusal)
        if received < case.day0:
            raise InputError({"received_at": [_("New information cannot arrive before the case's day 0.")]})
        followup = ADRFollowUp(case=case, recorded_by=user, last_changed_by=user)
        apply_changes(followup, {**data, "information": data["information"].strip()})
        followup.sequence = (case.follow_ups.order_by("-sequence").values_list("sequence", flat=True).first() or 0) + 1
        _followup_due(case, followup)
        save_changed(followup, user, "follow-up information received")
    return followup


@signs(Signature.Meaning.REPORTED)
def adr_followup_report(
    *,
    followup: ADRFollowUp,
    user: User,
    national_report_number: str,
    reported_at,
    password: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> ADRFollowUp:
    """QA records the follow-up report made in the national system, signed like the first report.
    Preconditions: ``cannot_report_adr_followup``; a report number; the report time between the
    information's receipt and now. Records: history row (open → reported) and a Signature."""
    require_permission(user, "aftersales.report_adrcase")
    number = (national_report_number or "").strip()
    if not number:
        raise InputError({"national_report_number": [_("Enter the report number the national system gave.")]})
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        followup = ADRFollowUp.objects.select_for_update().get(pk=followup.pk)
        if refusal := cannot_report_adr_followup(followup, user):
            raise WorkflowError(refusal)
        if (
            reported_at is None
            or reported_at < followup.received_at
            or reported_at > timezone.now() + timedelta(minutes=5)
        ):
            raise InputError(
                {"reported_at": [_("The report time must lie between the receipt of the information and now.")]}
            )
        move(followup, ADRFollowUp.Status.REPORTED)
        followup.national_report_number, followup.reported_at, followup.reported_by = number, reported_at, user
        save_step(followup, user, comment or "follow-up reported to the national ADR monitoring system")
        sign(credential=credential, record=followup, meaning=adr_followup_report.meaning, comment=comment)
    return followup
