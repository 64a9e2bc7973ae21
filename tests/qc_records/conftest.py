"""QC fixtures: every state comes from the real services (with real signatures and history)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from qc_records import services
from qc_records.models import Category, TestRecord
from tests.factories import PASSWORD, BatchFactory, InstrumentFactory, ReagentFactory
from tests.qc_records.helpers import ALL_CONFIRMED, fill, make_spec


@pytest.fixture(autouse=True)
def english():
    """Messages are matched in English (the site's default language is 简体中文)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def client_language() -> str:
    """The QC pages are read in English in these tests (``client_for`` in tests/conftest.py sets
    the language cookie, as a person choosing English with the language switcher would)."""
    return "en"


@pytest.fixture
def qc(users) -> SimpleNamespace:
    return SimpleNamespace(
        analyst=users["qc_analyst"],
        reviewer=users["qc_reviewer"],
        head=users["qc_head"],
        qa=users["qa_reviewer"],
        qp=users["qualified_person"],
        auditor=users["auditor"],
        admin=users["admin"],
    )


@pytest.fixture
def spec(qc, approved_product):
    return make_spec(author=qc.head, approver=qc.qa, product=approved_product)


@pytest.fixture
def batch(approved_product, qc):
    return BatchFactory(product=approved_product, last_changed_by=qc.qa)


@pytest.fixture
def instrument(qc):
    return InstrumentFactory(last_changed_by=qc.head)


@pytest.fixture
def reagent(qc):
    return ReagentFactory(last_changed_by=qc.head)


@pytest.fixture
def sample(qc, spec, batch):
    return services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.FINISHED_PRODUCT,
            specification=spec,
            batch=batch,
            quantity=Decimal("60"),
            quantity_unit="粒",
            received_date=timezone.localdate() - timedelta(days=1),
        ),
    )


@pytest.fixture
def draft_record(qc, sample) -> TestRecord:
    return services.record_create(sample=sample, user=qc.analyst)


@pytest.fixture
def filled_record(qc, draft_record, instrument, reagent):
    return fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent)


@pytest.fixture
def submitted_record(qc, filled_record):
    record, _opened = services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    return record


@pytest.fixture
def reviewed_record(qc, submitted_record):
    return services.record_review(checklist=ALL_CONFIRMED, record=submitted_record, user=qc.reviewer, password=PASSWORD)


@pytest.fixture
def approved_record(qc, reviewed_record, settings):
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    return services.record_approve(record=reviewed_record, user=qc.head, password=PASSWORD)


@pytest.fixture
def oos_record(qc, draft_record, instrument, reagent):
    """A submitted record whose assay (含量测定) failed: one OOS investigation open, opened when the
    failing value was saved (R-QC-5), none more at submission."""
    from qc_records.models import OOSInvestigation

    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"含量测定": "93.2"})
    assert OOSInvestigation.objects.filter(record=draft_record).count() == 1
    record, opened = services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    assert opened == [] and OOSInvestigation.objects.filter(record=record).count() == 1
    return record
