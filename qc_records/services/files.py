"""Raw-data files attached to a test record, with their SHA-256 (R-QC-7)."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.hashing import sha256_upload
from core.models import User
from core.workflow import InputError, WorkflowError, require_permission, require_reason, save_changed
from qc_records.models import Attachment, DiscardedRun, SpecificationItem, TestRecord
from qc_records.services.records import _locked_record, _open_for_change

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
    sha256 = sha256_upload(upload)
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
            save_changed(record, user, reason or _("file %(name)s attached") % {"name": attachment.original_name})
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
        reason = require_reason(reason, _("Give a reason for removing the file."))
        reason = _open_for_change(record, user, reason)
        attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
        if attachment.is_voided:
            raise WorkflowError(_("This file was already removed."))
        attachment.voided_at = timezone.now()
        attachment.void_reason = reason
        save_changed(attachment, user, reason)
        save_changed(
            record, user, _("file %(name)s removed: %(reason)s") % {"name": attachment.original_name, "reason": reason}
        )
    return attachment


def discarded_run_add(
    *, record: TestRecord, user: User, item: SpecificationItem | None, data: str, cause: str, reason: str = ""
) -> DiscardedRun:
    """Record an invalidated run or discarded data with its cause on the raw record (检验记录书写规程
    4.2.4 e; R-QC-9): the item, what was discarded with its values, why, who and when. Never a
    silent correction: it is covered by the next "Tested" signature, checked by the reviewer
    (``record_review`` stamps it), printed on the report and listed for release. A submitted or
    reviewed record needs a reason and goes back to draft, like any other change."""
    require_permission(user, "qc_records.change_testrecord")
    data, cause = (data or "").strip(), (cause or "").strip()
    errors: dict[str, list[str]] = {}
    if item is None:
        errors["item"] = [_("Choose the test item whose run or data is discarded.")]
    if not data:
        errors["data"] = [_("Say what is discarded, with its values (e.g. injection 1: 93.1 %).")]
    if not cause:
        errors["cause"] = [_("Give the cause found for discarding it (检验记录书写规程 4.2.4 e).")]
    if errors:
        raise InputError(errors)
    with transaction.atomic():
        record = _locked_record(record)
        reason = _open_for_change(record, user, reason)
        if item.specification_id != record.specification_id or item.voided_at is not None:
            raise InputError({"item": [_("This test item is not part of the record's specification.")]})
        run = DiscardedRun(
            record=record,
            item=item,
            data=data,
            cause=cause,
            recorded_by=user,
            recorded_at=timezone.now(),
            last_changed_by=user,
        )
        run.save_audited(user=user, reason=reason or "discarded data recorded")
        save_changed(record, user, reason or "discarded data recorded")
    return run
