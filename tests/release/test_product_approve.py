import pytest
from django.urls import reverse
from django.utils import translation

from core.models import AuthEvent, Signature
from core.roles import ALL_ROLES, QA_REVIEWER
from release import services
from release.models import Product

pytestmark = pytest.mark.django_db


def test_qa_reviewer_approves_draft_product_with_signature(draft_product, qa_reviewer, client_for, password):
    """R-SIG-1, R-SIG-2, R-AT-1: approval re-asks the password, signs and writes history."""
    response = client_for(qa_reviewer).post(
        reverse("release:product_approve", args=[draft_product.pk]),
        {"approve-password": password, "approve-comment": "主数据核对无误"},
    )
    assert response.status_code == 302
    draft_product.refresh_from_db()
    assert draft_product.status == Product.Status.APPROVED
    sig = Signature.objects.for_record(draft_product).get()
    assert sig.signer == qa_reviewer
    assert sig.meaning == Signature.Meaning.APPROVED
    assert sig.printed_name == qa_reviewer.printed_name
    assert sig.is_valid()
    last = draft_product.history.first()
    assert last.history_user == qa_reviewer and last.status == "approved"
    page = client_for(qa_reviewer).get(draft_product.get_absolute_url()).content.decode()
    assert qa_reviewer.printed_name in page and "Asia/Shanghai" in page


def test_wrong_password_is_refused_counted_and_audited(draft_product, qa_reviewer, client_for):
    """R-SIG-1: a wrong signing password signs nothing, counts toward lockout and is audited."""
    response = client_for(qa_reviewer).post(
        reverse("release:product_approve", args=[draft_product.pk]), {"approve-password": "wrong-password"}
    )
    assert response.status_code == 400
    draft_product.refresh_from_db()
    assert draft_product.status == Product.Status.DRAFT
    assert not Signature.objects.for_record(draft_product).exists()
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.failed_login_count == 1
    assert AuthEvent.objects.filter(user=qa_reviewer, kind=AuthEvent.Kind.SIGNATURE_FAILED).count() == 1


def test_approving_an_approved_product_is_refused(approved_product, qa_reviewer2, password):
    """R-SEQ-1: a step cannot be repeated."""
    with pytest.raises(services.WorkflowError):
        services.product_approve(product=approved_product, user=qa_reviewer2, password=password)
    assert Signature.objects.for_record(approved_product).count() == 1


def test_last_editor_cannot_approve_own_change(approved_product, qa_reviewer, password):
    """R-SEQ-2: the author of a change never approves it."""
    services.product_update(product=approved_product, user=qa_reviewer, data={"pack_size": "24粒/盒"}, reason="新包装")
    with translation.override("en"), pytest.raises(services.WorkflowError, match="another QA reviewer"):
        services.product_approve(product=approved_product, user=qa_reviewer, password=password)


def _created_by(user) -> Product:
    from tests.release.helpers import product_form_data

    data = product_form_data()
    data.update(requires_two_stage_release=False, requires_lot_release_certificate=False)
    return services.product_create(user=user, data=data)


def test_creator_cannot_approve_after_someone_else_changed_the_draft(qa_reviewer, qa_reviewer2, make_user, password):
    """R-SEQ-2: whoever wrote the version being approved is an author of it, even when another
    person made the last change; a third QA reviewer approves."""
    product = _created_by(qa_reviewer)
    services.product_update(product=product, user=qa_reviewer2, data={"pack_size": "12粒/盒"}, reason="更正包装规格")
    for author in (qa_reviewer, qa_reviewer2):
        with translation.override("en"), pytest.raises(services.WorkflowError, match="another QA reviewer"):
            services.product_approve(product=product, user=author, password=password)
    product.refresh_from_db()
    assert product.status == Product.Status.DRAFT
    assert not Signature.objects.for_record(product).exists()
    third = make_user(QA_REVIEWER, username="qa_reviewer3")
    services.product_approve(product=product, user=third, password=password)
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED


def test_changes_before_the_last_approval_do_not_bar_a_later_approval(qa_reviewer, qa_reviewer2, admin_user, password):
    """R-SEQ-2: authorship counts for the version being approved, not for earlier approved ones."""
    product = _created_by(qa_reviewer)
    services.product_approve(product=product, user=qa_reviewer2, password=password)
    services.product_update(
        product=product, user=admin_user, data={"storage_conditions": "遮光保存"}, reason="标签更新"
    )
    services.product_approve(product=product, user=qa_reviewer, password=password)
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED


def test_my_work_does_not_offer_a_draft_to_its_creator(qa_reviewer, qa_reviewer2, client_for):
    """R-SEQ-2, R-UX-3: the approval queue lists only what this person may approve."""
    product = _created_by(qa_reviewer)
    services.product_update(product=product, user=qa_reviewer2, data={"pack_size": "12粒/盒"}, reason="更正包装规格")
    response = client_for(qa_reviewer).get(reverse("core:my_work"))
    queue = next(q for q in response.context["queues"] if q.key == "product_approval")
    assert product.get_absolute_url() not in [item.url for item in queue.items]
    assert queue.total == 0


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != QA_REVIEWER])
def test_other_roles_get_403_on_approve(role, users, draft_product, client_for, password):
    """R-SEQ-1 by every path: only QA may approve products."""
    response = client_for(users[role]).post(
        reverse("release:product_approve", args=[draft_product.pk]), {"approve-password": password}
    )
    assert response.status_code == 403
    draft_product.refresh_from_db()
    assert draft_product.status == Product.Status.DRAFT


def test_get_on_action_url_is_refused(draft_product, qa_reviewer, client_for):
    response = client_for(qa_reviewer).get(reverse("release:product_approve", args=[draft_product.pk]))
    assert response.status_code == 405


def test_approving_what_someone_else_just_approved_says_why(
    draft_product, qa_reviewer, qa_reviewer2, client_for, password
):
    """R-SEQ-1, R-UX-2: a second approval from a page loaded before the first is refused with a
    message, although the approval form is no longer offered (not a silent page)."""
    services.product_approve(product=draft_product, user=qa_reviewer2, password=password)
    client = client_for(qa_reviewer)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("release:product_approve", args=[draft_product.pk]), {"approve-password": password})
    assert response.status_code == 400
    assert "it cannot become Approved" in response.content.decode()
    assert Signature.objects.for_record(draft_product).count() == 1


def test_author_is_not_offered_the_approval_form(draft_product, qa_reviewer, qa_reviewer2, client_for):
    """R-SEQ-2: the page offers approval only to someone the service would accept."""
    services.product_update(product=draft_product, user=qa_reviewer, data={"pack_size": "6粒/盒"}, reason="新包装")
    mine = client_for(qa_reviewer).get(draft_product.get_absolute_url())
    assert mine.context["can_approve"] is False
    assert 'data-testid="needs-another-approver"' in mine.content.decode()
    other = client_for(qa_reviewer2).get(draft_product.get_absolute_url())
    assert other.context["can_approve"] is True
    assert 'data-testid="needs-another-approver"' not in other.content.decode()
