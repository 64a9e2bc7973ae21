"""The release review through its services: order, people, answers, conclusions, decisions
(R-REL-1…5, R-SEQ-1, R-SEQ-2, R-SIG-1, R-AT-1)."""

import pytest
from django.utils import translation

from core.models import AuthEvent, Signature
from release import services
from release.for_shipping import may_ship
from release.models import Batch, ChecklistTemplate, ReleaseReview, ReviewStep, Stage
from tests.factories import PASSWORD
from tests.release.review_helpers import JUSTIFIED, answers_for, designate, to_stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _qa(batch, user, **overrides):
    kwargs = dict(
        batch=batch,
        user=user,
        password=PASSWORD,
        answers=answers_for(Stage.QA),
        production_verdict="pass",
        testing_verdict="pass",
        audit_trail_reviewed=True,
    )
    kwargs.update(overrides)
    return services.review_qa(**kwargs)


def test_the_whole_review_releases_the_batch_and_it_may_ship(review_batch, p, designation):
    """R-REL-1: production → QC → QA → stamp → QP, each signed by its own person; then the gate opens."""
    to_stage(review_batch, p, Stage.QP)
    services.review_release(batch=review_batch, user=p.qp, password=PASSWORD, comment="同意放行")
    review_batch.refresh_from_db()
    review = review_batch.review
    assert review_batch.status == Batch.Status.RELEASED
    assert review.status == ReleaseReview.Status.RELEASED
    assert review.decision == "release" and review.decided_by == p.qp
    steps = list(review.steps.order_by("signed_at", "pk"))
    assert [s.stage for s in steps] == ["production", "qc", "qa", "stamp", "qp"]
    assert len({s.signed_by_id for s in steps}) == 5  # R-SEQ-2
    meanings = {
        "production": services.review_production.meaning,
        "qc": services.review_qc.meaning,
        "qa": services.review_qa.meaning,
        "stamp": services.review_stamp.meaning,
        "qp": services.review_release.meaning,
    }
    for step in steps:
        (sig,) = Signature.objects.for_record(step)
        assert sig.meaning == meanings[step.stage] and sig.signer == step.signed_by and sig.is_valid()
    assert steps[3].statement == "药品经质量受权人批准准予放行"
    assert "真实性、完整性" in steps[4].statement
    assert review.production_template == ChecklistTemplate.objects.current("production")
    assert may_ship(review_batch) == []
    assert review.history.count() == 6 and review_batch.history.filter(status="released").exists()


def test_starting_the_review_keeps_the_checklist_versions(review_batch, p):
    """R-REL-2: the template version is stored on the review."""
    review = services.review_start(batch=review_batch, user=p.production)
    assert review.production_template.version == 1 and review.qa_template.stage == "qa"
    keys = list(review.production_template.items.values_list("key", flat=True))
    assert keys[0] == "P-4.2.1" and keys[-1] == "P-4.2.14" and len(keys) == 14
    assert {"GMP-230.1.1", "GMP-230.1.6", "QA-4.1.1a", "QA-4.1.1f"} <= set(
        review.qa_template.items.values_list("key", flat=True)
    )
    review_batch.refresh_from_db()
    assert review_batch.status == Batch.Status.UNDER_REVIEW
    with pytest.raises(services.WorkflowError):
        services.review_start(batch=review_batch, user=p.production)


@pytest.mark.parametrize("stage", [Stage.QC, Stage.QA, Stage.STAMP, Stage.QP])
def test_a_stage_cannot_be_skipped(stage, review_batch, p, designation):
    """R-SEQ-1: signing a later stage before its turn is refused; nothing is written."""
    services.review_start(batch=review_batch, user=p.production)
    before = ReviewStep.objects.count()
    call = {
        Stage.QC: lambda: services.review_qc(
            batch=review_batch, user=p.qc, password=PASSWORD, answers=answers_for("qc")
        ),
        Stage.QA: lambda: _qa(review_batch, p.qa),
        Stage.STAMP: lambda: services.review_stamp(batch=review_batch, user=p.stamp, password=PASSWORD),
        Stage.QP: lambda: services.review_release(batch=review_batch, user=p.qp, password=PASSWORD),
    }[stage]
    with pytest.raises(services.WorkflowError, match="not waiting for"):
        call()
    assert ReviewStep.objects.count() == before


