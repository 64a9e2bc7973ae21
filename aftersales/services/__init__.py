"""Workflow actions of the after-sales app, one module per subject; every public name is here too."""

from aftersales.services.adr import adr_assess, adr_report, cannot_assess_adr, cannot_report_adr
from aftersales.services.complaints import (
    cannot_acknowledge_complaint,
    cannot_close_complaint,
    cannot_investigate_complaint,
    cannot_triage_complaint,
    closure_gaps,
    complaint_acknowledge,
    complaint_close,
    complaint_record,
    complaint_triage,
)
from aftersales.services.customers import (
    approval_roles_for,
    cannot_approve_customer,
    cannot_change_customer,
    cannot_submit_customer,
    customer_approve,
    customer_create,
    customer_submit,
    customer_update,
    customer_void,
    licence_add,
    person_add,
)
from aftersales.services.intake import (
    cannot_close_feedback,
    cannot_reply_feedback,
    feedback_close,
    feedback_record,
    feedback_reply,
)
from core.workflow import InputError, WorkflowError

__all__ = [
    "InputError",
    "WorkflowError",
    "adr_assess",
    "adr_report",
    "approval_roles_for",
    "cannot_acknowledge_complaint",
    "cannot_approve_customer",
    "cannot_assess_adr",
    "cannot_change_customer",
    "cannot_close_complaint",
    "cannot_close_feedback",
    "cannot_investigate_complaint",
    "cannot_reply_feedback",
    "cannot_report_adr",
    "cannot_submit_customer",
    "cannot_triage_complaint",
    "closure_gaps",
    "complaint_acknowledge",
    "complaint_close",
    "complaint_record",
    "complaint_triage",
    "customer_approve",
    "customer_create",
    "customer_submit",
    "customer_update",
    "customer_void",
    "feedback_close",
    "feedback_record",
    "feedback_reply",
    "licence_add",
    "person_add",
]
