"""The release review page and its action URLs (R-REL-1…5, R-SEQ-1/2, R-SIG-1/2, R-UX-2, R-PERF-1, R-AT-6)."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from core.models import Signature
from core.roles import ALL_ROLES
from release import services
from release.models import ChecklistTemplate, ReleaseReview, ReviewStep, Stage
from tests.factories import PASSWORD
from tests.release.review_helpers import JUSTIFIED, designate, to_stage

pytestmark = pytest.mark.django_db

ACTIONS = {
    "production": "release.review_production",
    "qc": "release.review_qc",
    "qa": "release.review_qa",
    "stamp": "release.stamp_release",
    "release": "release.decide_release",
    "reject": "release.decide_release",
    "other": "release.decide_release",
}
ROLE_OF = {
    "production": {"production_reviewer"},
    "qc": {"qc_reviewer"},
    "qa": {"qa_reviewer"},
    "stamp": {"qa_reviewer"},
    "release": {"qualified_person"},
    "reject": {"qualified_person"},
    "other": {"qualified_person"},
}


def url(action: str, batch) -> str:
    return reverse(f"release:batch_review_{action}", args=[batch.pk])


def checklist_post(stage: str, **extra) -> dict:
    template = ChecklistTemplate.objects.current(stage)
    data = {f"{stage}-password": PASSWORD}
    for item in template.items.all():
        data[f"{stage}-i{item.position}_answer"] = "conforms"
        data[f"{stage}-i{item.position}_justification"] = JUSTIFIED
    data.update({f"{stage}-{k}": v for k, v in extra.items()})
    return data


@pytest.fixture
def en(client_for):
    def make(user):
        client = client_for(user)
        client.cookies["django_language"] = "en"
        return client

    return make


def test_production_reviewer_signs_the_checklist_on_the_page(review_batch, p, en):
    """R-REL-1, R-SIG-2: the meaning shown on the form is the meaning stored."""
    client = en(p.production)
    assert client.post(url("start", review_batch)).status_code == 302
    page = client.get(reverse("release:batch_review", args=[review_batch.pk]))
    form = page.context["checklist_form"]
    assert len(form.rows) == 14 and "P-4.2.14" in page.content.decode()
    response = client.post(url("production", review_batch), checklist_post("production"))
    assert response.status_code == 302
    step = ReviewStep.objects.get(stage="production")
    (sig,) = Signature.objects.for_record(step)
    assert sig.meaning == form.meaning == services.review_production.meaning
    assert sig.signer == p.production and sig.is_valid()
    assert ReleaseReview.objects.get().status == ReleaseReview.Status.QC
    assert ReleaseReview.objects.get().history.first().history_user == p.production


def test_missing_answers_are_shown_beside_the_items_and_nothing_is_written(review_batch, p, en):
    """R-UX-2: a clear message, nothing written, no 500."""
    services.review_start(batch=review_batch, user=p.production)
    data = checklist_post("production")
    del data["production-i3_answer"]
    data["production-i4_answer"] = "not_applicable"
    data["production-i5_answer"] = "garbage"
    response = en(p.production).post(url("production", review_batch), data)
    assert response.status_code == 400
    errors = response.context["checklist_form"].errors
    assert {"i3_answer", "i5_answer"} <= set(errors)
    assert not ReviewStep.objects.exists()
    data["production-i3_answer"] = "conforms"
    data["production-i5_answer"] = "conforms"
    response = en(p.production).post(url("production", review_batch), data)
    assert response.status_code == 400
    assert "does not apply" in str(response.context["checklist_form"].errors["i4_answer"])
    assert not ReviewStep.objects.exists()


def test_a_wrong_password_on_the_page_signs_nothing(review_batch, p, en):
    services.review_start(batch=review_batch, user=p.production)
    response = en(p.production).post(url("production", review_batch), checklist_post("production", password="nope"))
    assert response.status_code == 400 and "Wrong password" in response.content.decode()
    assert not ReviewStep.objects.exists()


@pytest.mark.parametrize("action", ["qc", "qa", "stamp"])
def test_posting_a_later_stage_url_is_refused(action, review_batch, p, en, users):
    """R-SEQ-1: skipping a stage by posting its URL is refused with the reason."""
    services.review_start(batch=review_batch, user=p.production)
    user = {"qc": p.qc, "qa": p.qa, "stamp": p.stamp}[action]
    data = checklist_post(action) if action in ("qc", "qa") else {"stamp-password": PASSWORD}
    response = en(user).post(url(action, review_batch), data)
    assert response.status_code == 400
    assert "not waiting for" in response.content.decode()
    assert not ReviewStep.objects.exists()


@pytest.mark.parametrize(
    "action, role",
    [(a, r) for a in ACTIONS for r in ALL_ROLES if r not in ROLE_OF[a]],
)
def test_each_wrong_role_gets_403_on_each_action(action, role, users, review_batch, client_for):
    """Every role without the stage's permission gets 403 and nothing is written."""
    response = client_for(users[role]).post(url(action, review_batch), {f"{action}-password": PASSWORD})
    assert response.status_code == 403
    assert not ReviewStep.objects.exists()


