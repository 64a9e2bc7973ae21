"""The QC ledger's monthly archive (检验原始记录管理规程 4.3.2, R-QC-8): archiving a finished month
(signed) locks its records until a QC head reopens it (signed, with a reason)."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Signature, User
from core.signatures import sign, verify_signer
from core.workflow import (
    InputError,
    WorkflowError,
    move,
    require_permission,
    require_reason,
    save_step,
    signs,
)
from qc_records.models import Category, LedgerArchive, TestRecord


def month_is_archived(category: str, day: date) -> bool:
    """Whether the month of ``day`` is archived (locked) for ``category`` (R-QC-8)."""
    return LedgerArchive.objects.filter(
        category=category, year=day.year, month=day.month, status=LedgerArchive.Status.ARCHIVED
    ).exists()


def check_not_archived(record: TestRecord, day: date | None = None) -> None:
    """Refuse any change to a record of an archived month until a QC head reopens it."""
    day = day or record.test_date
    if month_is_archived(record.category, day):
        raise WorkflowError(
            _("%(category)s records of %(month)s are archived and locked; a QC head must reopen the month first.")
            % {"category": Category(record.category).label, "month": f"{day:%Y-%m}"}
        )


@signs(Signature.Meaning.ARCHIVED)
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
    credential = verify_signer(user=user, password=password, request=request)
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
            move(archive, LedgerArchive.Status.ARCHIVED)
            archive.record_count = count
            save_step(archive, user, comment or "archived again")
        sign(credential=credential, record=archive, meaning=ledger_archive.meaning, comment=comment)
    return archive


@signs(Signature.Meaning.UNLOCKED)
def ledger_reopen(
    *, archive: LedgerArchive, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> LedgerArchive:
    """Reopen an archived month (QC head signature and reason); its records can change again."""
    require_permission(user, "qc_records.archive_testrecord")
    reason = require_reason(reason, _("Give a reason for reopening the archived month."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        archive = LedgerArchive.objects.select_for_update().get(pk=archive.pk)
        move(archive, LedgerArchive.Status.REOPENED)
        save_step(archive, user, reason)
        sign(credential=credential, record=archive, meaning=ledger_reopen.meaning, comment=reason)
    return archive
