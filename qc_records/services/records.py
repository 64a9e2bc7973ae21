"""Test records (检验原始记录): starting one, the result form, and the tester's "Tested" signature.

Review, approval, sending back, voiding and purging are in ``review``; the rule for who did the
testing is ``qc_records.models.tester_condition``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.concurrency import check_edit_version
from core.models import Signature, User
from core.numbering import next_number
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
from qc_records.criteria import Conclusion, CriterionKind, ResultError, normalise
from qc_records.models import (
    Instrument,
    InstrumentUse,
    OOSInvestigation,
    Reagent,
    ReagentUse,
    RefusedCorrection,
    Sample,
    Specification,
    TestRecord,
    TestResult,
)
from qc_records.services.ledger import check_not_archived, month_is_archived
from qc_records.services.samples import store_test_state


@dataclass
class ResultEntry:
    """What the analyst typed for one individual result."""

    value_text: str = ""
    complies: bool | None = None
    calculation: str = ""
    tested_on: date | None = None  # the item's own test date when not the record's


def _locked_record(record: TestRecord) -> TestRecord:
    return TestRecord.objects.select_for_update().select_related("specification", "sample").get(pk=record.pk)


def record_create(*, sample: Sample, user: User) -> TestRecord:
    """Start the test record of a sample against the specification version in force today.

    One live record per sample: retests after an invalidated result are recorded in the same
    record, so its history shows the whole story.
    """
    require_permission(user, "qc_records.add_testrecord")
    with transaction.atomic():
        sample = Sample.objects.select_for_update().select_related("specification").get(pk=sample.pk)
        if sample.is_voided:
            raise WorkflowError(_("This sample was voided."))
        existing = sample.records.exclude(status=TestRecord.Status.VOIDED).first()
        if existing is not None:
            raise WorkflowError(_("This sample already has a test record (%(record)s).") % {"record": existing})
        spec = Specification.objects.in_force().filter(code=sample.specification.code).first()
        if spec is None:
            raise WorkflowError(
                _("No version of specification %(code)s is in force; a QC head must approve one first.")
                % {"code": sample.specification.code}
            )
        # The voided record this one replaces, if any (R-QC-9): the two stay linked both ways.
        replaces = sample.records.filter(status=TestRecord.Status.VOIDED).order_by("-voided_at", "-pk").first()
        record = TestRecord(
            sample=sample,
            replaces=replaces,
            specification=spec,
            category=sample.category,
            created_by=user,
            last_changed_by=user,
            test_date=timezone.localdate(),
        )
        check_not_archived(record)
        record.save_audited(user=user, reason="started")
        store_test_state(sample=sample, user=user, reason=_("test record started"))
        for item in spec.items.filter(voided_at__isnull=True).order_by("position", "pk"):
            for replicate in range(1, item.replicates + 1):
                TestResult(
                    record=record, item=item, replicate=replicate, unit=item.unit, last_changed_by=user
                ).save_audited(user=user, reason="started")
    return record


def _back_to_draft(record: TestRecord, user: User, reason: str) -> None:
    """A submitted or reviewed record that changes needs testing and review again (R-QC-4)."""
    move(record, TestRecord.Status.DRAFT)
    record.submitted_by = record.submitted_at = None
    record.reviewed_by = record.reviewed_at = None
    record.content_digest = ""


def _open_for_change(record: TestRecord, user: User, reason: str) -> str:
    """Guard an edit; return the reason to record. Submitted/reviewed records need one and go back to draft."""
    if not record.is_editable:
        raise WorkflowError(
            _("%(record)s is %(status)s and can no longer be changed.")
            % {"record": record, "status": record.get_status_display()}
        )
    check_not_archived(record)
    if record.status != TestRecord.Status.DRAFT:
        reason = require_reason(
            reason,
            _(
                "This record has been submitted: give a reason for the change. It goes back to draft for testing and review again."
            ),
        )
        _back_to_draft(record, user, reason)
    return reason


def test_date_problem(record: TestRecord) -> str | None:
    """What is wrong with the record's test date, or None: not in the future, not before the
    sample was received. The one check for the result form and the "Tested" signature."""
    if record.test_date > timezone.localdate():
        return _("The test date cannot be in the future.")
    if record.test_date < record.sample.received_date:
        return _("The test date is before the sample was received (%(date)s).") % {
            "date": record.sample.received_date.isoformat()
        }
    return None


test_date_problem.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name


def record_update(
    *,
    record: TestRecord,
    user: User,
    header: dict[str, Any] | None = None,
    results: dict[int, ResultEntry] | None = None,
    instruments: Iterable[Instrument] | None = None,
    reagents: Iterable[Reagent] | None = None,
    reason: str = "",
    version: int | None = None,
) -> TestRecord:
    """Save what the analyst entered: header fields, individual results, instruments and reagents.

    Each result is judged against its specification item as it is saved (R-QC-2); a failing one
    opens its OOS investigation at once, so it can never be corrected away (R-QC-5). Correcting a
    result already recorded needs a reason (检验原始记录管理规程 4.1.4); a result under an OOS
    investigation cannot be changed at all (R-QC-5). A reason is also needed for any change to a
    submitted or reviewed record, which then goes back to draft (R-QC-4). An instrument past its
    calibration date or a reagent past expiry is refused with its name and date (R-QC-3).
    Everything is checked before anything is written: either all of it is saved or none.
    ``version`` (the form's edit version): a save over a newer version of the record (another
    person saved results or signed since the form was opened) is refused with who and when
    (``core.concurrency``; issue 8 item 7).
    """
    require_permission(user, "qc_records.change_testrecord")
    header = header or {}
    results = results or {}
    reason = (reason or "").strip()
    # Attempts to change a result under OOS investigation: refused, and kept once the refusal has
    # rolled everything else back, so the reviewer sees them beside the value (R-QC-5, R-AT-5).
    refused: list[RefusedCorrection] = []
    try:
        return _record_update(
            record=record,
            user=user,
            header=header,
            results=results,
            instruments=instruments,
            reagents=reagents,
            reason=reason,
            refused=refused,
            version=version,
        )
    except (InputError, WorkflowError):
        if refused:
            with transaction.atomic():
                for attempt in refused:
                    attempt.save_audited(user=user, reason="correction of an OOS result refused")
        raise


def _record_update(
    *,
    record: TestRecord,
    user: User,
    header: dict[str, Any],
    results: dict[int, ResultEntry],
    instruments: Iterable[Instrument] | None,
    reagents: Iterable[Reagent] | None,
    reason: str,
    refused: list[RefusedCorrection],
    version: int | None,
) -> TestRecord:
    with transaction.atomic():
        record = _locked_record(record)
        check_edit_version(record, version)
        reason = _open_for_change(record, user, reason)
        errors: dict[str, list[str]] = defaultdict(list)

        changed_header = apply_changes(record, header)
        if "test_date" in changed_header:
            date_problem = test_date_problem(record)
            if date_problem:
                errors["test_date"].append(date_problem)
            elif month_is_archived(record.category, record.test_date):
                errors["test_date"].append(_("That month is archived; choose a date in an open month."))

        # Results: judge every entry first, write nothing until all are acceptable.
        rows = {
            r.pk: r
            for r in record.results.select_related("item", "oos").filter(pk__in=list(results), voided_at__isnull=True)
        }
        to_save: list[tuple[TestResult, str]] = []
        for result_id, entry in results.items():
            row = rows.get(result_id)
            if row is None:
                errors[""].append(
                    _("A result was not found on this record (it may have been invalidated); reload the page.")
                )
                continue
            value_text = (entry.value_text or "").strip()
            if row.item.criterion_kind != CriterionKind.TEXT:
                value_text = normalise(value_text)  # "１２．５" typed with a Chinese IME is 12.5
            complies = entry.complies if row.item.criterion_kind == CriterionKind.TEXT else None
            calculation = (entry.calculation or "").strip()
            # None: the item's date stays as it is; the record's own date: no separate date.
            if entry.tested_on is None:
                tested_on = row.tested_on
            else:
                tested_on = entry.tested_on if entry.tested_on != record.test_date else None
            if (
                tested_on is not None
                and tested_on != row.tested_on
                and (tested_on > timezone.localdate() or tested_on < record.sample.received_date)
            ):
                errors[f"result:{row.pk}"].append(
                    _("%(item)s: the test date %(date)s is in the future or before the sample was received.")
                    % {"item": row.item.name, "date": tested_on.isoformat()}
                )
                continue
            if (value_text, complies, calculation) == (row.value_text, row.complies, row.calculation):
                if tested_on != row.tested_on and row.oos_id is None:
                    row.tested_on = tested_on
                    to_save.append((row, reason or "test date of the item recorded"))
                continue
            if row.oos_id is not None:
                # An OOS result is never overwritten (testing into compliance): it stands until its
                # investigation concludes laboratory error, which invalidates it and adds a retest.
                errors[f"result:{row.pk}"].append(
                    _(
                        "This result is under OOS investigation %(oos)s and cannot be changed; only the investigation "
                        "can invalidate it (laboratory error), which adds a retest."
                    )
                    % {"oos": row.oos.number}
                )
                shown = value_text
                if complies is not None:
                    shown = " · ".join(
                        v for v in (value_text, _("Complies") if complies else _("Does not comply")) if v
                    )
                refused.append(
                    RefusedCorrection(
                        record=record,
                        result=row,
                        attempted_value=(shown or "—")[:200],
                        reason=reason,
                        attempted_by=user,
                        attempted_at=timezone.now(),
                        last_changed_by=user,
                    )
                )
                continue
            try:
                numeric, conclusion = row.item.criterion.judge(value_text, complies)
            except ResultError as exc:
                errors[f"result:{row.pk}"].append(str(exc))
                continue
            was_recorded = bool(row.value_text) or row.complies is not None
            value_corrected = was_recorded and (value_text, complies) != (row.value_text, row.complies)
            # A calculation already written is raw data too: rewriting it is a correction (4.1.4);
            # adding one to a result recorded without it is not.
            calculation_corrected = bool(row.calculation) and calculation != row.calculation
            if (value_corrected or calculation_corrected) and not reason:
                if value_corrected:
                    message = _("This result was already recorded as “%(old)s”: give a reason for the correction.") % {
                        "old": row.display_value or row.value_text
                    }
                else:
                    message = _(
                        "The calculation of this result was already recorded: give a reason for the correction."
                    )
                errors[f"result:{row.pk}"].append(message)
                if not errors["reason"]:
                    errors["reason"].append(_("Give a reason for correcting results already recorded."))
                continue
            row.value_text, row.complies, row.calculation = value_text, complies, calculation
            row.tested_on = tested_on
            row.value_numeric, row.conclusion = numeric, conclusion
            row.entered_by, row.entered_at = user, timezone.now()
            to_save.append((row, reason or ("calculation recorded" if was_recorded else "result recorded")))

        uses_changed = _plan_uses(record, user, instruments, reagents, errors)

        if not errors:
            # Instruments and reagents already on the record must be valid on a changed test date.
            for message in _invalid_uses(record, record.test_date):
                errors["test_date" if "test_date" in changed_header else "instruments"].append(message)

        if errors:
            raise InputError(dict(errors))
        if not (changed_header or to_save or uses_changed):
            raise WorkflowError(_("Nothing was changed."))

        for row, row_reason in to_save:
            save_changed(row, user, row_reason)
        for apply_use in uses_changed:
            apply_use()
        save_changed(record, user, reason or ("results recorded" if to_save else "record changed"))
        if to_save:
            # A failing value is an OOS the moment it is recorded (R-QC-5; GMP 第一百六十一条): from
            # now on only the investigation can invalidate it, never a "correction".
            _open_oos(record, record.item_blocks(), user, when_recorded=True)
    return record


def _plan_uses(
    record: TestRecord,
    user: User,
    instruments: Iterable[Instrument] | None,
    reagents: Iterable[Reagent] | None,
    errors: dict[str, list[str]],
) -> list:
    """Check the instruments and reagents wanted; return the writes to make if all is well.

    Each use keeps the calibration due / expiry date as it is now: the evidence that the item was
    valid on the test date, whatever later recalibration or relabelling does to the register.
    """
    writes: list = []
    on = record.test_date
    plans = (
        (
            "instruments",
            instruments,
            record.instrument_uses,
            "instrument_id",
            lambda i: InstrumentUse(
                record=record, instrument=i, calibration_due=i.calibration_due, last_changed_by=user
            ),
        ),
        (
            "reagents",
            reagents,
            record.reagent_uses,
            "reagent_id",
            lambda r: ReagentUse(record=record, reagent=r, expiry_date=r.expiry_date, last_changed_by=user),
        ),
    )
    for key, chosen, uses, fk, make_use in plans:
        if chosen is None:
            continue
        wanted = {obj.pk: obj for obj in chosen}
        current = {getattr(u, fk): u for u in uses.filter(voided_at__isnull=True)}
        for pk, obj in wanted.items():
            if pk in current:
                continue
            problem = obj.unusable_reason(on)
            if problem:
                errors[key].append(problem)
                continue
            writes.append(lambda use=make_use(obj): use.save_audited(user=user, reason="used"))  # noqa: B008 (bound now, on purpose)
        for pk, use in current.items():
            if pk not in wanted:
                writes.append(lambda use=use: _void_use(use, user))
    return writes


def _void_use(use: InstrumentUse | ReagentUse, user: User) -> None:
    use.voided_at = timezone.now()
    use.void_reason = "removed from the test record"
    save_changed(use, user, "removed from the test record")


def _invalid_uses(record: TestRecord, on: date) -> list[str]:
    """Messages for instruments and reagents on the record that were not valid on ``on``."""
    problems = []
    for use in record.instrument_uses.filter(voided_at__isnull=True).select_related("instrument"):
        ins = use.instrument
        if use.calibration_due < on:
            problems.append(
                _(
                    "Instrument %(code)s (%(model)s) was past its calibration due date (%(due)s) on the test date %(on)s."
                )
                % {"code": ins.code, "model": ins.model, "due": use.calibration_due.isoformat(), "on": on.isoformat()}
            )
    for use in record.reagent_uses.filter(voided_at__isnull=True).select_related("reagent"):
        rg = use.reagent
        if use.expiry_date < on:
            problems.append(
                _("%(kind)s %(name)s, lot %(lot)s, had expired (%(expiry)s) on the test date %(on)s.")
                % {
                    "kind": rg.get_kind_display(),
                    "name": rg.name,
                    "lot": rg.lot_number,
                    "expiry": use.expiry_date.isoformat(),
                    "on": on.isoformat(),
                }
            )
    return problems


@signs(Signature.Meaning.TESTED)
def record_submit(
    *, record: TestRecord, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> tuple[TestRecord, list[OOSInvestigation]]:
    """The tester signs the record "Tested" (检验) and sends it for second-person review.

    Preconditions: draft; every individual result entered; temperature and humidity recorded
    (R-QC-1); every instrument and reagent valid on the test date (R-QC-3).
    Effects: submitted; results' SHA-256 frozen into the record; Signature "Tested". A failing
    result opened its OOS investigation when it was recorded (``record_update``); any item with a
    failing result not yet investigated opens one here too (R-QC-5).
    Returns the record and the OOS investigations opened.
    """
    require_permission(user, "qc_records.change_testrecord")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        record = _locked_record(record)
        from qc_records.services.review import already_signed

        already_signed(record, TestRecord.Status.SUBMITTED, Signature.Meaning.TESTED)
        move(record, TestRecord.Status.SUBMITTED)
        check_not_archived(record)
        blocks = record.item_blocks()
        problems = []
        for block in blocks:
            missing = sum(1 for r in block.current if r.conclusion == Conclusion.PENDING)
            if missing:
                problems.append(
                    _("%(item)s: %(missing)s of %(total)s result(s) not entered.")
                    % {"item": block.item.name, "missing": missing, "total": len(block.current)}
                )
        if record.temperature is None or record.humidity is None:
            problems.append(_("Record the room temperature and relative humidity."))
        date_problem = test_date_problem(record)
        if date_problem:
            problems.append(date_problem)
        problems += _invalid_uses(record, record.test_date)
        problems += missing_evidence(record, blocks)
        problems += unsigned_analysts(record, blocks, submitter=user)
        if problems:
            raise WorkflowError(_("The record cannot be submitted yet:") + " " + " ".join(problems))

        record.submitted_by = user
        record.submitted_at = timezone.now()
        record.content_digest = record.compute_content_digest()
        save_step(record, user, comment or "submitted for review")
        sign(credential=credential, record=record, meaning=record_submit.meaning, comment=comment)
        opened = _open_oos(record, blocks, user)
    return record, opened


def missing_evidence(record: TestRecord, blocks: list) -> list[str]:
    """What each specification item requires and the record lacks, one message per item naming it
    and what to do (R-QC-1, R-QC-7; 检验记录书写规程 4.2.1, 4.2.4 a): an instrument of the type, a
    reference standard, a raw-data file attached to the item, a calculation for every result."""
    instruments = [
        u.instrument for u in record.instrument_uses.filter(voided_at__isnull=True).select_related("instrument")
    ]
    has_standard = record.reagent_uses.filter(
        voided_at__isnull=True, reagent__kind=Reagent.Kind.REFERENCE_STANDARD
    ).exists()
    filed_items = set(
        record.attachments.filter(voided_at__isnull=True, item__isnull=False).values_list("item_id", flat=True)
    )
    problems = []
    for block in blocks:
        item = block.item
        lacking = []
        wanted = item.required_instrument.strip().lower()
        if wanted and not any(wanted in f"{i.name} {i.model}".lower() for i in instruments):
            lacking.append(_("an instrument “%(type)s” in the instruments used") % {"type": item.required_instrument})
        if item.requires_reference_standard and not has_standard:
            lacking.append(_("a reference standard in the reagents used"))
        if item.requires_raw_data_file and item.pk not in filed_items:
            lacking.append(_("a raw-data file attached to this item"))
        if item.requires_calculation and any(not r.calculation.strip() for r in block.current):
            lacking.append(_("the calculation of every result"))
        if lacking:
            problems.append(
                _("%(item)s needs %(what)s (specification %(spec)s).")
                % {"item": item.name, "what": "; ".join(str(x) for x in lacking), "spec": record.specification}
            )
    return problems


def unsigned_analysts(record: TestRecord, blocks: list, *, submitter: User) -> list[str]:
    """Every analyst who entered a current result signs "Tested" (检验记录和检验报告管理规程
    1.2′.9): the submitter by submitting, the others with ``record_sign_tested`` after their last
    entry. One message naming those who have not."""
    last_entry: dict[int, Any] = {}
    for block in blocks:
        for r in block.current:
            if r.entered_by_id and r.entered_by_id != submitter.pk and r.entered_at:
                last_entry[r.entered_by_id] = max(last_entry.get(r.entered_by_id, r.entered_at), r.entered_at)
    missing = []
    for uid, last in sorted(last_entry.items()):
        if (
            not Signature.objects.for_record(record)
            .filter(meaning=Signature.Meaning.TESTED, signer_id=uid, signed_at__gte=last)
            .exists()
        ):
            missing.append(User.objects.get(pk=uid).printed_name)
    if missing:
        return [
            _("%(names)s entered results and must sign “Tested” for them first (Sign as co-analyst).")
            % {"names": ", ".join(missing)}
        ]
    return []


def cannot_sign_tested(record: TestRecord, user: User) -> str | None:
    """Why ``user`` may not sign "Tested" as a co-analyst now, or None: a draft where they entered a
    current result."""
    if record.status != TestRecord.Status.DRAFT:
        return _("Only a draft record is signed by its co-analysts.")
    if not record.results.filter(voided_at__isnull=True, entered_by=user).exists():
        return _("You entered no result of this record.")
    return None


@signs(Signature.Meaning.TESTED)
def record_sign_tested(
    *, record: TestRecord, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> TestRecord:
    """An analyst who entered some of the results signs "Tested" (检验) for them before the record
    is submitted by another analyst (检验记录和检验报告管理规程 1.2′.9). The record stays in draft."""
    require_permission(user, "qc_records.change_testrecord")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        record = _locked_record(record)
        if refusal := cannot_sign_tested(record, user):
            raise WorkflowError(refusal)
        items = ", ".join(
            sorted(
                set(record.results.filter(voided_at__isnull=True, entered_by=user).values_list("item__name", flat=True))
            )
        )
        text = comment or _("tested: %(items)s") % {"items": items}
        save_step(record, user, text)
        sign(credential=credential, record=record, meaning=record_sign_tested.meaning, comment=text)
    return record


def _open_oos(record: TestRecord, blocks: list, user: User, *, when_recorded: bool = False) -> list[OOSInvestigation]:
    """Open an OOS investigation for each item with a failing current result not yet investigated.

    Called when results are saved (``record_update``) and again at submission as a safety net."""
    opened = []
    year = timezone.localdate().year
    for block in blocks:
        failing = [r for r in block.current if r.conclusion == Conclusion.FAIL and r.oos_id is None]
        if not failing:
            continue
        oos = OOSInvestigation(
            number=f"OOS-{year}-{next_number('OOS', year):03d}",
            record=record,
            item=block.item,
            last_changed_by=user,
        )
        oos.save_audited(
            user=user,
            reason=_("opened: result out of specification when recorded")
            if when_recorded
            else _("opened: result out of specification on submission"),
        )
        for r in failing:
            r.oos = oos
            save_changed(r, user, _("out of specification: %(oos)s opened") % {"oos": oos.number})
        opened.append(oos)
    return opened
