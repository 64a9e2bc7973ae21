import re

import pytest
from django.urls import reverse

from core.models import Signature
from core.roles import ADMIN, ALL_ROLES, QA_REVIEWER
from release import services
from release.models import Batch, Product
from tests.factories import BatchFactory, ProductFactory
from tests.release.helpers import product_form_data

pytestmark = pytest.mark.django_db

CREATE_URL = reverse("release:product_create")


def edit_url(product: Product) -> str:
    return reverse("release:product_edit", args=[product.pk])


def void_url(product: Product) -> str:
    return reverse("release:product_void", args=[product.pk])


# --- create --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [ADMIN, QA_REVIEWER])
def test_admin_and_qa_reviewer_create_a_draft_product(role, users, client_for):
    """R-AT-1: a new product starts in draft, with its creator and a first history row."""
    user = users[role]
    assert client_for(user).get(CREATE_URL).status_code == 200
    response = client_for(user).post(CREATE_URL, product_form_data())
    product = Product.objects.get(approval_number="国药准字H20990001")
    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    assert product.status == Product.Status.DRAFT
    assert product.last_changed_by == user
    (row,) = product.history.all()
    assert row.history_type == "+" and row.history_user == user


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in (ADMIN, QA_REVIEWER)])
def test_other_roles_get_403_on_create(role, users, client_for):
    client = client_for(users[role])
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, product_form_data()).status_code == 403
    assert not Product.objects.exists()


def test_duplicate_approval_number_is_a_field_error_not_a_500(draft_product, qa_reviewer, client_for):
    """R-UX-2: the clash is reported beside the approval number, whatever its letter case."""
    clash = draft_product.approval_number.replace("H", "h")
    response = client_for(qa_reviewer).post(CREATE_URL, product_form_data(approval_number=clash))
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["approval_number"]
    assert form["name"].value() == "头孢克肟胶囊"  # what was typed is still there
    assert Product.objects.count() == 1


def test_duplicate_approval_number_on_edit_is_a_field_error(draft_product, admin_user, client_for):
    other = ProductFactory()
    response = client_for(admin_user).post(
        edit_url(draft_product),
        product_form_data(draft_product, approval_number=other.approval_number, reason="更正批准文号"),
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["approval_number"]
    draft_product.refresh_from_db()
    assert draft_product.approval_number != other.approval_number


def test_blank_required_fields_are_reported_beside_each_field(qa_reviewer, client_for):
    """R-UX-2: every missing field gets its own message; nothing is created."""
    response = client_for(qa_reviewer).post(CREATE_URL, product_form_data(name="", shelf_life_months="0"))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "shelf_life_months"}
    assert not Product.objects.exists()


# --- edit ----------------------------------------------------------------------------------------


def test_edit_with_a_reason_is_recorded_in_history(draft_product, admin_user, qa_reviewer, client_for):
    """R-AT-1, R-AT-2: old → new value, who and why."""
    response = client_for(qa_reviewer).post(
        edit_url(draft_product), product_form_data(draft_product, pack_size="24粒/盒", reason="包装规格变更")
    )
    assert response.status_code == 302
    draft_product.refresh_from_db()
    assert draft_product.pack_size == "24粒/盒"
    assert draft_product.last_changed_by == qa_reviewer
    latest, previous = draft_product.history.all()[:2]
    assert latest.history_user == qa_reviewer
    assert latest.history_change_reason == "包装规格变更"
    assert (previous.pack_size, latest.pack_size) == ("12粒×2板/盒", "24粒/盒")


def test_edit_without_reason_is_refused_beside_the_field_and_keeps_what_was_typed(
    draft_product, admin_user, client_for
):
    """R-AT-2, R-UX-2: no reason → error beside the reason field, nothing written, input kept."""
    before = draft_product.history.count()
    response = client_for(admin_user).post(
        edit_url(draft_product), product_form_data(draft_product, pack_size="48粒/盒", reason="  ")
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["reason"]
    html = response.content.decode()
    assert re.search(r'<textarea[^>]*class="[^"]*is-invalid[^"]*"[^>]*id="id_reason"', html)
    assert 'value="48粒/盒"' in html
    draft_product.refresh_from_db()
    assert draft_product.pack_size == "12粒×2板/盒"
    assert draft_product.history.count() == before


def test_service_refuses_an_edit_without_reason(draft_product, admin_user):
    """R-AT-2 by every path, not only the form."""
    with pytest.raises(services.WorkflowError):
        services.product_update(product=draft_product, user=admin_user, data={"pack_size": "48粒/盒"}, reason=" ")
    draft_product.refresh_from_db()
    assert draft_product.pack_size == "12粒×2板/盒"


def test_editing_an_approved_product_returns_it_to_draft_and_its_signature_shows_invalid(
    approved_product, admin_user, qa_reviewer, client_for, password
):
    """R-SIG-3, R-SEQ-1: a changed approved product must be approved again; the old approval no
    longer verifies and the page says so."""
    (old_signature,) = Signature.objects.for_record(approved_product)
    assert old_signature.is_valid()
    response = client_for(admin_user).post(
        edit_url(approved_product),
        product_form_data(approved_product, storage_conditions="2–8℃冷藏", reason="稳定性研究结论"),
    )
    assert response.status_code == 302
    approved_product.refresh_from_db()
    assert approved_product.status == Product.Status.DRAFT
    assert not old_signature.is_valid()

    page = client_for(qa_reviewer).get(approved_product.get_absolute_url())
    assert [valid for _sig, valid in page.context["signatures"]] == [False]
    assert "text-bg-danger" in page.content.decode()
    assert page.context["can_approve"]

    # Approval again (by a QA reviewer who did not make the change) gives a second, valid signature.
    services.product_approve(product=approved_product, user=qa_reviewer, password=password)
    assert [s.is_valid() for s in Signature.objects.for_record(approved_product)] == [False, True]


def test_an_edit_that_changes_nothing_is_refused_and_writes_nothing(draft_product, admin_user, client_for):
    before = draft_product.history.count()
    response = client_for(admin_user).post(edit_url(draft_product), product_form_data(draft_product, reason="无"))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert draft_product.history.count() == before


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in (ADMIN, QA_REVIEWER)])
def test_other_roles_get_403_on_edit(role, users, draft_product, client_for):
    client = client_for(users[role])
    assert client.get(edit_url(draft_product)).status_code == 403
    response = client.post(edit_url(draft_product), product_form_data(draft_product, pack_size="1盒", reason="x"))
    assert response.status_code == 403
    draft_product.refresh_from_db()
    assert draft_product.pack_size == "12粒×2板/盒"


