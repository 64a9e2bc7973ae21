"""After-sales reminders by e-mail (issue 13 item 3; R-ADR-1, R-SHIP-3, R-UX-3): ADR reports and
follow-up reports falling due and overdue, customer licences expiring and expired — once per item
and threshold, retried after a refused send, nothing for closed items, a fixed number of queries."""

from __future__ import annotations

from datetime import date, timedelta
from smtplib import SMTPException

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales import reminders, services
from aftersales.models import ADRFollowUp, LicenceKind
from core.models import Reminder
from core.reminders import send_due_reminders
from tests.aftersales.conftest import feedback_data, licence_data
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://release.example.com"
    settings.REMIND_ADR_DAYS_BEFORE = 3
    settings.REMIND_LICENCE_DAYS_BEFORE = 30


def _mine(outcome, record) -> list[str]:
    """The thresholds sent about ``record`` (other apps' items are not this test's business)."""
    return [label.rsplit(" · ", 1)[1] for label in outcome.sent if label.rsplit(" · ", 1)[0] == str(record)]


def _queries(today: date) -> int:
    with CaptureQueriesContext(connection) as ctx:
        list(reminders.due_reminders(today))
    return len(ctx.captured_queries)


def _new_adr_case(users, batch, patient="Z.M., 30岁, 男"):
    fb = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(batch=batch, classification="possible_adr", patient=patient, description="服药后头晕"),
    )
    return fb.adr_case


def _report(case, users):
    return services.adr_report(
        case=case,
        user=users["qa_reviewer"],
        national_report_number="2026-ADR-000321",
        reported_at=timezone.now(),
        password=PASSWORD,
    )


def test_an_adr_report_falling_due_then_overdue_is_mailed_once_at_each_threshold(adr_case, users):
    """R-ADR-1: three days ahead (setting), then the day after the due date — to QA, who report."""
    due = adr_case.report_due
    assert _mine(send_due_reminders(due - timedelta(days=4)), adr_case) == []
    assert _mine(send_due_reminders(due - timedelta(days=3)), adr_case) == [f"report_due:{due.isoformat()}"]
    (message,) = mail.outbox
    assert f"ADR case due on {due.isoformat()}: {adr_case.number}" in message.subject
    assert "不良反应" in message.subject  # 简体中文 first, then English
    assert "the ADR report to the national monitoring system is due on" in message.body
    assert f"https://release.example.com{adr_case.get_absolute_url()}" in message.body
    assert users["qa_reviewer"].email in message.to and users["customer_service"].email not in message.to
    assert _mine(send_due_reminders(due), adr_case) == []  # not again on the due date
    assert _mine(send_due_reminders(due + timedelta(days=1)), adr_case) == [f"report_overdue:{due.isoformat()}"]
    assert f"ADR case overdue: {adr_case.number} (due {due.isoformat()})" in mail.outbox[1].subject
    assert "has not been recorded as made" in mail.outbox[1].body
    assert _mine(send_due_reminders(due + timedelta(days=2)), adr_case) == []
    assert len(mail.outbox) == 2
    assert set(Reminder.objects.values_list("threshold", flat=True)) == {
        f"report_due:{due.isoformat()}",
        f"report_overdue:{due.isoformat()}",
    }


def test_a_reported_adr_case_reminds_nobody(adr_case, users):
    """Closed items: once the report is recorded, its due and overdue dates send nothing."""
    _report(adr_case, users)
    due = adr_case.report_due
    assert _mine(send_due_reminders(due - timedelta(days=1)), adr_case) == []
    assert _mine(send_due_reminders(due + timedelta(days=1)), adr_case) == []
    assert mail.outbox == [] and Reminder.objects.count() == 0


def test_an_adr_reminder_refused_by_the_mail_server_goes_out_on_the_next_run(adr_case, monkeypatch):
    due = adr_case.report_due

    def refuse(self, fail_silently=False):
        raise SMTPException("451 try again later")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    outcome = send_due_reminders(due + timedelta(days=1))
    assert outcome.failed == [f"{adr_case} · report_overdue:{due.isoformat()}"]
    assert Reminder.objects.count() == 0
    monkeypatch.undo()
    assert _mine(send_due_reminders(due + timedelta(days=2)), adr_case) == [f"report_overdue:{due.isoformat()}"]
    assert len(mail.outbox) == 1 and Reminder.objects.count() == 1


