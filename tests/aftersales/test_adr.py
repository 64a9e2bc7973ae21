"""ADR cases: minimum information, day 0, due dates from the versioned rule table, report (R-ADR-1)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.deadlines import Rule, due_dates
from aftersales.models import ADRCase, ADRRule, ADRRuleSet
from core.models import AuthEvent, Signature
from core.roles import ALL_ROLES
from core.workflow import InputError, WorkflowError
from tests.aftersales.conftest import aware, feedback_data
from tests.aftersales.helpers import english_client, field_error, shown_meaning
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

# The 2011 measures (卫生部令第81号) as B.6 states them, written independently of the migration.
RULES_2011 = {
    "death": Rule("death", 0, 15),
    "new_or_serious": Rule("new_or_serious", 15),
    "other": Rule("other", 30),
    "group": Rule("group", 0, 7),
}
DAY0 = date(2026, 3, 1)


def test_the_2011_rule_set_is_seeded_with_confidence():
    """R-ADR-1, B.6: the migration's table equals the regulation; [V]/[S] kept per rule."""
    ruleset = ADRRuleSet.objects.get(version="2011")
    rows = {r.applies_to: r for r in ruleset.rules.all()}
    assert {k: (r.report_within_days, r.investigation_within_days) for k, r in rows.items()} == {
        k: (r.report_within_days, r.investigation_within_days) for k, r in RULES_2011.items()
    }
    assert (
        rows["death"].report_confidence
        == rows["new_or_serious"].report_confidence
        == rows["other"].report_confidence
        == "V"
    )
    assert rows["death"].investigation_confidence == "V"  # 第二十二条
    assert rows["group"].investigation_confidence == "S"  # 7 days: secondary sources


@pytest.mark.parametrize(
    ("flags", "report", "immediately", "investigation"),
    [
        ({}, DAY0 + timedelta(days=30), False, None),  # 第二十一条: other → 30 days
        ({"serious": True}, DAY0 + timedelta(days=15), False, None),  # serious → 15 days
        ({"new": True}, DAY0 + timedelta(days=15), False, None),  # new → 15 days
        ({"death": True}, DAY0, True, DAY0 + timedelta(days=15)),  # death → immediately + 15-day investigation
        ({"group_event": True}, DAY0, True, DAY0 + timedelta(days=7)),  # group → immediately + 7 days
        ({"death": True, "group_event": True}, DAY0, True, DAY0 + timedelta(days=7)),  # earliest of both
    ],
)
def test_due_dates_per_rule(flags, report, immediately, investigation):
    kwargs = {"death": False, "group_event": False, "serious": False, "new": False, **flags}
    due = due_dates(day0=DAY0, rules=RULES_2011, **kwargs)
    assert (due.report_due, due.report_immediately, due.investigation_due) == (report, immediately, investigation)


def test_due_dates_count_local_days_from_the_feedback_received_time(users, batch):
    """R-ADR-1: day 0 is the feedback's received time in Asia/Shanghai — 23:30 on 1 March local
    time is 15:30 UTC the same day; 00:30 on 2 March local is still 1 March in UTC."""
    late = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(
            batch=batch, classification="possible_adr", patient="A 1岁 男", received_at=aware(2026, 3, 1, 23, 30)
        ),
    ).adr_case
    early = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(
            batch=batch, classification="possible_adr", patient="B 2岁 女", received_at=aware(2026, 3, 2, 0, 30)
        ),
    ).adr_case
    assert late.report_due == date(2026, 3, 31)  # other → 30 days
    assert early.report_due == date(2026, 4, 1)
    assert late.ruleset.version == "2011"


def test_qa_assessment_recomputes_from_day0_not_from_qa_receipt(adr_case, users):
    """R-ADR-1: QA marks the case serious a week later; the 15 days still run from day 0."""
    day0 = timezone.localtime(adr_case.day0).date()
    case = services.adr_assess(
        case=adr_case, user=users["qa_reviewer"], data={"serious_hospitalisation": True}, reason="住院，判定为严重"
    )
    assert case.report_due == day0 + timedelta(days=15)
    case = services.adr_assess(case=case, user=users["qa_reviewer"], data={"serious_death": True}, reason="患者死亡")
    assert case.report_immediately and case.report_due == day0 and case.investigation_due == day0 + timedelta(days=15)


