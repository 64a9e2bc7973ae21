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
    # Release demo: waiting for production review; waiting for the QP (testing 不合格: no QC record).
    ("国药准字H20000001", "A2611004", Decimal("300000"), "capsules", date(2026, 11, 20), "固体制剂车间一"),
    ("国药准字H20000001", "A2610006", Decimal("300000"), "capsules", date(2026, 10, 26), "固体制剂车间一"),
    # Release demo: waiting for the QA stamp; factory released and waiting for market release
    # (ibuprofen is a two-stage product). Both have an approved QC report (qc_records.demo).
    ("国药准字H20000001", "A2611007", Decimal("300000"), "capsules", date(2026, 11, 10), "固体制剂车间一"),
    ("国药准字H20000002", "B2611003", Decimal("500000"), "tablets", date(2026, 11, 5), "固体制剂车间二"),
    # In quarantine with an approved QC report: ready for its release review to start (the browser
    # test walks it through every stage).
    ("国药准字H20000001", "A2611008", Decimal("300000"), "capsules", date(2026, 11, 12), "固体制剂车间一"),
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
    seed_materials(users=users, password=password)


MATERIAL_LOTS = [
    # (lot number, material, code, supplier, supplier lot, received, quantity, unit, expiry, released)
    (
        "YL2409001",
        "阿莫西林",
        "YL-001",
        "示例原料药有限公司",
        "AMX-2409-12",
        date(2024, 9, 20),
        "400",
        "kg",
        date(2027, 9, 19),
        True,
    ),
    (
        "FL2409002",
        "硬脂酸镁",
        "FL-007",
        "示例辅料有限公司",
        "MS-0918",
        date(2024, 9, 22),
        "50",
        "kg",
        date(2027, 9, 21),
        True,
    ),
    (
        "BC2409003",
        "空心胶囊（1号）",
        "BC-002",
        "示例胶囊有限公司",
        "JN-2409-3",
        date(2024, 9, 25),
        "2000000",
        "pieces",
        date(2026, 12, 24),
        True,
    ),
    (
        "YL2608004",
        "布洛芬",
        "YL-012",
        "示例原料药有限公司",
        "IBU-2608-05",
        date(2026, 8, 18),
        "300",
        "kg",
        date(2029, 8, 17),
        True,
    ),
    # In quarantine: A2611004 was made with it, so its release is blocked until QA releases the lot.
    (
        "YL2611005",
        "阿莫西林",
        "YL-001",
        "示例原料药有限公司",
        "AMX-2611-02",
        date(2026, 11, 10),
        "400",
        "kg",
        date(2029, 11, 9),
        False,
    ),
]
BILLS_OF_MATERIALS = {
    # batch number: [(lot number, quantity used)]
    "A2411002": [("YL2409001", "75"), ("FL2409002", "0.8"), ("BC2409003", "300000")],
    "A2610006": [("YL2409001", "75"), ("FL2409002", "0.8")],
    "B2609001": [("YL2608004", "100")],
    "A2611004": [("YL2611005", "75"), ("FL2409002", "0.8")],
}
MATERIAL_BALANCES = {
    # batch number: [(step, theoretical, actual, samples, waste, unit)]
    "A2411002": [
        ("制粒", "76.500", "75.820", "0.150", "0.210", "kg"),
        ("胶囊填充", "300000", "296850", "600", "1200", "pieces"),
    ],
    "B2609001": [("压片", "100.000", "98.700", "0.200", "0.350", "kg")],
}


def seed_materials(*, users, password: str) -> None:
    """Material lots released by QA (and one in quarantine), the bills of materials of the demo
    batches and their material balance (R-MAT-1, R-REL-8); idempotent."""
    from release.models import BatchMaterial, MaterialBalance, MaterialLot

    production, qa = users["production_reviewer"], users["qa_reviewer"]
    for number, name, code, supplier, supplier_lot, received, quantity, unit, expiry, released in MATERIAL_LOTS:
        lot = MaterialLot.objects.filter(lot_number=number).first()
        if lot is None:
            lot = services.material_lot_create(
                user=production,
                data=dict(
                    lot_number=number,
                    material_name=name,
                    material_code=code,
                    supplier=supplier,
                    supplier_lot=supplier_lot,
                    received_date=received,
                    quantity=Decimal(quantity),
                    unit=unit,
                    expiry_date=expiry,
                ),
            )
        if released and lot.status == MaterialLot.Status.QUARANTINE:
            services.material_lot_release(lot=lot, user=qa, password=password, comment="检验合格，准予使用")
    for batch_number, lines in BILLS_OF_MATERIALS.items():
        batch = Batch.objects.filter(batch_number=batch_number).first()
        if batch is None or batch.status not in (Batch.Status.QUARANTINE, Batch.Status.UNDER_REVIEW):
            continue
        for lot_number, quantity in lines:
            lot = MaterialLot.objects.get(lot_number=lot_number)
            if not BatchMaterial.objects.filter(batch=batch, lot=lot).exists():
                services.batch_material_add(batch=batch, user=production, lot=lot, quantity=Decimal(quantity))
    for batch_number, rows in MATERIAL_BALANCES.items():
        batch = Batch.objects.filter(batch_number=batch_number).first()
        if batch is None or batch.status not in (Batch.Status.QUARANTINE, Batch.Status.UNDER_REVIEW):
            continue
        for step, theoretical, actual, samples, waste, unit in rows:
            if not MaterialBalance.objects.filter(batch=batch, step=step).exists():
                services.material_balance_add(
                    batch=batch,
                    user=production,
                    data=dict(
                        step=step,
                        theoretical=Decimal(theoretical),
                        actual=Decimal(actual),
                        samples=Decimal(samples),
                        waste=Decimal(waste),
                        unit=unit,
                    ),
                )


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


