"""What the system can tell the release review about a batch (R-REL-3, R-REL-4, R-AT-6).

``evidence_for(batch)`` gathers everything once (QC's summary through ``qc_records.for_release``,
deviations, change controls, holds, the batch's critical-data changes) in a fixed number of
queries. From it, ``checks(evidence)`` answers each system check a checklist item may name —
"ok", "problem" or "unknown" (no evidence is never "ok") — and ``blockers(...)`` lists what stops a
conforming conclusion and a release (R-REL-4). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit_trail import AuditEntry, record_timeline
from qc_records.for_release import BatchQCSummary, Evidence, batch_qc_summary
from release.models import (
    Answer,
    Batch,
    BatchHold,
    BatchMaterial,
    ChangeControl,
    Decision,
    Deviation,
    MaterialBalance,
    MaterialLot,
    ReleaseReview,
    ReviewStep,
    Stage,
)

OK, PROBLEM, UNKNOWN = "ok", "problem", "unknown"
STATUS_LABELS = {OK: gettext_lazy("ok"), PROBLEM: gettext_lazy("problem"), UNKNOWN: gettext_lazy("unknown")}

# Which system check each QC finding feeds. A finding code qc_records adds later lands on the
# test-report item, so no finding is ever dropped.
QC_FINDING_CHECKS = {
    BatchQCSummary.REQUIRED_TESTS: ("qc_report",),
    BatchQCSummary.RECORDS_INTACT: ("qc_report",),
    BatchQCSummary.FAILING_RESULTS: ("qc_report", "intermediates"),
    BatchQCSummary.CONFIRMED_OOS: ("qc_report", "intermediates"),
    BatchQCSummary.OPEN_OOS: ("qc_oos", "events"),
    BatchQCSummary.INSTRUMENTS: ("qc_instruments",),
    BatchQCSummary.REAGENTS: ("qc_reagents",),
}
DEFAULT_QC_CHECK = "qc_report"


@dataclass
class Check:
    status: str
    messages: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def message(self) -> str:
        return " ".join(self.messages)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    def add(self, status: str, message: str, evidence: list[Evidence] | None = None) -> None:
        # The worst status wins: a problem beats unknown, unknown beats ok.
        order = {OK: 0, UNKNOWN: 1, PROBLEM: 2}
        if order[status] > order[self.status]:
            self.status = status
        self.messages.append(message)
        self.evidence.extend(evidence or [])

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "evidence": [{"label": e.label, "url": e.url} for e in self.evidence],
        }


@dataclass
class BatchEvidence:
    batch: Batch
    qc: BatchQCSummary
    deviations: list[Deviation]
    change_controls: list[ChangeControl]
    holds: list[BatchHold]
    critical_changes: list[AuditEntry]
    materials: list[BatchMaterial] = field(default_factory=list)
    balances: list[MaterialBalance] = field(default_factory=list)
    # The manufacturer's factory release (the QP's signed step) and its certificates, read only
    # once the batch is factory released (B.1.7: what the market release reviews).
    factory_release: ReviewStep | None = None
    factory_documents: list[Any] = field(default_factory=list)

    @property
    def unreleased_materials(self) -> list[BatchMaterial]:
        return [m for m in self.materials if m.lot.status != MaterialLot.Status.RELEASED]

    @property
    def expired_materials(self) -> list[BatchMaterial]:
        """Lines whose lot's expiry (or retest) date is before the batch's manufacture date."""
        made = self.batch.manufacture_date
        return [m for m in self.materials if made and m.lot.expiry_date and m.lot.expiry_date < made]

    @property
    def open_deviations(self) -> list[Deviation]:
        return [d for d in self.deviations if d.is_open]

    @property
    def open_change_controls(self) -> list[ChangeControl]:
        return [c for c in self.change_controls if c.is_open]


def critical_changes(batch: Batch) -> list[AuditEntry]:
    """The batch's data changes after it was registered (R-AT-6): who changed what, old → new, why."""
    return record_timeline(
        Batch,
        batch.pk,
        known=[batch, batch.product],
        where=lambda e: e.action == "~" and any(c.name in Batch.SIGNED_FIELDS for c in e.changes),
    )


