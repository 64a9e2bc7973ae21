"""The QC test report (检验报告书): frozen data for core.pdf.issue_document.

Issued after the QC head's approval has committed (``services.record_approve`` schedules it),
stored with its SHA-256 and a verification code by core; never re-rendered in place. The report
prints each item's criterion, every individual result (a failing one marked), its calculation and
conclusion, the overall conclusion, the instruments and reagents used, and the final tester /
reviewer / approver signatures (R-QC-1, R-SIG-2, R-QC-6).
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from core.models import Document, Signature, User
from qc_records.criteria import Conclusion
from qc_records.models import Category, OOSInvestigation, Reagent, TestRecord

logger = logging.getLogger(__name__)

KIND = "qc_test_report"
TEMPLATE = "pdf/qc_test_report.html"
TITLE = _("Test report")

# The signatures a report manifests: the latest of each stage (earlier rounds of a record that was
# sent back are in its history, not on the report).
REPORT_MEANINGS = (Signature.Meaning.TESTED, Signature.Meaning.REVIEWED, Signature.Meaning.APPROVED)


def report_signatures(record: TestRecord) -> list[Signature]:
    latest: dict[str, Signature] = {}
    for sig in Signature.objects.for_record(record).select_related("signer").order_by("signed_at", "pk"):
        if sig.meaning in REPORT_MEANINGS:
            latest[sig.meaning] = sig
    return [latest[m] for m in REPORT_MEANINGS if m in latest]


def report_context(record: TestRecord) -> dict[str, Any]:
    """Plain values only (core.pdf.freeze): what the report states, as approved."""
    sample = record.sample
    spec = record.specification
    product = sample.product if sample.product_id else None
    batch = sample.batch if sample.batch_id else None
    items = []
    for block in record.item_blocks():
        item = block.item
        items.append(
            {
                "name": item.name,
                "name_en": item.name_en,
                "method": item.method_reference,
                "criterion": item.criterion_display,
                # As recorded, each individual result marked when it fails (R-QC-2: the reader sees which
                # one, not only the item's conclusion); a text item's judgement is the conclusion column.
                "results": [
                    {
                        "value": f"{r.value_text}{r.unit}"
                        if r.value_text and r.value_numeric is not None
                        else r.value_text,
                        "fails": r.conclusion == Conclusion.FAIL,
                    }
                    for r in block.current
                ],
                "calculations": list(dict.fromkeys(r.calculation for r in block.current if r.calculation)),
                # Results invalidated by an OOS investigation stay on the report, struck through with
                # the reason (检验记录书写规程 4.2.4 d/e; issue 7: a failing value never disappears).
                "invalidated": [
                    {
                        "value": f"{r.value_text}{r.unit}" if r.value_numeric is not None else r.value_text,
                        "reason": r.void_reason,
                    }
                    for r in block.invalidated
                    if r.value_text or r.complies is not None
                ],
                "mean": f"{block.mean}{item.unit}" if block.mean is not None else "",
                "conclusion": Conclusion(block.conclusion).label,
                "fails": block.conclusion == Conclusion.FAIL,
            }
        )
    # R-QC-1: instruments with model and ID, reagents / reference standards with lot and source, and
    # the calibration / expiry date recorded when each was chosen (the evidence it was valid).
    instruments = [
        {
            "code": u.instrument.code,
            "name": u.instrument.name,
            "model": u.instrument.model,
            "calibration_due": u.calibration_due,
        }
        for u in record.instrument_uses.filter(voided_at__isnull=True)
        .select_related("instrument")
        .order_by("instrument__code")
    ]
    reagents = [
        {
            "kind": Reagent.Kind(u.reagent.kind).label,
            "name": u.reagent.name,
            "lot": u.reagent.lot_number,
            "source": u.reagent.source,
            "expiry_date": u.expiry_date,
        }
        for u in record.reagent_uses.filter(voided_at__isnull=True)
        .select_related("reagent")
        .order_by("reagent__name", "pk")
    ]
    # 检验记录书写规程 4.2.4 e: invalidated runs and discarded data, with their cause, are part of
    # what the report states (R-QC-9); the OOS investigations of the record with their conclusion
    # (R-QC-5; issue 7 deliverable 8).
    discarded = [
        {"item": d.item.name, "data": d.data, "cause": d.cause, "by": d.recorded_by.printed_name}
        for d in record.discarded_runs.select_related("item", "recorded_by").order_by("pk")
    ]
    oos = [
        {
            "number": o.number,
            "item": o.item.name,
            "status": OOSInvestigation.Status(o.status).label,
            "outcome": OOSInvestigation.Outcome(o.outcome).label if o.outcome else "",
            "summary": o.summary,
        }
        for o in record.oos_investigations.select_related("item").order_by("pk")
    ]
    # A corrected report after reopening (R-QC-10): it names the version it supersedes.
    previous = latest_report(record)
    from django.conf import settings

    return {
        "issuer": {
            "company": settings.QC_COMPANY_NAME,
            "laboratory": settings.QC_LABORATORY_NAME,
            "seal_statement": settings.QC_REPORT_SEAL_STATEMENT,
        },
        "supersedes": f"{previous.number or record.report_number}-v{previous.version}" if previous else "",
        "reopen_reason": record.reopen_reason if previous else "",
        "discarded": discarded,
        "oos": oos,
        "report": {
            "number": record.report_number,
            "verdict": TestRecord.Verdict(record.verdict).label,
            "complies": record.verdict == TestRecord.Verdict.COMPLIES,
            "test_date": record.test_date,
            "approved_at": record.approved_at,
            "temperature": record.temperature,
            "humidity": record.humidity,
            "observations": record.observations,
            "method_notes": record.method_notes,
        },
        "sample": {
            "number": sample.number,
            "category": Category(sample.category).label,
            "name": sample.subject_name,
            "generic_name": product.generic_name if product else "",
            # 剂型 (检验记录管理规程 4.1); the choice's label, frozen in both languages.
            "dosage_form": dict(product._meta.get_field("dosage_form").flatchoices).get(
                product.dosage_form, product.dosage_form
            )
            if product
            else "",
            "strength": sample.strength,
            "lot_number": sample.lot_number,
            "quantity": f"{sample.quantity.normalize():f} {sample.quantity_unit}",
            "supplier": sample.supplier,
            "manufacturer": sample.manufacturer or (product.manufacturer if product else ""),
            "sampling_point": sample.sampling_point,
            "received_date": sample.received_date,
            "manufacture_date": batch.manufacture_date if batch else None,
            "expiry_date": batch.expiry_date if batch else None,
        },
        "specification": {
            "code": spec.code,
            "version": spec.version,
            "title": spec.title,
            "reference": spec.standard_reference,
        },
        "items": items,
        "instruments": instruments,
        "reagents": reagents,
    }


def issue_report(record: TestRecord, user: User) -> Document:
    """Render and store the report of an approved record (a new version if one exists)."""
    from core.pdf import issue_document

    record = TestRecord.objects.select_related("sample", "sample__product", "sample__batch", "specification").get(
        pk=record.pk
    )
    if record.status != TestRecord.Status.APPROVED:
        raise ValueError("Only an approved record has a test report.")
    return issue_document(
        record=record,
        kind=KIND,
        template_name=TEMPLATE,
        context=report_context(record),
        user=user,
        number=record.report_number or "",
        title=TITLE,
        signatures=report_signatures(record),
    )


def latest_report(record: TestRecord) -> Document | None:
    return Document.objects.for_record(record).filter(kind=KIND).order_by("-version").first()


def report_response(record: TestRecord, user: User) -> HttpResponse:
    """The report's PDF as issued (issued now if the after-commit rendering did not happen)."""
    document = latest_report(record)
    if document is None:
        document = issue_report(record, record.approved_by or user)
    return redirect("core:document_download", pk=document.pk)
