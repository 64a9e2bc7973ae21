"""After-sales pages, one module per subject."""

from aftersales.views.adr import adr_assess, adr_detail, adr_list, adr_report
from aftersales.views.complaints import (
    complaint_acknowledge,
    complaint_close,
    complaint_decide,
    complaint_detail,
    complaint_investigate,
    complaint_list,
    complaint_reply,
    complaint_triage,
)
from aftersales.views.customers import (
    customer_approve,
    customer_create,
    customer_detail,
    customer_edit,
    customer_list,
    customer_submit,
    customer_void,
    licence_add,
    person_add,
)
from aftersales.views.feedback import feedback_close, feedback_create, feedback_detail, feedback_list, feedback_reply

__all__ = [
    "adr_assess",
    "adr_detail",
    "adr_list",
    "adr_report",
    "complaint_acknowledge",
    "complaint_close",
    "complaint_decide",
    "complaint_detail",
    "complaint_investigate",
    "complaint_list",
    "complaint_reply",
    "complaint_triage",
    "customer_approve",
    "customer_create",
    "customer_detail",
    "customer_edit",
    "customer_list",
    "customer_submit",
    "customer_void",
    "feedback_close",
    "feedback_create",
    "feedback_detail",
    "feedback_list",
    "feedback_reply",
    "licence_add",
    "person_add",
]