def _factory_release(batch: Batch) -> tuple[ReviewStep | None, list[Any]]:
    if batch.status != Batch.Status.FACTORY_RELEASED:
        return None, []
    from django.contrib.contenttypes.models import ContentType

    from core.models import Document

    step = (
        ReviewStep.objects.active()
        .filter(review__batch=batch, stage=Stage.QP, decision=Decision.RELEASE)
        .select_related("signed_by")
        .order_by("-signed_at", "-pk")
        .first()
    )
    if step is None:
        return None, []
    documents = Document.objects.filter(content_type=ContentType.objects.get_for_model(ReviewStep), object_id=step.pk)
    return step, list(documents.order_by("version", "pk"))


def with_evidence_flags(batches: QuerySet[Batch]) -> QuerySet[Batch]:
    """The batches, each saying which kinds of evidence it has rows of (EXISTS), so that
    ``evidence_for`` reads only those: most batches have no deviation, change control, hold,
    bill of materials or material balance, and a query for each empty list cost the release review
    page ~2 ms apiece at scale 1.0 (issue 12). For pages: a service deciding on the evidence reads
    the batch again under its lock, without flags, and so reads every list."""
    return batches.annotate(
        has_deviations=Exists(Deviation.batches.through.objects.filter(batch_id=OuterRef("pk"))),
        has_change_controls=Exists(ChangeControl.batches.through.objects.filter(batch_id=OuterRef("pk"))),
        has_active_holds=Exists(BatchHold.objects.filter(batch_id=OuterRef("pk"), status=BatchHold.Status.ACTIVE)),
        has_materials=Exists(BatchMaterial.objects.filter(batch_id=OuterRef("pk"))),
        has_balances=Exists(MaterialBalance.objects.filter(batch_id=OuterRef("pk"))),
    )


def _rows(batch: Batch, flag: str, rows: Callable[[], QuerySet]) -> list:
    """``rows`` as a list, or [] without a query when the batch was read saying it has none."""
    return list(rows()) if getattr(batch, flag, True) else []


def evidence_for(batch: Batch) -> BatchEvidence:
    factory, factory_documents = _factory_release(batch)
    return BatchEvidence(
        batch=batch,
        qc=batch_qc_summary(batch),
        deviations=_rows(
            batch, "has_deviations", lambda: Deviation.objects.filter(batches=batch).order_by("raised_at", "pk")
        ),
        change_controls=_rows(
            batch,
            "has_change_controls",
            lambda: ChangeControl.objects.filter(batches=batch).order_by("raised_at", "pk"),
        ),
        holds=_rows(
            batch,
            "has_active_holds",
            lambda: batch.holds.filter(status=BatchHold.Status.ACTIVE).select_related("placed_by"),
        ),
        critical_changes=critical_changes(batch),
        materials=_rows(batch, "has_materials", lambda: batch.materials.select_related("lot").order_by("pk")),
        balances=_rows(batch, "has_balances", lambda: batch.material_balances.order_by("pk")),
        factory_release=factory,
        factory_documents=factory_documents,
    )


def _event_evidence(events) -> list[Evidence]:
    return [Evidence(f"{e.number} · {e.get_status_display()}", e.get_absolute_url()) for e in events]


