"""A test record's sign-off: second-person review, approval of the report, sending back,
voiding, and destroying raw data after retention. Each "may this person do it now" rule is a
``cannot_<verb>_record`` predicate here, read by the service, the record page and My work."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import Signature, User
from core.numbering import next_number
from core.pdf import issue_after_commit
from core.signatures import sign, verify_signer
from core.workflow import (
    InputError,
    WorkflowError,
    check_transition,
    move,
    require_permission,
    require_reason,
    save_step,
    signs,
)
from qc_records.models import Attachment, Sample, TestRecord, tester_condition
from qc_records.services.ledger import check_not_archived
from qc_records.services.records import _back_to_draft, _locked_record
from qc_records.services.samples import store_test_state


def testers(record: TestRecord) -> set[int]:
    """Everyone who did any of the testing, in this round or an earlier one (R-QC-4, R-SEQ-2):
    the people ``qc_records.models.tester_condition`` finds for this record. One query."""
    people = get_user_model().objects.filter(tester_condition(record.pk, OuterRef("pk")))
    return set(people.values_list("pk", flat=True))


def cannot_review_record(record: TestRecord, user: User) -> str | None:
    """Why ``user`` may not review ``record``, or None: second-person review means the reviewer
    did none of the testing (R-QC-4, R-SEQ-2). The service, the record page and the My-work
    queue all read ``TestRecord.objects.tested_by`` / ``not_tested_by``."""
    if TestRecord.objects.filter(pk=record.pk).tested_by(user).exists():
        return _("You tested this record; a different person must review it (second-person review).")
    return None


def cannot_approve_record(record: TestRecord, user: User) -> str | None:
    """Why ``user`` may not approve ``record``'s report, or None: the approver neither tested nor
    reviewed it (R-SEQ-2; ``TestRecord.objects.not_tested_or_reviewed_by``, also the queue's)."""
    if not TestRecord.objects.filter(pk=record.pk).not_tested_or_reviewed_by(user).exists():
        return _("You tested or reviewed this record; another person must approve the report.")
    return None


def cannot_purge_record(record: TestRecord, user: User, today: date | None = None) -> str | None:
    """Why ``record``'s raw data may not be destroyed now, or None: only a finished (approved or
    voided) record, once, and only after its retention date (R-REC-2)."""
    today = today or timezone.localdate()
    if record.status not in (TestRecord.Status.APPROVED, TestRecord.Status.VOIDED):
        return _("Only approved or voided records can be purged.")
    if record.purged_at is not None:
        return _("This record's raw data was already purged.")
    keep_until = record.retention_until
    if today <= keep_until:
        return _("This record must be kept until %(date)s; it cannot be purged before then.") % {
            "date": keep_until.isoformat()
        }
    return None


def cannot_void_record(record: TestRecord, user: User) -> str | None:
    """Why ``user`` may not void ``record`` now, or None (R-QC-9, R-REC-1).

    A draft with no result recorded may be voided by the analyst who started it in error. Once any
    value was recorded (even one later invalidated) the record is evidence: only the QC head may
    void it, with a signed reason, and not a QC head who tested it — an analyst can no longer void
    a failing result away and start again (检验记录书写规程 4.2.4 e)."""
    if record.status != TestRecord.Status.DRAFT:
        return _("Only a draft record can be voided; this one is %(status)s.") % {"status": record.get_status_display()}
    if record.oos_investigations.exists():
        return _("A record with an OOS investigation cannot be voided.")
    recorded = list(record.recorded_results().select_related("item").order_by("item__position", "replicate"))
    if recorded:
        if not user.has_perm("qc_records.approve_testrecord"):
            values = ", ".join(f"{r.item.name} {r.display_value}" for r in recorded[:5])
            return _(
                "This record holds recorded results (%(values)s): only the QC head can void it, with a signed "
                "reason. Ask the QC head, or record an invalidated run with its cause instead."
            ) % {"values": values}
        if TestRecord.objects.filter(pk=record.pk).tested_by(user).exists():
            return _("You tested this record; another QC head must approve voiding it.")
    elif not (user.has_perm("qc_records.change_testrecord") or user.has_perm("qc_records.approve_testrecord")):
        return _("You do not have permission to do this.")
    return None


def already_signed(record, status: str, meaning: str) -> None:
    """Refuse a second signature of the same step, saying who already signed it and when (issue 7)."""
    if record.status != status:
        return
    from core.templatetags.core_tags import local_dt

    done = Signature.objects.for_record(record).filter(meaning=meaning).order_by("-signed_at", "-pk").first()
    if done is not None:
        raise WorkflowError(
            _("%(record)s was already signed “%(meaning)s” by %(name)s on %(when)s.")
            % {
                "record": record,
                "meaning": Signature.Meaning(meaning).label,
                "name": done.printed_name,
                "when": local_dt(done.signed_at),
            }
        )


def _check_digest(record: TestRecord) -> None:
    if record.content_digest and record.content_digest != record.compute_content_digest():
        raise WorkflowError(
            _(
                "The results of this record changed after it was signed “Tested”; it cannot be signed. Report this to QA."
            )
        )


# 检验原始记录管理规程 4.2.1 ①–⑥ and PIC/S PI 041 §9.8: what the reviewer checks and, by signing
# "Reviewed", attests. Every item is answered before the signature; one that cannot be confirmed
# means the record is sent back, not reviewed (R-QC-4).
REVIEW_CHECKLIST: tuple[tuple[str, str], ...] = (
    ("procedure", gettext_lazy("① The test followed the pharmacopoeia or the approved procedure.")),
    ("complete_items", gettext_lazy("② Every item was tested; none is missing.")),
    ("record_complete", gettext_lazy("③ The record is complete and correct.")),
    ("corrections", gettext_lazy("④ Writing and every correction (shown beside its value) are correct.")),
    ("calculations", gettext_lazy("⑤ Formulas and calculated values are correct.")),
    ("tester_signatures", gettext_lazy("⑥ The testers' signatures are correct.")),
    ("audit_trail", gettext_lazy("⑦ The audit trail of this record (its History) was reviewed.")),
)


@signs(Signature.Meaning.REVIEWED)
def record_review(
    *,
    record: TestRecord,
    user: User,
    password: str,
    checklist: dict[str, bool],
    comment: str = "",
    request: HttpRequest | None = None,
) -> TestRecord:
    """Second-person review (复核): a different person answers the review checklist
    (``REVIEW_CHECKLIST``, 检验原始记录管理规程 4.2.1 ①–⑥ + the record's audit trail) and signs
    "Reviewed"; the signature's comment records what was attested.

    Preconditions: submitted; every checklist item confirmed (one that cannot be is a reason to
    send the record back); the reviewer did none of the testing (``testers``; R-QC-4, R-SEQ-2).
    """
    require_permission(user, "qc_records.review_testrecord")
    unanswered = {
        key: [_("Confirm “%(item)s” before signing, or send the record back saying what is wrong.") % {"item": label}]
        for key, label in REVIEW_CHECKLIST
        if not (checklist or {}).get(key)
    }
    if unanswered:
        raise InputError(unanswered)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        record = _locked_record(record)
        already_signed(record, TestRecord.Status.REVIEWED, Signature.Meaning.REVIEWED)
        move(record, TestRecord.Status.REVIEWED)
        refusal = cannot_review_record(record, user)
        if refusal:
            raise WorkflowError(refusal)
        _check_digest(record)
        record.reviewed_by = user
        record.reviewed_at = timezone.now()
        save_step(record, user, comment or "reviewed")
        # The second person has seen every invalidated run / discarded data entry (R-QC-9).
        for run in record.discarded_runs.select_for_update().filter(reviewed_by__isnull=True):
            run.reviewed_by, run.reviewed_at = user, record.reviewed_at
            save_step(run, user, "reviewed")
        attested = _("Review checklist confirmed: %(items)s") % {
            "items": " ".join(str(label) for _key, label in REVIEW_CHECKLIST)
        }
        sign(
            credential=credential,
            record=record,
            meaning=record_review.meaning,
            comment=f"{comment}\n{attested}" if comment else attested,
        )
    return record


@signs(Signature.Meaning.APPROVED)
def record_approve(
    *, record: TestRecord, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> TestRecord:
    """The QC head approves the test report: report number QC-YYYY-NNNN, conclusion, signature.

    Preconditions: reviewed; no open OOS investigation on the record; the approver neither
    tested nor reviewed it. The number is taken last, inside the transaction, so a refused or
    rolled-back approval uses none (gap-free, R-QC-6). The PDF report is issued after commit.
    """
    require_permission(user, "qc_records.approve_testrecord")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        record = _locked_record(record)
        already_signed(record, TestRecord.Status.APPROVED, Signature.Meaning.APPROVED)
        move(record, TestRecord.Status.APPROVED)
        refusal = cannot_approve_record(record, user)
        if refusal:
            raise WorkflowError(refusal)
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
        # A reopened record keeps its number: the corrected report is version 2 of it (R-QC-10).
        record.report_number = record.report_number or f"QC-{year}-{next_number('QC', year):04d}"
        record.approved_by = user
        record.approved_at = timezone.now()
        save_step(record, user, comment or "report approved")
        sign(credential=credential, record=record, meaning=record_approve.meaning, comment=comment)
        issue_after_commit(_issue_report, record_pk=record.pk, user_pk=user.pk)
    return record


def _issue_report(*, record_pk: int, user_pk: int) -> None:
    from qc_records import pdf  # the PDF module imports the services' models; import when needed

    pdf.issue_report(TestRecord.objects.get(pk=record_pk), User.objects.get(pk=user_pk))


def cannot_request_reopening(record: TestRecord, user: User) -> str | None:
    """Why the QC head ``user`` may not ask to reopen ``record`` now, or None (R-QC-10)."""
    if record.status != TestRecord.Status.APPROVED:
        return _("Only an approved record is reopened for correction.")
    if record.reopen_requested_by_id:
        return _("Reopening was already requested by %(name)s; QA approves it.") % {
            "name": record.reopen_requested_by.printed_name
        }
    return None


def cannot_reopen_record(record: TestRecord, user: User) -> str | None:
    """Why QA ``user`` may not approve reopening ``record`` now, or None: the QC head asked first,
    and a second person approves (R-QC-10, R-SEQ-2)."""
    if record.status != TestRecord.Status.APPROVED or not record.reopen_requested_by_id:
        return _("The QC head must first sign the request to reopen this approved record.")
    if record.reopen_requested_by_id == user.pk:
        return _("You asked to reopen this record; another person (QA) approves it.")
    return None


@signs(Signature.Meaning.UNLOCKED)
def record_reopen_request(
    *, record: TestRecord, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> TestRecord:
    """The QC head asks, with a signed reason, to reopen an approved record for correction (an error
    found after approval; GMP 第一百六十一条, R-QC-10). Nothing changes until QA co-signs."""
    require_permission(user, "qc_records.approve_testrecord")
    reason = require_reason(reason, _("Say what must be corrected and why: QA reads it before approving."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        record = _locked_record(record)
        if refusal := cannot_request_reopening(record, user):
            raise WorkflowError(refusal)
        check_not_archived(record)
        record.reopen_requested_by = user
        record.reopen_reason = reason
        save_step(record, user, _("reopening requested: %(reason)s") % {"reason": reason})
        sign(credential=credential, record=record, meaning=record_reopen_request.meaning, comment=reason)
    return record


@signs(Signature.Meaning.UNLOCKED)
def record_reopen(
    *, record: TestRecord, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> TestRecord:
    """QA co-signs the QC head's request: the approved record goes back to draft for correction,
    then testing, second-person review and re-approval again; the report keeps its number and the
    re-approval issues version 2, which supersedes version 1 (core.pdf; R-QC-10)."""
    require_permission(user, "qc_records.reopen_testrecord")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        record = _locked_record(record)
        if refusal := cannot_reopen_record(record, user):
            raise WorkflowError(refusal)
        check_not_archived(record)
        reason = record.reopen_reason
        move(record, TestRecord.Status.DRAFT)
        record.submitted_by = record.submitted_at = None
        record.reviewed_by = record.reviewed_at = None
        record.approved_by = record.approved_at = None
        record.content_digest = ""
        record.verdict = TestRecord.Verdict.PENDING
        record.reopen_requested_by = None
        save_step(record, user, _("reopened for correction: %(reason)s") % {"reason": reason})
        sign(
            credential=credential,
            record=record,
            meaning=record_reopen.meaning,
            comment=f"{comment}\n{reason}" if comment else reason,
        )
    return record


@transaction.atomic
def record_send_back(*, record: TestRecord, user: User, reason: str) -> TestRecord:
    """The reviewer or QC head returns a submitted or reviewed record to the analyst, with the reason."""
    require_permission(user, "qc_records.review_testrecord", "qc_records.approve_testrecord")
    record = _locked_record(record)
    reason = require_reason(reason, _("Say why the record is sent back: the analyst sees it."))
    if record.status == TestRecord.Status.APPROVED:
        # Only reopening (QC head + QA signatures) returns an approved record to draft (R-QC-10).
        raise WorkflowError(_("An approved record is reopened for correction by the QC head and QA, not sent back."))
    _back_to_draft(record, user, reason)  # TRANSITIONS: only a submitted or reviewed record goes back
    check_not_archived(record)
    save_step(record, user, _("sent back: %(reason)s") % {"reason": reason})
    return record


@signs(Signature.Meaning.VOIDED)
def record_void(
    *, record: TestRecord, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> TestRecord:
    """Void a draft record (signed, with a reason); it stays readable (R-REC-1).

    A record holding any recorded result is voided only by the QC head's signature
    (``cannot_void_record``; R-QC-9); the record started next for the sample links to it and
    ``batch_qc_summary`` lists it with its values for release.
    """
    require_permission(user, "qc_records.change_testrecord", "qc_records.approve_testrecord")
    reason = require_reason(reason, _("Give a reason for voiding."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        record = _locked_record(record)
        check_transition(record, TestRecord.Status.VOIDED)
        check_not_archived(record)
        if refusal := cannot_void_record(record, user):
            raise WorkflowError(refusal)
        move(record, TestRecord.Status.VOIDED)
        record.voided_at = timezone.now()
        record.void_reason = reason
        save_step(record, user, reason)
        sign(credential=credential, record=record, meaning=record_void.meaning, comment=reason)
        # The sample waits again for the record that replaces this one (R-QC-9).
        sample = Sample.objects.select_for_update().get(pk=record.sample_id)
        store_test_state(sample=sample, user=user, reason=_("test record voided: %(reason)s") % {"reason": reason})
    return record


@signs(Signature.Meaning.PURGED)
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
    reason = require_reason(reason, _("Give a reason for purging."))
    credential = verify_signer(user=user, password=password, request=request)
    today = today or timezone.localdate()
    files: list[str] = []
    with transaction.atomic():
        record = _locked_record(record)
        refusal = cannot_purge_record(record, user, today=today)
        if refusal:
            raise WorkflowError(refusal)
        record.purged_at = timezone.now()
        save_step(record, user, _("raw data purged: %(reason)s") % {"reason": reason})
        sign(
            credential=credential,
            record=record,
            meaning=record_purge.meaning,
            comment=_("raw data purged: %(reason)s") % {"reason": reason},
        )
        files = [a.file.name for a in record.attachments.all() if a.file.name]
        storage = Attachment._meta.get_field("file").storage

        def remove_files() -> None:
            for name in files:
                storage.delete(name)

        transaction.on_commit(remove_files)
    return record