# --- the release review (after QC's demo: a release needs an approved test report) -------------------


def _answers(stage: str):
    from release.models import ChecklistTemplate

    template = ChecklistTemplate.objects.current(stage)
    return {
        item.key: services.ItemAnswer(
            answer="conforms", justification="已逐项核对批记录原件" if item.system_check else ""
        )
        for item in template.items.all()
    }


def _second_qa(password: str):
    """The release stamp is its own act by another QA person (R-SEQ-2): a second QA reviewer."""
    from django.contrib.auth.models import Group

    from core.models import User

    user = User.objects.filter(username="qa_reviewer2").first()
    if user is None:
        user = User(username="qa_reviewer2", full_name="马丽", email="qa_reviewer2@example.com")
        user.set_password(password)
        user._change_reason = "demo data"
        user.save()
        user.groups.add(Group.objects.get(name="qa_reviewer"))
    return user


def seed_late(*, users, password: str, stdout) -> None:
    """Batches waiting at each stage, one blocked by an open deviation, one released with its
    certificate and one rejected with its nonconforming-product report (idempotent)."""
    from datetime import timedelta

    from django.utils import timezone

    from release import pdf
    from release.models import QPDesignation, ReleaseReview, Stage

    production, qc, qa, qp, admin = (
        users["production_reviewer"],
        users["qc_reviewer"],
        users["qa_reviewer"],
        users["qualified_person"],
        users["admin"],
    )
    stamp = _second_qa(password)
    today = timezone.localdate()
    for approval_number, scope in (("国药准字H20000001", {}), ("国药准字H20000002", {"market_release": False})):
        product = Product.objects.get(approval_number=approval_number)
        if not QPDesignation.objects.filter(person=qp, product=product).exists():
            services.designation_create(
                user=admin,
                person=qp,
                products=[product],
                letter_number="示例制药〔2026〕质授字第1号",
                valid_from=today - timedelta(days=180),
                valid_to=today + timedelta(days=550),
                **scope,
            )

    def batch(number: str) -> Batch:
        return Batch.objects.select_related("product").get(batch_number=number)

    def start(b: Batch) -> bool:
        if ReleaseReview.objects.filter(batch=b).exists() or b.status != Batch.Status.QUARANTINE:
            return False
        services.review_start(batch=b, user=production)
        return True

    def through(b: Batch, last: str, *, testing: str = "pass") -> None:
        order = [Stage.PRODUCTION, Stage.QC, Stage.QA, Stage.STAMP]
        for stage in order[: order.index(last) + 1]:
            if stage == Stage.PRODUCTION:
                services.review_production(batch=b, user=production, password=password, answers=_answers(stage))
            elif stage == Stage.QC:
                services.review_qc(batch=b, user=qc, password=password, answers=_answers(stage))
            elif stage == Stage.QA:
                services.review_qa(
                    batch=b,
                    user=qa,
                    password=password,
                    answers=_answers(stage),
                    production_verdict="pass",
                    testing_verdict=testing,
                    audit_trail_reviewed=True,
                )
            elif stage == Stage.STAMP:
                services.review_stamp(batch=b, user=stamp, password=password)

    # Waiting for production review.
    if start(batch("A2611004")):
        stdout.write("release review started: A2611004")
    # Waiting for QC review.
    b = batch("B2609001")
    if start(b):
        through(b, Stage.PRODUCTION)
    # Waiting for QA, blocked by the open deviation raised on it.
    b = batch("A2611003")
    if start(b):
        through(b, Stage.QC)
    # Evaluated nonconforming (no test record: 不合格, never pending), waiting for the QP to reject.
    b = batch("A2610006")
    if start(b):
        through(b, Stage.QA, testing="fail")
    # Evaluated conforming, waiting for the QA release stamp (a second QA person applies it).
    b = batch("A2611007")
    if start(b):
        through(b, Stage.QA)
        stdout.write("waiting for the release stamp: A2611007")
    # Two-stage product: factory released by the manufacturer's QP, waiting for the MAH's QP.
    b = batch("B2611003")
    if start(b):
        through(b, Stage.STAMP)
        services.review_release(batch=b, user=qp, password=password, comment="出厂放行审核资料完整")
        stdout.write("factory released B2611003; waiting for market release")
    # Released by the QP, with its certificate.
    b = batch("A2411002")
    if start(b):
        through(b, Stage.STAMP)
        services.review_release(batch=b, user=qp, password=password, comment="审核资料真实完整，同意放行")
        stdout.write("released A2411002")
    # Rejected: the assay is out of specification (OOS open); testing 不合格.
    b = batch("B2610002")
    if start(b):
        through(b, Stage.QA, testing="fail")
        services.review_reject(
            batch=b, user=qp, password=password, reason="含量测定结果超出标准规定（OOS），检验不合格"
        )
        stdout.write("rejected B2610002")
    # Issued after commit; inside an outer transaction (tests) that has not happened yet.
    for review in ReleaseReview.objects.decided().select_related("batch"):
        pdf.ensure_documents(review)
