from io import StringIO

import pytest
from django.core.management import call_command

from core.models import Signature, User
from core.roles import ALL_ROLES
from release.models import Batch, Product

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "products": Product.objects.count(),
        "batches": Batch.objects.count(),
        "signatures": Signature.objects.count(),
        "product history": Product.history.count(),
        "batch history": Batch.history.count(),
    }


@pytest.fixture(autouse=True)
def default_demo_password(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


@pytest.fixture
def seeded(demo_seeded_module) -> dict[str, int]:
    return counts()


def test_seed_demo_twice_changes_nothing_the_second_time(seeded):
    seed()
    assert counts() == seeded


def test_one_user_per_role_named_after_the_role(seeded):
    for role in ALL_ROLES:
        user = User.objects.get(username=role)
        assert user.is_active
        assert user.role_names() == [role]
        assert user.full_name  # a printed name for signatures (R-SIG-2)


def test_three_products_two_approved_with_valid_signatures_and_one_draft(seeded):
    assert Product.objects.count() == 3
    approved = Product.objects.filter(status=Product.Status.APPROVED)
    assert approved.count() == 2
    for product in approved:
        (sig,) = Signature.objects.for_record(product)
        assert sig.meaning == Signature.Meaning.APPROVED and sig.is_valid()
        assert sig.signer.username == "qa_reviewer"
        assert product.last_changed_by.username != "qa_reviewer"  # R-SEQ-2 holds in the demo too
    assert Product.objects.filter(status=Product.Status.DRAFT).count() == 1


def test_batches_include_a_voided_one_and_a_correction_with_its_reason(seeded):
    batches = Batch.objects.all()
    assert batches.count() >= 3
    assert all(b.product.status == Product.Status.APPROVED for b in batches)
    assert all(b.expiry_date > b.manufacture_date for b in batches)

    (voided,) = batches.filter(status=Batch.Status.VOIDED)
    assert voided.void_reason
    (sig,) = Signature.objects.for_record(voided)
    assert sig.meaning == Signature.Meaning.VOIDED and sig.is_valid()

    corrections = Batch.history.filter(history_type="~", status=Batch.Status.QUARANTINE)
    assert corrections.exists()
    for row in corrections:
        assert row.history_change_reason and row.history_change_reason.strip()
        assert row.history_user is not None
        previous = row.prev_record
        assert previous is not None
        assert any(getattr(previous, f) != getattr(row, f) for f in Batch.EDITABLE_FIELDS if f != "product")


def test_the_demo_users_can_sign_in_with_the_announced_password(seeded):
    from django.test import Client

    from core.management.commands.seed_demo import DEFAULT_PASSWORD

    assert Client().login(username="qa_reviewer", password=DEFAULT_PASSWORD)
    assert DEFAULT_PASSWORD in seed()


def test_release_demo_has_batches_at_each_stage_a_blocked_one_and_decided_ones(seeded):
    """Issue 9 demo: waiting at each stage, one blocked by an open deviation, released and rejected."""
    from release.models import ReleaseReview

    statuses = {r.batch.batch_number: r.status for r in ReleaseReview.objects.select_related("batch")}
    # Every state of the review has a demo batch (issue 9 item 5): the stamp and the market release too.
    assert set(ReleaseReview.Status.values) <= set(statuses.values()), statuses
    assert statuses["A2611007"] == "stamp" and statuses["B2611003"] == "market"
    assert Batch.objects.get(batch_number="B2611003").status == Batch.Status.FACTORY_RELEASED
    blocked = Batch.objects.get(batch_number="A2611003")
    assert blocked.deviations.filter(status="open").exists() and statuses["A2611003"] == "qa"
    assert Batch.objects.get(batch_number="A2411002").status == Batch.Status.RELEASED
    assert Batch.objects.get(batch_number="B2610002").status == Batch.Status.REJECTED


@pytest.mark.parametrize("role", ALL_ROLES)
def test_my_work_reads_each_queue_in_one_query_for_every_role(seeded, role, client, django_assert_max_num_queries):
    """Issue 12 / R-PERF-1: the queues read only the columns they show (``.only()``), and never a
    left-out one row by row; the page stays within its query budget with the demo's queues."""
    from django.urls import reverse

    from tests.core.helpers import deferred_loads

    client.force_login(User.objects.get(username=role))
    client.get(reverse("core:my_work"))
    with deferred_loads() as loaded, django_assert_max_num_queries(20):
        response = client.get(reverse("core:my_work"))
    assert response.status_code == 200
    assert loaded == []
    # The demo leaves something waiting for every role but these two.
    assert sum(len(q.items) for q in response.context["queues"]) > 0 or role in ("auditor", "sales")
