"""The market-release checklist (上市放行, ../shared/reference/sop-checklists.md B.1.7; R-REL-7, R-REL-2):
the MAH's QP answers MKT-1…4 with the system's evidence of the factory release, signs, and the
answers are kept with the signed step and printed on the certificate."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation

from core.models import Signature
from release import services
from release.models import Batch, ChecklistTemplate, ReleaseReview, ReviewStep, Stage
from release.pdf import review_context
from tests.factories import PASSWORD
from tests.release.review_helpers import JUSTIFIED, answers_for, approved_qc, designate, to_stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


MARKET_KEYS = ["MKT-1", "MKT-2", "MKT-3", "MKT-4"]


@pytest.fixture
def contract_batch(
    p, users, make_user, qa_reviewer, admin_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    """A factory-released batch of a product whose MAH is not its manufacturer, and the MAH's QP."""
    product = services.product_create(
        user=admin_user,
        data=dict(
            name="受托产品",
            generic_name="受托产品 Contract",
            dosage_form="tablet",
            strength="0.1g",
            pack_size="24片/盒",
            approval_number="国药准字H20990078",
            shelf_life_months=24,
            storage_conditions="密封",
            mah="持有人公司",
            manufacturer="受托生产企业",
            requires_two_stage_release=False,
            requires_lot_release_certificate=False,
        ),
    )
    product = services.product_approve(product=product, user=qa_reviewer, password=PASSWORD)
    batch = services.batch_create(
        user=p.production,
        data=dict(
            product=product,
            batch_number="T2",
            batch_size=1000,
            batch_size_unit="tablets",
            manufacture_date=date(2026, 11, 1),
            site="受托车间",
        ),
    )
    approved_qc(batch, users, code="ZL-BZ-CP-078")
    designate(p.admin, p.qp, product, market_release=False)
    p.mah_qp = make_user("qualified_person", username="mah_qp")
    designate(p.admin, p.mah_qp, product, factory_release=False)
    to_stage(batch, p, Stage.QP)
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        services.review_release(batch=batch, user=p.qp, password=PASSWORD)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FACTORY_RELEASED
    return batch


def test_the_market_checklist_is_a_versioned_template_kept_with_two_stage_reviews(contract_batch, review_batch, p):
    """R-REL-2: the market checklist v1 (B.1.7 items, Chinese and English) is fixed on a two-stage
    review when it starts; a single-stage review has none (its one QP decides both)."""
    template = ChecklistTemplate.objects.current(Stage.MARKET)
    assert template.version == 1
    assert [i.key for i in template.items.order_by("position")] == MARKET_KEYS
    first = template.items.get(key="MKT-1")
    assert first.text_zh == "已审核受托生产企业的出厂放行文件和检验结果"
    assert first.system_check == "factory_release"
    assert contract_batch.review.market_template == template
    services.review_start(batch=review_batch, user=p.production)
    assert ReleaseReview.objects.get(batch=review_batch).market_template is None


def test_market_release_signs_the_answers_with_the_factory_release_as_evidence(contract_batch, p):
    """R-REL-7, B.1.7: MKT-1 is answered from data (who factory-released, the certificate); the step
    keeps the template and the answers under the 'Released' signature; the batch is released."""
    with pytest.raises(services.InputError) as refused:
        services.review_market_release(batch=contract_batch, user=p.mah_qp, password=PASSWORD, answers={})
    assert refused.value.errors["item:MKT-1"] == ["Answer MKT-1."]
    contract_batch.refresh_from_db()
    assert contract_batch.status == Batch.Status.FACTORY_RELEASED

    services.review_market_release(
        batch=contract_batch, user=p.mah_qp, password=PASSWORD, answers=answers_for(Stage.MARKET)
    )
    contract_batch.refresh_from_db()
    assert contract_batch.status == Batch.Status.RELEASED
    step = ReviewStep.objects.get(review__batch=contract_batch, stage=Stage.MARKET)
    assert step.template.stage == Stage.MARKET and step.template.version == 1
    assert [a["key"] for a in step.answers] == MARKET_KEYS
    mkt1 = step.answers[0]["system"]
    assert mkt1["status"] == "ok", mkt1
    assert f"Factory released by {p.qp.printed_name}" in mkt1["message"]
    assert "RC-T2-" in mkt1["message"] and mkt1["evidence"][0]["url"].startswith("/")
    assert step.answers[2]["system"]["message"].startswith("No open change control")
    (signature,) = Signature.objects.for_record(step)
    assert signature.meaning == Signature.Meaning.RELEASED and signature.signer == p.mah_qp
    sections = review_context(step)["sections"]
    market = next(s for s in sections if s["stage"] == Stage.MARKET.label)
    assert [a["key"] for a in market["answers"]] == MARKET_KEYS
    assert market["answers"][1]["text"]["zh-hans"] == "与受托生产企业的质量协议有效"


