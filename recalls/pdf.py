"""Recall documents (R-RCL-3, R-RCL-5): the recall notice per consignee and the final report, both
bilingual, frozen from the records by primary key and issued through ``core.pdf.issue_document``.

The final report is issued after the QP's approval commits (``recalls.services.recall_approve``):
reconciliation table, timeline and every signature of the recall. A notice is issued on request
from the consignee's page (one version per request; the file never changes once issued).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Document, Signature, User
from recalls.models import InformationSource, ProgressEntry, Recall, RecallClass, RecallConsignee, RecallInformation
from recalls.reconciliation import reconcile

FINAL_REPORT = "recall_final_report"
NOTICE = "recall_notice"

# What a consignee must do, by the depth of the recall (药品召回管理办法: stop sale and use at once,
# pass the notice on, return the goods). Proposed wording; confirm with QA.
WHAT_TO_DO = _(
    "Stop selling, dispensing and using the batches listed at once; set the stock aside and keep it "
    "separately; pass this notice on to every customer you supplied with these batches; confirm receipt "
    "to the contact below."
)
HOW_TO_RETURN = _(
    "Return the goods with a copy of this notice to the address of the contact below, or hold them for "
    "collection; record the quantities held, returned, used and destroyed and tell the contact."
)


def _product(recall: Recall) -> dict:
    p = recall.product
    return {
        "name": p.name,
        "generic_name": p.generic_name,
        "strength": p.strength,
        "dosage_form": p.get_dosage_form_display(),
        "approval_number": p.approval_number,
        "manufacturer": p.manufacturer,
        "mah": p.mah,
    }


def _common(recall: Recall) -> dict:
    return {
        "recall": {
            "number": recall.number,
            "kind": Recall.Kind(recall.kind).label,
            "order_reference": recall.order_reference,
            "recall_class": RecallClass(recall.recall_class).label,
            "reason": recall.reason,
            "hazard_evaluation": recall.hazard_evaluation,
            "depth": Recall.Depth(recall.depth).label,
            "plan_contact": recall.plan_contact,
            "plan_quantity": recall.plan_quantity,
            "plan_target_percent": recall.plan_target_percent,
            "plan_completion_date": recall.plan_completion_date,
            "plan_handling": recall.plan_handling,
            "coordinator": recall.coordinator.printed_name,
            "qualified_person": recall.qualified_person.printed_name,
            "started_at": recall.started_at,
        },
        "product": _product(recall),
        "batches": [
            {"number": b.batch.batch_number, "expiry_date": b.batch.expiry_date}
            for b in recall.batches.select_related("batch").order_by("batch__batch_number")
        ],
    }


def final_report_context(recall: Recall) -> dict:
    rows = list(recall.consignees.select_related("batch").order_by("consignee_name", "batch__batch_number", "pk"))
    totals = reconcile(rows)
    info: RecallInformation = recall.information
    timeline = [
        {"at": info.received_at, "what": _("Recall information received"), "by": info.recorded_by.printed_name},
    ]
    if info.proposed_at:
        timeline.append(
            {"at": info.proposed_at, "what": _("Analysis and proposal (QA)"), "by": info.proposed_by.printed_name}
        )
    timeline.append({"at": recall.proposed_at, "what": _("Recall proposed"), "by": recall.proposed_by.printed_name})
    if recall.started_at:
        timeline.append({"at": recall.started_at, "what": _("Recall started"), "by": recall.started_by.printed_name})
    for row in rows:
        if row.notified_at:
            timeline.append(
                {
                    "at": row.notified_at,
                    "what": _("Consignee notified"),
                    "by": f"{row.consignee_name} · {row.batch.batch_number}",
                }
            )
    for entry in recall.progress.select_related("recorded_by"):
        timeline.append(
            {
                "at": entry.occurred_at,
                "what": ProgressEntry.Kind(entry.kind).label,
                "by": entry.recorded_by.printed_name,
                "text": entry.text,
            }
        )
    if recall.closed_at:
        timeline.append({"at": recall.closed_at, "what": _("Closed by QA"), "by": recall.closed_by.printed_name})
    if recall.approved_at:
        timeline.append(
            {"at": recall.approved_at, "what": _("Final report approved"), "by": recall.approved_by.printed_name}
        )
    timeline.sort(key=lambda t: t["at"])
    return {
        **_common(recall),
        "information": {
            "number": info.number,
            "source": InformationSource(info.source).label,
            "received_at": info.received_at,
            "analysis": info.analysis,
        },
        "rows": [
            {
                "consignee": r.consignee_name,
                "batch": r.batch.batch_number,
                "shipped": r.quantity_shipped,
                "held": r.quantity_held,
                "returned": r.quantity_returned,
                "used": r.quantity_used,
                "destroyed": r.quantity_destroyed,
                "outstanding": r.outstanding,
                "notified_at": r.notified_at,
                "acknowledged_at": r.acknowledged_at,
            }
            for r in rows
        ],
        "totals": {
            "shipped": totals.shipped,
            "held": totals.held,
            "returned": totals.returned,
            "used": totals.used,
            "destroyed": totals.destroyed,
            "recovered": totals.recovered,
            "outstanding": totals.outstanding,
            "effectiveness": totals.effectiveness,
            "consignees": totals.consignees,
            "notified": totals.notified,
        },
        "recovered": [
            {
                "batch": g.batch.batch_number,
                "quantity": g.quantity,
                "decision": g.Decision(g.decision).label,
                "location": g.quarantine_location,
                "supervisor": g.supervisor_name,
            }
            for g in recall.recovered.select_related("batch")
        ],
        "closing": {
            "effectiveness_evaluation": recall.effectiveness_evaluation,
            "outstanding_justification": recall.outstanding_justification,
            "hold_disposition": Recall.HoldDisposition(recall.hold_disposition).label
            if recall.hold_disposition
            else "",
        },
        "dispositions": _dispositions(recall),
        "timeline": timeline,
    }


def _dispositions(recall: Recall) -> list[dict]:
    """Each batch's disposition at closure, with the signature behind it (R-RCL-5): rejected after
    the recall (release's ``BatchRejection``, signed "Rejected" by the QP), or its recall holds
    lifted. A rejection after a recall has no nonconforming-product report (that report is the
    QP's decision on a release review): this list is its record on paper."""
    from release.for_shipping import holds_from, rejections_from

    rejected = {r.batch_id: r for r in rejections_from(recall)}
    lifted: dict[int, object] = {}
    for hold in holds_from(recall):
        if hold.lifted_at is not None:
            lifted.setdefault(hold.batch_id, hold)
    rows = []
    for rb in recall.batches.select_related("batch").order_by("batch__batch_number"):
        batch = rb.batch
        if batch.pk in rejected:
            r = rejected[batch.pk]
            rows.append(
                {
                    "batch": batch.batch_number,
                    "what": _("Rejected"),
                    "by": r.rejected_by.printed_name,
                    "at": r.rejected_at,
                }
            )
        elif batch.pk in lifted:
            h = lifted[batch.pk]
            rows.append(
                {
                    "batch": batch.batch_number,
                    "what": _("Hold lifted"),
                    "by": h.lifted_by.printed_name,
                    "at": h.lifted_at,
                }
            )
        else:
            rows.append(
                {"batch": batch.batch_number, "what": type(batch).Status(batch.status).label, "by": "", "at": None}
            )
    return rows


def issue_final_report(*, recall_pk: int, user_pk: int) -> Document:
    from core.pdf import issue_document

    recall = Recall.objects.select_related(
        "product",
        "information",
        "coordinator",
        "qualified_person",
        "proposed_by",
        "started_by",
        "closed_by",
        "approved_by",
    ).get(pk=recall_pk)
    return issue_document(
        record=recall,
        kind=FINAL_REPORT,
        template_name="pdf/recall_final_report.html",
        context=final_report_context(recall),
        user=User.objects.get(pk=user_pk),
        number=f"{recall.number}-FR",
        title=_("Recall final report (召回总结报告)"),
    )


def issue_recall_notice(*, consignee_pk: int, user_pk: int) -> Document:
    from core.pdf import issue_document

    row = RecallConsignee.objects.select_related("recall", "recall__product", "batch").get(pk=consignee_pk)
    recall = row.recall
    return issue_document(
        record=row,
        kind=NOTICE,
        template_name="pdf/recall_notice.html",
        context={
            **_common(recall),
            "consignee": {
                "name": row.consignee_name,
                "address": row.address,
                "contact": row.contact,
                "batch": row.batch.batch_number,
                "shipped": row.quantity_shipped,
                "last_dispatch": row.last_dispatch,
            },
            "what_to_do": WHAT_TO_DO,
            "how_to_return": HOW_TO_RETURN,
            "issued_on": timezone.localdate(),
        },
        user=User.objects.get(pk=user_pk),
        number=f"{recall.number}-N{row.pk}",
        title=_("Recall notice (召回通知)"),
        signatures=Signature.objects.for_record(recall)
        .filter(meaning=Signature.Meaning.APPROVED)
        .select_related("signer")[:1],
    )


def final_report_of(recall: Recall) -> Document | None:
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(Recall)
    return Document.objects.filter(kind=FINAL_REPORT, content_type=ct, object_id=recall.pk).order_by("-version").first()
