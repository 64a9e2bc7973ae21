"""Customer quality visits (R-VIS-1; VIS-4.1.3.x) and the monthly feedback ledger (R-VIS-2; AS-4.2.6)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import ADRCase, CustomerVisit, LedgerSignoff, LicenceKind
from core.models import Signature
from core.roles import ALL_ROLES
from core.workflow import InputError, WorkflowError
from tests.aftersales.conftest import aware, feedback_data
from tests.aftersales.helpers import english_client, field_error, shown_meaning
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def visit_data(customer, **overrides):
    data = dict(
        customer=customer,
        visited_at=timezone.now() - timedelta(days=1),
        method="phone",
        target="pharmacy_head",
        person_visited="刘店长",
        topics=["efficacy", "packaging"],
        opinions="希望改为小包装",
        handling="已转销售部评估，负责人：钱明",
        satisfaction="satisfied",
        side_effect_mentioned=False,
        side_effect_description="",
        side_effect_patient="",
        side_effect_product=None,
    )
    data.update(overrides)
    return data


@pytest.fixture
def visit(qualified_customer, users):
    return services.visit_record(user=users["customer_service"], data=visit_data(qualified_customer))


def test_cs_manager_approves_the_visit_with_a_signature(visit, users):
    """R-VIS-1: 报客服部经理批准 — signed, history written; the page shows the meaning it records."""
    client = english_client(users["cs_manager"])
    url = reverse("aftersales:visit_approve", args=[visit.pk])
    shown = shown_meaning(client.get(visit.get_absolute_url()).content.decode(), url)
    assert client.post(url, {"approve-password": PASSWORD}).status_code == 302
    visit.refresh_from_db()
    assert visit.status == CustomerVisit.Status.APPROVED and visit.approved_by == users["cs_manager"]
    sig = Signature.objects.for_record(visit).get()
    assert sig.is_valid() and shown == Signature.Meaning(sig.meaning).label
    with pytest.raises(WorkflowError):
        services.visit_approve(visit=visit, user=users["cs_manager"], password=PASSWORD)


def test_the_recorder_does_not_approve_their_own_visit(qualified_customer, users):
    visit = services.visit_record(user=users["cs_manager"], data=visit_data(qualified_customer))
    with pytest.raises(WorkflowError, match="another manager"):
        services.visit_approve(visit=visit, user=users["cs_manager"], password=PASSWORD)


def test_opinions_must_be_handled_before_approval(qualified_customer, users):
    visit = services.visit_record(user=users["customer_service"], data=visit_data(qualified_customer, handling=""))
    with pytest.raises(WorkflowError, match="handled"):
        services.visit_approve(visit=visit, user=users["cs_manager"], password=PASSWORD)


def test_wrong_password_is_refused(visit, users):
    with pytest.raises(WorkflowError, match="Wrong password"):
        services.visit_approve(visit=visit, user=users["cs_manager"], password="bad")


def test_a_side_effect_mentioned_opens_an_adr_intake(qualified_customer, users, approved_product):
    """R-ADR-1, B.2.6: a side effect mentioned in a visit is ADR information; day 0 = the visit."""
    when = timezone.now() - timedelta(days=2)
    visit = services.visit_record(
        user=users["customer_service"],
        data=visit_data(
            qualified_customer,
            visited_at=when,
            topics=["side_effects"],
            side_effect_mentioned=True,
            side_effect_description="顾客反映服药后头晕",
            side_effect_patient="顾客，50岁，男",
            side_effect_product=approved_product,
        ),
    )
    case = ADRCase.objects.get(feedback=visit.adr_feedback)
    assert case.day0 == when and visit.adr_feedback.channel == "customer_visit"


def test_side_effect_without_details_is_refused_beside_the_field(qualified_customer, users):
    """R-UX-2."""
    data = {
        "customer": qualified_customer.pk,
        "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "method": "phone",
        "target": "patient",
        "person_visited": "患者",
        "topics": ["side_effects"],
        "satisfaction": "satisfied",
        "side_effect_mentioned": "on",
    }
    response = english_client(users["customer_service"]).post(reverse("aftersales:visit_create"), data)
    assert response.status_code == 200
    assert "possible ADR" in field_error(response, "side_effect_description")
    assert not CustomerVisit.objects.exists()


def test_no_topic_is_refused(qualified_customer, users):
    with pytest.raises(InputError):
        services.visit_record(user=users["customer_service"], data=visit_data(qualified_customer, topics=[]))


def test_half_year_cycle_due_list(qualified_customer, users):
    """VIS-4.1.3.4: never visited → due now; approved visit → due six months later."""
    today = timezone.localdate()
    (row,) = services.visits_due(today)
    assert row == (qualified_customer, None, today)
    visit = services.visit_record(
        user=users["customer_service"], data=visit_data(qualified_customer, visited_at=aware(2026, 1, 31, 10))
    )
    # A visit not yet approved does not count: still never visited, due now.
    assert services.visits_due(today) == [(qualified_customer, None, today)]
    services.visit_approve(visit=visit, user=users["cs_manager"], password=PASSWORD)
    (row,) = services.visits_due(today)
    assert row[1] == date(2026, 1, 31) and row[2] == date(2026, 7, 31)
    # Issue 12: the visit list asks only for those due by a day, the most overdue first, so many.
    assert services.visits_due(today, due_by=date(2026, 7, 30)) == []
    assert services.visits_due(today, due_by=date(2026, 7, 31), limit=1) == [row]
    assert services.visits_due(today, limit=0) == []


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_the_cs_manager_approves(role, visit, users):
    response = english_client(users[role]).post(reverse("aftersales:visit_approve", args=[visit.pk]), {})
    assert (response.status_code == 403) == (role != "cs_manager")


# --- ledger ---------------------------------------------------------------------------------------


def test_ledger_figures_for_a_hand_computed_month(users, batch):
    """R-VIS-2: 3 feedback in March 2026 (Asia/Shanghai), one answered in time, one late."""
    cs = users["customer_service"]
    a = services.feedback_record(
        user=cs, data=feedback_data(classification="enquiry", received_at=aware(2026, 3, 1, 0, 10))
    )
    b = services.feedback_record(
        user=cs, data=feedback_data(classification="enquiry", received_at=aware(2026, 3, 31, 23, 50))
    )
    services.feedback_record(user=cs, data=feedback_data(batch=batch, received_at=aware(2026, 3, 15, 9)))
    services.feedback_record(user=cs, data=feedback_data(classification="enquiry", received_at=aware(2026, 4, 1, 0, 0)))
    services.feedback_record(
        user=cs, data=feedback_data(classification="enquiry", received_at=aware(2026, 2, 28, 23, 59))
    )
    services.feedback_reply(
        feedback=a, user=cs, data={"reply_at": aware(2026, 3, 1, 9), "reply_method": "phone", "reply_content": "x"}
    )
    services.feedback_reply(
        feedback=b, user=cs, data={"reply_at": aware(2026, 4, 2, 9), "reply_method": "phone", "reply_content": "x"}
    )
    figures = services.ledger_figures(2026, 3)
    assert figures["total"] == 3
    assert figures["by_class"] == {"enquiry": 2, "quality_complaint": 1}
    assert (figures["answered"], figures["answered_on_time"], figures["timeliness_percent"]) == (2, 1, 50.0)
    assert figures["complaints"] == 1


def test_cs_manager_signs_the_month_once(users):
    client = english_client(users["cs_manager"])
    page = client.get(reverse("aftersales:ledger") + "?month=2026-03").content.decode()
    url = reverse("aftersales:ledger_sign") + "?month=2026-03"
    shown = shown_meaning(page, url)
    assert client.post(url, {"sign-password": PASSWORD}).status_code == 302
    signoff = LedgerSignoff.objects.get(year=2026, month=3)
    sig = Signature.objects.for_record(signoff).get()
    assert sig.is_valid() and shown == Signature.Meaning(sig.meaning).label
    with pytest.raises(WorkflowError, match="already been signed"):
        services.ledger_sign(year=2026, month=3, user=users["cs_manager"], password=PASSWORD)


def test_ledger_csv_lists_the_month(users):
    services.feedback_record(
        user=users["customer_service"], data=feedback_data(classification="enquiry", received_at=aware(2026, 3, 5, 9))
    )
    response = english_client(users["qa_reviewer"]).get(reverse("aftersales:ledger_csv") + "?month=2026-03")
    body = response.content.decode("utf-8-sig")
    assert response.status_code == 200 and "FB-2026-0001" in body and "Enquiry" in body


def test_bad_month_falls_back_with_a_message(users):
    response = english_client(users["cs_manager"]).get(reverse("aftersales:ledger") + "?month=2026-13")
    assert response.status_code == 200 and "YYYY-MM" in response.content.decode()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_the_cs_manager_signs_the_ledger(role, users):
    response = english_client(users[role]).post(reverse("aftersales:ledger_sign") + "?month=2026-03", {})
    assert (response.status_code == 403) == (role != "cs_manager")


def _qualified_named(users, name: str):
    from tests.aftersales.conftest import APPROVERS, customer_data, licence_data

    customer = services.customer_create(user=users["sales"], data=customer_data(name=name, seal_name=name))
    services.licence_add(customer=customer, user=users["sales"], data=licence_data(name_on_licence=name))
    services.licence_add(
        customer=customer,
        user=users["sales"],
        data=licence_data(LicenceKind.BUSINESS, scope_dosage_forms=[], name_on_licence=name),
    )
    customer = services.customer_submit(customer=customer, user=users["sales"])
    for role, username in APPROVERS.items():
        customer = services.customer_approve(customer=customer, user=users[username], role=role, password=PASSWORD)
    return customer


def test_the_due_list_reads_in_due_order_and_stops_early_with_the_same_answer(users):
    """VIS-4.1.3.4, issue 12: the visit list asks for those due by today, the first so many; the
    answer is the full list's, whether the customer was never visited (due now), visited long ago
    (overdue), or visited lately (not yet due)."""
    today = timezone.localdate()
    made = {}
    for name, visited in [("甲药房", None), ("乙药房", aware(2026, 1, 31, 10)), ("丙药房", aware(2025, 1, 10, 10))]:
        made[name] = _qualified_named(users, name)
        if visited:
            visit = services.visit_record(
                user=users["customer_service"], data=visit_data(made[name], visited_at=visited)
            )
            services.visit_approve(visit=visit, user=users["cs_manager"], password=PASSWORD)
    made["丁药房"] = _qualified_named(users, "丁药房")
    recent = services.visit_record(user=users["customer_service"], data=visit_data(made["丁药房"]))
    services.visit_approve(visit=recent, user=users["cs_manager"], password=PASSWORD)
    full = services.visits_due(today)
    assert [c.name for c, _last, _due in full] == ["丙药房", "乙药房", "甲药房", "丁药房"]
    due_now = [row for row in full if row[2] <= today]
    assert services.visits_due(today, due_by=today) == due_now
    for n in range(5):
        assert services.visits_due(today, due_by=today, limit=n) == due_now[:n]


def test_the_last_approved_visit_is_stored_with_the_customer_and_only_moves_forward(qualified_customer, users):
    """VIS-4.1.3.4, issue 12: approving a visit stores its time on the customer (the due list's
    index), with a history row naming the approver and the reason; a visit approved later but
    made earlier leaves it; a draft visit does not count. The customer's qualification signature
    still verifies (the stored time is not part of what it signed)."""
    customer = qualified_customer
    manager = users["cs_manager"]
    later, earlier = aware(2026, 6, 1, 9), aware(2026, 3, 1, 9)
    draft = services.visit_record(
        user=users["customer_service"], data=visit_data(customer, visited_at=aware(2026, 7, 1, 9))
    )
    first = services.visit_record(user=users["customer_service"], data=visit_data(customer, visited_at=later))
    services.visit_approve(visit=first, user=manager, password=PASSWORD)
    customer.refresh_from_db()
    assert customer.last_visit_at == later
    newest = customer.history.order_by("-history_id").first()
    assert newest.history_user == manager and newest.history_change_reason == "last approved visit recorded"
    rows = customer.history.count()
    second = services.visit_record(user=users["customer_service"], data=visit_data(customer, visited_at=earlier))
    services.visit_approve(visit=second, user=manager, password=PASSWORD)
    customer.refresh_from_db()
    assert customer.last_visit_at == later and customer.history.count() == rows
    assert draft.status == CustomerVisit.Status.DRAFT
    assert all(sig.is_valid() for sig in Signature.objects.for_record(customer))


def test_the_due_list_reads_the_stored_visit_not_the_visits(qualified_customer, users):
    """Issue 12: the due list reads the customers only (their stored last visit, in an index's
    order), not every customer's visits grouped."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    visit = services.visit_record(
        user=users["customer_service"], data=visit_data(qualified_customer, visited_at=aware(2026, 1, 31, 10))
    )
    services.visit_approve(visit=visit, user=users["cs_manager"], password=PASSWORD)
    with CaptureQueriesContext(connection) as ctx:
        (row,) = services.visits_due(date(2026, 12, 1))
    assert row == (qualified_customer, date(2026, 1, 31), date(2026, 7, 31))
    assert not any("aftersales_customervisit" in q["sql"] for q in ctx.captured_queries)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "aftersales_customer")
    assert constraints["aftersales_customer_last_visit"]["columns"] == ["status", "last_visit_at", "id"]