def test_a_stage_cannot_be_signed_twice(review_batch, p):
    to_stage(review_batch, p, Stage.QC)
    with pytest.raises(services.WorkflowError):
        services.review_production(
            batch=review_batch, user=p.production, password=PASSWORD, answers=answers_for("production")
        )


def test_one_person_signs_at_most_one_stage(review_batch, p, make_user):
    """R-SEQ-2: a person holding two roles still signs only one stage of a batch."""
    both = make_user("production_reviewer", "qc_reviewer", username="both")
    services.review_start(batch=review_batch, user=both)
    services.review_production(batch=review_batch, user=both, password=PASSWORD, answers=answers_for("production"))
    with pytest.raises(services.WorkflowError, match="one person signs at most one stage"):
        services.review_qc(batch=review_batch, user=both, password=PASSWORD, answers=answers_for("qc"))
    assert review_batch.review.steps.count() == 1


def test_the_stamp_is_not_applied_by_the_qa_evaluator(review_batch, p):
    """R-SEQ-2, ZL-086 4.4.1: the stamp is its own act, by another person."""
    to_stage(review_batch, p, Stage.STAMP)
    with pytest.raises(services.WorkflowError, match="one stage"):
        services.review_stamp(batch=review_batch, user=p.qa, password=PASSWORD)


@pytest.mark.parametrize(
    "role, call",
    [
        ("qc_reviewer", "production"),
        ("qa_reviewer", "production"),
        ("production_reviewer", "qc"),
        ("auditor", "qc"),
        ("admin", "production"),
        ("customer_service", "production"),
    ],
)
def test_wrong_roles_are_refused_by_the_service(role, call, users, review_batch, p):
    services.review_start(batch=review_batch, user=p.production)
    if call == "qc":
        services.review_production(
            batch=review_batch, user=p.production, password=PASSWORD, answers=answers_for("production")
        )
    fn = services.review_production if call == "production" else services.review_qc
    with pytest.raises(services.WorkflowError, match="permission"):
        fn(batch=review_batch, user=users[role], password=PASSWORD, answers=answers_for(call))


def test_a_wrong_password_signs_nothing_and_is_counted(review_batch, p):
    """R-SIG-1."""
    services.review_start(batch=review_batch, user=p.production)
    with pytest.raises(services.WorkflowError, match="Wrong password"):
        services.review_production(
            batch=review_batch, user=p.production, password="x", answers=answers_for("production")
        )
    assert not ReviewStep.objects.exists()
    assert AuthEvent.objects.filter(user=p.production, kind=AuthEvent.Kind.SIGNATURE_FAILED).count() == 1


def test_every_item_must_be_answered_and_na_needs_a_reason(review_batch, p):
    """R-REL-2, R-UX-2: refused item by item, nothing written."""
    services.review_start(batch=review_batch, user=p.production)
    answers = answers_for("production")
    del answers["P-4.2.5"]
    answers["P-4.2.6"] = services.ItemAnswer(answer="not_applicable")
    with pytest.raises(services.InputError) as refused:
        services.review_production(batch=review_batch, user=p.production, password=PASSWORD, answers=answers)
    assert set(refused.value.errors) == {"item:P-4.2.5", "item:P-4.2.6"}
    assert "does not apply" in refused.value.errors["item:P-4.2.6"][0]
    assert not ReviewStep.objects.exists()


