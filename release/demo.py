"""Demo products and batches for ``manage.py seed_demo`` (idempotent)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from release import services
from release.models import Batch, DosageForm, Product

PRODUCTS = [
    dict(
        name="阿莫西林胶囊",
        generic_name="阿莫西林胶囊 Amoxicillin Capsules",
        dosage_form=DosageForm.CAPSULE,
        strength="0.25g",
        pack_size="12粒×2板/盒",
        approval_number="国药准字H20000001",
        shelf_life_months=24,
        storage_conditions="遮光，密封，在干燥处保存",
        mah="示例制药有限公司",
        manufacturer="示例制药有限公司",
        requires_two_stage_release=False,
        requires_lot_release_certificate=False,
    ),
    dict(
        name="布洛芬片",
        generic_name="布洛芬片 Ibuprofen Tablets",
        dosage_form=DosageForm.TABLET,
        strength="0.2g",
        pack_size="12片×2板/盒",
        approval_number="国药准字H20000002",
        shelf_life_months=36,
        storage_conditions="密封保存",
        mah="示例制药有限公司",
        manufacturer="示例制药有限公司",
        requires_two_stage_release=True,
        requires_lot_release_certificate=False,
    ),
    dict(
        name="维生素C注射液",
        generic_name="维生素C注射液 Vitamin C Injection",
        dosage_form=DosageForm.INJECTION,
        strength="2ml:0.5g",
        pack_size="2ml×10支/盒",
        approval_number="国药准字H20000003",
        shelf_life_months=24,
        storage_conditions="遮光，密闭保存",
        mah="示例制药有限公司",
        manufacturer="示例制药有限公司",
        requires_two_stage_release=False,
        requires_lot_release_certificate=False,
    ),
]

BATCHES = [
    # (approval number, batch number, size, unit, manufacture date, site)
    ("国药准字H20000001", "A2410001", Decimal("300000"), "capsules", date(2024, 10, 8), "固体制剂车间一"),
    ("国药准字H20000001", "A2411002", Decimal("300000"), "capsules", date(2024, 11, 12), "固体制剂车间一"),
    ("国药准字H20000001", "A2611003", Decimal("300000"), "capsules", date(2026, 11, 3), "固体制剂车间一"),
    ("国药准字H20000002", "B2609001", Decimal("500000"), "tablets", date(2026, 9, 21), "固体制剂车间二"),
    ("国药准字H20000002", "B2610002", Decimal("500000"), "tablets", date(2026, 10, 19), "固体制剂车间二"),
]


def seed(*, users, password: str, stdout) -> None:
    admin, qa, production = users["admin"], users["qa_reviewer"], users["production_reviewer"]
    for data in PRODUCTS:
        product = Product.objects.filter(approval_number=data["approval_number"]).first()
        if product is None:
            product = services.product_create(user=admin, data=data)
            stdout.write(f"created product {product}")
        # The injection stays in draft so the QA reviewer has something waiting.
        if product.status == Product.Status.DRAFT and data["dosage_form"] != DosageForm.INJECTION:
            services.product_approve(product=product, user=qa, password=password, comment="主数据核对无误")
    for approval_number, number, size, unit, made, site in BATCHES:
        product = Product.objects.get(approval_number=approval_number)
        if Batch.objects.filter(product=product, batch_number=number).exists():
            continue
        batch = services.batch_create(
            user=production,
            data=dict(
                product=product,
                batch_number=number,
                batch_size=size,
                batch_size_unit=unit,
                manufacture_date=made,
                site=site,
            ),
        )
        stdout.write(f"registered batch {batch}")
        if number == "A2411002":
            # A correction with its reason, for the audit-trail demo.
            services.batch_update(
                batch=batch,
                user=qa,
                data={"site": "固体制剂车间三"},
                reason="批生产记录核对：实际生产车间为车间三",
            )
        if number == "A2410001":
            services.batch_void(batch=batch, user=qa, password=password, reason="批号登记错误，重复登记")
    seed_holds(users=users)
    seed_quality_events(users=users, password=password)


def seed_holds(*, users) -> None:
    """One active hold, so the batch page shows the shipping gate's refusal."""
    from release.models import BatchHold

    batch = Batch.objects.get(product__approval_number="国药准字H20000002", batch_number="B2610002")
    if not BatchHold.objects.filter(batch=batch).exists():
        services.hold_place(
            batch=batch,
            user=users["qa_reviewer"],
            reason="包装车间环境监测超标，待调查",
            source_text="EM-2026-118",
        )


def seed_quality_events(*, users, password: str) -> None:
    """An open deviation (it blocks A2611003's release) and a closed change control."""
    from release.models import ChangeControl, Deviation

    production, qa = users["production_reviewer"], users["qa_reviewer"]
    batch = Batch.objects.get(product__approval_number="国药准字H20000001", batch_number="A2611003")
    if not Deviation.objects.filter(title="制粒工序干燥温度偏离").exists():
        services.deviation_create(
            user=production,
            data={
                "title": "制粒工序干燥温度偏离",
                "description": "流化床干燥温度记录最高 68℃，超出工艺规程 55–65℃。",
                "classification": "major",
            },
            batches=[batch],
        )
    if not ChangeControl.objects.filter(title="更换胶囊壳供应商").exists():
        cc = services.change_control_create(
            user=production,
            data={
                "title": "更换胶囊壳供应商",
                "description": "新增胶囊壳供应商，已完成供应商审计与三批样品检验。",
                "classification": "minor",
            },
        )
        services.change_control_update(
            change_control=cc,
            user=production,
            data={"investigation": "对已生产批次无影响。", "conclusion": "变更可实施。"},
            reason="评估完成",
        )
        services.change_control_close(change_control=cc, user=qa, password=password, comment="同意关闭")
