from datetime import date
from itertools import product as pairs

import pytest

from core.models import Signature
from core.workflow import WorkflowError, check_transition
from release import services
from release.models import Batch, BatchHold, Deviation, Product, QPDesignation, ReleaseReview

# The state tables as the design states them, written out independently of the models so that a
# change to a model's TRANSITIONS has to be a deliberate change here too (R-SEQ-1).
P, B, R = Product.Status, Batch.Status, ReleaseReview.Status
H, D, Q = BatchHold.Status, Deviation.Status, QPDesignation.Status
ALLOWED = {
    Product: {(P.DRAFT, P.APPROVED), (P.DRAFT, P.VOIDED), (P.APPROVED, P.DRAFT), (P.APPROVED, P.VOIDED)},
    Batch: {
        (B.QUARANTINE, B.VOIDED),
        (B.QUARANTINE, B.UNDER_REVIEW),
        (B.UNDER_REVIEW, B.RELEASED),
        (B.UNDER_REVIEW, B.FACTORY_RELEASED),
        (B.UNDER_REVIEW, B.REJECTED),
        (B.FACTORY_RELEASED, B.RELEASED),
        (B.FACTORY_RELEASED, B.REJECTED),
        # Only a recall closed keeping its batches as rejected goods (recalled_batches_reject).
        (B.RELEASED, B.REJECTED),
    },
    # ZL-086 4.1–4.4: each stage in order; each may send back to the one before; nonconforming QA goes
    # straight to the QP (rejection only); "other" returns to QA; market release for two-stage products.
    ReleaseReview: {
        (R.PRODUCTION, R.QC),
        (R.QC, R.QA),
        (R.QC, R.PRODUCTION),
        (R.QA, R.STAMP),
        (R.QA, R.QP),
        (R.QA, R.QC),
        (R.STAMP, R.QP),
        (R.STAMP, R.QA),
        (R.QP, R.RELEASED),
        (R.QP, R.REJECTED),
        (R.QP, R.MARKET),
        (R.QP, R.STAMP),
        (R.QP, R.QA),
        (R.MARKET, R.RELEASED),
        (R.MARKET, R.REJECTED),
    },
    BatchHold: {(H.ACTIVE, H.LIFTED)},
    Deviation: {(D.OPEN, D.CLOSED)},
    QPDesignation: {(Q.ACTIVE, Q.REVOKED)},
}
MODELS = (Product, Batch, ReleaseReview, BatchHold, Deviation, QPDesignation)
MATRIX = [
    pytest.param(
        model, current, target, (current, target) in ALLOWED[model], id=f"{model.__name__}:{current}->{target}"
    )
    for model in MODELS
    for current, target in pairs(model.Status.values, repeat=2)
]


@pytest.mark.parametrize(("model", "current", "target", "allowed"), MATRIX)
def test_transition_matrix(model, current, target, allowed):
    """R-SEQ-1: every (from, to) pair, including staying put: listed moves pass, others are refused."""
    obj = model(status=current)
    if allowed:
        check_transition(obj, target)
    else:
        with pytest.raises(WorkflowError):
            check_transition(obj, target)


@pytest.mark.parametrize("model", MODELS)
def test_every_status_has_a_row_and_every_target_is_a_status(model):
    assert set(model.TRANSITIONS) == set(model.Status.values)
    for targets in model.TRANSITIONS.values():
        assert set(targets) <= set(model.Status.values)


def test_an_unknown_status_is_refused():
    with pytest.raises(WorkflowError):
        check_transition(Product(status="bogus"), Product.Status.APPROVED)


# --- voided records are final, by the services too ------------------------------------------------


@pytest.fixture
def voided_product(draft_product, qa_reviewer, password):
    return services.product_void(product=draft_product, user=qa_reviewer, password=password, reason="重复建档")


@pytest.fixture
def voided_batch(approved_product, production_reviewer, qa_reviewer, password):
    batch = services.batch_create(
        user=production_reviewer,
        data=dict(
            product=approved_product,
            batch_number="V1",
            batch_size=1000,
            batch_size_unit="capsules",
            manufacture_date=date(2026, 1, 5),
            site="车间一",
        ),
    )
    return services.batch_void(batch=batch, user=qa_reviewer, password=password, reason="登记错误")


def _counts(record):
    return record.history.count(), Signature.objects.for_record(record).count()


@pytest.mark.django_db
def test_a_voided_product_cannot_be_approved(voided_product, qa_reviewer2, password):
    """R-SEQ-1, R-REC-1."""
    before = _counts(voided_product)
    with pytest.raises(WorkflowError):
        services.product_approve(product=voided_product, user=qa_reviewer2, password=password)
    voided_product.refresh_from_db()
    assert voided_product.status == Product.Status.VOIDED and _counts(voided_product) == before


@pytest.mark.django_db
def test_a_voided_product_cannot_be_edited(voided_product, admin_user):
    before = _counts(voided_product)
    with pytest.raises(WorkflowError):
        services.product_update(product=voided_product, user=admin_user, data={"pack_size": "1盒"}, reason="更正")
    voided_product.refresh_from_db()
    assert voided_product.pack_size != "1盒" and _counts(voided_product) == before


@pytest.mark.django_db
def test_a_voided_product_cannot_be_voided_again(voided_product, qa_reviewer2, password):
    before = _counts(voided_product)
    with pytest.raises(WorkflowError):
        services.product_void(product=voided_product, user=qa_reviewer2, password=password, reason="再次作废")
    voided_product.refresh_from_db()
    assert voided_product.void_reason == "重复建档" and _counts(voided_product) == before


@pytest.mark.django_db
def test_a_voided_batch_cannot_be_edited(voided_batch, production_reviewer):
    before = _counts(voided_batch)
    with pytest.raises(WorkflowError):
        services.batch_update(batch=voided_batch, user=production_reviewer, data={"site": "车间二"}, reason="更正")
    voided_batch.refresh_from_db()
    assert voided_batch.site == "车间一" and _counts(voided_batch) == before


@pytest.mark.django_db
def test_a_voided_batch_cannot_be_voided_again(voided_batch, qa_reviewer2, password):
    before = _counts(voided_batch)
    with pytest.raises(WorkflowError):
        services.batch_void(batch=voided_batch, user=qa_reviewer2, password=password, reason="再次作废")
    voided_batch.refresh_from_db()
    assert voided_batch.void_reason == "登记错误" and _counts(voided_batch) == before


@pytest.mark.django_db
def test_an_approved_product_cannot_be_approved_twice_even_with_a_stale_copy(approved_product, qa_reviewer2, password):
    """R-SEQ-1: the service re-reads the state under lock; an old in-memory copy does not help."""
    stale = Product.objects.get(pk=approved_product.pk)
    stale.status = Product.Status.DRAFT  # what a page loaded before the approval would hold
    with pytest.raises(WorkflowError):
        services.product_approve(product=stale, user=qa_reviewer2, password=password)
    assert Signature.objects.for_record(approved_product).count() == 1


@pytest.mark.django_db
def test_a_stale_copy_of_a_voided_batch_cannot_be_edited(voided_batch, production_reviewer):
    stale = Batch.objects.get(pk=voided_batch.pk)
    stale.status = Batch.Status.QUARANTINE
    with pytest.raises(WorkflowError):
        services.batch_update(batch=stale, user=production_reviewer, data={"site": "车间二"}, reason="更正")