def test_the_rule_version_stays_with_the_case(adr_case, users):
    """A later regulation is a new rule set: cases opened before it keep theirs."""
    newer = ADRRuleSet.objects.create(version="2099", title="future", effective_from=date(2099, 1, 1))
    ADRRule.objects.create(ruleset=newer, applies_to="other", report_within_days=5, report_confidence="S", citation="x")
    case = services.adr_assess(case=adr_case, user=users["qa_reviewer"], data={"causality": "possible"}, reason="评价")
    assert case.ruleset.version == "2011"


def test_onset_after_day0_is_refused_beside_the_field(adr_case, users):
    """Bad input (issue 10): an ADR with onset after awareness."""
    onset = (timezone.localtime(adr_case.day0) + timedelta(days=2)).date().isoformat()
    data = {
        f"assess-{k}": v
        for k, v in {
            "patient": "W",
            "reporter": "R",
            "reaction": "皮疹",
            "onset_date": onset,
            "outcome": "unknown",
            "reason": "补充",
        }.items()
    }
    response = english_client(users["qa_reviewer"]).post(reverse("aftersales:adr_assess", args=[adr_case.pk]), data)
    assert response.status_code == 400
    assert "after the company learned of it" in field_error(response, "onset_date")


def test_overdue_cases_are_flagged_in_the_list_and_on_my_work(users, batch):
    case = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(
            batch=batch, classification="possible_adr", patient="C", received_at=timezone.now() - timedelta(days=40)
        ),
    ).adr_case
    assert case.is_overdue and ADRCase.objects.overdue().get() == case
    client = english_client(users["qa_reviewer"])
    assert 'data-testid="overdue"' in client.get(reverse("aftersales:adr_list")).content.decode()
    page = client.get(reverse("core:my_work")).content.decode()
    assert case.number in page and "Overdue" in page
    # The row names the product as str(product) does ("name strength", read by a subquery).
    assert f"{case.number} · {case.product.name} {case.product.strength}</a>" in page


def test_report_is_recorded_with_a_signature(adr_case, users):
    """R-ADR-1, R-SIG-2: the national report number, signed; meaning shown = stored."""
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:adr_report", args=[adr_case.pk])
    shown = shown_meaning(client.get(adr_case.get_absolute_url()).content.decode(), url)
    response = client.post(
        url,
        {
            "report-national_report_number": "2026-ADR-000123",
            "report-reported_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "report-password": PASSWORD,
        },
    )
    assert response.status_code == 302
    adr_case.refresh_from_db()
    assert adr_case.status == ADRCase.Status.REPORTED and adr_case.national_report_number == "2026-ADR-000123"
    sig = Signature.objects.for_record(adr_case).get()
    assert sig.is_valid() and shown == Signature.Meaning(sig.meaning).label
    assert adr_case.history.first().status == "reported"
    with pytest.raises(WorkflowError):
        services.adr_report(
            case=adr_case,
            user=users["qa_reviewer"],
            national_report_number="X",
            reported_at=timezone.now(),
            password=PASSWORD,
        )


def test_report_with_wrong_password_is_refused(adr_case, users):
    with pytest.raises(WorkflowError, match="Wrong password"):
        services.adr_report(
            case=adr_case,
            user=users["qa_reviewer"],
            national_report_number="X",
            reported_at=timezone.now(),
            password="bad",
        )
    adr_case.refresh_from_db()
    assert adr_case.status == ADRCase.Status.OPEN
    assert AuthEvent.objects.filter(user=users["qa_reviewer"], kind=AuthEvent.Kind.SIGNATURE_FAILED).exists()