def checks(ev: BatchEvidence) -> dict[str, Check]:
    """The answer of each system check (keys as in ChecklistItem.system_check)."""
    out: dict[str, Check] = {}
    has_qc_records = bool(ev.qc.records)
    for finding in ev.qc.findings:
        for code in QC_FINDING_CHECKS.get(finding.code, (DEFAULT_QC_CHECK,)):
            check = out.setdefault(code, Check(OK))
            if not finding.ok:
                check.add(PROBLEM, finding.message, finding.evidence)
            elif not has_qc_records or not finding.evidence and finding.code == BatchQCSummary.REQUIRED_TESTS:
                # "Nothing failed" about no records at all is no evidence of anything.
                check.add(UNKNOWN, _("No QC record of this batch yet: %(finding)s") % {"finding": finding.message})
            else:
                check.add(OK, finding.message, finding.evidence)

    deviations = out.setdefault("deviations", Check(OK))
    if ev.open_deviations:
        deviations.add(
            PROBLEM,
            _("Open deviation: %(list)s.") % {"list": ", ".join(d.number for d in ev.open_deviations)},
            _event_evidence(ev.open_deviations),
        )
    else:
        closed = [d for d in ev.deviations if not d.is_open]
        deviations.add(
            OK,
            _("No open deviation; %(n)s closed.") % {"n": len(closed)},
            _event_evidence(closed),
        )
    change_controls = out.setdefault("change_controls", Check(OK))
    if ev.open_change_controls:
        change_controls.add(
            PROBLEM,
            _("Open change control: %(list)s.") % {"list": ", ".join(c.number for c in ev.open_change_controls)},
            _event_evidence(ev.open_change_controls),
        )
    else:
        closed = [c for c in ev.change_controls if not c.is_open]
        change_controls.add(
            OK, _("No open change control; %(n)s closed.") % {"n": len(closed)}, _event_evidence(closed)
        )
    # P-4.2.14: deviations, changes and OOS together.
    events = out.setdefault("events", Check(OK))
    for source in (deviations, change_controls):
        events.add(source.status, source.message, source.evidence)

    if ev.critical_changes:
        out["audit_trail"] = Check(
            UNKNOWN,
            [
                _("%(n)s change(s) to the batch's data after registration: read them below.")
                % {"n": len(ev.critical_changes)}
            ],
        )
    else:
        out["audit_trail"] = Check(OK, [_("The batch's data was not changed after registration.")])

    out["materials"] = materials_check(ev)
    out["material_balance"] = balance_check(ev)
    out["factory_release"] = factory_release_check(ev)
    out["printed_data"] = Check(UNKNOWN, [_("Not recorded in the system yet: check the batch record.")])
    return out


def factory_release_check(ev: BatchEvidence) -> Check:
    """MKT-1 (B.1.7): the manufacturer's QP released the batch from the factory, its certificate is
    issued (the current version, to read), and QC's summary of the batch passed."""
    step = ev.factory_release
    if step is None:
        return Check(UNKNOWN, [_("No factory release of this batch is recorded yet.")])
    check = Check(OK)
    check.add(
        OK,
        _("Factory released by %(name)s at %(time)s.")
        % {
            "name": step.signed_by.printed_name,
            "time": formats.date_format(timezone.localtime(step.signed_at), "Y-m-d H:i"),
        },
    )
    current = [d for d in ev.factory_documents if not any(o.supersedes_id == d.pk for o in ev.factory_documents)]
    if current:
        check.add(
            OK,
            _("Release documents: %(list)s.") % {"list": ", ".join(f"{d.number} v{d.version}" for d in current)},
            [Evidence(f"{d.number} v{d.version}", d.get_absolute_url()) for d in current],
        )
    else:
        check.add(PROBLEM, _("The factory release certificate has not been issued."))
    if ev.qc.status != "passed":
        check.add(PROBLEM, _('QC\'s summary of the batch is "%(status)s".') % {"status": ev.qc.status}, ev.qc.records)
    else:
        check.add(OK, _("QC's summary of the batch passed."), ev.qc.records)
    return check


def _lot_evidence(line: BatchMaterial) -> Evidence:
    lot = line.lot
    return Evidence(f"{lot.lot_number} {lot.material_name} · {lot.get_status_display()}", lot.get_absolute_url())


def _expired_message(line: BatchMaterial, batch: Batch) -> str:
    return _("Material lot %(lot)s (%(material)s) expired on %(expiry)s, before the batch was made on %(made)s.") % {
        "lot": line.lot.lot_number,
        "material": line.lot.material_name,
        "expiry": line.lot.expiry_date.isoformat(),
        "made": batch.manufacture_date.isoformat(),
    }


