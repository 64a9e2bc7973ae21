"""Workflow actions on QC records (HOUSE_STYLE: check → lock → save → log → sign → after commit).

Every action checks the person's permission as well as the workflow state and the segregation of
duties, because management commands, the admin and future API calls reach these functions
without going through a view. Signing actions take the password: ``verify_signer`` runs before
the transaction (a wrong password is counted even though the action is refused), ``sign`` inside.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.hashing import sha256_upload
from core.models import Signature, User
from core.numbering import next_number
from core.signatures import SignatureError, SigningCredential, sign, verify_signer
from core.workflow import WorkflowError, check_transition, require_permission
from qc_records.criteria import Conclusion, CriterionKind, ResultError
from qc_records.models import (
    PRODUCT_CATEGORIES,
    Attachment,
    Category,
    Instrument,
    InstrumentUse,
    LedgerArchive,
    OOSInvestigation,
    Reagent,
    ReagentUse,
    Sample,
    Specification,
    SpecificationItem,
    TestRecord,
    TestResult,
)

__all__ = [
    "WorkflowError",
    "InputError",
    "ResultEntry",
    "next_number",
    "specification_create",
    "specification_update",
    "specification_item_add",
    "specification_item_update",
    "specification_item_remove",
    "specification_approve",
    "specification_new_version",
    "specification_void",
    "instrument_create",
    "instrument_update",
    "reagent_create",
    "reagent_update",
    "sample_create",
    "sample_update",
    "record_create",
    "record_update",
    "record_submit",
    "record_review",
    "record_approve",
    "record_send_back",
    "record_void",
    "record_purge",
    "attachment_add",
    "attachment_remove",
    "oos_update",
    "oos_start_phase_two",
    "oos_close",
    "ledger_archive",
    "ledger_reopen",
    "month_is_archived",
    "testers",
]


class InputError(WorkflowError):
    """Input refused field by field. ``errors`` maps a key ("result:<id>", "instruments",
    "reagents", "reason", a header field name, or "" for the whole form) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(" ".join(m for msgs in errors.values() for m in msgs))


@dataclass
class ResultEntry:
    """What the analyst typed for one individual result."""

    value_text: str = ""
    complies: bool | None = None
    calculation: str = ""


# --- helpers ----------------------------------------------------------------------------------------


def _credential(user: User, password: str, request: HttpRequest | None) -> SigningCredential:
    try:
        return verify_signer(user=user, password=password, request=request)
    except SignatureError as exc:
        raise WorkflowError(str(exc)) from None


def _sign(credential: SigningCredential, record: Any, meaning: str, comment: str = "") -> Signature:
    try:
        return sign(credential=credential, record=record, meaning=meaning, comment=comment)
    except SignatureError as exc:
        raise WorkflowError(str(exc)) from None


