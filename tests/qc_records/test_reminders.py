"""Reminders by e-mail (issue 13 item 3; R-UX-3, R-QC-5): instruments and reagents due or past
due, OOS phases overdue — mailed to the people whose work it is, once per item and threshold,
recorded, and retried when the mail server refused."""

from __future__ import annotations

from datetime import timedelta
from smtplib import SMTPException

import pytest
from django.core import mail
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.jobs import send_reminders_job
from core.models import Reminder
from core.reminders import send_due_reminders
from qc_records.models import OOSInvestigation
from tests.factories import InstrumentFactory, ReagentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://release.example.com"
    settings.QC_DUE_SOON_DAYS = 30


def _to(message) -> set[str]:
    return set(message.to)


def test_an_instrument_falling_due_is_mailed_once_to_the_qc_head(qc):
    """R-UX-3: 30 days ahead — one bilingual mail with the link; the next runs send nothing."""
    today = timezone.localdate()
    instrument = InstrumentFactory(
        code="QC-HPLC-07", calibration_due=today + timedelta(days=10), last_changed_by=qc.head
    )
    outcome = send_due_reminders(today)
    assert outcome.sent == [f"{instrument} · calibration_due:{instrument.calibration_due.isoformat()}"]
    (message,) = mail.outbox
    assert _to(message) == {qc.head.email}  # the role that keeps the instrument register
    assert "QC-HPLC-07" in message.subject and "Calibration due on" in message.subject
    assert "校准" in message.subject  # 简体中文 first, then English
    assert f"https://release.example.com{instrument.get_absolute_url()}" in message.body
    assert "cannot be used for a test" in message.body
    reminder = Reminder.objects.get()
    assert reminder.item == instrument and reminder.recipients == qc.head.email
    assert reminder.threshold == f"calibration_due:{instrument.calibration_due.isoformat()}"
    # Again, tomorrow, and as a job: nothing more.
    assert send_due_reminders(today).already == 1
    assert send_due_reminders(today + timedelta(days=1)).sent == []
    assert send_reminders_job.enqueue().return_value["sent"] == []
    assert len(mail.outbox) == 1 and Reminder.objects.count() == 1


def test_a_passed_due_date_is_a_second_threshold_and_recalibration_a_new_cycle(qc):
    today = timezone.localdate()
    instrument = InstrumentFactory(calibration_due=today + timedelta(days=5), last_changed_by=qc.head)
    send_due_reminders(today)
    send_due_reminders(today + timedelta(days=6))  # now past due
    assert [m.subject for m in mail.outbox][1].count("Calibration expired on") == 1
    assert "cannot be used for a test until it is recalibrated" in mail.outbox[1].body
    assert set(Reminder.objects.values_list("threshold", flat=True)) == {
        f"calibration_due:{instrument.calibration_due.isoformat()}",
        f"calibration_expired:{instrument.calibration_due.isoformat()}",
    }


def test_reagents_expiring_and_expired_go_to_the_people_who_keep_them(qc):
    today = timezone.localdate()
    soon = ReagentFactory(name="阿莫西林对照品", expiry_date=today + timedelta(days=3), last_changed_by=qc.head)
    gone = ReagentFactory(name="氢氧化钠滴定液", expiry_date=today - timedelta(days=1), last_changed_by=qc.head)
    outcome = send_due_reminders(today)
    assert len(outcome.sent) == 2
    by_subject = {m.subject: m for m in mail.outbox}
    (soon_mail,) = [m for s, m in by_subject.items() if "Expires on" in s]
    (gone_mail,) = [m for s, m in by_subject.items() if "Expired on" in s]
    assert "阿莫西林对照品" in soon_mail.subject and "氢氧化钠滴定液" in gone_mail.subject
    assert "take it out of use" in gone_mail.body
    # The analysts and the QC head keep the reagent register.
    assert _to(soon_mail) == {qc.analyst.email, qc.head.email}
    assert Reminder.objects.get(object_id=soon.pk).threshold == f"expiry_soon:{soon.expiry_date.isoformat()}"
    assert Reminder.objects.get(object_id=gone.pk).threshold == f"expired:{gone.expiry_date.isoformat()}"