def test_report_before_day0_is_refused(adr_case, users):
    with pytest.raises(InputError):
        services.adr_report(
            case=adr_case,
            user=users["qa_reviewer"],
            national_report_number="X",
            reported_at=adr_case.day0 - timedelta(days=1),
            password=PASSWORD,
        )


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("action", ["adr_assess", "adr_report", "adr_investigation"])
def test_adr_actions_are_403_for_other_roles(role, action, adr_case, users):
    response = english_client(users[role]).post(reverse(f"aftersales:{action}", args=[adr_case.pk]), {})
    assert (response.status_code == 403) == (role != "qa_reviewer")
    if role != "qa_reviewer":
        with pytest.raises(WorkflowError, match="permission"):
            services.adr_report(
                case=adr_case,
                user=users[role],
                national_report_number="X",
                reported_at=timezone.now(),
                password=PASSWORD,
            )


@pytest.fixture
def death_case(adr_case, users):
    return services.adr_assess(
        case=adr_case, user=users["qa_reviewer"], data={"serious_death": True, "outcome": "death"}, reason="患者死亡"
    )


def test_death_investigation_report_is_recorded_with_its_own_signature(death_case, users):
    """R-ADR-1 (第二十二条): after the immediate report, the 15-day investigation report, signed;
    the report's signature keeps verifying."""
    qa = users["qa_reviewer"]
    services.adr_report(
        case=death_case, user=qa, national_report_number="N1", reported_at=timezone.now(), password=PASSWORD
    )
    assert ADRCase.objects.awaiting_action().filter(pk=death_case.pk).exists()
    client = english_client(qa)
    url = reverse("aftersales:adr_investigation", args=[death_case.pk])
    shown = shown_meaning(client.get(death_case.get_absolute_url()).content.decode(), url)
    response = client.post(
        url,
        {
            "investigation-reference": "DC-1",
            "investigation-submitted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "investigation-summary": "调查完成",
            "investigation-password": PASSWORD,
        },
    )
    assert response.status_code == 302
    death_case.refresh_from_db()
    report = death_case.investigation_report
    sig = Signature.objects.for_record(report).get()
    assert sig.is_valid() and shown == Signature.Meaning(sig.meaning).label
    assert all(s.is_valid() for s in Signature.objects.for_record(death_case))
    assert not ADRCase.objects.awaiting_action().filter(pk=death_case.pk).exists()
    assert report.history.count() == 1


def test_a_case_without_death_or_group_event_needs_no_investigation_report(adr_case, users):
    with pytest.raises(WorkflowError, match="needs no investigation report"):
        services.adr_record_investigation(
            case=adr_case,
            user=users["qa_reviewer"],
            submitted_at=timezone.now(),
            reference="X",
            summary="Y",
            password=PASSWORD,
        )


def test_an_overdue_investigation_report_is_flagged(users, batch):
    case = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(
            batch=batch, classification="possible_adr", patient="D", received_at=timezone.now() - timedelta(days=20)
        ),
    ).adr_case
    case = services.adr_assess(case=case, user=users["qa_reviewer"], data={"group_event": True}, reason="群体事件")
    services.adr_report(
        case=case, user=users["qa_reviewer"], national_report_number="G1", reported_at=timezone.now(), password=PASSWORD
    )
    case.refresh_from_db()
    assert case.status == ADRCase.Status.REPORTED and case.investigation_overdue
    assert ADRCase.objects.overdue().filter(pk=case.pk).exists()
    page = english_client(users["qa_reviewer"]).get(reverse("core:my_work")).content.decode()
    assert case.number in page and "Investigation report" in page


def test_investigation_report_needs_a_reference_and_summary(death_case, users):
    with pytest.raises(InputError) as exc:
        services.adr_record_investigation(
            case=death_case,
            user=users["qa_reviewer"],
            submitted_at=timezone.now(),
            reference="",
            summary="",
            password=PASSWORD,
        )
    assert set(exc.value.errors) == {"reference", "summary"}