def test_a_qp_not_designated_for_the_product_gets_403_and_no_decide_button(review_batch, p, en):
    """R-REL-5: no designation → no form on the page, 403 on the URL."""
    to_stage(review_batch, p, Stage.QP)
    page = en(p.qp).get(reverse("release:batch_review", args=[review_batch.pk]))
    assert "release_form" not in page.context
    assert "not designated" in page.content.decode()
    assert en(p.qp).post(url("release", review_batch), {"release-password": PASSWORD}).status_code == 403


def test_the_page_asks_for_the_designation_before_guardians_permission(review_batch, p, en, designation, make_user):
    """R-REL-5, issue 12: a QP without a designation for the product is answered by the designation
    query alone (guardian's permission tables are read only for a QP who has one), and the
    designated QP's page still checks both."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    to_stage(review_batch, p, Stage.QP)
    other = make_user("qualified_person", username="qp_other_product")
    for user, designated in ((other, False), (p.qp, True)):
        with CaptureQueriesContext(connection) as ctx:
            page = en(user).get(reverse("release:batch_review", args=[review_batch.pk]))
        sql = [q["sql"] for q in ctx.captured_queries]
        assert sum('FROM "release_qpdesignation"' in q for q in sql) == 1, user.username
        assert any("guardian_userobjectpermission" in q for q in sql) is designated, user.username
        assert ("release_form" in page.context) is designated
        assert ("not designated" in page.content.decode()) is not designated


def test_the_designated_qp_releases_on_the_page(review_batch, p, en, designation):
    to_stage(review_batch, p, Stage.QP)
    page = en(p.qp).get(reverse("release:batch_review", args=[review_batch.pk]))
    shown = page.context["release_form"].meaning
    assert "真实性、完整性" in page.content.decode()
    response = en(p.qp).post(url("release", review_batch), {"release-password": PASSWORD})
    assert response.status_code == 302
    step = ReviewStep.objects.get(stage="qp")
    assert Signature.objects.for_record(step).get().meaning == shown == Signature.Meaning.RELEASED


def test_a_second_qp_is_told_who_decided(review_batch, p, en, designation, make_user):
    """A stale page: the batch was decided meanwhile; the message names who."""
    from tests.release.review_helpers import designate

    qp2 = make_user("qualified_person", username="qp2")
    designate(p.admin, qp2, review_batch.product)
    to_stage(review_batch, p, Stage.QP)
    services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    response = en(qp2).post(url("reject", review_batch), {"reject-password": PASSWORD, "reject-reason": "x"})
    assert response.status_code == 400
    assert p.qp.printed_name in response.content.decode() and "already decided" in response.content.decode()


def test_rejecting_without_a_reason_says_so(review_batch, p, en, designation):
    to_stage(review_batch, p, Stage.QP)
    response = en(p.qp).post(url("reject", review_batch), {"reject-password": PASSWORD})
    assert response.status_code == 400
    assert "Give the reason for the rejection" in response.content.decode()


def test_qa_page_lists_critical_data_changes(review_batch, p, en):
    """R-AT-6: the batch's critical-data changes are listed for QA."""
    services.batch_update(batch=review_batch, user=p.qa, data={"site": "固体制剂车间三"}, reason="核对批记录")
    to_stage(review_batch, p, Stage.QA)
    page = en(p.qa).get(reverse("release:batch_review", args=[review_batch.pk]))
    assert page.context["evidence"].critical_changes
    html = page.content.decode()
    assert "固体制剂车间三" in html and "核对批记录" in html
    assert "audit_trail_reviewed" in page.context["checklist_form"].fields


