"""One rule per action: the page, the My-work queue and the service agree (R-SEQ-2, R-QC-4).

For each "may this person do it now" predicate (``services.cannot_<verb>_<thing>``) the person
refused by the service is told why on the page (no signing form), does not find the record in
their queue, and is refused by the service with the same message; a person the rule allows gets
the form, the queue entry and the signature.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.work import queues_for as queues
from core.workflow import WorkflowError
from qc_records import services
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED, fill, make_spec


def queued_urls(user, key: str) -> set[str]:
    return {item.url for queue in queues(user) if queue.key == key for item in queue.items}


def page(client, url: str) -> str:
    return client.get(url).content.decode()


def assert_refused_everywhere(*, reason, client, page_url, form_action, refusal_testid, queue_urls, url, call):
    html = page(client, page_url)
    assert reason and reason in html and f'data-testid="{refusal_testid}"' in html
    assert f'action="{form_action}"' not in html
    assert url not in queue_urls
    with pytest.raises(WorkflowError) as refused:
        call()
    assert str(refused.value) == reason


def assert_allowed_everywhere(*, reason, client, page_url, form_action, refusal_testid, queue_urls, url):
    html = page(client, page_url)
    assert reason is None and f'data-testid="{refusal_testid}"' not in html
    assert f'action="{form_action}"' in html
    assert url in queue_urls


def test_specification_author_cannot_approve_it_on_page_queue_or_service(qc, client_for, approved_product):
    """R-SEQ-2: the head wrote the draft; QA approves it. (The page used to offer the author the form.)"""
    spec = make_spec(author=qc.head, approver=None, product=approved_product, code="ZL-BZ-PRED-1")
    action = reverse("qc_records:spec_approve", args=[spec.pk])
    url = spec.get_absolute_url()
    assert_refused_everywhere(
        reason=services.cannot_approve_specification(spec, qc.head),
        client=client_for(qc.head),
        page_url=url,
        form_action=action,
        refusal_testid="approve-refusal",
        queue_urls=queued_urls(qc.head, "qc_specs_to_approve"),
        url=url,
        call=lambda: services.specification_approve(spec=spec, user=qc.head, password=PASSWORD),
    )
    assert_allowed_everywhere(
        reason=services.cannot_approve_specification(spec, qc.qa),
        client=client_for(qc.qa),
        page_url=url,
        form_action=action,
        refusal_testid="approve-refusal",
        queue_urls=queued_urls(qc.qa, "qc_specs_to_approve"),
        url=url,
    )
    services.specification_approve(spec=spec, user=qc.qa, password=PASSWORD)


def test_a_tester_cannot_review_on_page_queue_or_service(qc, make_user, client_for, draft_record, instrument, reagent):
    """R-QC-4, R-SEQ-2: someone who entered results (without starting or submitting the record) is a
    tester too; the review queue used to list the record to them while the service refused them."""
    helper = make_user("qc_analyst", "qc_reviewer", username="helper")
    fill(draft_record, helper, instrument=instrument, reagent=reagent)
    # Every analyst who entered results signs "Tested" for them (issue 7 deliverable 6).
    services.record_sign_tested(record=draft_record, user=helper, password=PASSWORD)
    record, _opened = services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    action = reverse("qc_records:record_review", args=[record.pk])
    url = record.get_absolute_url()
    assert_refused_everywhere(
        reason=services.cannot_review_record(record, helper),
        client=client_for(helper),
        page_url=url,
        form_action=action,
        refusal_testid="review-refusal",
        queue_urls=queued_urls(helper, "qc_to_review"),
        url=url,
        call=lambda: services.record_review(checklist=ALL_CONFIRMED, record=record, user=helper, password=PASSWORD),
    )
    assert_allowed_everywhere(
        reason=services.cannot_review_record(record, qc.reviewer),
        client=client_for(qc.reviewer),
        page_url=url,
        form_action=action,
        refusal_testid="review-refusal",
        queue_urls=queued_urls(qc.reviewer, "qc_to_review"),
        url=url,
    )
    services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)


def test_the_reviewer_cannot_approve_on_page_queue_or_service(qc, make_user, client_for, submitted_record, settings):
    """R-SEQ-2: one person, one stage — whoever reviewed the record does not approve its report."""
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    reviewer_and_head = make_user("qc_reviewer", "qc_head", username="reviewer_and_head")
    record = services.record_review(
        checklist=ALL_CONFIRMED, record=submitted_record, user=reviewer_and_head, password=PASSWORD
    )
    action = reverse("qc_records:record_approve", args=[record.pk])
    url = record.get_absolute_url()
    assert_refused_everywhere(
        reason=services.cannot_approve_record(record, reviewer_and_head),
        client=client_for(reviewer_and_head),
        page_url=url,
        form_action=action,
        refusal_testid="approve-refusal",
        queue_urls=queued_urls(reviewer_and_head, "qc_to_approve"),
        url=url,
        call=lambda: services.record_approve(record=record, user=reviewer_and_head, password=PASSWORD),
    )
    assert_allowed_everywhere(
        reason=services.cannot_approve_record(record, qc.head),
        client=client_for(qc.head),
        page_url=url,
        form_action=action,
        refusal_testid="approve-refusal",
        queue_urls=queued_urls(qc.head, "qc_to_approve"),
        url=url,
    )
    services.record_approve(record=record, user=qc.head, password=PASSWORD)


def test_a_tester_cannot_close_the_oos_investigation_on_page_or_service(
    qc, make_user, client_for, draft_record, instrument, reagent
):
    """R-QC-5, R-SEQ-2: whoever entered the failing result does not judge it (OOS investigations
    have no personal queue: the open-OOS list serves investigators and closers alike)."""
    tester_and_closer = make_user("qc_analyst", "qa_reviewer", username="tester_and_closer")
    fill(draft_record, tester_and_closer, instrument=instrument, reagent=reagent, overrides={"含量测定": "93.2"})
    (oos,) = draft_record.oos_investigations.all()  # opened when the failing value was saved (R-QC-5)
    services.record_sign_tested(record=draft_record, user=tester_and_closer, password=PASSWORD)
    record, opened = services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    assert opened == []
    services.oos_update(oos=oos, user=qc.head, data={"phase1_findings": "稀释倍数计算错误", "assignable_cause": True})
    action = reverse("qc_records:oos_close", args=[oos.pk])
    reason = services.cannot_close_oos(oos, tester_and_closer)
    html = page(client_for(tester_and_closer), oos.get_absolute_url())
    assert reason and reason in html and 'data-testid="close-refusal"' in html and f'action="{action}"' not in html
    with pytest.raises(WorkflowError) as refused:
        services.oos_close(
            oos=oos, user=tester_and_closer, password=PASSWORD, outcome="lab_error", summary="实验室差错，复测"
        )
    assert str(refused.value) == reason

    assert services.cannot_close_oos(oos, qc.qa) is None
    html = page(client_for(qc.qa), oos.get_absolute_url())
    assert f'action="{action}"' in html and 'data-testid="close-refusal"' not in html
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="实验室差错，复测")
