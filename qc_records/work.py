"""QC's queues on the "My work" page: oldest first, one query per queue (R-UX-3; full queues are
counted together by core.work)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.work import WorkItem, WorkQueue
from qc_records.models import Instrument, OOSInvestigation, Reagent, Sample, Specification, TestRecord

SAMPLE_TITLE = ("sample__number", "sample__material_name", "sample__lot_number", "sample__product__name")


def _record_title(r: TestRecord) -> str:
    s = r.sample
    return f"{s.number} · {s.subject_name} {s.lot_number} · {r.specification}"


def _queue(key, title, qs, item, more_url="", empty="", hide_empty=False):
    return WorkQueue(
        key=key, title=title, rows=qs, item=item, more_url=more_url, empty_text=empty, hide_empty=hide_empty
    )


def queues(user) -> list[WorkQueue]:
    out: list[WorkQueue] = []
    # Each queue reads only the columns its rows show (``.only()``, issue 12).
    records = TestRecord.objects.select_related("sample", "sample__product", "specification").only(
        "updated_at",
        "submitted_at",
        "reviewed_at",
        "test_date",
        *SAMPLE_TITLE,
        "specification__code",
        "specification__version",
    )
    if user.has_perm("qc_records.add_testrecord"):
        waiting = (
            Sample.objects.awaiting_test()
            .select_related("product")
            .only("number", "material_name", "lot_number", "product__name", "created_at", "category", "received_date")
            .order_by("received_date", "pk")
        )
        out.append(
            _queue(
                "qc_samples_waiting",
                _("Samples waiting for a test record"),
                waiting,
                lambda s: WorkItem(
                    title=f"{s.number} · {s.subject_name} {s.lot_number}",
                    url=s.get_absolute_url(),
                    since=s.created_at,
                    note=gettext("%(category)s · received %(d)s")
                    % {"category": s.get_category_display(), "d": s.received_date.isoformat()},
                ),
                reverse("qc_records:sample_list") + "?waiting=on",
                _("No sample is waiting."),
            )
        )
    if user.has_perm("qc_records.change_testrecord"):
        drafts = (
            records.filter(status=TestRecord.Status.DRAFT)
            .filter(Q(created_by=user) | Q(last_changed_by=user))
            .order_by("updated_at", "pk")
        )
        out.append(
            _queue(
                "qc_my_drafts",
                _("Your test records in draft (including those sent back)"),
                drafts,
                lambda r: WorkItem(
                    title=_record_title(r),
                    url=r.get_absolute_url(),
                    since=r.updated_at,
                    note=gettext("test date %(d)s") % {"d": r.test_date.isoformat()},
                ),
                empty=_("No test record of yours is in draft."),
            )
        )
    if user.has_perm("qc_records.review_testrecord"):
        # Only what the service lets this person review: none of the testing theirs (R-QC-4;
        # the same queryset rule as services.cannot_review_record).
        to_review = (
            records.filter(status=TestRecord.Status.SUBMITTED).not_tested_by(user).order_by("submitted_at", "pk")
        )
        out.append(
            _queue(
                "qc_to_review",
                _("Test records waiting for second-person review"),
                to_review,
                lambda r: WorkItem(title=_record_title(r), url=r.get_absolute_url(), since=r.submitted_at),
                empty=_("No test record is waiting for your review."),
            )
        )
    if user.has_perm("qc_records.approve_testrecord"):
        # Neither tested nor reviewed by this person (services.cannot_approve_record's rule).
        to_approve = (
            records.filter(status=TestRecord.Status.REVIEWED)
            .not_tested_or_reviewed_by(user)
            .order_by("reviewed_at", "pk")
        )
        out.append(
            _queue(
                "qc_to_approve",
                _("Test reports waiting for approval"),
                to_approve,
                lambda r: WorkItem(title=_record_title(r), url=r.get_absolute_url(), since=r.reviewed_at),
                empty=_("No test report is waiting for your approval."),
            )
        )
    if user.has_perm("qc_records.close_oosinvestigation") or user.has_perm("qc_records.change_oosinvestigation"):
        open_oos = (
            OOSInvestigation.objects.open()
            .select_related("record__sample", "item")
            .only("number", "status", "created_at", "phase2_started_at", "record__sample__number", "item__name")
            .order_by("created_at", "pk")
        )
        out.append(
            _queue(
                "qc_open_oos",
                _("Open OOS investigations"),
                open_oos,
                # Each phase has its deadline (QC_OOS_PHASE_1_DAYS / _2_DAYS); overdue is said (R-QC-5).
                lambda o: WorkItem(
                    title=f"{o.number} · {o.record.sample.number} · {o.item.name}",
                    url=o.get_absolute_url(),
                    since=o.created_at,
                    due=o.due_date,
                    note=_("%(status)s — OVERDUE") % {"status": o.get_status_display()}
                    if o.is_overdue
                    else o.get_status_display(),
                ),
                reverse("qc_records:oos_list"),
                _("No OOS investigation is open."),
            )
        )
    if user.has_perm("qc_records.approve_specification"):
        # Only what this person may approve: nothing they wrote or changed (R-SEQ-2; the same
        # queryset rule as services.cannot_approve_specification).
        specs = (
            Specification.objects.awaiting_approval()
            .not_authored_by(user)
            .only("code", "version", "title", "updated_at")
            .order_by("updated_at", "pk")
        )
        out.append(
            _queue(
                "qc_specs_to_approve",
                _("Specifications waiting for approval"),
                specs,
                lambda s: WorkItem(title=f"{s} · {s.title}", url=s.get_absolute_url(), since=s.updated_at),
                reverse("qc_records:spec_list") + "?status=draft",
                hide_empty=True,  # shown only while there is one
            )
        )
    days = settings.QC_DUE_SOON_DAYS
    today = timezone.localdate()
    if user.has_perm("qc_records.change_instrument"):
        due = (Instrument.objects.due_within(days) | Instrument.objects.calibration_expired()).order_by(
            "calibration_due", "code"
        )
        out.append(
            _queue(
                "qc_instruments_due",
                _("Instruments due for calibration"),
                due,
                # Past due is said, not listed as "due soon": it cannot be used until recalibrated.
                lambda i: WorkItem(
                    title=str(i),
                    url=i.get_absolute_url(),
                    due=i.calibration_due,
                    note=_("Calibration expired — cannot be used") if i.calibration_due < today else i.location,
                ),
                reverse("qc_records:instrument_list") + "?view=due",
                _("No instrument is due for calibration."),
            )
        )
    if user.has_perm("qc_records.change_reagent"):
        expiring = (Reagent.objects.expiring_within(days) | Reagent.objects.expired()).order_by("expiry_date", "name")
        out.append(
            _queue(
                "qc_reagents_expiring",
                _("Reagents and reference standards expiring"),
                expiring,
                lambda r: WorkItem(
                    title=str(r),
                    url=r.get_absolute_url(),
                    due=r.expiry_date,
                    note=_("Expired — cannot be used") if r.expiry_date < today else r.get_kind_display(),
                ),
                reverse("qc_records:reagent_list") + "?view=due",
                _("No reagent is about to expire."),
            )
        )
    return out