# --- void ----------------------------------------------------------------------------------------


def test_qa_reviewer_voids_a_product_with_signature_and_reason(approved_product, qa_reviewer, client_for, password):
    """R-REC-1, R-SIG-1: voided with a signed reason; the record stays."""
    response = client_for(qa_reviewer).post(
        void_url(approved_product), {"void-reason": "品种停产", "void-password": password}
    )
    assert response.status_code == 302
    approved_product.refresh_from_db()
    assert approved_product.status == Product.Status.VOIDED
    assert approved_product.voided_at is not None and approved_product.void_reason == "品种停产"
    void_sig = Signature.objects.for_record(approved_product).get(meaning=Signature.Meaning.VOIDED)
    assert void_sig.signer == qa_reviewer and void_sig.comment == "品种停产" and void_sig.is_valid()
    latest = approved_product.history.first()
    assert latest.status == "voided" and latest.history_change_reason == "品种停产"


def test_void_without_reason_is_refused_beside_the_field(draft_product, qa_reviewer, client_for, password):
    """R-AT-2, R-UX-2."""
    response = client_for(qa_reviewer).post(void_url(draft_product), {"void-reason": "", "void-password": password})
    assert response.status_code == 400
    assert list(response.context["void_form"].errors) == ["reason"]
    draft_product.refresh_from_db()
    assert draft_product.status == Product.Status.DRAFT


def test_void_with_wrong_password_is_refused(draft_product, qa_reviewer, client_for):
    """R-SIG-1."""
    response = client_for(qa_reviewer).post(void_url(draft_product), {"void-reason": "错误", "void-password": "nope"})
    assert response.status_code == 400
    draft_product.refresh_from_db()
    assert draft_product.status == Product.Status.DRAFT
    assert not Signature.objects.for_record(draft_product).exists()


def test_void_is_refused_while_the_product_has_batches_that_are_not_voided(
    approved_product, qa_reviewer, production_reviewer, client_for, password
):
    """R-REC-1: a product in use cannot be voided; once its batches are voided it can."""
    batch = BatchFactory(product=approved_product, last_changed_by=production_reviewer)
    response = client_for(qa_reviewer).post(
        void_url(approved_product), {"void-reason": "停产", "void-password": password}
    )
    assert response.status_code == 400
    assert response.context["void_form"].non_field_errors()
    approved_product.refresh_from_db()
    assert approved_product.status == Product.Status.APPROVED

    services.batch_void(batch=batch, user=qa_reviewer, password=password, reason="登记错误")
    services.product_void(product=approved_product, user=qa_reviewer, password=password, reason="停产")
    approved_product.refresh_from_db()
    assert approved_product.status == Product.Status.VOIDED
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.VOIDED


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != QA_REVIEWER])
def test_other_roles_get_403_on_void(role, users, draft_product, client_for, password):
    response = client_for(users[role]).post(void_url(draft_product), {"void-reason": "x", "void-password": password})
    assert response.status_code == 403
    draft_product.refresh_from_db()
    assert draft_product.status == Product.Status.DRAFT


def test_a_voided_product_stays_readable_but_cannot_be_edited(
    draft_product, qa_reviewer, admin_user, client_for, password
):
    """R-REC-1: readable after voiding, with the reason; no edit by page or service."""
    services.product_void(product=draft_product, user=qa_reviewer, password=password, reason="重复建档")
    page = client_for(admin_user).get(draft_product.get_absolute_url())
    assert page.status_code == 200
    assert "重复建档" in page.content.decode()
    assert not page.context["can_edit"] and not page.context["can_void"] and not page.context["can_approve"]
    assert edit_url(draft_product) not in page.content.decode()

    # The edit page is not offered for a voided record: back to the record with a message.
    response = client_for(admin_user).get(edit_url(draft_product))
    assert response.status_code == 302 and response["Location"] == draft_product.get_absolute_url()
    response = client_for(admin_user).post(
        edit_url(draft_product), product_form_data(draft_product, pack_size="1盒", reason="更正")
    )
    assert response.status_code == 302
    draft_product.refresh_from_db()
    assert draft_product.pack_size == "12粒×2板/盒" and draft_product.status == Product.Status.VOIDED
    with pytest.raises(services.WorkflowError):
        services.product_update(product=draft_product, user=admin_user, data={"pack_size": "1盒"}, reason="更正")