def test_an_overdue_oos_phase_is_mailed_once(qc, oos_record, settings):
    """R-QC-5: phase I not finished within QC_OOS_PHASE_1_DAYS."""
    oos = OOSInvestigation.objects.get()
    due = oos.due_date
    settings.REMIND_OOS_DAYS_BEFORE = 1
    assert send_due_reminders(due - timedelta(days=2)).sent == []  # not yet falling due
    # The day before and on the due date: falling due, mailed once.
    assert send_due_reminders(due - timedelta(days=1)).sent == [f"{oos.number} · phase_1_due:{due.isoformat()}"]
    assert send_due_reminders(due).sent == []
    (due_mail,) = mail.outbox
    assert f"OOS investigation due on {due.isoformat()}: {oos.number}" in due_mail.subject
    assert "Finish it by then" in due_mail.body
    mail.outbox.clear()
    outcome = send_due_reminders(due + timedelta(days=1))
    assert outcome.sent == [f"{oos.number} · phase_1_overdue:{due.isoformat()}"]
    (message,) = mail.outbox
    assert f"OOS investigation overdue: {oos.number}" in message.subject
    assert "Phase I — laboratory investigation" in message.body and oos_record.sample.number in message.body
    assert qc.head.email in message.to and qc.analyst.email in message.to
    send_due_reminders(due + timedelta(days=2))
    assert len(mail.outbox) == 1


def test_a_refused_mail_is_not_recorded_and_goes_out_on_the_next_run(qc, monkeypatch):
    """Recorded so none is lost: the row is written in the mail's transaction."""
    today = timezone.localdate()
    InstrumentFactory(calibration_due=today + timedelta(days=2), last_changed_by=qc.head)

    def refuse(self, fail_silently=False):
        raise SMTPException("421 try again later")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    outcome = send_due_reminders(today)
    assert len(outcome.failed) == 1 and outcome.sent == []
    assert Reminder.objects.count() == 0
    monkeypatch.undo()
    assert len(send_due_reminders(today).sent) == 1
    assert len(mail.outbox) == 1 and Reminder.objects.count() == 1


def test_nobody_to_tell_is_logged_not_recorded(qc, caplog):
    qc.head.email = ""
    qc.head.save(update_fields=["email"])
    today = timezone.localdate()
    InstrumentFactory(calibration_due=today + timedelta(days=2), last_changed_by=qc.analyst)
    outcome = send_due_reminders(today)
    assert len(outcome.nobody) == 1 and mail.outbox == [] and Reminder.objects.count() == 0
    assert "has nobody to go to" in caplog.text


def test_the_reminder_record_is_append_only(qc):
    today = timezone.localdate()
    InstrumentFactory(calibration_due=today + timedelta(days=2), last_changed_by=qc.head)
    send_due_reminders(today)
    reminder = Reminder.objects.get()
    from django.db import connection

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_reminder SET recipients = 'x' WHERE id = %s", [reminder.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_reminder WHERE id = %s", [reminder.pk])


def test_administrators_read_the_reminders_but_cannot_change_them(qc, client_for):
    from django.test import Client
    from django.urls import reverse

    from tests.factories import PASSWORD

    today = timezone.localdate()
    InstrumentFactory(code="QC-UV-02", calibration_due=today + timedelta(days=2), last_changed_by=qc.head)
    send_due_reminders(today)
    reminder = Reminder.objects.get()
    from core.models import User

    root = User.objects.create_superuser(username="root", password=PASSWORD)
    client = Client()
    client.force_login(root)
    page = client.get(reverse("admin:core_reminder_changelist"))
    assert page.status_code == 200 and "QC-UV-02" in page.content.decode()
    assert client.post(reverse("admin:core_reminder_delete", args=[reminder.pk]), {"post": "yes"}).status_code == 403
    assert Reminder.objects.count() == 1