def test_open_deviation_is_listed_as_a_blocker(review_batch, p, en):
    services.deviation_create(
        user=p.production,
        data={"title": "温度偏离", "description": "d", "classification": "major"},
        batches=[review_batch],
    )
    page = en(p.production).get(reverse("release:batch_review", args=[review_batch.pk]))
    assert any("温度偏离" in b for b in page.context["blockers"])


def test_send_back_on_the_page(review_batch, p, en):
    to_stage(review_batch, p, Stage.QA)
    response = en(p.qa).post(reverse("release:batch_review_send_back", args=[review_batch.pk]), {"back-reason": ""})
    assert response.status_code == 400
    response = en(p.qa).post(
        reverse("release:batch_review_send_back", args=[review_batch.pk]), {"back-reason": "QC 记录缺页"}
    )
    assert response.status_code == 302
    assert ReleaseReview.objects.get().status == ReleaseReview.Status.QC


@pytest.mark.parametrize("stage, template_queries", [(Stage.QC, 1), (Stage.QP, 0)])
def test_the_review_is_read_without_joining_its_checklist_templates(
    review_batch, p, en, designation, django_assert_max_num_queries, stage, template_queries
):
    """Issue 12: the review joins only its people; its four checklist templates come in one query
    by key (joined, PostgreSQL planned a 9-table join on every view), and not at all once each of
    them was read with the step signed on it (at the QP's stage: production, QC and QA signed).
    The page still names every checklist and shows the checklist of each signed stage."""
    to_stage(review_batch, p, stage)
    client = en(p.qc if stage == Stage.QC else p.qp)
    with django_assert_max_num_queries(80) as ctx:
        page = client.get(reverse("release:batch_review", args=[review_batch.pk])).content.decode()
    review_query = next(
        q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "release_releasereview"."id"')
    )
    assert "release_checklisttemplate" not in review_query
    assert review_query.count(" JOIN ") == 2  # who started it, who decided
    templates = [q["sql"] for q in ctx.captured_queries if 'FROM "release_checklisttemplate"' in q["sql"]]
    assert len(templates) == template_queries, templates
    review = ReleaseReview.objects.get()
    names = page.split("Checklists")[1].split("</p>")[0]
    for each in (review.production_template, review.qc_template, review.qa_template):
        assert str(each) in names
    signed = [Stage.PRODUCTION] if stage == Stage.QC else [Stage.PRODUCTION, Stage.QC, Stage.QA]
    for done in signed:
        assert review.template_for(done).items.first().text in page, done


def test_review_page_queries_are_bounded(review_batch, p, en, designation, django_assert_max_num_queries):
    """R-PERF-1: the page costs a fixed number of queries (a handful of steps, however many batches)."""
    to_stage(review_batch, p, Stage.QP)
    client = en(p.qp)
    client.get(reverse("release:batch_review", args=[review_batch.pk]))
    with django_assert_max_num_queries(80):
        assert client.get(reverse("release:batch_review", args=[review_batch.pk])).status_code == 200


def test_register_lists_decisions_filters_and_exports(
    review_batch, p, en, designation, auditor, django_assert_max_num_queries
):
    """R-REL-9: batch, product, decision, QP, date; filters; CSV."""
    to_stage(review_batch, p, Stage.QP)
    services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    client = en(auditor)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("release:register"))
    assert [r.batch for r in page.context["rows"]] == [review_batch]
    assert client.get(reverse("release:register"), {"decision": "reject"}).context["rows"] == []
    csv = b"".join(client.get(reverse("release:register_csv")).streaming_content).decode("utf-8-sig")
    assert "R2611001" in csv and p.qp.printed_name in csv and "Release" in csv