def test_a_market_item_that_does_not_conform_blocks_the_release_until_a_deviation_covers_it(contract_batch, p):
    """R-REL-4: MKT-2 (quality agreement) answered 'does not conform' without a closed deviation
    blocks the market release, naming the item; nothing is written; rejection stays possible."""
    answers = answers_for(
        Stage.MARKET, overrides={"MKT-2": services.ItemAnswer(answer="does_not_conform", comment="协议已过期")}
    )
    with pytest.raises(services.InputError) as refused:
        services.review_market_release(batch=contract_batch, user=p.mah_qp, password=PASSWORD, answers=answers)
    assert (
        "MKT-2 does not conform (Market release) and is not covered by a closed deviation." in refused.value.errors[""]
    )
    assert not ReviewStep.objects.filter(review__batch=contract_batch, stage=Stage.MARKET).exists()
    services.review_reject(batch=contract_batch, user=p.mah_qp, password=PASSWORD, reason="质量协议过期")
    contract_batch.refresh_from_db()
    assert contract_batch.status == Batch.Status.REJECTED


def test_a_review_started_before_the_market_checklist_releases_without_it(contract_batch, p):
    """R-REL-2: the old version is kept for reviews that used it — a review started before the
    market checklist existed (no template) is released to the market by the signature alone."""
    review = contract_batch.review
    review.market_template = None
    review.save_audited(user=p.admin, reason="test: a review started before migration 0009")
    services.review_market_release(batch=contract_batch, user=p.mah_qp, password=PASSWORD)
    step = ReviewStep.objects.get(review__batch=contract_batch, stage=Stage.MARKET)
    assert step.template is None and step.answers == []


def test_market_release_page_shows_the_checklist_and_says_what_is_missing(contract_batch, p, client_for):
    """R-UX-2: the MAH's QP sees MKT-1…4 with the system's finding; a post without answers shows
    'Answer this item.' beside the items (400, nothing written); answered, the batch is released."""
    client = client_for(p.mah_qp)
    url = reverse("release:batch_review", args=[contract_batch.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="market-checklist"' in page
    for key in MARKET_KEYS:
        assert f'data-key="{key}"' in page
    assert "Factory released by" in page or "出厂放行" in page
    post = reverse("release:batch_review_release", args=[contract_batch.pk])
    refused = client.post(post, {"release-password": PASSWORD})
    assert refused.status_code == 400
    assert refused.content.decode().count("请回答此项") + refused.content.decode().count("Answer this item.") >= 4
    contract_batch.refresh_from_db()
    assert contract_batch.status == Batch.Status.FACTORY_RELEASED
    data = {"release-password": PASSWORD}
    template = contract_batch.review.market_template
    for item in template.items.all():
        data[f"release-i{item.position}_answer"] = "conforms"
        data[f"release-i{item.position}_justification"] = JUSTIFIED
    response = client.post(post, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    contract_batch.refresh_from_db()
    assert contract_batch.status == Batch.Status.RELEASED


def test_the_factory_qp_gets_no_market_form(contract_batch, p, client_for):
    """R-SEQ-2: the QP who factory-released sees why they may not sign the market release."""
    page = client_for(p.qp).get(reverse("release:batch_review", args=[contract_batch.pk])).content.decode()
    assert 'data-testid="market-checklist"' not in page
    assert 'data-testid="stage-refusal"' in page
