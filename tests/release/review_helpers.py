"""Reaching release-review states through the real services (signatures, history and all)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from qc_records import services as qc_services
from qc_records.models import Category
from release import services
from release.models import Batch, ChecklistTemplate, Stage
from tests.factories import PASSWORD, InstrumentFactory, ReagentFactory
from tests.qc_records.helpers import ALL_CONFIRMED, fill, make_spec

JUSTIFIED = "已逐项核对批记录原件"


def answers_for(stage: str, *, answer: str = "conforms", overrides: dict | None = None) -> dict:
    """An answer for every item of the stage's current checklist; conforming answers carry a
    justification so that they stand against any system finding (the tests that check the
    justification rule pass their own)."""
    template = ChecklistTemplate.objects.current(stage)
    out = {}
    for item in template.items.all():
        out[item.key] = services.ItemAnswer(answer=answer, comment="", justification=JUSTIFIED)
    out.update(overrides or {})
    return out


def approved_qc(batch: Batch, users: dict, *, code: str = "ZL-BZ-CP-001") -> None:
    """An approved, complying finished-product test report for ``batch`` (QC summary "passed")."""
    spec = make_spec(author=users["qc_head"], approver=users["qa_reviewer"], product=batch.product, code=code)
    sample = qc_services.sample_create(
        user=users["qc_analyst"],
        data=dict(
            category=Category.FINISHED_PRODUCT,
            specification=spec,
            batch=batch,
            quantity=Decimal("60"),
            quantity_unit="粒",
            received_date=timezone.localdate() - timedelta(days=1),
        ),
    )
    record = qc_services.record_create(sample=sample, user=users["qc_analyst"])
    fill(
        record,
        users["qc_analyst"],
        instrument=InstrumentFactory(last_changed_by=users["qc_head"]),
        reagent=ReagentFactory(last_changed_by=users["qc_head"]),
    )
    qc_services.record_submit(record=record, user=users["qc_analyst"], password=PASSWORD)
    qc_services.record_review(record=record, user=users["qc_reviewer"], password=PASSWORD, checklist=ALL_CONFIRMED)
    qc_services.record_approve(record=record, user=users["qc_head"], password=PASSWORD)


def people(users: dict, make_user) -> SimpleNamespace:
    """One person per stage (R-SEQ-2): the stamp is a second QA reviewer."""
    return SimpleNamespace(
        production=users["production_reviewer"],
        qc=users["qc_reviewer"],
        qa=users["qa_reviewer"],
        stamp=make_user("qa_reviewer", username="qa_stamp"),
        qp=users["qualified_person"],
        admin=users["admin"],
    )


def designate(admin, qp, product, **kwargs):
    today = timezone.localdate()
    data = dict(
        letter_number="授权书〔2026〕01号", valid_from=today - timedelta(days=30), valid_to=today + timedelta(days=365)
    )
    data.update(kwargs)
    return services.designation_create(user=admin, person=qp, products=[product], **data)


def to_stage(batch: Batch, p: SimpleNamespace, stage: str) -> None:
    """Walk ``batch`` through every stage before ``stage`` (QA concludes conforming)."""
    order = [Stage.PRODUCTION, Stage.QC, Stage.QA, Stage.STAMP, Stage.QP]
    services.review_start(batch=batch, user=p.production)
    for done in order[: order.index(stage)]:
        if done == Stage.PRODUCTION:
            services.review_production(batch=batch, user=p.production, password=PASSWORD, answers=answers_for(done))
        elif done == Stage.QC:
            services.review_qc(batch=batch, user=p.qc, password=PASSWORD, answers=answers_for(done))
        elif done == Stage.QA:
            services.review_qa(
                batch=batch,
                user=p.qa,
                password=PASSWORD,
                answers=answers_for(done),
                production_verdict="pass",
                testing_verdict="pass",
                audit_trail_reviewed=True,
            )
        elif done == Stage.STAMP:
            services.review_stamp(batch=batch, user=p.stamp, password=PASSWORD)
