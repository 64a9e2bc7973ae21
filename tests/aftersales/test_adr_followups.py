"""ADR follow-up reports (随访/跟踪报告; R-ADR-1; sop-checklists B.2.4 "follow-ups", B.6): new
information about a reported case, numbered per case, due on the first report's clock from the day
the information arrived (GVP [S]), reported to the national system with a signature like the first
report; shown on the case with its state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import ADRFollowUp, local_date
from core.models import Signature
from core.roles import ALL_ROLES, QA_REVIEWER
from core.workflow import InputError, WorkflowError
from tests.aftersales.helpers import english_client, shown_meaning
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(adr_case, users):
    return services.adr_report(
        case=adr_case,
        user=users["qa_reviewer"],
        national_report_number="2026-ADR-000123",
        reported_at=timezone.now(),
        password=PASSWORD,
    )


def _followup_data(**overrides):
    data = dict(
        received_at=timezone.now() - timedelta(minutes=10),
        information="患者皮疹加重，住院治疗",
        outcome="recovering",
        death=False,
        serious=False,
    )
    data.update(overrides)
    return data


def test_follow_up_recorded_from_the_case_page_with_its_due_date(reported, users):
    """A non-serious case: due 30 days from the day the information arrived; serious: 15 days."""
    client = english_client(users["qa_reviewer"])
    received = timezone.localtime() - timedelta(minutes=10)
    response = client.post(
        reverse("aftersales:adr_followup_add", args=[reported.pk]),
        {
            "followup-received_at": received.strftime("%Y-%m-%dT%H:%M"),
            "followup-information": "患者皮疹消退",
            "followup-outcome": "recovered",
        },
    )
    assert response.status_code == 302
    first = ADRFollowUp.objects.get(case=reported)
    assert (first.sequence, first.status, first.recorded_by) == (1, "open", users["qa_reviewer"])
    assert first.report_due == local_date(first.received_at) + timedelta(days=30)
    second = services.adr_followup_record(case=reported, user=users["qa_reviewer"], data=_followup_data(serious=True))
    assert second.sequence == 2 and second.report_due == local_date(second.received_at) + timedelta(days=15)
    third = services.adr_followup_record(
        case=reported, user=users["qa_reviewer"], data=_followup_data(death=True, outcome="death")
    )
    assert third.report_immediately and third.report_due == local_date(third.received_at)
    page = client.get(reported.get_absolute_url()).content.decode()
    assert "Follow-up 1" in page and "患者皮疹消退" in page and "Not yet reported" in page
    assert f"{first.report_due:%Y-%m-%d}" in page and "Immediately" in page
    assert first.history.get().history_change_reason == "follow-up information received"


def test_follow_up_reported_with_a_signature_like_the_first_report(reported, users):
    followup = services.adr_followup_record(case=reported, user=users["qa_reviewer"], data=_followup_data())
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:adr_followup_report", args=[followup.pk])
    shown = shown_meaning(client.get(reported.get_absolute_url()).content.decode(), url)
    prefix = f"followup{followup.pk}"
    response = client.post(url, {f"{prefix}-password": PASSWORD})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    response = client.post(
        url,
        {
            f"{prefix}-national_report_number": "2026-ADR-000123-F1",
            f"{prefix}-reported_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            f"{prefix}-password": PASSWORD,
        },
    )
    assert response.status_code == 302
    followup.refresh_from_db()
    assert followup.status == "reported" and followup.reported_by == users["qa_reviewer"]
    sig = Signature.objects.for_record(followup).get()
    assert sig.meaning == "reported" and sig.is_valid()
    assert shown == "Reported to the authority" == Signature.Meaning(sig.meaning).label
    # The case's first-report signature still verifies: the follow-up is its own record.
    assert Signature.objects.for_record(reported).get().is_valid()
    page = client.get(reported.get_absolute_url()).content.decode()
    assert "2026-ADR-000123-F1" in page and 'action="' + url not in page
    with pytest.raises(WorkflowError, match="already been reported"):
        services.adr_followup_report(
            followup=followup,
            user=users["qa_reviewer"],
            national_report_number="again",
            reported_at=timezone.now(),
            password=PASSWORD,
        )


def test_follow_up_before_the_first_report_is_refused(adr_case, users):
    with pytest.raises(WorkflowError, match="first report"):
        services.adr_followup_record(case=adr_case, user=users["qa_reviewer"], data=_followup_data())


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"information": " "}, "information", "Describe the new information."),
        ({"received_at": timezone.now() + timedelta(days=2)}, "received_at", "cannot be in the future"),
        ({"received_at": timezone.now() - timedelta(days=400)}, "received_at", "before the case's day 0"),
    ],
)
def test_bad_follow_up_input_is_refused_beside_the_field(reported, users, overrides, field, message):
    with pytest.raises(InputError) as exc:
        services.adr_followup_record(case=reported, user=users["qa_reviewer"], data=_followup_data(**overrides))
    assert message in " ".join(exc.value.errors[field])
    assert not ADRFollowUp.objects.exists()


def test_follow_up_report_before_the_information_arrived_is_refused(reported, users):
    followup = services.adr_followup_record(case=reported, user=users["qa_reviewer"], data=_followup_data())
    with pytest.raises(InputError) as exc:
        services.adr_followup_report(
            followup=followup,
            user=users["qa_reviewer"],
            national_report_number="F1",
            reported_at=followup.received_at - timedelta(hours=1),
            password=PASSWORD,
        )
    assert "between the receipt of the information and now" in " ".join(exc.value.errors["reported_at"])
    with pytest.raises(WorkflowError, match="Wrong password"):
        services.adr_followup_report(
            followup=followup,
            user=users["qa_reviewer"],
            national_report_number="F1",
            reported_at=timezone.now(),
            password="x",
        )
    followup.refresh_from_db()
    assert followup.status == "open" and not Signature.objects.for_record(followup).exists()


@pytest.mark.parametrize("role", sorted(set(ALL_ROLES) - {QA_REVIEWER}))
def test_other_roles_cannot_record_or_report_follow_ups(role, reported, users, make_user):
    followup = services.adr_followup_record(case=reported, user=users["qa_reviewer"], data=_followup_data())
    user = make_user(role)
    client = english_client(user)
    assert client.post(reverse("aftersales:adr_followup_add", args=[reported.pk]), {}).status_code == 403
    assert client.post(reverse("aftersales:adr_followup_report", args=[followup.pk]), {}).status_code == 403
    with pytest.raises(WorkflowError):
        services.adr_followup_record(case=reported, user=user, data=_followup_data())


def test_transitions_matrix_written_out():
    states = ["open", "reported"]
    actual = {(a, b) for a in states for b in states if b in ADRFollowUp.TRANSITIONS.get(a, set())}
    assert actual == {("open", "reported")}


def test_follow_up_deadline_source_is_marked_unverified_where_shown(reported, users):
    """Issue 10 remainder 4: 81号令 第二十一条 (跟踪报告 "promptly") is not quoted in the reference
    texts, so version 2011's same-clock rule stays the rule set's, marked unverified, and every
    place the due date is shown says "to be confirmed by QA"."""
    ruleset = reported.ruleset
    assert (ruleset.followup_within_days, ruleset.followup_confidence) == (None, "S")
    assert "第二十一条" in ruleset.followup_citation and "[S]" in ruleset.followup_citation
    followup = services.adr_followup_record(case=reported, user=users["qa_reviewer"], data=_followup_data())
    assert followup.due_unverified
    page = english_client(users["qa_reviewer"]).get(reported.get_absolute_url()).content.decode()
    assert 'data-testid="followup-due-unverified">deadline to be confirmed by QA<' in page
    assert "s text: to be confirmed by QA</strong>" in page and "Source: 药物警戒质量管理规范（2021）" in page
    assert "Follow-up reports are due on the same clock as the first report" in page
    work = english_client(users["qa_reviewer"]).get(reverse("core:my_work")).content.decode()
    assert "deadline to be confirmed by QA" in work


def test_a_rule_set_with_its_own_verified_follow_up_deadline_is_used(reported, users):
    """The deadline is configurable per rule-set version: a fixed number of days, once verified,
    replaces the same clock and the "to be confirmed" mark."""
    from aftersales.models import ADRRuleSet

    ADRRuleSet.objects.filter(pk=reported.ruleset_id).update(followup_within_days=5, followup_confidence="V")
    reported.refresh_from_db()
    followup = services.adr_followup_record(case=reported, user=users["qa_reviewer"], data=_followup_data(serious=True))
    assert followup.report_due == local_date(followup.received_at) + timedelta(days=5)
    assert not followup.due_unverified
    page = english_client(users["qa_reviewer"]).get(reported.get_absolute_url()).content.decode()
    assert "Follow-up reports are due within 5 days of the day the new information was received." in page
    assert "to be confirmed by QA" not in page
