"""QC fixtures: every state comes from the real services (with real signatures and history)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from qc_records import services
from qc_records.models import Category, TestRecord
from qc_records.services import ResultEntry
from tests.factories import PASSWORD, BatchFactory, InstrumentFactory, ReagentFactory

# (name, kind, lower, upper, decimals, unit, text, replicates)
ITEMS = [
    ("性状", "text", None, None, None, "", "应为白色或类白色粉末", 1),
    ("鉴别", "text", None, None, None, "", "应呈正反应", 1),
    ("含量测定", "numeric", Decimal("95.0"), Decimal("105.0"), 1, "%", "", 1),
    ("溶出度", "numeric", Decimal("80"), None, 0, "%", "", 3),
    ("有关物质", "numeric", None, Decimal("1.0"), 1, "%", "", 1),
    ("微生物限度", "report", None, None, None, "cfu/g", "", 1),
]

# A passing value per item name (text items: a description and "complies").
PASSING = {
    "性状": "白色粉末",
    "鉴别": "呈正反应",
    "含量测定": "99.6",
    "溶出度": "92",
    "有关物质": "0.3",
    "微生物限度": "<10",
}


@pytest.fixture(autouse=True)
def english():
    """Messages are matched in English (the site's default language is 简体中文)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def client_for():
    """A test client signed in as the given user, who chose English with the language switcher."""
    from django.conf import settings
    from django.test import Client

    def make(user) -> Client:
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        client.force_login(user)
        return client

    return make


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


def make_spec(
    *, author, approver, product=None, code="ZL-BZ-CP-001", items=ITEMS, category=Category.FINISHED_PRODUCT, material=""
):
    spec = services.specification_create(
        user=author,
        data=dict(
            code=code,
            title="测试质量标准",
            category=category,
            product=product,
            material_name=material,
            standard_reference="中国药典2025年版二部 第123页",
        ),
    )
    for position, (name, kind, lo, hi, dec, unit, text, reps) in enumerate(items, start=1):
        services.specification_item_add(
            spec=spec,
            user=author,
            data=dict(
                position=position,
                name=name,
                name_en="",
                method_reference="ChP 2025 四部",
                criterion_kind=kind,
                lower_limit=lo,
                upper_limit=hi,
                decimals=dec,
                unit=unit,
                text_criterion=text,
                replicates=reps,
            ),
        )
    if approver is not None:
        spec = services.specification_approve(spec=spec, user=approver, password=PASSWORD)
    return spec


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


def entries_for(record: TestRecord, overrides: dict | None = None) -> dict[int, ResultEntry]:
    """A passing ResultEntry for every current result; ``overrides`` maps item name → value
    (or (replicate, value) pairs in a dict for one replicate)."""
    overrides = overrides or {}
    out = {}
    for result in record.results.select_related("item").filter(voided_at__isnull=True):
        name = result.item.name
        value = PASSING[name]
        o = overrides.get(name)
        if isinstance(o, dict):
            value = o.get(result.replicate, value)
        elif o is not None:
            value = o
        if result.item.criterion_kind == "text":
            out[result.pk] = ResultEntry(value_text=value, complies=(o is None or o is True))
        else:
            out[result.pk] = ResultEntry(value_text=value, calculation="按外标法计算")
    return out


def fill(record, user, *, instrument=None, reagent=None, overrides=None, reason=""):
    return services.record_update(
        record=record,
        user=user,
        header=dict(temperature=Decimal("22.5"), humidity=Decimal("55.0"), observations="供试品溶液澄清"),
        results=entries_for(record, overrides),
        instruments=[instrument] if instrument else [],
        reagents=[reagent] if reagent else [],
        reason=reason,
    )


@pytest.fixture
def filled_record(qc, draft_record, instrument, reagent):
    return fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent)


@pytest.fixture
def submitted_record(qc, filled_record):
    record, _opened = services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    return record


@pytest.fixture
def reviewed_record(qc, submitted_record):
    return services.record_review(record=submitted_record, user=qc.reviewer, password=PASSWORD)


@pytest.fixture
def approved_record(qc, reviewed_record, settings):
    settings.QC_ISSUE_REPORT_ON_APPROVAL = False
    return services.record_approve(record=reviewed_record, user=qc.head, password=PASSWORD)


@pytest.fixture
def oos_record(qc, draft_record, instrument, reagent):
    """A submitted record whose assay (含量测定) failed: one OOS investigation open."""
    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"含量测定": "93.2"})
    record, opened = services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    assert len(opened) == 1
    return record
