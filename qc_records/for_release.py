"""What the release review asks QC about a batch — one read function, with links to the evidence.

``release`` calls :func:`batch_qc_summary` for its QC stage (R-REL-3: items the system can verify
are pre-filled from data) and its hard blockers (R-REL-4: open OOS, missing required test). The
answer is computed from the records every time (no stored flags to go stale) with a bounded number
of queries, whatever the number of records: five, plus one for each kind of finding the records
have (OOS, an instrument past calibration, a reagent past expiry, discarded data) — the records'
query asks which kinds they have, so a clean batch costs no query for what it does not have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from core.integrity import problems_by_record
from qc_records.criteria import Conclusion
from qc_records.models import (
    Category,
    DiscardedRun,
    InstrumentUse,
    OOSInvestigation,
    ReagentUse,
    Specification,
    TestRecord,
    TestResult,
)

__all__ = [
    "Evidence",
    "Finding",
    "BatchQCSummary",
    "batch_qc_summary",
    "RecordStatus",
    "test_record_status",
    "OOSInvestigation",
    "oos_investigation",
]


def oos_investigation(pk: int) -> OOSInvestigation | None:
    """The OOS investigation ``pk`` with its record, sample, batch and item (release raises or links
    a deviation for it; issue 7), or None."""
    return OOSInvestigation.objects.select_related("record__sample__batch", "item").filter(pk=pk).first()


@dataclass(frozen=True)
class Evidence:
    label: str
    url: str


@dataclass
class Finding:
    """One question the release review asks, with the answer and the records behind it."""

    code: str
    ok: bool
    message: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class BatchQCSummary:
    batch_id: int
    status: str  # "passed" (QC complete, complies), "failed", or "pending"
    findings: list[Finding]
    records: list[Evidence]

    # Codes, so that release can map them to its checklist items and blockers.
    REQUIRED_TESTS = "required_tests"
    FAILING_RESULTS = "failing_results"
    OPEN_OOS = "open_oos"
    CONFIRMED_OOS = "confirmed_oos"
    INSTRUMENTS = "instruments_in_calibration"
    REAGENTS = "reagents_in_date"
    VOIDED_WITH_RESULTS = "voided_records_with_results"
    DISCARDED_DATA = "discarded_data"
    RECORDS_INTACT = "records_intact"

    # Findings release must see and judge itself (R-REL-4: "voided QC records with results not
    # reviewed"): they are not ok until release reviews them, but they do not make QC's own answer
    # ``status`` pending — QC has finished with them.
    FOR_RELEASE_REVIEW = frozenset({VOIDED_WITH_RESULTS, DISCARDED_DATA})

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def finding(self, code: str) -> Finding:
        return next(f for f in self.findings if f.code == code)

    @property
    def has_open_oos(self) -> bool:
        return not self.finding(self.OPEN_OOS).ok


def _record_evidence(record: TestRecord) -> Evidence:
    label = record.report_number or _("%(sample)s (%(status)s)") % {
        "sample": record.sample.number,
        "status": record.get_status_display(),
    }
    return Evidence(label=f"{label} · {record.specification}", url=record.get_absolute_url())


def batch_qc_summary(batch: Any) -> BatchQCSummary:
    """QC's answer for one finished-product batch (a ``release.Batch`` or its primary key).

    * required tests present and approved — every finished-product specification in force for
      the product has an approved test report for this batch;
    * no failing individual result in the batch's records (finished product and intermediates);
    * no open OOS investigation; no confirmed OOS (the batch then fails QC);
    * every instrument was in calibration, and every reagent / reference standard in date, on the
      test date of the record that used it (as recorded when it was chosen);
    * voided records that held results, with their values, and invalidated runs / discarded data
      with their causes (R-QC-9), for release to review.
    """
    from django.apps import apps

    Batch = apps.get_model("release", "Batch")  # string reference: qc_records imports no release code
    if not isinstance(batch, Batch):
        batch = Batch.objects.get(pk=batch)

    # Every live record of the batch (finished product and intermediates sampled from it): an OOS,
    # a failing result or an instrument out of calibration on any of them is the batch's business.
    # Required tests are the finished-product specifications.
    # Each record says which kinds of finding it has rows for (an instrument used past its
    # calibration due date, a reagent past its expiry, as the checks below compare them): their rows
    # are read only for those records, in one query per kind (issue 12: a clean batch's release
    # review pays no query for OOS, instruments, reagents or discarded runs it does not have).
    every_record = list(
        TestRecord.objects.filter(sample__batch_id=batch.pk)
        .annotate(
            has_oos=Exists(OOSInvestigation.objects.filter(record_id=OuterRef("pk"))),
            has_late_instrument=Exists(
                InstrumentUse.objects.filter(
                    record_id=OuterRef("pk"), voided_at__isnull=True, calibration_due__lt=OuterRef("test_date")
                )
            ),
            has_expired_reagent=Exists(
                ReagentUse.objects.filter(
                    record_id=OuterRef("pk"), voided_at__isnull=True, expiry_date__lt=OuterRef("test_date")
                )
            ),
            has_discarded=Exists(DiscardedRun.objects.filter(record_id=OuterRef("pk"))),
        )
        .select_related("sample", "specification")
        .order_by("test_date", "pk")
    )
    # R-SIG-3 / issue 8 item 3: an "approved" record whose approval does not hold (status set by
    # SQL, verdict or sample changed after signing, a change without an audit-trail row) is not
    # approved for release. Two queries for all the batch's records (three the first time a legacy
    # signature's boundary is read).
    not_intact = problems_by_record([r for r in every_record if r.status == TestRecord.Status.APPROVED])

    def approved(record: TestRecord) -> bool:
        return record.status == TestRecord.Status.APPROVED and record.pk not in not_intact

    all_records = [r for r in every_record if r.status != TestRecord.Status.VOIDED]
    voided = [r for r in every_record if r.status == TestRecord.Status.VOIDED]
    records = [r for r in all_records if r.category == Category.FINISHED_PRODUCT]
    record_ids = [r.pk for r in all_records]
    by_id = {r.pk: r for r in all_records}
    findings: list[Finding] = []

    # 1. Required tests.
    specs = list(
        Specification.objects.in_force()
        .filter(product_id=batch.product_id, category=Category.FINISHED_PRODUCT)
        .order_by("code")
    )
    missing, in_progress = [], []
    for spec in specs:
        of_spec = [r for r in records if r.specification.code == spec.code]
        if not any(approved(r) for r in of_spec):
            missing.append(spec)
            in_progress += [r for r in of_spec if not approved(r)]
    if not specs:
        findings.append(
            Finding(
                BatchQCSummary.REQUIRED_TESTS,
                False,
                _("No finished-product specification is in force for this product."),
                [Evidence(_("Specifications"), reverse("qc_records:spec_list"))],
            )
        )
    elif missing:
        findings.append(
            Finding(
                BatchQCSummary.REQUIRED_TESTS,
                False,
                _("No approved test report yet for: %(specs)s.")
                % {"specs": ", ".join(f"{s} {s.title}" for s in missing)},
                [Evidence(str(s), s.get_absolute_url()) for s in missing] + [_record_evidence(r) for r in in_progress],
            )
        )
    else:
        approved_records = [r for r in records if approved(r)]
        findings.append(
            Finding(
                BatchQCSummary.REQUIRED_TESTS,
                True,
                _("Every required test has an approved report."),
                [_record_evidence(r) for r in approved_records],
            )
        )

    # 1b. Approved reports whose approval does not hold (R-SIG-3): never evidence for release.
    if not_intact:
        broken = [r for r in every_record if r.pk in not_intact]
        findings.append(
            Finding(
                BatchQCSummary.RECORDS_INTACT,
                False,
                _("Approved reports that are not intact (not counted as approved): %(list)s.")
                % {"list": "; ".join(f"{r.report_number or r.pk}: {', '.join(not_intact[r.pk])}" for r in broken)},
                [_record_evidence(r) for r in broken],
            )
        )

    # 2. Failing individual results (invalidated ones do not count: they were replaced by a retest).
    # One query for the failing results of live records and every recorded result of voided ones.
    voided_ids = [r.pk for r in voided]
    result_rows = list(
        TestResult.objects.filter(
            Q(record_id__in=record_ids, conclusion=Conclusion.FAIL, voided_at__isnull=True)
            | (Q(record_id__in=voided_ids) & (~Q(value_text="") | Q(complies__isnull=False)))
        )
        .select_related("item")
        .order_by("record_id", "item__position", "replicate", "attempt")
    )
    failing = [r for r in result_rows if r.record_id in by_id]
    findings.append(
        Finding(
            BatchQCSummary.FAILING_RESULTS,
            not failing,
            _("%(n)s result(s) out of specification.") % {"n": len(failing)}
            if failing
            else _("No result is out of specification."),
            [
                Evidence(
                    f"{r.item.name} #{r.replicate}: {r.value_text}{r.unit} ({r.item.criterion_display})",
                    by_id[r.record_id].get_absolute_url(),
                )
                for r in failing
            ],
        )
    )

    # 3. OOS investigations.
    with_oos = [r.pk for r in all_records if r.has_oos]
    oos_rows = (
        list(OOSInvestigation.objects.filter(record_id__in=with_oos).order_by("created_at", "pk")) if with_oos else []
    )
    open_oos = [o for o in oos_rows if o.is_open]
    confirmed = [o for o in oos_rows if o.outcome == OOSInvestigation.Outcome.CONFIRMED]
    findings.append(
        Finding(
            BatchQCSummary.OPEN_OOS,
            not open_oos,
            _("Open OOS investigation: %(list)s.") % {"list": ", ".join(o.number for o in open_oos)}
            if open_oos
            else _("No open OOS investigation."),
            [Evidence(f"{o.number} · {o.get_status_display()}", o.get_absolute_url()) for o in open_oos],
        )
    )
    findings.append(
        Finding(
            BatchQCSummary.CONFIRMED_OOS,
            not confirmed,
            _("OOS confirmed: %(list)s — the batch fails QC.") % {"list": ", ".join(o.number for o in confirmed)}
            if confirmed
            else _("No confirmed OOS result."),
            [Evidence(f"{o.number} · {o.get_outcome_display()}", o.get_absolute_url()) for o in confirmed],
        )
    )

    # 4. Instruments and reagents on the test date (the dates recorded when they were chosen).
    late = [r.pk for r in all_records if r.has_late_instrument]
    bad_instruments = [
        u
        for u in (
            InstrumentUse.objects.filter(record_id__in=late, voided_at__isnull=True).select_related("instrument")
            if late
            else []
        )
        if u.calibration_due < by_id[u.record_id].test_date
    ]
    findings.append(
        Finding(
            BatchQCSummary.INSTRUMENTS,
            not bad_instruments,
            _("Instrument used past its calibration due date.")
            if bad_instruments
            else _("Every instrument was in calibration on its test date."),
            [
                Evidence(
                    f"{u.instrument.code} {u.instrument.model}: {u.calibration_due:%Y-%m-%d} < {by_id[u.record_id].test_date:%Y-%m-%d}",
                    u.instrument.get_absolute_url(),
                )
                for u in bad_instruments
            ],
        )
    )
    expired = [r.pk for r in all_records if r.has_expired_reagent]
    bad_reagents = [
        u
        for u in (
            ReagentUse.objects.filter(record_id__in=expired, voided_at__isnull=True).select_related("reagent")
            if expired
            else []
        )
        if u.expiry_date < by_id[u.record_id].test_date
    ]
    findings.append(
        Finding(
            BatchQCSummary.REAGENTS,
            not bad_reagents,
            _("Reagent or reference standard used after its expiry date.")
            if bad_reagents
            else _("Every reagent and reference standard was in date on its test date."),
            [
                Evidence(
                    f"{u.reagent}: {u.expiry_date:%Y-%m-%d} < {by_id[u.record_id].test_date:%Y-%m-%d}",
                    u.reagent.get_absolute_url(),
                )
                for u in bad_reagents
            ],
        )
    )

    # 5. Voided records that held results (R-QC-9): a failing value in a voided draft is still a
    # failing value release must see (检验记录书写规程 4.2.4 e).
    voided_results = [r for r in result_rows if r.record_id not in by_id]
    by_voided = {r.pk: r for r in voided}
    with_results = sorted({r.record_id for r in voided_results})
    findings.append(
        Finding(
            BatchQCSummary.VOIDED_WITH_RESULTS,
            not with_results,
            _("%(n)s voided test record(s) held results: review them.") % {"n": len(with_results)}
            if with_results
            else _("No voided test record held results."),
            [
                Evidence(
                    _("%(record)s voided (%(reason)s): %(item)s #%(replicate)s %(value)s — %(conclusion)s")
                    % {
                        "record": _record_evidence(by_voided[r.record_id]).label,
                        "reason": by_voided[r.record_id].void_reason,
                        "item": r.item.name,
                        "replicate": r.replicate,
                        "value": r.display_value,
                        "conclusion": r.get_conclusion_display(),
                    },
                    by_voided[r.record_id].get_absolute_url(),
                )
                for r in voided_results
            ],
        )
    )

    # 6. Invalidated runs and discarded data with their cause (检验记录书写规程 4.2.4 e; R-QC-9).
    with_discarded = [r.pk for r in every_record if r.has_discarded]
    discarded = (
        list(
            DiscardedRun.objects.filter(record_id__in=with_discarded).select_related("item").order_by("record_id", "pk")
        )
        if with_discarded
        else []
    )
    every_by_id = {r.pk: r for r in every_record}
    findings.append(
        Finding(
            BatchQCSummary.DISCARDED_DATA,
            not discarded,
            _("%(n)s invalidated run(s) / discarded data recorded: review their causes.") % {"n": len(discarded)}
            if discarded
            else _("No invalidated run or discarded data recorded."),
            [
                Evidence(
                    _("%(record)s: %(item)s — %(data)s; cause: %(cause)s")
                    % {
                        "record": _record_evidence(every_by_id[d.record_id]).label,
                        "item": d.item.name,
                        "data": d.data,
                        "cause": d.cause,
                    },
                    every_by_id[d.record_id].get_absolute_url(),
                )
                for d in discarded
            ],
        )
    )

    verdict_fail = any(approved(r) and r.verdict == TestRecord.Verdict.DOES_NOT_COMPLY for r in records)
    if confirmed or verdict_fail:
        status = "failed"
    elif all(f.ok for f in findings if f.code not in BatchQCSummary.FOR_RELEASE_REVIEW):
        status = "passed"
    else:
        status = "pending"
    return BatchQCSummary(
        batch_id=batch.pk,
        status=status,
        findings=findings,
        records=[_record_evidence(r) for r in all_records],
    )


# Kept for callers that only need the yes/no of the release gate's QC blockers (R-REL-4).
def batch_has_open_oos(batch_id: int) -> bool:
    return (
        OOSInvestigation.objects.open()
        .filter(Q(record__sample__batch_id=batch_id) & ~Q(record__status=TestRecord.Status.VOIDED))
        .exists()
    )


@dataclass(frozen=True)
class RecordStatus:
    """One test record as release's material lots read it (R-MAT-1)."""

    pk: int
    label: str
    url: str
    approved: bool
    complies: bool


