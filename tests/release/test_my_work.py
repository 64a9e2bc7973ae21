from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.roles import ALL_ROLES, QA_REVIEWER
from core.work import QUEUE_LENGTH
from release import services
from release.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

MY_WORK = reverse("core:my_work")


def queue(response, key: str):
    found = [q for q in response.context["queues"] if q.key == key]
    return found[0] if found else None


def titles(q) -> list[str]:
    return [item.title for item in q.items]


def _draft(name: str, by, days_ago: int) -> Product:
    when = timezone.now() - timedelta(days=days_ago)
    return ProductFactory(name=name, last_changed_by=by, created_at=when, updated_at=when)


@pytest.fixture
def drafts(admin_user, qa_reviewer, qa_reviewer2):
    # Created in an order different from their age, so that the id order is not the answer.
    return {
        "middle": _draft("中", admin_user, days_ago=5),
        "newest": _draft("新", qa_reviewer2, days_ago=1),
        "oldest": _draft("旧", admin_user, days_ago=9),
        "own": _draft("自己改的", qa_reviewer, days_ago=20),  # qa_reviewer made the last change
    }


def test_qa_reviewer_sees_products_awaiting_approval_oldest_first_without_their_own_changes(
    drafts, qa_reviewer, client_for, password
):
    """R-UX-3, R-SEQ-2: the queue is what this person may approve, oldest first."""
    approved = _draft("已批准", drafts["oldest"].last_changed_by, days_ago=30)
    services.product_approve(product=approved, user=qa_reviewer, password=password)
    response = client_for(qa_reviewer).get(MY_WORK)
    assert response.status_code == 200
    q = queue(response, "product_approval")
    assert [item.url for item in q.items] == [drafts[k].get_absolute_url() for k in ("oldest", "middle", "newest")]
    assert q.total == 3
    assert [item.since for item in q.items] == sorted(item.since for item in q.items)
    # Their own change waits for someone else, and is listed as such.
    assert titles(queue(response, "my_product_drafts")) == [str(drafts["own"])]
    html = response.content.decode()
    assert html.index(drafts["oldest"].get_absolute_url()) < html.index(drafts["newest"].get_absolute_url())


def test_a_second_qa_reviewer_sees_the_first_ones_change_but_not_their_own(drafts, qa_reviewer2, client_for):
    q = queue(client_for(qa_reviewer2).get(MY_WORK), "product_approval")
    assert titles(q) == [str(drafts[k]) for k in ("own", "oldest", "middle")]


def test_a_change_puts_the_product_at_the_end_of_the_queue(drafts, admin_user, qa_reviewer, client_for):
    services.product_update(product=drafts["oldest"], user=admin_user, data={"pack_size": "6粒/盒"}, reason="包装变更")
    q = queue(client_for(qa_reviewer).get(MY_WORK), "product_approval")
    assert titles(q) == [str(drafts[k]) for k in ("middle", "newest", "oldest")]


def test_approved_and_voided_products_leave_the_queue(drafts, qa_reviewer, client_for, password):
    services.product_approve(product=drafts["oldest"], user=qa_reviewer, password=password)
    services.product_void(product=drafts["middle"], user=qa_reviewer, password=password, reason="重复建档")
    q = queue(client_for(qa_reviewer).get(MY_WORK), "product_approval")
    assert titles(q) == [str(drafts["newest"])]


def test_admin_sees_their_own_drafts_oldest_first_and_no_approval_queue(drafts, admin_user, client_for):
    """R-UX-3: the admin's drafts wait for QA; admins never approve (R-SIG-5)."""
    response = client_for(admin_user).get(MY_WORK)
    assert queue(response, "product_approval") is None
    q = queue(response, "my_product_drafts")
    assert titles(q) == [str(drafts["oldest"]), str(drafts["middle"])]
    assert q.total == 2


def test_a_long_queue_shows_the_oldest_and_the_total(admin_user, qa_reviewer, client_for):
    for i in range(QUEUE_LENGTH + 2):
        _draft(f"品种{i:02d}", admin_user, days_ago=100 - i)
    response = client_for(qa_reviewer).get(MY_WORK)
    q = queue(response, "product_approval")
    assert len(q.items) == QUEUE_LENGTH and q.total == QUEUE_LENGTH + 2
    assert q.items[0].title.startswith("品种00")
    assert q.more_url in response.content.decode()


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != QA_REVIEWER])
def test_other_roles_have_no_approval_queue(role, users, drafts, client_for):
    response = client_for(users[role]).get(MY_WORK)
    assert response.status_code == 200
    assert queue(response, "product_approval") is None
