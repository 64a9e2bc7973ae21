"""Helpers shared by the QC tests: specification items, passing values, and states reached through
the real services (with real signatures and history). Fixtures live in conftest.py."""

from __future__ import annotations

from decimal import Decimal

from qc_records import services
from qc_records.models import Category, TestRecord
from qc_records.services import ResultEntry
from tests.factories import PASSWORD

# (name, kind, lower, upper, decimals, unit, text, replicates)
ITEMS = [
    ("性状", "text", None, None, None, "", "应为白色或类白色粉末", 1),
    ("鉴别", "text", None, None, None, "", "应呈正反应", 1),
    ("含量测定", "numeric", Decimal("95.0"), Decimal("105.0"), 1, "%", "", 1),
    ("溶出度", "numeric", Decimal("80"), None, 0, "%", "", 3),
    ("有关物质", "numeric", None, Decimal("1.0"), 1, "%", "", 1),
    ("微生物限度", "report", None, None, None, "cfu/g", "", 1),
]

# The reviewer confirms every item of the review checklist (检验原始记录管理规程 4.2.1 ①–⑥ + audit trail).
ALL_CONFIRMED = {key: True for key, _label in services.REVIEW_CHECKLIST}
# The same, as the review form posts it.
REVIEW_POST = {f"review-{key}": "on" for key, _label in services.REVIEW_CHECKLIST}

# A passing value per item name (text items: a description and "complies").
PASSING = {
    "性状": "白色粉末",
    "鉴别": "呈正反应",
    "含量测定": "99.6",
    "溶出度": "92",
    "有关物质": "0.3",
    "微生物限度": "<10",
}


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


def assay_result(record):
    """The current assay (含量测定) result of a record made with ``make_spec``."""
    return record.results.get(item__name="含量测定", voided_at__isnull=True)
