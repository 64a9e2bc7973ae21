"""What QC reminds people of by e-mail (issue 13 item 3; core.reminders sends and records them):
instruments due for calibration or past it, reagents and reference standards expiring or expired
(QC_DUE_SOON_DAYS), and OOS investigations whose current phase falls due (REMIND_OOS_DAYS_BEFORE)
or is overdue (QC_OOS_PHASE_1_DAYS / _2_DAYS, R-QC-5). Each threshold key carries the date it is
about, so a recalibrated instrument or a new phase starts a new reminder.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.reminders import Due, holders_of
from qc_records.models import Instrument, OOSInvestigation, Reagent


def due_reminders(today: date) -> Iterator[Due]:
    days = settings.QC_DUE_SOON_DAYS
    people = holders_of("qc_records.change_instrument")
    soon = Instrument.objects.filter(
        status=Instrument.Status.IN_SERVICE,
        calibration_due__gte=today,
        calibration_due__lte=today + timedelta(days=days),
    )
    for instrument in soon.order_by("calibration_due", "pk"):
        yield Due(
            record=instrument,
            threshold=f"calibration_due:{instrument.calibration_due.isoformat()}",
            subject=_("Calibration due on %(due)s: %(item)s"),
            body=_(
                "Instrument %(item)s (%(location)s) is due for calibration on %(due)s. Calibrate it before "
                "then: an instrument past its calibration due date cannot be used for a test."
            ),
            url=instrument.get_absolute_url(),
            recipients=people,
            values={"item": str(instrument), "location": instrument.location, "due": instrument.calibration_due},
        )
    for instrument in Instrument.objects.calibration_expired(today).order_by("calibration_due", "pk"):
        yield Due(
            record=instrument,
            threshold=f"calibration_expired:{instrument.calibration_due.isoformat()}",
            subject=_("Calibration expired on %(due)s: %(item)s"),
            body=_(
                "Instrument %(item)s (%(location)s) passed its calibration due date on %(due)s and cannot be "
                "used for a test until it is recalibrated."
            ),
            url=instrument.get_absolute_url(),
            recipients=people,
            values={"item": str(instrument), "location": instrument.location, "due": instrument.calibration_due},
        )

    people = holders_of("qc_records.change_reagent")
    for reagent in Reagent.objects.expiring_within(days, today).order_by("expiry_date", "pk"):
        yield Due(
            record=reagent,
            threshold=f"expiry_soon:{reagent.expiry_date.isoformat()}",
            subject=_("Expires on %(due)s: %(item)s"),
            body=_(
                "%(item)s expires on %(due)s. Replace it before then: an expired reagent or reference standard "
                "cannot be used for a test."
            ),
            url=reagent.get_absolute_url(),
            recipients=people,
            values={"item": str(reagent), "due": reagent.expiry_date},
        )
    for reagent in Reagent.objects.expired(today).order_by("expiry_date", "pk"):
        yield Due(
            record=reagent,
            threshold=f"expired:{reagent.expiry_date.isoformat()}",
            subject=_("Expired on %(due)s: %(item)s"),
            body=_("%(item)s expired on %(due)s and cannot be used for a test: take it out of use."),
            url=reagent.get_absolute_url(),
            recipients=people,
            values={"item": str(reagent), "due": reagent.expiry_date},
        )

    people = holders_of("qc_records.close_oosinvestigation", "qc_records.change_oosinvestigation")
    open_oos = OOSInvestigation.objects.open().select_related("record__sample", "item").order_by("created_at", "pk")
    before = settings.REMIND_OOS_DAYS_BEFORE
    for oos in open_oos:
        due = oos.due_date
        if due is None or today < due - timedelta(days=before):
            continue
        if today <= due:
            yield Due(
                record=oos,
                threshold=f"{oos.status}_due:{due.isoformat()}",
                subject=_("OOS investigation due on %(due)s: %(item)s"),
                body=_(
                    "%(phase)s of OOS investigation %(item)s (sample %(sample)s, %(test)s) is due on %(due)s "
                    "(R-QC-5: the phase deadlines of the company SOP). Finish it by then."
                ),
                url=oos.get_absolute_url(),
                recipients=people,
                values={
                    "item": oos.number,
                    "phase": OOSInvestigation.Status(oos.status).label,
                    "sample": oos.record.sample.number,
                    "test": oos.item.name,
                    "due": due,
                },
            )
            continue
        yield Due(
            record=oos,
            threshold=f"{oos.status}_overdue:{due.isoformat()}",
            subject=_("OOS investigation overdue: %(item)s (due %(due)s)"),
            body=_(
                "%(phase)s of OOS investigation %(item)s (sample %(sample)s, %(test)s) was due on %(due)s "
                "and is not finished (R-QC-5: the phase deadlines of the company SOP)."
            ),
            url=oos.get_absolute_url(),
            recipients=people,
            values={
                "item": oos.number,
                "phase": OOSInvestigation.Status(oos.status).label,
                "sample": oos.record.sample.number,
                "test": oos.item.name,
                "due": due,
            },
        )