def test_register_filters_by_typed_product_name_and_lists_no_products(
    review_batch, p, en, designation, auditor, django_assert_max_num_queries
):
    """R-REL-9 at scale: the product filter is typed (part of the product or generic name), so the
    page never renders the plant's product list; a name that matches nothing lists nothing."""
    from tests.factories import ProductFactory

    to_stage(review_batch, p, Stage.QP)
    services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    for _ in range(5):
        ProductFactory(last_changed_by=auditor)
    client = en(auditor)
    product = review_batch.product
    with django_assert_max_num_queries(10):
        page = client.get(reverse("release:register"), {"product": product.name[1:4]})
    assert [r.batch for r in page.context["rows"]] == [review_batch]
    assert "<option" not in page.content.decode().split('name="product"')[1].split("</div>")[0]
    by_generic = client.get(reverse("release:register"), {"product": product.generic_name})
    assert [r.batch for r in by_generic.context["rows"]] == [review_batch]
    assert client.get(reverse("release:register"), {"product": "不存在的品种"}).context["rows"] == []


def test_my_work_offers_each_stage_to_its_people_only(review_batch, p, en, django_assert_max_num_queries):
    """R-UX-3, R-SEQ-2: the QC queue does not offer a batch to someone who signed production."""
    to_stage(review_batch, p, Stage.QC)
    client = en(p.qc)
    with django_assert_max_num_queries(40):
        queues = {q.key: q for q in client.get(reverse("core:my_work")).context["queues"]}
    assert queues["release_qc"].total == 1
    queues = {q.key: q for q in en(p.production).get(reverse("core:my_work")).context["queues"]}
    assert "release_qc" not in queues and queues["release_production"].total == 0


