"""Specifications: draft → approved (signed) → superseded by the next version."""

from decimal import Decimal

import pytest

from core.models import Signature
from core.workflow import WorkflowError
from qc_records import services
from qc_records.models import Category, Specification
from tests.factories import PASSWORD
from tests.qc_records.helpers import make_spec

pytestmark = pytest.mark.django_db


def test_approval_signs_and_puts_the_specification_in_force(qc, spec):
    assert spec.status == Specification.Status.APPROVED and spec.effective_from is not None
    sig = Signature.objects.for_record(spec).get()
    assert sig.meaning == "approved" and sig.signer == qc.qa and sig.is_valid()
    assert spec.content_digest == spec.compute_content_digest()
    assert [i.criterion_display for i in spec.items.order_by("position")][2:5] == ["95.0%～105.0%", "≥80%", "≤1.0%"]


def test_the_author_cannot_approve(qc, approved_product):
    """R-SEQ-2"""
    spec = make_spec(author=qc.head, approver=None, product=approved_product)
    with pytest.raises(WorkflowError, match="another person"):
        services.specification_approve(spec=spec, user=qc.head, password=PASSWORD)
    # An item changed by the QA reviewer makes them an author too.
    item = spec.items.first()
    services.specification_item_update(
        item=item, user=qc.qa, data={"method_reference": "SOP-QC-001"}, reason="方法编号"
    )
    with pytest.raises(WorkflowError, match="another person"):
        services.specification_approve(spec=spec, user=qc.qa, password=PASSWORD)


def test_analyst_cannot_write_or_approve_specifications(qc, approved_product):
    with pytest.raises(WorkflowError, match="permission"):
        make_spec(author=qc.analyst, approver=None, product=approved_product)


def test_empty_specification_cannot_be_approved(qc, approved_product):
    spec = make_spec(author=qc.head, approver=None, product=approved_product, items=[])
    with pytest.raises(WorkflowError, match="at least one test item"):
        services.specification_approve(spec=spec, user=qc.qa, password=PASSWORD)


def test_approved_specification_is_frozen(qc, spec):
    with pytest.raises(WorkflowError, match="only a draft"):
        services.specification_item_update(item=spec.items.first(), user=qc.head, data={"unit": "mg"}, reason="x")
    with pytest.raises(WorkflowError, match="only a draft"):
        services.specification_item_add(spec=spec, user=qc.head, data=dict(name="水分", criterion_kind="report"))


def test_new_version_supersedes_the_old_one_on_approval(qc, spec):
    new = services.specification_new_version(spec=spec, user=qc.head)
    assert new.version == 2 and new.status == "draft" and new.items.count() == spec.items.count()
    with pytest.raises(WorkflowError, match="draft version"):
        services.specification_new_version(spec=spec, user=qc.head)
    services.specification_item_add(
        spec=new,
        user=qc.head,
        data=dict(name="水分", criterion_kind="numeric", upper_limit=Decimal("12.0"), decimals=1, unit="%"),
    )
    services.specification_approve(spec=new, user=qc.qa, password=PASSWORD)
    spec.refresh_from_db()
    assert spec.status == Specification.Status.SUPERSEDED and spec.superseded_at is not None
    assert list(Specification.objects.in_force().filter(code=spec.code)) == [new]
    # The old version's approval still verifies: superseding changes no signed field.
    assert Signature.objects.for_record(spec).get().is_valid()


@pytest.mark.parametrize(
    "data, field",
    [
        (dict(name="含量", criterion_kind="numeric"), "lower_limit"),
        (
            dict(name="含量", criterion_kind="numeric", lower_limit=Decimal("5"), upper_limit=Decimal("4")),
            "upper_limit",
        ),
        (dict(name="鉴别", criterion_kind="text", text_criterion=""), "text_criterion"),
        (dict(name="性状", criterion_kind="text", text_criterion="x", lower_limit=Decimal("1")), "lower_limit"),
    ],
)
def test_bad_criteria_are_refused(qc, approved_product, data, field):
    spec = make_spec(author=qc.head, approver=None, product=approved_product, items=[])
    with pytest.raises(services.InputError) as exc:
        services.specification_item_add(spec=spec, user=qc.head, data=data)
    assert field in exc.value.errors
    assert not spec.items.exists()


def test_product_specification_needs_a_product_and_material_one_a_name(qc):
    with pytest.raises(services.InputError) as exc:
        services.specification_create(
            user=qc.head,
            data=dict(
                code="X-1",
                title="t",
                category=Category.FINISHED_PRODUCT,
                product=None,
                material_name="",
                standard_reference="ChP",
            ),
        )
    assert "product" in exc.value.errors
    with pytest.raises(services.InputError) as exc:
        services.specification_create(
            user=qc.head,
            data=dict(
                code="X-2",
                title="t",
                category=Category.WATER,
                product=None,
                material_name=" ",
                standard_reference="ChP",
            ),
        )
    assert "material_name" in exc.value.errors


def test_duplicate_code_is_refused(qc, spec):
    with pytest.raises(services.InputError, match="already exists"):
        services.specification_create(
            user=qc.head,
            data=dict(
                code=spec.code.lower(),
                title="t",
                category=Category.WATER,
                material_name="纯化水",
                standard_reference="ChP",
            ),
        )


def test_removed_item_is_voided_with_reason(qc, approved_product):
    spec = make_spec(author=qc.head, approver=None, product=approved_product)
    item = spec.items.first()
    services.specification_item_remove(item=item, user=qc.head, reason="重复")
    item.refresh_from_db()
    assert item.is_voided and item.void_reason == "重复"
    services.specification_approve(spec=spec, user=qc.qa, password=PASSWORD)
    assert spec.compute_content_digest() == Specification.objects.get(pk=spec.pk).content_digest


def test_void_a_draft_specification(qc, approved_product):
    spec = make_spec(author=qc.head, approver=None, product=approved_product, items=[])
    services.specification_void(spec=spec, user=qc.head, reason="编号错误")
    spec.refresh_from_db()
    assert spec.status == Specification.Status.VOIDED


def test_my_work_offers_a_draft_only_to_someone_who_may_approve_it(qc, client_for, make_user):
    """R-SEQ-2: a QA reviewer who added a test item is an author even when the QC head changed the
    draft last; My work does not offer them an approval the service would refuse."""
    from django.urls import reverse

    from qc_records.models import Category
    from tests.qc_records.helpers import make_spec

    spec = make_spec(
        author=qc.head,
        approver=None,
        category=Category.WATER,
        material="纯化水",
        code="ZL-BZ-W-9",
        items=[("电导率", "numeric", None, Decimal("5.1"), 1, "μS/cm", "", 1)],
    )
    services.specification_item_add(
        spec=spec,
        user=qc.qa,
        data=dict(name="酸碱度", criterion_kind="text", text_criterion="应符合规定", replicates=1),
    )
    services.specification_update(spec=spec, user=qc.head, data={"title": "纯化水质量标准（修订）"}, reason="标题")
    other_qa = make_user("qa_reviewer", username="qa_other")

    def offered(user) -> bool:
        queues = client_for(user).get(reverse("core:my_work")).context["queues"]
        return any(
            spec.get_absolute_url() == item.url for q in queues if q.key == "qc_specs_to_approve" for item in q.items
        )

    assert not offered(qc.qa) and not offered(qc.head)
    assert offered(other_qa)
    services.specification_approve(spec=spec, user=other_qa, password=PASSWORD)
