"""The monthly market-feedback ledger PDF (市场信息反馈台帐, AS-4.2.6; R-VIS-2, R-UX-1, R-SIG-2).

Issued for a signed ``LedgerSignoff`` after the signing has committed (``services.ledger_sign``
schedules it), from the figures frozen at signing — a later correction of a feedback record does
not change what the customer-service manager signed — and manifesting that signature. Stored with
its SHA-256 and verification code by ``core.pdf``; never re-rendered in place.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from aftersales.models import FeedbackClass, LedgerSignoff, Satisfaction
from core.models import Document, User

KIND = "feedback_ledger"
TEMPLATE = "pdf/feedback_ledger.html"
TITLE = _("Market feedback ledger")
BAR_WIDTH = 300


def _label(choices, key: str) -> Any:
    return choices(key).label if key in choices.values else key


def ledger_context(signoff: LedgerSignoff) -> dict[str, Any]:
    """Plain values and lazy labels only (core.pdf.freeze): the figures as signed."""
    f = signoff.figures
    by_class = sorted(f.get("by_class", {}).items())
    peak = max((n for _k, n in by_class), default=0) or 1
    return {
        "month": f"{signoff.year}-{signoff.month:02d}",
        "total": f.get("total", 0),
        "complaints": f.get("complaints", 0),
        # Months signed before the figures said what they count have none of these (None: not shown).
        "complaint_enquiries": f.get("complaint_enquiries"),
        "enquiries": f.get("enquiries"),
        "answered": f.get("answered", 0),
        "answered_on_time": f.get("answered_on_time", 0),
        "timeliness_percent": f.get("timeliness_percent"),
        "by_class": [
            {"label": _label(FeedbackClass, k), "count": n, "width": round(BAR_WIDTH * n / peak)} for k, n in by_class
        ],
        "by_product": sorted(f.get("by_product", {}).items()),
        "satisfaction": [(_label(Satisfaction, k), n) for k, n in sorted(f.get("satisfaction", {}).items())],
        "complaint_rate": f.get("complaint_rate"),
        "complaint_rate_target": f.get("complaint_rate_target", ""),
        "numbers": f.get("numbers", []),
        "signed_by": signoff.signed_by.printed_name,
        "signed_at": signoff.created_at,
    }


def issue_ledger(*, signoff_pk: int, user_pk: int) -> Document:
    from core.pdf import issue_document

    signoff = LedgerSignoff.objects.select_related("signed_by").get(pk=signoff_pk)
    return issue_document(
        record=signoff,
        kind=KIND,
        template_name=TEMPLATE,
        context=ledger_context(signoff),
        user=User.objects.get(pk=user_pk),
        number=f"FBL-{signoff.year}-{signoff.month:02d}",
        title=TITLE,
    )


def latest_ledger(signoff: LedgerSignoff) -> Document | None:
    return Document.objects.for_record(signoff).filter(kind=KIND).order_by("-version").first()


def ledger_response(signoff: LedgerSignoff) -> HttpResponse:
    """The PDF as issued (issued now if the after-commit rendering did not happen)."""
    document = latest_ledger(signoff) or issue_ledger(signoff_pk=signoff.pk, user_pk=signoff.signed_by_id)
    return redirect("core:document_download", pk=document.pk)
