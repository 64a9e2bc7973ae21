"""R-SIG-2: the meaning a person reads on a signing form before signing is the meaning the
Signature row records. Walks every signing form of qc_records: it reads the meaning rendered on the
page, posts the form, and compares with the row written. The form takes its meaning from the
service (``services.<service>.meaning``), so this also guards against a form typing its own (the
purge form once announced "Voided" while the service recorded "Raw data destroyed")."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Signature
from qc_records import services
from qc_records.models import Category, LedgerArchive, OOSInvestigation
from tests.factories import PASSWORD, BatchFactory
from tests.qc_records.helpers import ALL_CONFIRMED, REVIEW_POST, fill, make_spec


def meaning_shown(client, page_url: str, action_url: str) -> str:
    """The meaning announced by the signing form posting to ``action_url`` on ``page_url``."""
    html = client.get(page_url).content.decode()
    match = re.search(
        rf'action="{re.escape(action_url)}"[^>]*>.*?with the meaning <strong>(.*?)</strong>', html, re.DOTALL
    )
    assert match, f"no signing form for {action_url} on {page_url}"
    return match.group(1)


def meaning_recorded(record) -> str:
    signature = Signature.objects.for_record(record).order_by("-signed_at", "-pk").first()
    return str(Signature.Meaning(signature.meaning).label)


def sign_through_page(client, page_url: str, action_url: str, data: dict, record) -> tuple[str, str]:
    shown = meaning_shown(client, page_url, action_url)
    response = client.post(action_url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return shown, meaning_recorded(record)


def test_specification_approval_shows_the_meaning_it_records(qc, client_for, approved_product):
    """R-SIG-2"""
    spec = make_spec(author=qc.head, approver=None, product=approved_product, code="ZL-BZ-SIG-1")
    shown, recorded = sign_through_page(
        client_for(qc.qa),
        spec.get_absolute_url(),
        reverse("qc_records:spec_approve", args=[spec.pk]),
        {"approve-password": PASSWORD},
        spec,
    )
    assert shown == recorded == str(Signature.Meaning.APPROVED.label)


def test_record_submission_shows_the_meaning_it_records(qc, client_for, filled_record):
    """R-SIG-2"""
    shown, recorded = sign_through_page(
        client_for(qc.analyst),
        filled_record.get_absolute_url(),
        reverse("qc_records:record_submit", args=[filled_record.pk]),
        {"submit-password": PASSWORD},
        filled_record,
    )
    assert shown == recorded == str(Signature.Meaning.TESTED.label)


def test_co_analyst_signature_shows_the_meaning_it_records(qc, client_for, make_user, filled_record):
    """R-SIG-2; 检验记录和检验报告管理规程 1.2′.9: a second analyst signs "Tested" for their results."""
    second = make_user("qc_analyst", username="co_analyst", full_name="王二")
    micro = filled_record.results.get(item__name="微生物限度")
    services.record_update(
        record=filled_record,
        user=second,
        reason="微生物限度由王二检验",
        results={micro.pk: services.ResultEntry(value_text="<20", calculation=micro.calculation)},
    )
    shown, recorded = sign_through_page(
        client_for(second),
        filled_record.get_absolute_url(),
        reverse("qc_records:record_sign_tested", args=[filled_record.pk]),
        {"cosign-password": PASSWORD},
        filled_record,
    )
    assert shown == recorded == str(Signature.Meaning.TESTED.label)


def test_reopening_an_approved_record_shows_the_meanings_it_records(qc, client_for, approved_record):
    """R-SIG-2, R-QC-10: the QC head's request and QA's approval, each on the record page."""
    shown, recorded = sign_through_page(
        client_for(qc.head),
        approved_record.get_absolute_url(),
        reverse("qc_records:record_reopen_request", args=[approved_record.pk]),
        {"reopenreq-password": PASSWORD, "reopenreq-reason": "观察记录漏记"},
        approved_record,
    )
    assert shown == recorded == str(Signature.Meaning.UNLOCKED.label)
    shown, recorded = sign_through_page(
        client_for(qc.qa),
        approved_record.get_absolute_url(),
        reverse("qc_records:record_reopen", args=[approved_record.pk]),
        {"reopen-password": PASSWORD},
        approved_record,
    )
    assert shown == recorded == str(Signature.Meaning.UNLOCKED.label)


def test_record_review_shows_the_meaning_it_records(qc, client_for, submitted_record):
    """R-SIG-2"""
    shown, recorded = sign_through_page(
        client_for(qc.reviewer),
        submitted_record.get_absolute_url(),
        reverse("qc_records:record_review", args=[submitted_record.pk]),
        {"review-password": PASSWORD, **REVIEW_POST},
        submitted_record,
    )
    assert shown == recorded == str(Signature.Meaning.REVIEWED.label)


def test_record_approval_shows_the_meaning_it_records(qc, client_for, reviewed_record, settings):
    """R-SIG-2"""
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    shown, recorded = sign_through_page(
        client_for(qc.head),
        reviewed_record.get_absolute_url(),
        reverse("qc_records:record_approve", args=[reviewed_record.pk]),
        {"approve-password": PASSWORD},
        reviewed_record,
    )
    assert shown == recorded == str(Signature.Meaning.APPROVED.label)


def test_record_voiding_shows_the_meaning_it_records(qc, client_for, draft_record):
    """R-SIG-2"""
    shown, recorded = sign_through_page(
        client_for(qc.analyst),
        draft_record.get_absolute_url(),
        reverse("qc_records:record_void", args=[draft_record.pk]),
        {"void-password": PASSWORD, "void-reason": "样品登记错误"},
        draft_record,
    )
    assert shown == recorded == str(Signature.Meaning.VOIDED.label)


@pytest.fixture
def record_past_retention(qc, spec, approved_product, instrument, reagent, settings):
    """An approved record of a batch whose expiry + 1 year is already past (R-REC-2)."""
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    today = timezone.localdate()
    batch = BatchFactory(
        product=approved_product,
        manufacture_date=today - timedelta(days=5 * 365),
        expiry_date=today - timedelta(days=2 * 365),
        last_changed_by=qc.qa,
    )
    sample = services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.FINISHED_PRODUCT,
            specification=spec,
            batch=batch,
            quantity=Decimal("60"),
            quantity_unit="粒",
            received_date=today - timedelta(days=1),
        ),
    )
    record = fill(
        services.record_create(sample=sample, user=qc.analyst), qc.analyst, instrument=instrument, reagent=reagent
    )
    record, _opened = services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    record = services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    return services.record_approve(record=record, user=qc.head, password=PASSWORD)


def test_purging_raw_data_shows_the_meaning_it_records(qc, client_for, record_past_retention):
    """R-SIG-2, R-REC-2: the purge form announces "Raw data destroyed after retention", not "Voided"."""
    record = record_past_retention
    shown, recorded = sign_through_page(
        client_for(qc.head),
        record.get_absolute_url(),
        reverse("qc_records:record_purge", args=[record.pk]),
        {"purge-password": PASSWORD, "purge-reason": "保存期满"},
        record,
    )
    assert shown == recorded == str(Signature.Meaning.PURGED.label)
    assert shown != str(Signature.Meaning.VOIDED.label)


def test_closing_an_oos_investigation_shows_the_meaning_it_records(qc, client_for, oos_record):
    """R-SIG-2, R-QC-5"""
    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.head, data={"phase1_findings": "稀释倍数计算错误", "assignable_cause": True})
    shown, recorded = sign_through_page(
        client_for(qc.qa),
        oos.get_absolute_url(),
        reverse("qc_records:oos_close", args=[oos.pk]),
        {"close-password": PASSWORD, "close-outcome": "lab_error", "close-summary": "实验室差错，复测"},
        oos,
    )
    assert shown == recorded == str(Signature.Meaning.CLOSED.label)


def test_archiving_and_reopening_a_month_show_the_meanings_they_record(qc, client_for):
    """R-SIG-2, R-QC-8: both signing forms on the ledger page."""
    head = client_for(qc.head)
    last_month = timezone.localdate().replace(day=1) - timedelta(days=1)
    month = last_month.strftime("%Y-%m")
    ledger_url = f"{reverse('qc_records:ledger')}?month={month}&category=water"
    shown = meaning_shown(head, ledger_url, reverse("qc_records:ledger_archive"))
    response = head.post(
        reverse("qc_records:ledger_archive"), {"arch-month": month, "arch-category": "water", "arch-password": PASSWORD}
    )
    assert response.status_code == 302
    archive = LedgerArchive.objects.get()
    assert shown == meaning_recorded(archive) == str(services.ledger_archive.meaning.label)

    reopen_url = reverse("qc_records:ledger_reopen", args=[archive.pk])
    shown, recorded = sign_through_page(
        head, ledger_url, reopen_url, {"reopen-password": PASSWORD, "reopen-reason": "补录"}, archive
    )
    assert shown == recorded == str(Signature.Meaning.UNLOCKED.label)


def test_every_signing_service_declares_its_meaning():
    """R-SIG-2: a signing service owns its meaning (``@signs``); its form reads it from there."""
    signing = {
        services.specification_approve: Signature.Meaning.APPROVED,
        services.record_submit: Signature.Meaning.TESTED,
        services.record_sign_tested: Signature.Meaning.TESTED,
        services.record_reopen_request: Signature.Meaning.UNLOCKED,
        services.record_reopen: Signature.Meaning.UNLOCKED,
        services.record_review: Signature.Meaning.REVIEWED,
        services.record_approve: Signature.Meaning.APPROVED,
        services.record_void: Signature.Meaning.VOIDED,
        services.record_purge: Signature.Meaning.PURGED,
        services.oos_close: Signature.Meaning.CLOSED,
        services.ledger_archive: Signature.Meaning.ARCHIVED,
        services.ledger_reopen: Signature.Meaning.UNLOCKED,
    }
    for service, meaning in signing.items():
        assert service.meaning == meaning, service.__name__