def test_the_qp_queues_hold_only_the_products_each_qp_is_designated_for(review_batch, p, en, make_user):
    """R-REL-5, R-UX-3 / issue 12: the QP's decision queue holds the reviews of products they are
    designated for factory release, the market queue those for market release; a QP designated
    for market release only, or for nothing, sees none. The designations are read first (one
    query for both queues), not an EXISTS per review, which PostgreSQL answered by walking every
    batch of the designated products."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    to_stage(review_batch, p, Stage.QP)
    market_only = make_user("qualified_person", username="qp_market_only")
    designate(p.admin, market_only, review_batch.product, factory_release=False, market_release=True)
    undesignated = make_user("qualified_person", username="qp_other")
    designate(p.admin, p.qp, review_batch.product)

    def queues(user):
        with CaptureQueriesContext(connection) as ctx:
            found = {q.key: q for q in en(user).get(reverse("core:my_work")).context["queues"]}
        return found, [q["sql"] for q in ctx.captured_queries]

    found, sql = queues(p.qp)
    assert found["release_qp"].total == 1
    assert [item.title for item in found["release_qp"].items] == [f"R2611001 · {review_batch.product}"]
    assert found["release_market"].total == 0
    review_queries = [q for q in sql if q.startswith('SELECT "release_releasereview"."id"')]
    assert review_queries and not any("release_qpdesignation" in q for q in review_queries)
    assert sum('FROM "release_qpdesignation"' in q for q in sql) == 1
    for other in (market_only, undesignated):
        found, _sql = queues(other)
        assert found["release_qp"].total == 0, other.username


def test_the_designation_register_is_paged_by_product(p, en):
    """Issue 12 / R-PERF-1: the register shows 25 designations a page, by product name, with the
    page number and a link to the next; the second page shows the rest."""
    from core.web import PAGE_SIZE
    from release.models import Product
    from tests.factories import ProductFactory

    products = [ProductFactory(name=f"登记药品{n:02d}", status=Product.Status.APPROVED) for n in range(PAGE_SIZE + 2)]
    services.designation_create(
        user=p.admin,
        person=p.qp,
        products=products,
        letter_number="授权书〔2026〕09号",
        valid_from=date(2026, 1, 1),
        valid_to=date(2027, 12, 31),
        factory_release=True,
        market_release=False,
        deputy=False,
    )
    url = reverse("release:designation_list")
    first = en(p.admin).get(url).content.decode()
    assert first.count("授权书〔2026〕09号") == PAGE_SIZE
    assert "登记药品00" in first and "登记药品24" in first and "登记药品25" not in first
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    second = en(p.admin).get(url + "?page=2").content.decode()
    assert second.count("授权书〔2026〕09号") == 2 and "登记药品26" in second


def test_admin_records_a_designation_on_the_page_and_a_qp_cannot(p, en, approved_product):
    """R-REL-5: entered by an administrator; a QP gets 403."""
    data = {
        "person": p.qp.pk,
        "products": [approved_product.pk],
        "letter_number": "授权书01",
        "factory_release": "on",
        "market_release": "on",
        "valid_from": "2026-01-01",
        "valid_to": "2027-12-31",
    }
    assert en(p.qp).post(reverse("release:designation_create"), data).status_code == 403
    response = en(p.admin).post(reverse("release:designation_create"), data)
    assert response.status_code == 302
    assert p.qp.has_perm("release.decide_batch", approved_product)
    bad = en(p.admin).post(reverse("release:designation_create"), {**data, "valid_to": "2025-01-01"})
    assert bad.status_code == 200 and "cannot be before" in bad.content.decode()


def test_review_page_queries_do_not_grow_with_steps_or_signatures(
    review_batch, p, en, designation, django_assert_max_num_queries
):
    """R-PERF-1 / issue 12: the QP's page costs the same number of queries with 4 steps as with 7
    (three send-backs withdrew three stamps, each with its signature), and after the decision
    (documents, corrections) no more. 27, the page's own budget in benchmarks/budgets.toml: 3 for
    the person (session, user, permissions), 9 for QC's evidence (each approved record's signature
    and history re-verified, results, OOS, instruments, reagents, discarded runs), up to 6 for the
    batch's other evidence (its own changes; deviations, change controls, holds, materials,
    balances only when the batch has some), 3
    for the steps, 3 for the QP's designation (guardian's object permission, 2) and the designation,
    3 for the batch, the review and its checklist templates (by key: joined, they cost more to plan)."""
    to_stage(review_batch, p, Stage.QP)
    client = en(p.qp)
    page = reverse("release:batch_review", args=[review_batch.pk])
    client.get(page)
    counts = []
    for _round in range(2):
        with django_assert_max_num_queries(27) as ctx:
            assert client.get(page).status_code == 200
        counts.append(len(ctx.captured_queries))
        for i in range(3):
            services.review_send_back(batch=review_batch, user=p.qp, reason=f"stamp again {i}")
            services.review_stamp(batch=review_batch, user=p.stamp, password=PASSWORD)
    assert ReviewStep.objects.filter(review__batch=review_batch).count() == 10
    assert counts[0] == counts[1]
    services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    client.get(page)  # the decision documents, if the after-commit issue did not make them
    # No designation to look up any more; the corrections and the documents instead.
    with django_assert_max_num_queries(counts[0]):
        response = client.get(page)
    assert "stamp again 2" in response.content.decode()


EVIDENCE_TABLES = (
    "release_deviation",
    "release_changecontrol",
    "release_batchhold",
    "release_batchmaterial",
    "release_materialbalance",
)


def _read_tables(captured) -> set[str]:
    """The evidence tables whose rows a query reads (not the batch query's EXISTS on them)."""
    return {t for t in EVIDENCE_TABLES if any(q["sql"].startswith(f'SELECT "{t}".') for q in captured)}


def test_the_page_reads_only_the_kinds_of_evidence_the_batch_has(
    review_batch, p, en, designation, django_assert_max_num_queries
):
    """Issue 12 / R-REL-3, R-REL-4: the batch's query says (EXISTS) whether it has deviations,
    change controls, active holds, a bill of materials, material balances; a clean batch's page
    reads none of those tables and still says what it found (none recorded, no blocker, no bill of
    materials or balance: "unknown"), and once the batch has each kind the page reads and shows it."""
    from tests.release.material_helpers import make_lot

    to_stage(review_batch, p, Stage.QP)
    client = en(p.qp)
    page = reverse("release:batch_review", args=[review_batch.pk])
    client.get(page)
    with django_assert_max_num_queries(27) as ctx:
        response = client.get(page)
    assert _read_tables(ctx.captured_queries) == set()
    clean_count = len(ctx.captured_queries)
    clean, found = response.content.decode(), response.context["found"]
    assert "None recorded." in clean and "No blocker." in clean
    assert found["deviations"].message == "No open deviation; 0 closed."
    assert found["materials"].status == found["material_balance"].status == "unknown"
    assert found["material_balance"].message == "No material balance recorded for this batch: check the batch record."

    deviation = services.deviation_create(
        user=p.production,
        data={"title": "压片机转速偏离", "description": "转速低于工艺规程下限", "classification": "major"},
        batches=[review_batch],
    )
    change = services.change_control_create(
        user=p.production,
        data={"title": "更换筛网", "description": "筛网目数变更", "classification": "minor"},
        batches=[review_batch],
    )
    services.hold_place(batch=review_batch, user=p.qa, reason="待查压片机转速偏离")
    services.batch_material_add(batch=review_batch, user=p.production, lot=make_lot(p.production), quantity=Decimal(20))
    services.material_balance_add(
        batch=review_batch,
        user=p.production,
        data={"step": "制粒", "theoretical": Decimal(100), "actual": Decimal("97.555"), "unit": "kg"},
    )
    with django_assert_max_num_queries(27) as ctx:
        response = client.get(page)
    assert _read_tables(ctx.captured_queries) == set(EVIDENCE_TABLES)
    assert len(ctx.captured_queries) == clean_count + len(EVIDENCE_TABLES)
    full, found = response.content.decode(), response.context["found"]
    assert f"Open deviation {deviation.number}: 压片机转速偏离." in full
    assert f"Open change control {change.number}: 更换筛网." in full
    assert "待查压片机转速偏离." in full  # the hold, a blocker
    assert "Material lot YL2611001 (阿莫西林) used by this batch is Quarantine, not released." in full
    assert found["material_balance"].message == "制粒: 97.56 % (limits 95.00–101.00 %, formula v1)."


def test_a_decided_review_reads_its_corrections_only_when_it_has_some(
    review_batch, p, en, designation, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Issue 12 / R-REL-6: the review's query says whether it was ever corrected; an uncorrected
    decision's page reads no correction rows, a corrected one's lists the correction."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.MEDIA_ROOT = tmp_path
    to_stage(review_batch, p, Stage.QP)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    client = en(p.qa)
    page = reverse("release:batch_review", args=[review_batch.pk])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(page)
    before = response.content.decode()
    assert "correction_form" in response.context  # no correction pending: QA may prepare one
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('SELECT "release_reviewcorrection".')]
    assert 'data-testid="corrections"' in before  # QA's form to request one
    assert "原审核单备注笔误" not in before
    services.review_correction_request(
        batch=review_batch,
        user=p.qa,
        password=PASSWORD,
        item_key="P-4.2.7",
        correction="批生产记录第12页复核人签名日期应为2026-11-03",
        reason="原审核单备注笔误",
    )
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(page)
    after = response.content.decode()
    assert "correction_form" not in response.context  # one at a time: the pending one was seen
    assert [q for q in ctx.captured_queries if q["sql"].startswith('SELECT "release_reviewcorrection".')]
    assert "原审核单备注笔误" in after and "批生产记录第12页复核人签名日期应为2026-11-03" in after


def test_signed_answers_are_escaped_and_show_every_part():
    """Issue 12: a signed step's answers are built in Python (not a template loop): the item's text,
    the answer, the system finding, the comment, the justification and the deviation, each escaped
    as a template would; an answer without a finding reads "—"."""
    from types import SimpleNamespace

    from release.views.reviews import answers_html

    html = str(
        answers_html(
            [
                {
                    "key": "P-4.2.14",
                    "item": SimpleNamespace(text="偏差 <处理>"),
                    "answer_label": "Conforms",
                    "system": {"status": "ok", "message": "No open deviation; 1 closed & <b>x</b>."},
                    "system_label": "ok",
                    "comment": '"见附件"',
                    "justification": "<script>1</script>",
                    "deviation": "DEV-2026-0001",
                },
                {
                    "key": "P-4.2.1",
                    "item": None,
                    "answer_label": "N/A",
                    "system": None,
                    "system_label": "",
                    "comment": "",
                },
            ]
        )
    )
    assert "<td><strong>P-4.2.14</strong> 偏差 &lt;处理&gt;</td><td>Conforms</td>" in html
    assert "<td>ok · No open deviation; 1 closed &amp; &lt;b&gt;x&lt;/b&gt;.</td>" in html
    assert "<td>&quot;见附件&quot;<br><em>&lt;script&gt;1&lt;/script&gt;</em><br>DEV-2026-0001</td>" in html
    assert "<tr><td><strong>P-4.2.1</strong> </td><td>N/A</td><td>—</td><td></td></tr>" in html