def test_an_answer_against_a_system_finding_needs_a_justification(review_batch, p, production_reviewer):
    """R-REL-3: an open deviation is a finding on P-4.2.14; "conforms" needs a justification."""
    services.deviation_create(
        user=production_reviewer,
        data={"title": "偏差", "description": "d", "classification": "minor"},
        batches=[review_batch],
    )
    services.review_start(batch=review_batch, user=p.production)
    answers = answers_for("production")
    answers["P-4.2.14"] = services.ItemAnswer(answer="conforms")
    with pytest.raises(services.InputError) as refused:
        services.review_production(batch=review_batch, user=p.production, password=PASSWORD, answers=answers)
    assert "justify" in refused.value.errors["item:P-4.2.14"][0]
    answers["P-4.2.14"] = services.ItemAnswer(answer="conforms", justification="偏差不涉及本批关键工序")
    services.review_production(batch=review_batch, user=p.production, password=PASSWORD, answers=answers)
    step = review_batch.review.steps.get()
    item = next(a for a in step.answers if a["key"] == "P-4.2.14")
    assert item["system"]["status"] == "problem" and item["justification"]


def test_items_with_no_evidence_read_unknown_never_ok(review_batch, p):
    """R-REL-3: material balance, materials and printed data are not recorded: "unknown"."""
    services.review_start(batch=review_batch, user=p.production)
    services.review_production(
        batch=review_batch, user=p.production, password=PASSWORD, answers=answers_for("production")
    )
    step = review_batch.review.steps.get()
    by_key = {a["key"]: a for a in step.answers}
    for key in ("P-4.2.2", "P-4.2.8", "P-4.2.10"):
        assert by_key[key]["system"]["status"] == "unknown"
    assert by_key["P-4.2.9"]["system"]["status"] == "ok"  # the approved QC report has no failing result
    assert by_key["P-4.2.1"]["system"] is None  # a manual item


def test_qc_items_with_no_qc_records_read_unknown_or_problem(approved_product, p):
    from tests.factories import BatchFactory

    batch = BatchFactory(product=approved_product, last_changed_by=p.production)
    services.review_start(batch=batch, user=p.production)
    services.review_production(batch=batch, user=p.production, password=PASSWORD, answers=answers_for("production"))
    services.review_qc(batch=batch, user=p.qc, password=PASSWORD, answers=answers_for("qc"))
    qc_step = batch.review.steps.get(stage="qc")
    statuses = {a["key"]: a["system"]["status"] for a in qc_step.answers if a["system"]}
    assert statuses["QC-4.3.2.1"] == "unknown" and statuses["QC-4.3.2.6"] == "problem"
    assert "ok" not in statuses.values()


def test_testing_cannot_pass_without_an_approved_report(approved_product, p):
    """R-REL-2: a missing or incomplete record is 不合格, never pending."""
    from tests.factories import BatchFactory

    batch = BatchFactory(product=approved_product, last_changed_by=p.production)
    services.review_start(batch=batch, user=p.production)
    services.review_production(batch=batch, user=p.production, password=PASSWORD, answers=answers_for("production"))
    services.review_qc(batch=batch, user=p.qc, password=PASSWORD, answers=answers_for("qc"))
    with pytest.raises(services.InputError) as refused:
        _qa(batch, p.qa)
    assert "Testing cannot pass" in refused.value.errors["testing_verdict"][0]
    _qa(batch, p.qa, testing_verdict="fail")
    batch.review.refresh_from_db()
    qa = batch.review.steps.get(stage="qa")
    assert qa.overall_verdict == "fail" and batch.review.status == ReleaseReview.Status.QP