def materials_check(ev: BatchEvidence) -> Check:
    """P-4.2.2 / QC-4.3.2.7 (R-MAT-1): every lot in the bill of materials released by QA. No bill
    of materials is no evidence ("unknown"); a released lot without a QC record linked is "unknown"."""
    if not ev.materials:
        return Check(UNKNOWN, [_("No bill of materials recorded for this batch: check the batch record.")])
    check = Check(OK)
    for line in ev.unreleased_materials:
        lot = line.lot
        check.add(
            PROBLEM,
            _("Lot %(lot)s (%(material)s) is %(status)s, not released.")
            % {"lot": lot.lot_number, "material": lot.material_name, "status": lot.get_status_display()},
            [_lot_evidence(line)],
        )
    for line in ev.expired_materials:
        check.add(PROBLEM, _expired_message(line, ev.batch), [_lot_evidence(line)])
    released = [m for m in ev.materials if m.lot.status == MaterialLot.Status.RELEASED]
    if released:
        check.add(
            OK,
            _("%(n)s lot(s) used, released by QA.") % {"n": len(released)},
            [_lot_evidence(m) for m in released],
        )
    without_record = [m.lot.lot_number for m in released if not m.lot.qc_record_id]
    if without_record:
        check.add(
            UNKNOWN,
            _("No QC test record linked to lot(s) %(lots)s: check their reports.")
            % {"lots": ", ".join(without_record)},
        )
    return check


def balance_check(ev: BatchEvidence) -> Check:
    """P-4.2.8 (R-REL-8): the material balance of each step, computed by the system, within the
    product's limits. No step recorded is "unknown"."""
    if not ev.balances:
        return Check(UNKNOWN, [_("No material balance recorded for this batch: check the batch record.")])
    check = Check(OK)
    for row in ev.balances:
        figures = {
            "step": row.step,
            "percent": row.percent,
            "lower": row.lower_limit,
            "upper": row.upper_limit,
            "version": row.formula_version,
        }
        if row.within_limits:
            check.add(
                OK, _("%(step)s: %(percent)s %% (limits %(lower)s–%(upper)s %%, formula v%(version)s).") % figures
            )
        else:
            check.add(
                PROBLEM,
                _("%(step)s: %(percent)s %% is outside the limits %(lower)s–%(upper)s %% (formula v%(version)s).")
                % figures,
            )
    return check


def step_findings(steps: list[ReviewStep]) -> list[tuple[ReviewStep, dict]]:
    """Every "does not conform" answer of the active steps, with its step."""
    return [(s, a) for s in steps for a in s.answers if a.get("answer") == Answer.DOES_NOT_CONFORM]


def blockers(ev: BatchEvidence, review: ReleaseReview | None, steps: list[ReviewStep]) -> list[str]:
    """What stops a conforming QA conclusion and a release decision (R-REL-4). Rejection is never blocked."""
    out: list[str] = []
    for d in ev.open_deviations:
        out.append(_("Open deviation %(number)s: %(title)s.") % {"number": d.number, "title": d.title})
    for c in ev.open_change_controls:
        out.append(_("Open change control %(number)s: %(title)s.") % {"number": c.number, "title": c.title})
    # A QC report whose approval does not hold (R-SIG-3) is no evidence: a hard blocker.
    for code in (BatchQCSummary.OPEN_OOS, BatchQCSummary.REQUIRED_TESTS, BatchQCSummary.RECORDS_INTACT):
        finding = next((f for f in ev.qc.findings if f.code == code), None)
        if finding is not None and not finding.ok:
            out.append(finding.message)
    for hold in ev.holds:
        out.append(
            _("Active hold since %(date)s: %(reason)s.")
            % {"date": formats.date_format(timezone.localtime(hold.placed_at), "Y-m-d"), "reason": hold.reason}
        )
    closed_deviations = {d.number for d in ev.deviations if not d.is_open}
    for step, answer in step_findings(steps):
        cited = (answer.get("deviation") or "").strip()
        if cited.upper() not in {n.upper() for n in closed_deviations}:
            out.append(
                _("%(key)s does not conform (%(stage)s) and is not covered by a closed deviation.")
                % {"key": answer["key"], "stage": step.get_stage_display()}
            )
    for line in ev.unreleased_materials:
        out.append(
            _("Material lot %(lot)s (%(material)s) used by this batch is %(status)s, not released.")
            % {"lot": line.lot.lot_number, "material": line.lot.material_name, "status": line.lot.get_status_display()}
        )
    for line in ev.expired_materials:
        out.append(_expired_message(line, ev.batch))
    product = ev.batch.product
    if product.requires_lot_release_certificate:
        qa = next((s for s in steps if s.stage == Stage.QA), None)
        if qa is None or not qa.lot_release_number.strip():
            out.append(_("The product needs a lot release certificate (批签发); its number is not recorded."))
    return out
