"""Workflow actions on QC records (HOUSE_STYLE: check → lock → save → log → sign → after commit).

Split by subject: ``specifications``, ``registers`` (instruments, reagents), ``samples``,
``records`` (starting a record, the result form, "Tested"), ``review`` (review, approval, sending
back, voiding, purging), ``files`` (raw-data attachments), ``oos``, ``ledger`` (monthly archive).
Every action follows ``core.workflow``: it checks the person's permission as well as the workflow
state and the segregation of duties (management commands and the admin reach these functions
without a view); each "may this person do it now" rule is a ``cannot_<verb>_<thing>`` predicate
beside its service, read by the page and the My-work queue too; a signing service declares its
meaning with ``@signs`` and its form shows ``services.<service>.meaning``.

Import from here (``from qc_records import services``; ``services.record_approve(...)``): the
package re-exports every public name.
"""

from core.numbering import next_number
from core.workflow import InputError, WorkflowError
from qc_records.services.files import MAX_ATTACHMENT_BYTES, attachment_add, attachment_remove, discarded_run_add
from qc_records.services.ledger import ledger_archive, ledger_reopen, month_is_archived
from qc_records.services.oos import cannot_close_oos, oos_close, oos_start_phase_two, oos_update
from qc_records.services.records import (
    ResultEntry,
    cannot_sign_tested,
    missing_evidence,
    record_create,
    record_sign_tested,
    record_submit,
    record_update,
    test_date_problem,
)
from qc_records.services.registers import instrument_create, instrument_update, reagent_create, reagent_update
from qc_records.services.review import (
    REVIEW_CHECKLIST,
    cannot_approve_record,
    cannot_purge_record,
    cannot_reopen_record,
    cannot_request_reopening,
    cannot_review_record,
    cannot_void_record,
    record_approve,
    record_purge,
    record_reopen,
    record_reopen_request,
    record_review,
    record_send_back,
    record_void,
    testers,
)
from qc_records.services.samples import sample_create, sample_update
from qc_records.services.specifications import (
    cannot_approve_specification,
    specification_approve,
    specification_create,
    specification_item_add,
    specification_item_remove,
    specification_item_update,
    specification_new_version,
    specification_update,
    specification_void,
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
    "cannot_approve_specification",
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
    "test_date_problem",
    "record_submit",
    "record_sign_tested",
    "cannot_sign_tested",
    "missing_evidence",
    "cannot_review_record",
    "cannot_void_record",
    "record_review",
    "record_reopen",
    "record_reopen_request",
    "cannot_reopen_record",
    "cannot_request_reopening",
    "REVIEW_CHECKLIST",
    "cannot_approve_record",
    "record_approve",
    "record_send_back",
    "record_void",
    "cannot_purge_record",
    "record_purge",
    "MAX_ATTACHMENT_BYTES",
    "attachment_add",
    "attachment_remove",
    "discarded_run_add",
    "oos_update",
    "oos_start_phase_two",
    "cannot_close_oos",
    "oos_close",
    "ledger_archive",
    "ledger_reopen",
    "month_is_archived",
    "testers",
]