def test_an_open_deviation_blocks_a_conforming_conclusion(review_batch, p, production_reviewer):
    """R-REL-4: blockers stop QA's conforming conclusion with the list."""
    dev = services.deviation_create(
        user=production_reviewer,
        data={"title": "温度偏离", "description": "d", "classification": "major"},
        batches=[review_batch],
    )
    to_stage_qa(review_batch, p)
    with pytest.raises(services.InputError) as refused:
        _qa(review_batch, p.qa)
    assert "Production cannot pass" in refused.value.errors["production_verdict"][0]
    services.deviation_update(
        deviation=dev,
        user=production_reviewer,
        data={"investigation": "无影响", "conclusion": "可放行"},
        reason="调查完成",
    )
    services.deviation_close(deviation=dev, user=p.stamp, password=PASSWORD)
    _qa(review_batch, p.qa)
    assert review_batch.review.status == ReleaseReview.Status.STAMP


def to_stage_qa(batch, p):
    services.review_start(batch=batch, user=p.production)
    services.review_production(batch=batch, user=p.production, password=PASSWORD, answers=answers_for("production"))
    services.review_qc(batch=batch, user=p.qc, password=PASSWORD, answers=answers_for("qc"))


def test_a_nonconforming_item_needs_a_closed_deviation(review_batch, p, production_reviewer):
    """R-REL-4: 不符合 without a closed, justified deviation blocks; citing a closed one clears it."""
    services.review_start(batch=review_batch, user=p.production)
    answers = answers_for(
        "production", overrides={"P-4.2.6": services.ItemAnswer(answer="does_not_conform", comment="状态标识缺失")}
    )
    services.review_production(batch=review_batch, user=p.production, password=PASSWORD, answers=answers)
    services.review_qc(batch=review_batch, user=p.qc, password=PASSWORD, answers=answers_for("qc"))
    with pytest.raises(services.InputError):
        _qa(review_batch, p.qa)
    with pytest.raises(services.InputError) as refused:
        _qa(review_batch, p.qa, production_verdict="pass", testing_verdict="pass")
    assert refused.value.errors["production_verdict"]


def test_the_qp_must_be_designated_for_the_product(review_batch, p):
    """R-REL-5: a QP without a designation is refused, with what to do."""
    to_stage(review_batch, p, Stage.QP)
    with pytest.raises(services.WorkflowError, match="not designated"):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)


def test_an_expired_designation_does_not_count(review_batch, p, approved_product):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    designate(
        p.admin, p.qp, approved_product, valid_from=today - timedelta(days=400), valid_to=today - timedelta(days=1)
    )
    to_stage(review_batch, p, Stage.QP)
    with pytest.raises(services.WorkflowError, match="not designated"):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)


def test_a_qp_can_never_grant_a_designation(p, approved_product, make_user):
    """R-REL-5, ZL-086 4.4.4: no delegation — not even a QP who is also an administrator."""
    other = make_user("qualified_person", username="qp2")
    with pytest.raises(services.WorkflowError):
        services.designation_create(
            user=p.qp, person=other, products=[approved_product], letter_number="x", valid_from=None, valid_to=None
        )
    both = make_user("admin", "qualified_person", username="admin_qp")
    with pytest.raises(services.WorkflowError, match="cannot grant"):
        designate(both, other, approved_product)


def test_a_designation_is_a_guardian_object_permission_and_revoking_removes_it(p, approved_product, designation):
    assert p.qp.has_perm("release.decide_batch", approved_product)
    assert not p.qp.has_perm("release.decide_batch")  # per product only
    services.designation_revoke(designation=designation, user=p.admin, reason="授权书到期前撤销")
    from core.models import User

    assert not User.objects.get(pk=p.qp.pk).has_perm("release.decide_batch", approved_product)


def test_rejection_is_final_and_the_gate_says_so(review_batch, p, designation):
    """R-REL-6: rejected for ever."""
    to_stage(review_batch, p, Stage.QP)
    services.review_reject(batch=review_batch, user=p.qp, password=PASSWORD, reason="稳定性考察不合格")
    review_batch.refresh_from_db()
    assert review_batch.status == Batch.Status.REJECTED
    assert "rejected by the qualified person" in may_ship(review_batch)[0]
    with pytest.raises(services.WorkflowError, match="already decided"):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    (sig,) = Signature.objects.for_record(review_batch.review.steps.get(stage="qp"))
    assert sig.meaning == Signature.Meaning.REJECTED