def test_a_follow_up_report_falling_due_and_overdue_is_mailed_once_each(adr_case, users):
    case = _report(adr_case, users)
    followup = services.adr_followup_record(
        case=case,
        user=users["qa_reviewer"],
        data=dict(
            received_at=timezone.now() - timedelta(minutes=5),
            information="患者皮疹加重",
            outcome="recovering",
            death=False,
            serious=False,
        ),
    )
    due = followup.report_due
    assert _mine(send_due_reminders(due - timedelta(days=3)), followup) == [f"due:{due.isoformat()}"]
    assert f"ADR follow-up report due on {due.isoformat()}: {case.number} no. 1" in mail.outbox[0].subject
    assert _mine(send_due_reminders(due - timedelta(days=1)), followup) == []
    assert _mine(send_due_reminders(due + timedelta(days=1)), followup) == [f"overdue:{due.isoformat()}"]
    assert f"ADR follow-up report overdue: {case.number} no. 1" in mail.outbox[1].subject
    assert _mine(send_due_reminders(due + timedelta(days=5)), followup) == []
    services.adr_followup_report(
        followup=followup,
        user=users["qa_reviewer"],
        national_report_number="2026-ADR-000322",
        reported_at=timezone.now(),
        password=PASSWORD,
    )
    assert ADRFollowUp.objects.get().status == ADRFollowUp.Status.REPORTED
    assert list(reminders.due_reminders(due + timedelta(days=6))) == []  # reported: nothing more


def test_adr_reminders_cost_the_same_queries_for_one_case_or_many(adr_case, users, batch):
    """R-PERF-1: no query per case or follow-up."""
    today = adr_case.report_due + timedelta(days=1)
    one = _queries(today)
    for n in range(4):
        _new_adr_case(users, batch, patient=f"P{n}, 40岁, 女")
    assert len(list(reminders.due_reminders(today))) == 5
    assert _queries(today) == one


# --- customer licences (GSP 5.3) ------------------------------------------------------------------


@pytest.fixture
def expiring(qualified_customer, users):
    """A GSP certificate that runs out in 20 days (the customer's other licences run to 2099)."""
    today = timezone.localdate()
    return services.licence_add(
        customer=qualified_customer,
        user=users["sales"],
        data=licence_data(
            LicenceKind.GSP, number="A-ZJ-0815", valid_from=date(2021, 1, 1), valid_to=today + timedelta(days=20)
        ),
    )


def test_a_licence_expiring_then_expired_is_mailed_once_each_to_the_customer_file_keepers(expiring, users):
    end = expiring.valid_to
    assert _mine(send_due_reminders(end - timedelta(days=31)), expiring) == []
    assert _mine(send_due_reminders(end - timedelta(days=30)), expiring) == [f"expiry_soon:{end.isoformat()}"]
    (message,) = mail.outbox
    assert f"Customer licence expires on {end.isoformat()}: 华东医药有限公司" in message.subject
    assert "A-ZJ-0815" in message.body and "an expired licence blocks every shipment" in message.body
    assert {users["sales"].email, users["qa_reviewer"].email} <= set(message.to)
    assert users["finance"].email not in message.to
    assert _mine(send_due_reminders(end), expiring) == []
    assert _mine(send_due_reminders(end + timedelta(days=1)), expiring) == [f"expired:{end.isoformat()}"]
    assert "Nothing can be shipped to this customer" in mail.outbox[1].body
    assert _mine(send_due_reminders(end + timedelta(days=30)), expiring) == []
    assert len(mail.outbox) == 2


def test_a_renewed_licence_or_a_voided_customer_reminds_nobody(expiring, qualified_customer, users):
    end = expiring.valid_to
    services.licence_add(
        customer=qualified_customer,
        user=users["sales"],
        data=licence_data(LicenceKind.GSP, number="A-ZJ-0999", valid_from=end, valid_to=end + timedelta(days=1825)),
    )
    assert list(reminders.due_reminders(end + timedelta(days=1))) == []
    other = services.licence_add(
        customer=qualified_customer,
        user=users["sales"],
        data=licence_data(LicenceKind.MEDICAL_INSTITUTION, number="M-1", valid_to=end),
    )
    assert [d.record for d in reminders.due_reminders(end)] == [other]
    services.customer_void(customer=qualified_customer, user=users["qa_reviewer"], password=PASSWORD, reason="停业")
    assert list(reminders.due_reminders(end + timedelta(days=1))) == []


def test_a_licence_reminder_refused_by_the_mail_server_is_retried(expiring, monkeypatch):
    end = expiring.valid_to

    def refuse(self, fail_silently=False):
        raise SMTPException("421 busy")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    assert send_due_reminders(end - timedelta(days=1)).failed == [f"{expiring} · expiry_soon:{end.isoformat()}"]
    monkeypatch.undo()
    assert _mine(send_due_reminders(end - timedelta(days=1)), expiring) == [f"expiry_soon:{end.isoformat()}"]
    assert Reminder.objects.get().item == expiring


def test_licence_reminders_cost_the_same_queries_for_one_customer_or_many(expiring, users):
    from tests.aftersales.conftest import qualify

    today = expiring.valid_to
    one = _queries(today)
    for n in range(3):
        customer = qualify(users, name=f"客户{n}")
        services.licence_add(
            customer=customer,
            user=users["sales"],
            data=licence_data(LicenceKind.GSP, name_on_licence=f"客户{n}", valid_to=today),
        )
    assert len(list(reminders.due_reminders(today))) == 4
    assert _queries(today) == one
