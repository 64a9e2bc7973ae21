"""The release models in the Django admin: readable with their history, never added, changed or
deleted there (R-AUD-1, R-SIG-5: GMP data changes only through the workflow services)."""

import pytest
from django.contrib import admin as django_admin
from django.urls import reverse

from release import services
from release.models import (
    Batch,
    BatchHold,
    BatchMaterial,
    ChangeControl,
    ChecklistItem,
    ChecklistTemplate,
    Deviation,
    MaterialBalance,
    MaterialLot,
    Product,
    QPDesignation,
    ReleaseReview,
    ReviewCorrection,
    ReviewStep,
    Stage,
)
from tests.release.material_helpers import make_lot
from tests.release.review_helpers import to_stage

pytestmark = pytest.mark.django_db

GMP_MODELS = [
    Product,
    Batch,
    BatchHold,
    MaterialLot,
    BatchMaterial,
    MaterialBalance,
    QPDesignation,
    Deviation,
    ChangeControl,
    ReleaseReview,
    ReviewStep,
    ReviewCorrection,
    ChecklistTemplate,
    ChecklistItem,
]


@pytest.fixture
def staff_admin(admin_user):
    admin_user.is_staff = True
    admin_user._change_reason = "test"
    admin_user.save()
    return admin_user


@pytest.mark.parametrize("model", GMP_MODELS, ids=lambda m: m.__name__)
def test_every_release_model_is_registered_read_only(model, rf, staff_admin):
    model_admin = django_admin.site._registry[model]
    request = rf.get("/admin/")
    request.user = staff_admin
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_admin_lists_and_shows_review_and_lot_but_a_post_changes_nothing(
    review_batch, p, designation, staff_admin, client_for
):
    """The administrator reads the review, its steps and a material lot; posting a change to a lot's
    data or a step's answers is refused (403) and the stored values stay as signed."""
    to_stage(review_batch, p, Stage.QP)
    lot = make_lot(p.production)
    client = client_for(staff_admin)
    for model in (ReleaseReview, MaterialLot, BatchMaterial, MaterialBalance, QPDesignation, Deviation, BatchHold):
        url = reverse(f"admin:release_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, model
    # Even a superuser (who also reads the signed steps) changes nothing there.
    staff_admin.is_superuser = True
    staff_admin._change_reason = "test"
    staff_admin.save()
    client = client_for(staff_admin)
    step = ReviewStep.objects.filter(stage=Stage.PRODUCTION).first()
    page = client.get(reverse("admin:release_reviewstep_change", args=[step.pk]))
    assert page.status_code == 200
    assert "P-4.2.1" in page.content.decode()
    lot_url = reverse("admin:release_materiallot_change", args=[lot.pk])
    assert client.get(lot_url).status_code == 200
    response = client.post(lot_url, {"lot_number": "TAMPERED", "material_name": "x", "quantity": "1"})
    assert response.status_code == 403
    lot.refresh_from_db()
    assert lot.lot_number == "YL2611001"
    response = client.post(reverse("admin:release_reviewstep_delete", args=[step.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert ReviewStep.objects.filter(pk=step.pk).exists()
    response = client.post(reverse("admin:release_deviation_add"), {"title": "x"})
    assert response.status_code == 403
    assert not Deviation.objects.exists()
    # The history pages never restore a version (core.admin.HistoryAdmin).
    history = client.get(reverse("admin:release_releasereview_history", args=[review_batch.review.pk]))
    assert history.status_code == 200
    assert services.cannot_start_review(review_batch, p.production)  # still under review, nothing undone