def _need_reason(reason: str, message: str | None = None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InputError({"reason": [message or _("Give a reason for the change: it is recorded in the audit trail.")]})
    return reason


def _apply(obj: Any, changes: dict[str, Any]) -> list[str]:
    """Set the editable fields given; return the names that really changed."""
    changed = []
    for name, value in changes.items():
        if name not in type(obj).EDITABLE_FIELDS:
            raise WorkflowError(f"{name} cannot be changed here.")
        f = obj._meta.get_field(name)
        new_raw = value.pk if f.is_relation and value is not None else value
        if getattr(obj, f.attname) != new_raw:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _save(obj: Any, user: User, reason: str) -> None:
    obj.last_changed_by = user
    obj.updated_at = timezone.now()
    obj.save_audited(user=user, reason=reason)


def _history_user_ids(obj: Any) -> set[int]:
    return {uid for uid in obj.history.values_list("history_user_id", flat=True) if uid}


# --- specifications -----------------------------------------------------------------------------------


def _check_spec_subject(spec: Specification) -> None:
    if spec.category in PRODUCT_CATEGORIES:
        if spec.product_id is None:
            raise InputError({"product": [_("Choose the product this specification is for.")]})
    elif not spec.material_name.strip():
        raise InputError({"material_name": [_("Name the material or subject this specification is for.")]})


def specification_create(*, user: User, data: dict[str, Any]) -> Specification:
    """A new specification (version 1) in draft. Its number must not exist yet."""
    require_permission(user, "qc_records.add_specification")
    spec = Specification(last_changed_by=user)
    _apply(spec, data)
    spec.code = spec.code.strip()
    _check_spec_subject(spec)
    if Specification.objects.filter(code__iexact=spec.code).exists():
        raise InputError(
            {
                "code": [
                    _("Specification %(code)s already exists; make a new version of it instead.") % {"code": spec.code}
                ]
            }
        )
    try:
        with transaction.atomic():
            spec.save_audited(user=user, reason="created")
    except IntegrityError:
        raise InputError({"code": [_("Specification %(code)s already exists.") % {"code": spec.code}]}) from None
    return spec


def _draft_spec(spec_pk: int) -> Specification:
    spec = Specification.objects.select_for_update().get(pk=spec_pk)
    if spec.status != Specification.Status.DRAFT:
        raise WorkflowError(
            _("%(spec)s is %(status)s: only a draft can be changed. Make a new version instead.")
            % {"spec": spec, "status": spec.get_status_display()}
        )
    return spec


@transaction.atomic
def specification_update(*, spec: Specification, user: User, data: dict[str, Any], reason: str) -> Specification:
    """Change a draft specification's header (with a reason)."""
    require_permission(user, "qc_records.change_specification")
    spec = _draft_spec(spec.pk)
    reason = _need_reason(reason)
    data = {k: v for k, v in data.items() if k != "code"}  # the number names every version: fixed
    if not _apply(spec, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_spec_subject(spec)
    _save(spec, user, reason)
    return spec


def _check_item(item: SpecificationItem) -> None:
    errors: dict[str, list[str]] = {}
    if item.criterion_kind == CriterionKind.NUMERIC:
        if item.lower_limit is None and item.upper_limit is None:
            errors["lower_limit"] = [_("A numeric criterion needs a lower limit, an upper limit or both.")]
        elif item.lower_limit is not None and item.upper_limit is not None and item.lower_limit > item.upper_limit:
            errors["upper_limit"] = [_("The upper limit is below the lower limit.")]
        elif (
            item.lower_limit is not None
            and item.lower_limit == item.upper_limit
            and not (item.lower_inclusive and item.upper_inclusive)
        ):
            errors["upper_limit"] = [_("With equal limits both must be inclusive, or no result could comply.")]
    else:
        if item.lower_limit is not None or item.upper_limit is not None:
            errors["lower_limit"] = [_("Limits apply to numeric criteria only.")]
        if item.criterion_kind == CriterionKind.TEXT and not item.text_criterion.strip():
            errors["text_criterion"] = [_("Write the criterion, e.g. 应符合规定.")]
    if not item.name.strip():
        errors["name"] = [_("Name the test item.")]
    if errors:
        raise InputError(errors)


@transaction.atomic
def specification_item_add(*, spec: Specification, user: User, data: dict[str, Any]) -> SpecificationItem:
    """Add a test item to a draft specification."""
    require_permission(user, "qc_records.change_specification")
    spec = _draft_spec(spec.pk)
    item = SpecificationItem(specification=spec, last_changed_by=user)
    _apply(item, data)
    if "position" not in data or not data["position"]:
        last = spec.items.filter(voided_at__isnull=True).aggregate(m=Max("position"))["m"] or 0
        item.position = last + 1
    _check_item(item)
    item.save_audited(user=user, reason="added")
    _save(spec, user, _("test item %(name)s added") % {"name": item.name})
    return item


@transaction.atomic
def specification_item_update(
    *, item: SpecificationItem, user: User, data: dict[str, Any], reason: str
) -> SpecificationItem:
    require_permission(user, "qc_records.change_specification")
    spec = _draft_spec(item.specification_id)
    item = SpecificationItem.objects.select_for_update().get(pk=item.pk)
    if item.is_voided:
        raise WorkflowError(_("This test item was removed."))
    reason = _need_reason(reason)
    if not _apply(item, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_item(item)
    _save(item, user, reason)
    _save(spec, user, _("test item %(name)s changed: %(reason)s") % {"name": item.name, "reason": reason})
    return item


@transaction.atomic
def specification_item_remove(*, item: SpecificationItem, user: User, reason: str) -> SpecificationItem:
    """Remove a test item from a draft (voided, stays in the history)."""
    require_permission(user, "qc_records.change_specification")
    spec = _draft_spec(item.specification_id)
    item = SpecificationItem.objects.select_for_update().get(pk=item.pk)
    reason = _need_reason(reason)
    if item.is_voided:
        raise WorkflowError(_("This test item was already removed."))
    item.voided_at = timezone.now()
    item.void_reason = reason
    _save(item, user, reason)
    _save(spec, user, _("test item %(name)s removed: %(reason)s") % {"name": item.name, "reason": reason})
    return item


def specification_approve(
    *, spec: Specification, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> Specification:
    """Approve a draft specification with a signature; it comes into force today and the version
    in force before it is superseded.

    Preconditions: draft, at least one test item, the approver wrote none of it (R-SEQ-2).
    Records: history rows (this version → approved, previous → superseded), Signature "Approved".
    """
    require_permission(user, "qc_records.approve_specification")
    credential = _credential(user, password, request)
    with transaction.atomic():
        # Lock every version of this number: two approvals of the same number run one at a time.
        versions = {s.pk: s for s in Specification.objects.select_for_update().filter(code=spec.code)}
        spec = versions[spec.pk]
        check_transition(spec, Specification.Status.APPROVED)
        items = list(spec.items.filter(voided_at__isnull=True).order_by("position", "pk"))
        if not items:
            raise WorkflowError(_("A specification needs at least one test item before it can be approved."))
        authors = _history_user_ids(spec)
        for it in items:
            authors |= _history_user_ids(it)
        if user.pk in authors:
            raise WorkflowError(_("You wrote or changed this specification; another person must approve it."))
        now = timezone.now()
        for other in versions.values():
            if other.pk != spec.pk and other.status == Specification.Status.APPROVED:
                check_transition(other, Specification.Status.SUPERSEDED)
                other.status = Specification.Status.SUPERSEDED
                other.superseded_at = now
                _save(other, user, _("superseded by version %(v)s") % {"v": spec.version})
        spec.status = Specification.Status.APPROVED
        spec.approved_by = user
        spec.approved_at = now
        spec.effective_from = timezone.localdate()
        spec.content_digest = spec.compute_content_digest(items)
        try:
            with transaction.atomic():
                _save(spec, user, comment or "approved")
        except IntegrityError:
            raise WorkflowError(
                _("Another version of %(code)s was approved at the same time.") % {"code": spec.code}
            ) from None
        _sign(credential, spec, Signature.Meaning.APPROVED, comment)
    return spec


@transaction.atomic
def specification_new_version(*, spec: Specification, user: User) -> Specification:
    """Start the next version of a specification as a draft copy of the latest version."""
    require_permission(user, "qc_records.add_specification")
    versions = list(Specification.objects.select_for_update().filter(code=spec.code).order_by("-version"))
    if any(v.status == Specification.Status.DRAFT for v in versions):
        raise WorkflowError(_("A draft version of %(code)s already exists; change that one.") % {"code": spec.code})
    latest = versions[0]
    new = Specification(
        code=latest.code,
        version=latest.version + 1,
        title=latest.title,
        category=latest.category,
        product=latest.product,
        material_name=latest.material_name,
        standard_reference=latest.standard_reference,
        last_changed_by=user,
    )
    new.save_audited(user=user, reason=_("new version of %(spec)s") % {"spec": latest})
    for it in latest.items.filter(voided_at__isnull=True).order_by("position", "pk"):
        copy = SpecificationItem(specification=new, last_changed_by=user)
        for name in SpecificationItem.EDITABLE_FIELDS:
            setattr(copy, name, getattr(it, name))
        copy.save_audited(user=user, reason=_("copied from %(spec)s") % {"spec": latest})
    return new


@transaction.atomic
def specification_void(*, spec: Specification, user: User, reason: str) -> Specification:
    """Void a draft that will not be approved."""
    require_permission(user, "qc_records.change_specification")
    spec = Specification.objects.select_for_update().get(pk=spec.pk)
    check_transition(spec, Specification.Status.VOIDED)
    reason = _need_reason(reason, _("Give a reason for voiding."))
    spec.status = Specification.Status.VOIDED
    spec.voided_at = timezone.now()
    spec.void_reason = reason
    _save(spec, user, reason)
    return spec


# --- instruments and reagents -----------------------------------------------------------------------


def _check_status_change(obj: Any, old_status: str) -> None:
    if obj.status != old_status:
        new_status = obj.status
        obj.status = old_status
        check_transition(obj, new_status)
        obj.status = new_status


def instrument_create(*, user: User, data: dict[str, Any]) -> Instrument:
    require_permission(user, "qc_records.add_instrument")
    instrument = Instrument(last_changed_by=user)
    _apply(instrument, data)
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
def instrument_update(*, instrument: Instrument, user: User, data: dict[str, Any], reason: str) -> Instrument:
    """Change an instrument (e.g. a new calibration due date after calibration), with a reason."""
    require_permission(user, "qc_records.change_instrument")
    instrument = Instrument.objects.select_for_update().get(pk=instrument.pk)
    reason = _need_reason(reason)
    old_status = instrument.status
    if not _apply(instrument, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_status_change(instrument, old_status)
    if Instrument.objects.filter(code__iexact=instrument.code).exclude(pk=instrument.pk).exists():
        raise InputError({"code": [_("An instrument with ID %(code)s already exists.") % {"code": instrument.code}]})
    _save(instrument, user, reason)
    return instrument


def _check_reagent_dates(reagent: Reagent) -> None:
    if reagent.expiry_date < reagent.received_date:
        raise InputError({"expiry_date": [_("The expiry date is before the date received / prepared.")]})


def reagent_create(*, user: User, data: dict[str, Any]) -> Reagent:
    require_permission(user, "qc_records.add_reagent")
    reagent = Reagent(last_changed_by=user)
    _apply(reagent, data)
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
def reagent_update(*, reagent: Reagent, user: User, data: dict[str, Any], reason: str) -> Reagent:
    require_permission(user, "qc_records.change_reagent")
    reagent = Reagent.objects.select_for_update().get(pk=reagent.pk)
    reason = _need_reason(reason)
    old_status = reagent.status
    if not _apply(reagent, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_status_change(reagent, old_status)
    _check_reagent_dates(reagent)
    try:
        with transaction.atomic():
            _save(reagent, user, reason)
    except IntegrityError:
        raise InputError(
            {"lot_number": [_("This lot of %(name)s is already registered.") % {"name": reagent.name}]}
        ) from None
    return reagent


# --- samples ----------------------------------------------------------------------------------------


def _check_sample(sample: Sample) -> None:
    errors: dict[str, list[str]] = {}
    spec = sample.specification
    if spec.status != Specification.Status.APPROVED:
        errors["specification"] = [_("Choose a specification that is approved (in force).")]
    elif spec.category != sample.category:
        errors["specification"] = [
            _("%(spec)s is for %(cat)s, not for %(sample_cat)s.")
            % {"spec": spec, "cat": spec.get_category_display(), "sample_cat": Category(sample.category).label}
        ]
    if sample.category == Category.FINISHED_PRODUCT and sample.batch_id is None:
        errors["batch"] = [_("A finished-product sample names the batch sampled.")]
    if sample.batch_id is not None:
        batch = sample.batch
        if sample.product_id is None:
            sample.product_id = batch.product_id
        elif sample.product_id != batch.product_id:
            errors["batch"] = [_("Batch %(batch)s is not a batch of this product.") % {"batch": batch}]
        if not sample.lot_number:
            sample.lot_number = batch.batch_number
    if sample.category in PRODUCT_CATEGORIES:
        if sample.product_id is None:
            errors["product"] = [_("Choose the product sampled.")]
        elif spec.product_id and spec.product_id != sample.product_id and "specification" not in errors:
            errors["specification"] = [_("%(spec)s is not the specification of this product.") % {"spec": spec}]
        if sample.product_id and not sample.strength:
            sample.strength = sample.product.strength
    else:
        if sample.batch_id is not None or sample.product_id is not None:
            errors["batch"] = [_("Only product samples are linked to a product or batch.")]
        if not sample.material_name:
            sample.material_name = spec.material_name
    if sample.quantity is not None and sample.quantity <= 0:
        errors["quantity"] = [_("The quantity must be more than zero.")]
    if sample.received_date and sample.received_date > timezone.localdate():
        errors["received_date"] = [_("The received date cannot be in the future.")]
    if errors:
        raise InputError(errors)


def sample_create(*, user: User, data: dict[str, Any]) -> Sample:
    """Register a sample received by QC; it gets the next sample number of the year."""
    require_permission(user, "qc_records.add_sample")
    sample = Sample(last_changed_by=user)
    _apply(sample, data)
    _check_sample(sample)
    with transaction.atomic():
        year = sample.received_date.year
        sample.number = f"S-{year}-{next_number('sample', year):04d}"
        sample.save_audited(user=user, reason="registered")
    return sample


@transaction.atomic
def sample_update(*, sample: Sample, user: User, data: dict[str, Any], reason: str) -> Sample:
    """Correct a sample's registration while none of its records has been submitted."""
    require_permission(user, "qc_records.change_sample")
    sample = Sample.objects.select_for_update().get(pk=sample.pk)
    reason = _need_reason(reason)
    if sample.records.exclude(status__in=[TestRecord.Status.DRAFT, TestRecord.Status.VOIDED]).exists():
        raise WorkflowError(_("This sample's test record has been submitted; its registration can no longer change."))
    if not _apply(sample, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_sample(sample)
    _save(sample, user, reason)
    return sample


# --- test records -------------------------------------------------------------------------------------


def month_is_archived(category: str, day: date) -> bool:
    return LedgerArchive.objects.filter(
        category=category, year=day.year, month=day.month, status=LedgerArchive.Status.ARCHIVED
    ).exists()


def _check_not_archived(record: TestRecord, day: date | None = None) -> None:
    day = day or record.test_date
    if month_is_archived(record.category, day):
        raise WorkflowError(
            _("%(category)s records of %(month)s are archived and locked; a QC head must reopen the month first.")
            % {"category": Category(record.category).label, "month": f"{day:%Y-%m}"}
        )


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
        record = TestRecord(
            sample=sample,
            specification=spec,
            category=sample.category,
            created_by=user,
            last_changed_by=user,
            test_date=timezone.localdate(),
        )
        _check_not_archived(record)
        record.save_audited(user=user, reason="started")
        for item in spec.items.filter(voided_at__isnull=True).order_by("position", "pk"):
            for replicate in range(1, item.replicates + 1):
                TestResult(
                    record=record, item=item, replicate=replicate, unit=item.unit, last_changed_by=user
                ).save_audited(user=user, reason="started")
    return record


def _back_to_draft(record: TestRecord, user: User, reason: str) -> None:
    """A submitted or reviewed record that changes needs testing and review again (R-QC-4)."""
    check_transition(record, TestRecord.Status.DRAFT)
    record.status = TestRecord.Status.DRAFT
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
    _check_not_archived(record)
    if record.status != TestRecord.Status.DRAFT:
        reason = _need_reason(
            reason,
            _(
                "This record has been submitted: give a reason for the change. It goes back to draft for testing and review again."
            ),
        )
        _back_to_draft(record, user, reason)
    return reason


def record_update(
    *,
    record: TestRecord,
    user: User,
    header: dict[str, Any] | None = None,
    results: dict[int, ResultEntry] | None = None,
    instruments: Iterable[Instrument] | None = None,
    reagents: Iterable[Reagent] | None = None,
    reason: str = "",
) -> TestRecord:
    """Save what the analyst entered: header fields, individual results, instruments and reagents.

    Each result is judged against its specification item as it is saved (R-QC-2). Correcting a
    result already recorded needs a reason (检验原始记录管理规程 4.1.4); a result under an OOS
    investigation cannot be changed at all (R-QC-5). A reason is also needed for any change to a
    submitted or reviewed record, which then goes back to draft (R-QC-4). An instrument past its
    calibration date or a reagent past expiry is refused with its name and date (R-QC-3).
    Everything is checked before anything is written: either all of it is saved or none.
    """
    require_permission(user, "qc_records.change_testrecord")
    header = header or {}
    results = results or {}
    reason = (reason or "").strip()
    with transaction.atomic():
        record = _locked_record(record)
        reason = _open_for_change(record, user, reason)
        errors: dict[str, list[str]] = defaultdict(list)

        changed_header = _apply(record, header)
        if "test_date" in changed_header:
            if record.test_date > timezone.localdate():
                errors["test_date"].append(_("The test date cannot be in the future."))
            elif record.test_date < record.sample.received_date:
                errors["test_date"].append(
                    _("The test date is before the sample was received (%(date)s).")
                    % {"date": record.sample.received_date.isoformat()}
                )
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
            complies = entry.complies if row.item.criterion_kind == CriterionKind.TEXT else None
            calculation = (entry.calculation or "").strip()
            if (value_text, complies, calculation) == (row.value_text, row.complies, row.calculation):
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
            _save(row, user, row_reason)
        for apply_use in uses_changed:
            apply_use()
        _save(record, user, reason or ("results recorded" if to_save else "record changed"))
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
    _save(use, user, "removed from the test record")


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


def record_submit(
    *, record: TestRecord, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> tuple[TestRecord, list[OOSInvestigation]]:
    """The tester signs the record "Tested" (检验) and sends it for second-person review.

    Preconditions: draft; every individual result entered; temperature and humidity recorded
    (R-QC-1); every instrument and reagent valid on the test date (R-QC-3).
    Effects: submitted; results' SHA-256 frozen into the record; Signature "Tested"; each item
    with a failing result not yet investigated opens an OOS investigation (R-QC-5).
    Returns the record and the OOS investigations opened.
    """
    require_permission(user, "qc_records.change_testrecord")
    credential = _credential(user, password, request)
    with transaction.atomic():
        record = _locked_record(record)
        check_transition(record, TestRecord.Status.SUBMITTED)
        _check_not_archived(record)
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
        if record.test_date > timezone.localdate():
            problems.append(_("The test date cannot be in the future."))
        if record.test_date < record.sample.received_date:
            problems.append(
                _("The test date is before the sample was received (%(date)s).")
                % {"date": record.sample.received_date.isoformat()}
            )
        problems += _invalid_uses(record, record.test_date)
        if problems:
            raise WorkflowError(_("The record cannot be submitted yet:") + " " + " ".join(problems))

        check_transition(record, TestRecord.Status.SUBMITTED)
        record.status = TestRecord.Status.SUBMITTED
        record.submitted_by = user
        record.submitted_at = timezone.now()
        record.content_digest = record.compute_content_digest()
        _save(record, user, comment or "submitted for review")
        _sign(credential, record, Signature.Meaning.TESTED, comment)
        opened = _open_oos(record, blocks, user)
    return record, opened


def _open_oos(record: TestRecord, blocks: list, user: User) -> list[OOSInvestigation]:
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
        oos.save_audited(user=user, reason=_("opened: result out of specification on submission"))
        for r in failing:
            r.oos = oos
            _save(r, user, _("out of specification: %(oos)s opened") % {"oos": oos.number})
        opened.append(oos)
    return opened


def testers(record: TestRecord) -> set[int]:
    """Everyone who did any of the testing, in this round or an earlier one (R-QC-4, R-SEQ-2).

    Read from the audit trail, so no later step hides an author: whoever started the record or
    signed it "Tested"; entered or corrected any result, including one later overwritten or
    invalidated by an OOS investigation; chose or removed an instrument or reagent; attached or
    removed a raw-data file; or changed the test date, conditions, observations or procedure notes.
    Reviewers sending a record back and OOS closers invalidating results change none of these, so
    they stay free to review or approve it. A fixed number of queries.
    """
    people = {record.created_by_id, record.submitted_by_id}
    people |= set(
        Signature.objects.for_record(record)
        .filter(meaning=Signature.Meaning.TESTED)
        .values_list("signer_id", flat=True)
    )
    people |= set(TestResult.history.filter(record_id=record.pk).values_list("entered_by_id", flat=True))
    for model in (InstrumentUse, ReagentUse, Attachment):
        people |= set(model.history.filter(record_id=record.pk).values_list("history_user_id", flat=True))
    previous = None
    for row in record.history.order_by("history_date", "history_id").values(
        "history_user_id", *TestRecord.EDITABLE_FIELDS
    ):
        header = tuple(row[f] for f in TestRecord.EDITABLE_FIELDS)
        if previous is not None and header != previous:
            people.add(row["history_user_id"])
        previous = header
    return people - {None}


def _check_digest(record: TestRecord) -> None:
    if record.content_digest and record.content_digest != record.compute_content_digest():
        raise WorkflowError(
            _(
                "The results of this record changed after it was signed “Tested”; it cannot be signed. Report this to QA."
            )
        )


def record_review(
    *, record: TestRecord, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> TestRecord:
    """Second-person review (复核): a different person checks and signs "Reviewed".

    Preconditions: submitted; the reviewer did none of the testing (``testers``; R-QC-4, R-SEQ-2).
    """
    require_permission(user, "qc_records.review_testrecord")
    credential = _credential(user, password, request)
    with transaction.atomic():
        record = _locked_record(record)
        check_transition(record, TestRecord.Status.REVIEWED)
        if user.pk in testers(record):
            raise WorkflowError(_("You tested this record; a different person must review it (second-person review)."))
        _check_digest(record)
        record.status = TestRecord.Status.REVIEWED
        record.reviewed_by = user
        record.reviewed_at = timezone.now()
        _save(record, user, comment or "reviewed")
        _sign(credential, record, Signature.Meaning.REVIEWED, comment)
    return record


def record_approve(
    *, record: TestRecord, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> TestRecord:
    """The QC head approves the test report: report number QC-YYYY-NNNN, conclusion, signature.

    Preconditions: reviewed; no open OOS investigation on the record; the approver neither
    tested nor reviewed it. The number is taken last, inside the transaction, so a refused or
    rolled-back approval uses none (gap-free, R-QC-6). The PDF report is issued after commit.
    """
    require_permission(user, "qc_records.approve_testrecord")
    credential = _credential(user, password, request)
    with transaction.atomic():
        record = _locked_record(record)
        check_transition(record, TestRecord.Status.APPROVED)
        if user.pk in testers(record) | {record.reviewed_by_id}:
            raise WorkflowError(_("You tested or reviewed this record; another person must approve the report."))
        open_oos = list(record.oos_investigations.open().values_list("number", flat=True))
        if open_oos:
            raise WorkflowError(
                _("OOS investigation %(numbers)s is still open: close it before approving the report.")
                % {"numbers": ", ".join(open_oos)}
            )
        _check_digest(record)
        blocks = record.item_blocks()
        record.verdict = record.compute_verdict(blocks)
        if record.verdict == TestRecord.Verdict.PENDING:
            raise WorkflowError(_("Some results are missing; the record must go back to the analyst."))
        year = timezone.localdate().year
        record.report_number = f"QC-{year}-{next_number('QC', year):04d}"
        record.status = TestRecord.Status.APPROVED
        record.approved_by = user
        record.approved_at = timezone.now()
        _save(record, user, comment or "report approved")
        _sign(credential, record, Signature.Meaning.APPROVED, comment)
        record_pk, user_pk = record.pk, user.pk
        transaction.on_commit(lambda: _issue_report_after_commit(record_pk, user_pk))
    return record


def _issue_report_after_commit(record_pk: int, user_pk: int) -> None:
    from django.conf import settings

    if not getattr(settings, "QC_ISSUE_REPORT_ON_APPROVAL", True):
        return
    from qc_records import pdf

    pdf.issue_report_safely(record_pk, user_pk)


@transaction.atomic
def record_send_back(*, record: TestRecord, user: User, reason: str) -> TestRecord:
    """The reviewer or QC head returns a submitted or reviewed record to the analyst, with the reason."""
    require_permission(user, "qc_records.review_testrecord", "qc_records.approve_testrecord")
    record = _locked_record(record)
    reason = _need_reason(reason, _("Say why the record is sent back: the analyst sees it."))
    if record.status not in (TestRecord.Status.SUBMITTED, TestRecord.Status.REVIEWED):
        check_transition(record, TestRecord.Status.DRAFT)
    _check_not_archived(record)
    _back_to_draft(record, user, reason)
    _save(record, user, _("sent back: %(reason)s") % {"reason": reason})
    return record


def record_void(
    *, record: TestRecord, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> TestRecord:
    """Void a draft record started in error (signed, with a reason); it stays readable."""
    require_permission(user, "qc_records.change_testrecord", "qc_records.approve_testrecord")
    reason = _need_reason(reason, _("Give a reason for voiding."))
    credential = _credential(user, password, request)
    with transaction.atomic():
        record = _locked_record(record)
        check_transition(record, TestRecord.Status.VOIDED)
        _check_not_archived(record)
        if record.oos_investigations.exists():
            raise WorkflowError(_("A record with an OOS investigation cannot be voided."))
        record.status = TestRecord.Status.VOIDED
        record.voided_at = timezone.now()
        record.void_reason = reason
        _save(record, user, reason)
        _sign(credential, record, Signature.Meaning.VOIDED, reason)
    return record


def record_purge(
    *,
    record: TestRecord,
    user: User,
    password: str,
    reason: str,
    request: HttpRequest | None = None,
    today: date | None = None,
) -> TestRecord:
    """Destroy a record's raw-data files after its retention date (R-REC-2).

    Refused before the retention date. The record row, its results, history and signatures stay
    as the evidence of what was kept and when it was destroyed.
    """
    require_permission(user, "qc_records.purge_testrecord")
    reason = _need_reason(reason, _("Give a reason for purging."))
    credential = _credential(user, password, request)
    today = today or timezone.localdate()
    files: list[str] = []
    with transaction.atomic():
        record = _locked_record(record)
        if record.status not in (TestRecord.Status.APPROVED, TestRecord.Status.VOIDED):
            raise WorkflowError(_("Only approved or voided records can be purged."))
        if record.purged_at is not None:
            raise WorkflowError(_("This record's raw data was already purged."))
        keep_until = record.retention_until
        if today <= keep_until:
            raise WorkflowError(
                _("This record must be kept until %(date)s; it cannot be purged before then.")
                % {"date": keep_until.isoformat()}
            )
        record.purged_at = timezone.now()
        _save(record, user, _("raw data purged: %(reason)s") % {"reason": reason})
        _sign(credential, record, Signature.Meaning.PURGED, _("raw data purged: %(reason)s") % {"reason": reason})
        files = [a.file.name for a in record.attachments.all() if a.file.name]
        storage = Attachment._meta.get_field("file").storage

        def remove_files() -> None:
            for name in files:
                storage.delete(name)

        transaction.on_commit(remove_files)
    return record


# --- raw-data files -----------------------------------------------------------------------------------


def _sha256_of(upload: UploadedFile) -> str:
    return sha256_upload(upload)


MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024


def attachment_add(
    *,
    record: TestRecord,
    user: User,
    upload: UploadedFile,
    description: str = "",
    item: SpecificationItem | None = None,
    reason: str = "",
) -> Attachment:
    """Attach a raw-data file with its SHA-256 (R-QC-7). A submitted or reviewed record needs a
    reason and goes back to draft, like any other change."""
    require_permission(user, "qc_records.change_testrecord")
    if upload.size is not None and upload.size > MAX_ATTACHMENT_BYTES:
        raise InputError({"file": [_("Files larger than 50 MB cannot be attached.")]})
    if upload.size == 0:
        raise InputError({"file": [_("The file is empty.")]})
    sha256 = _sha256_of(upload)
    saved_name = ""
    try:
        with transaction.atomic():
            record = _locked_record(record)
            reason = _open_for_change(record, user, reason)
            if item is not None and item.specification_id != record.specification_id:
                raise InputError({"item": [_("This test item is not part of the record's specification.")]})
            attachment = Attachment(
                record=record,
                item=item,
                original_name=(upload.name or "file")[:255],
                content_type=(getattr(upload, "content_type", "") or "")[:100],
                size=upload.size or 0,
                sha256=sha256,
                description=description.strip(),
                last_changed_by=user,
            )
            attachment.file.save(attachment.original_name, upload, save=False)
            saved_name = attachment.file.name
            attachment.save_audited(user=user, reason=reason or "attached")
            _save(record, user, reason or _("file %(name)s attached") % {"name": attachment.original_name})
    except Exception:
        # Nothing of a refused upload stays behind, neither the row nor the stored file.
        if saved_name:
            Attachment._meta.get_field("file").storage.delete(saved_name)
        raise
    return attachment


def attachment_remove(*, attachment: Attachment, user: User, reason: str) -> Attachment:
    """Remove a file from a record (voided with the reason; the file is kept)."""
    require_permission(user, "qc_records.change_testrecord")
    with transaction.atomic():
        record = _locked_record(attachment.record)
        reason = _need_reason(reason, _("Give a reason for removing the file."))
        reason = _open_for_change(record, user, reason)
        attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
        if attachment.is_voided:
            raise WorkflowError(_("This file was already removed."))
        attachment.voided_at = timezone.now()
        attachment.void_reason = reason
        _save(attachment, user, reason)
        _save(
            record, user, _("file %(name)s removed: %(reason)s") % {"name": attachment.original_name, "reason": reason}
        )
    return attachment


# --- OOS investigations -----------------------------------------------------------------------------


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
    changed = _apply(oos, data)
    if not changed:
        raise WorkflowError(_("Nothing was changed."))
    overwritten = [k for k in changed if before[k] not in ("", None)]
    if overwritten and not (reason or "").strip():
        raise InputError({"reason": [_("Give a reason for changing findings already recorded.")]})
    _save(oos, user, (reason or "").strip() or "findings recorded")
    return oos


@transaction.atomic
def oos_start_phase_two(*, oos: OOSInvestigation, user: User, reason: str) -> OOSInvestigation:
    """No assignable laboratory cause in phase I: the full investigation (phase II) begins."""
    require_permission(user, "qc_records.change_oosinvestigation")
    oos = _locked_oos(oos)
    check_transition(oos, OOSInvestigation.Status.PHASE_2)
    if not oos.phase1_findings.strip() or oos.assignable_cause is None:
        raise WorkflowError(_("Record the phase I findings and whether an assignable cause was found first."))
    if oos.assignable_cause:
        raise WorkflowError(
            _("Phase I found an assignable laboratory cause: close the investigation as laboratory error.")
        )
    reason = _need_reason(reason)
    oos.status = OOSInvestigation.Status.PHASE_2
    _save(oos, user, reason)
    return oos


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
    """Close an OOS investigation with a QC head or QA signature.

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
    credential = _credential(user, password, request)
    with transaction.atomic():
        oos = _locked_oos(oos)
        check_transition(oos, OOSInvestigation.Status.CLOSED)
        record = _locked_record(oos.record)
        if user.pk in testers(record):
            raise WorkflowError(_("You tested this record; another person must close its OOS investigation."))
        if oos.status == OOSInvestigation.Status.PHASE_1:
            if outcome == OOSInvestigation.Outcome.CONFIRMED:
                raise WorkflowError(_("An OOS result is confirmed only after the phase II investigation."))
            if not oos.assignable_cause or not oos.phase1_findings.strip():
                raise WorkflowError(
                    _("A laboratory error in phase I needs the findings and an assignable cause recorded first.")
                )
        elif not oos.phase2_findings.strip():
            raise WorkflowError(_("Record the phase II findings first."))
        oos.status = OOSInvestigation.Status.CLOSED
        oos.outcome = outcome
        oos.summary = summary
        oos.closed_by = user
        oos.closed_at = timezone.now()
        _save(oos, user, comment or _("closed: %(outcome)s") % {"outcome": oos.get_outcome_display()})
        _sign(credential, oos, Signature.Meaning.CLOSED, comment or summary)
        if outcome == OOSInvestigation.Outcome.LAB_ERROR:
            _invalidate_for_retest(record, oos, user, summary)
    return oos


def _invalidate_for_retest(record: TestRecord, oos: OOSInvestigation, user: User, summary: str) -> None:
    reason = _("invalidated by %(oos)s (laboratory error): %(summary)s") % {"oos": oos.number, "summary": summary}
    current = list(record.results.select_for_update().filter(item=oos.item, voided_at__isnull=True))
    for result in current:
        result.voided_at = timezone.now()
        result.void_reason = reason
        _save(result, user, reason)
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
    _save(record, user, _("retest required by %(oos)s") % {"oos": oos.number})


# --- ledger archive -------------------------------------------------------------------------------


def ledger_archive(
    *,
    user: User,
    password: str,
    year: int,
    month: int,
    category: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> LedgerArchive:
    """Archive one month of one category (检验原始记录管理规程 4.3.2), signed by the QC head.

    Preconditions: the month is over; every record in it is approved or voided. Effect: the
    month's records are locked until a QC head reopens it.
    """
    require_permission(user, "qc_records.archive_testrecord")
    if category not in Category.values:
        raise InputError({"category": [_("Choose a category.")]})
    today = timezone.localdate()
    if (year, month) >= (today.year, today.month):
        raise InputError({"month": [_("Only a month that is over can be archived.")]})
    credential = _credential(user, password, request)
    with transaction.atomic():
        records = TestRecord.objects.filter(category=category).in_month(year, month)
        unfinished = list(
            records.exclude(status__in=[TestRecord.Status.APPROVED, TestRecord.Status.VOIDED]).select_related("sample")[
                :5
            ]
        )
        if unfinished:
            raise WorkflowError(
                _("Records of this month are not finished (approved or voided) yet: %(list)s.")
                % {"list": ", ".join(f"{r.sample.number} ({r.get_status_display()})" for r in unfinished)}
            )
        count = records.count()
        archive = LedgerArchive.objects.select_for_update().filter(year=year, month=month, category=category).first()
        if archive is None:
            archive = LedgerArchive(year=year, month=month, category=category, record_count=count, last_changed_by=user)
            try:
                with transaction.atomic():
                    archive.save_audited(user=user, reason=comment or "archived")
            except IntegrityError:
                raise WorkflowError(_("This month was archived at the same time by someone else.")) from None
        else:
            check_transition(archive, LedgerArchive.Status.ARCHIVED)
            archive.status = LedgerArchive.Status.ARCHIVED
            archive.record_count = count
            _save(archive, user, comment or "archived again")
        _sign(credential, archive, Signature.Meaning.CLOSED, comment)
    return archive


def ledger_reopen(
    *, archive: LedgerArchive, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> LedgerArchive:
    """Reopen an archived month (QC head signature and reason); its records can change again."""
    require_permission(user, "qc_records.archive_testrecord")
    reason = _need_reason(reason, _("Give a reason for reopening the archived month."))
    credential = _credential(user, password, request)
    with transaction.atomic():
        archive = LedgerArchive.objects.select_for_update().get(pk=archive.pk)
        check_transition(archive, LedgerArchive.Status.REOPENED)
        archive.status = LedgerArchive.Status.REOPENED
        _save(archive, user, reason)
        _sign(credential, archive, Signature.Meaning.UNLOCKED, reason)
    return archive