def test_record_status(report_number: str = "", *, pk: int | None = None) -> RecordStatus | None:
    """The test record with this primary key, or this report number (letter case ignored), or None."""
    records = TestRecord.objects.select_related("sample", "specification")
    if pk is not None:
        record = records.filter(pk=pk).first()
    else:
        number = (report_number or "").strip()
        record = records.filter(report_number__iexact=number).first() if number else None
    if record is None:
        return None
    evidence = _record_evidence(record)
    return RecordStatus(
        pk=record.pk,
        label=evidence.label,
        url=evidence.url,
        approved=record.status == TestRecord.Status.APPROVED,
        complies=record.verdict == TestRecord.Verdict.COMPLIES,
    )


test_record_status.__test__ = False  # not a pytest test despite the name


def batch_documents(batch_id: int) -> list[Any]:
    """Every PDF issued for the batch's QC records — finished product and intermediates, every
    version, voided records included — oldest first, in one query (the batch dossier, R-REC-3)."""
    from django.contrib.contenttypes.models import ContentType

    from core.models import Document

    ct = ContentType.objects.get_for_model(TestRecord)
    records = TestRecord.objects.filter(sample__batch_id=batch_id).values("pk")
    return list(Document.objects.filter(content_type=ct, object_id__in=records).order_by("issued_at", "pk"))