def test_rejection_needs_a_reason(review_batch, p, designation):
    to_stage(review_batch, p, Stage.QP)
    with pytest.raises(services.InputError):
        services.review_reject(batch=review_batch, user=p.qp, password=PASSWORD, reason=" ")


def test_a_nonconforming_evaluation_can_only_be_rejected(approved_product, p, designation):
    from tests.factories import BatchFactory

    batch = BatchFactory(product=approved_product, last_changed_by=p.production)
    to_stage_qa(batch, p)
    _qa(batch, p.qa, testing_verdict="fail")
    with pytest.raises(services.WorkflowError, match="conforming"):
        services.review_release(batch=batch, user=p.qp, password=PASSWORD)
    services.review_reject(batch=batch, user=p.qp, password=PASSWORD, reason="检验不合格")
    batch.refresh_from_db()
    assert batch.status == Batch.Status.REJECTED


def test_other_sends_the_review_back_to_qa_with_the_text(review_batch, p, designation):
    """GMP 第二百三十条(二): "other" needs a text."""
    to_stage(review_batch, p, Stage.QP)
    with pytest.raises(services.InputError):
        services.review_decide_other(batch=review_batch, user=p.qp, password=PASSWORD, text="")
    services.review_decide_other(batch=review_batch, user=p.qp, password=PASSWORD, text="补充稳定性数据后再评价")
    review = ReleaseReview.objects.get(batch=review_batch)
    assert review.status == ReleaseReview.Status.QA
    assert set(review.steps.active().values_list("stage", flat=True)) == {"production", "qc", "qp"}


def test_sending_back_needs_a_reason_and_withdraws_the_stage(review_batch, p):
    to_stage(review_batch, p, Stage.QA)
    with pytest.raises(services.InputError):
        services.review_send_back(batch=review_batch, user=p.qa, reason="")
    services.review_send_back(batch=review_batch, user=p.qa, reason="QC-4.3.2.3 使用记录缺页")
    review = ReleaseReview.objects.get(batch=review_batch)
    assert review.status == ReleaseReview.Status.QC
    withdrawn = review.steps.get(stage="qc")
    assert withdrawn.withdrawn_by == p.qa and withdrawn.withdraw_reason
    (sig,) = Signature.objects.for_record(withdrawn)
    assert sig.is_valid()  # withdrawing does not touch what was signed
    services.review_qc(batch=review_batch, user=p.qc, password=PASSWORD, answers=answers_for("qc"))
    assert ReleaseReview.objects.get(batch=review_batch).status == ReleaseReview.Status.QA


def test_a_hold_blocks_the_release(review_batch, p, designation):
    to_stage(review_batch, p, Stage.QP)
    services.hold_place(batch=review_batch, user=p.qa, reason="投诉调查")
    with pytest.raises(services.InputError) as refused:
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    assert any("Active hold" in m for m in refused.value.errors[""])
    assert review_batch.review.status == ReleaseReview.Status.QP


def test_two_stage_product_needs_factory_then_market_release(p, users, make_user, qa_reviewer, admin_user):
    """R-REL-7: derived from MAH ≠ manufacturer; the gate needs both stages."""
    from datetime import date

    from tests.release.review_helpers import approved_qc

    product = services.product_create(
        user=admin_user,
        data=dict(
            name="受托产品",
            generic_name="受托产品 Contract",
            dosage_form="tablet",
            strength="0.1g",
            pack_size="24片/盒",
            approval_number="国药准字H20990077",
            shelf_life_months=24,
            storage_conditions="密封",
            mah="持有人公司",
            manufacturer="受托生产企业",
            requires_two_stage_release=False,
            requires_lot_release_certificate=False,
        ),
    )
    product = services.product_approve(product=product, user=qa_reviewer, password=PASSWORD)
    assert product.needs_two_stage_release
    batch = services.batch_create(
        user=p.production,
        data=dict(
            product=product,
            batch_number="T1",
            batch_size=1000,
            batch_size_unit="tablets",
            manufacture_date=date(2026, 11, 1),
            site="受托车间",
        ),
    )
    approved_qc(batch, users, code="ZL-BZ-CP-077")
    designate(p.admin, p.qp, product, market_release=False)
    mah_qp = make_user("qualified_person", username="mah_qp")
    designate(p.admin, mah_qp, product, factory_release=False)
    to_stage(batch, p, Stage.QP)
    services.review_release(batch=batch, user=p.qp, password=PASSWORD)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FACTORY_RELEASED
    assert "market release" in may_ship(batch)[0]
    with pytest.raises(services.WorkflowError, match="one stage"):
        services.review_market_release(batch=batch, user=p.qp, password=PASSWORD, answers=answers_for(Stage.MARKET))
    services.review_market_release(batch=batch, user=mah_qp, password=PASSWORD, answers=answers_for(Stage.MARKET))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.RELEASED and may_ship(batch) == []
    assert batch.review.decided_by == mah_qp


def test_review_and_step_rows_cannot_be_written_around_their_history(review_batch, p):
    """R-AT-4."""
    from core.audit import AuditError

    to_stage(review_batch, p, Stage.QC)
    with pytest.raises(AuditError):
        ReviewStep.objects.update(answers=[])
    with pytest.raises(AuditError):
        ReleaseReview.objects.filter(batch=review_batch).delete()
    with pytest.raises(AuditError):
        ChecklistTemplate.objects.update(version=9)


def test_a_step_changed_after_signing_shows_a_broken_signature(review_batch, p):
    """R-SIG-3: the answers are what the signature covers."""
    from django.db import connection

    to_stage(review_batch, p, Stage.QC)
    step = review_batch.review.steps.get()
    (sig,) = Signature.objects.for_record(step)
    assert sig.is_valid()
    step.answers[0]["answer"] = "not_applicable"
    step.justification = JUSTIFIED
    step.save_audited(user=p.production, reason="篡改")
    assert not Signature.objects.get(pk=sig.pk).is_valid()
    assert connection.vendor in ("sqlite", "postgresql")


def test_the_designation_needs_the_object_permission_as_guardian_answers_it(
    review_batch, p, approved_product, designation, django_assert_max_num_queries
):
    """R-REL-5: designation_for needs both the designation and the guardian object permission, as
    user.has_perm(…, product) answers it: the permission taken away (by SQL, say) refuses a
    designation still on record; held through a group it counts; an inactive account never decides."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm, remove_perm

    from core.models import User
    from release.services.reviews import designation_for

    to_stage(review_batch, p, Stage.QP)
    batch = Batch.objects.select_related("product").get(pk=review_batch.pk)
    batch.review = ReleaseReview.objects.get(batch=batch)
    with django_assert_max_num_queries(3):
        assert designation_for(p.qp, batch, Stage.QP) == designation

    remove_perm("release.decide_batch", p.qp, approved_product)
    qp = User.objects.get(pk=p.qp.pk)
    assert not qp.has_perm("release.decide_batch", approved_product)
    assert designation_for(qp, batch, Stage.QP) is None
    with pytest.raises(services.WorkflowError, match="not designated"):
        services.review_release(batch=review_batch, user=qp, password=PASSWORD)

    group = Group.objects.create(name="designated QPs of this product")
    assign_perm("release.decide_batch", group, approved_product)
    qp.groups.add(group)
    qp = User.objects.get(pk=p.qp.pk)
    assert qp.has_perm("release.decide_batch", approved_product)
    assert designation_for(qp, batch, Stage.QP) == designation

    qp.is_active = False
    assert designation_for(qp, batch, Stage.QP) is None
