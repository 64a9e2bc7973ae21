"""Demo customers, feedback of every class, complaints and ADR cases for ``manage.py seed_demo``
(idempotent: each record is looked up by its natural key before it is created, through the
same services the pages use, so history and signatures are real)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from aftersales import services
from aftersales.models import ApprovalRole, Customer, CustomerType, CustomerVisit, Feedback, LicenceKind
from release.models import Batch

SEED_AFTER = ("release",)

APPROVERS = {
    ApprovalRole.SALES: "sales",
    ApprovalRole.QA: "qa_reviewer",
    ApprovalRole.FINANCE: "finance",
    ApprovalRole.QUALITY_HEAD: "quality_head",
}

# (name, type, licences (kind, number, valid_to), approvals to give)
CUSTOMERS = [
    (
        "华东医药有限公司",
        CustomerType.DISTRIBUTOR,
        [("drug_business", "浙AA5710001", date(2029, 12, 31)), ("business", "91330100MA0000001X", date(2099, 12, 31))],
        4,
    ),
    # Qualified once, but its drug business licence has expired: sales to it are blocked.
    (
        "仁心大药房有限公司",
        CustomerType.PHARMACY,
        [("drug_business", "浙CB5710002", date(2025, 6, 30)), ("business", "91330100MA0000002X", date(2099, 12, 31))],
        4,
    ),
    (
        "杭州市第一人民医院",
        CustomerType.HOSPITAL,
        [("medical_institution", "PDY00001233010011A1001", date(2030, 6, 30))],
        2,
    ),
    # GSP-5.3.4: an outlet of a retail chain — never supplied.
    ("老百姓大药房连锁股份有限公司西湖店", CustomerType.CHAIN_OUTLET, [], 0),
]


def _customers(users, password, stdout) -> None:
    sales = users["sales"]
    for name, kind, licences, approvals in CUSTOMERS:
        if Customer.objects.filter(name=name).exists():
            continue
        customer = services.customer_create(
            user=sales,
            data=dict(
                name=name,
                customer_type=kind,
                registered_address="浙江省杭州市",
                delivery_address="浙江省杭州市",
                contact_person="采购部",
                phone="0571-88000000",
                seal_name=name,
                notes="",
            ),
        )
        for lkind, number, valid_to in licences:
            services.licence_add(
                customer=customer,
                user=sales,
                data=dict(
                    kind=lkind,
                    number=number,
                    name_on_licence=name,
                    seal_matches=True,
                    scope="化学药制剂、抗生素制剂" if lkind == LicenceKind.DRUG_BUSINESS else "",
                    scope_dosage_forms=["capsule", "tablet", "injection"] if lkind == LicenceKind.DRUG_BUSINESS else [],
                    valid_from=date(2020, 7, 1),
                    valid_to=valid_to,
                ),
            )
        services.person_add(
            customer=customer,
            user=sales,
            data=dict(
                kind="buyer", name="王采购", id_number="", phone="13800000000", authorised_until=date(2027, 12, 31)
            ),
        )
        stdout.write(f"created customer {customer}")
        if approvals:
            customer = services.customer_submit(customer=customer, user=sales)
            for role, username in list(APPROVERS.items())[:approvals]:
                customer = services.customer_approve(
                    customer=customer, user=users[username], role=role, password=password, comment="资料齐全，审核通过"
                )


def _feedback(users, password, stdout) -> None:
    cs, qa, qp = users["customer_service"], users["qa_reviewer"], users["qualified_person"]
    if Feedback.objects.exists():
        return
    batch = Batch.objects.filter(batch_number="A2411002").first()
    other = Batch.objects.filter(batch_number="B2609001").first()
    if batch is None or other is None:
        return
    customer = Customer.objects.filter(name="华东医药有限公司").first()
    now = timezone.now()

    def record(**data):
        base = dict(
            received_at=now - timedelta(hours=3),
            channel="phone",
            customer=None,
            reporter_name="",
            reporter_type="patient",
            reporter_contact="",
            product=None,
            batch=None,
            batch_number="",
            description="",
            classification="enquiry",
            sales_chain_problem="",
            patient="",
        )
        base.update(data)
        fb = services.feedback_record(user=cs, data=base)
        stdout.write(f"recorded feedback {fb} ({fb.get_classification_display()})")
        return fb

    # A quality complaint, investigated and closed with QA's signature; the QP has read it.
    fb = record(
        received_at=now - timedelta(days=12),
        channel="letter",
        customer=customer,
        reporter_name="华东医药有限公司质管部",
        reporter_type="distributor",
        batch=batch,
        description="部分胶囊囊壳粘连，内容物结块",
        classification="quality_complaint",
    )
    complaint = services.complaint_triage(complaint=fb.complaint, user=qa, triage="quality_defect", assigned_to=qa)
    services.complaint_acknowledge(complaint=complaint, user=qp)
    services.complaint_record(
        complaint=complaint,
        user=qa,
        data=dict(
            retained_sample_result="留样检验各项符合规定",
            batch_record_review="批生产记录无偏差",
            other_batches_considered="A2611003",
            other_batches_conclusion="同期其他批次无同类投诉，留样正常",
            root_cause="客户仓库温湿度超标导致受潮",
            recall_needed=False,
            recall_rationale="个案，与产品质量无关，不涉及其他批次",
            reply_at=now - timedelta(days=11),
            reply_content="已书面回复客户，建议改善储存条件",
        ),
    )
    services.complaint_decide_no_hold(
        complaint=complaint, user=qa, reason="受潮系客户储存条件所致，留样合格，同期批次无同类投诉，无需暂停发运"
    )
    services.complaint_close(complaint=complaint, user=qa, password=password, comment="调查完成，结案")
    # A fresh quality complaint waiting for triage (and for the QP to read).
    record(reporter_name="张先生", batch=other, description="药片表面有黑点", classification="quality_complaint")
    # An ADR reported in time, with the national report number, signed.
    fb = record(
        received_at=now - timedelta(days=5),
        reporter_name="李医生",
        reporter_type="hospital",
        reporter_contact="杭州市第一人民医院药剂科",
        batch=batch,
        description="服药后全身皮疹伴瘙痒",
        classification="possible_adr",
        patient="W.L.，45岁，女",
    )
    services.adr_report(
        case=fb.adr_case,
        user=qa,
        national_report_number="3301202600001",
        reported_at=now - timedelta(days=2),
        password=password,
        comment="已在直报系统提交",
    )
    # An overdue ADR case (day 0 forty days ago, other → 30 days).
    record(
        received_at=now - timedelta(days=40),
        channel="customer_visit",
        reporter_name="患者家属",
        batch=other,
        description="服药后胃部不适、恶心",
        classification="possible_adr",
        patient="Z.，67岁，男",
    )
    record(
        customer=customer,
        reporter_name="华东医药有限公司",
        reporter_type="distributor",
        batch=batch,
        description="以质量原因要求退货20盒（包装受潮）",
        classification="return_request",
    )
    fb = record(
        customer=customer,
        reporter_name="华东医药有限公司仓储部",
        reporter_type="distributor",
        batch=other,
        description="到货少2箱",
        classification="sales_chain",
        sales_chain_problem="quantity",
    )
    complaint = services.complaint_triage(complaint=fb.complaint, user=qa, triage="sales_chain", assigned_to=qa)
    services.complaint_record(
        complaint=complaint, user=qa, data=dict(responsibility="ours", sales_chain_action="发货复核漏装，安排补货2箱")
    )
    fb = record(reporter_name="王女士", description="询问儿童用量", classification="enquiry")
    services.feedback_reply(
        feedback=fb,
        user=cs,
        data=dict(reply_at=now - timedelta(hours=1), reply_method="phone", reply_content="请遵医嘱"),
    )
    services.feedback_close(feedback=fb, user=cs, data=dict(result="客户已了解", satisfaction="satisfied"))
    # One overdue first response.
    record(
        received_at=now - timedelta(hours=30),
        reporter_name="赵先生",
        description="建议增加小包装",
        classification="suggestion",
    )


def _visits(users, password, stdout) -> None:
    from release.models import Product

    customer = Customer.objects.filter(name="华东医药有限公司").first()
    product = Product.objects.filter(approval_number="国药准字H20000001").first()
    if CustomerVisit.objects.exists() or customer is None or product is None:
        return
    now = timezone.now()
    base = dict(
        customer=customer,
        method="phone",
        target="distributor_head",
        person_visited="陈经理",
        satisfaction="satisfied",
        side_effect_mentioned=False,
        side_effect_description="",
        side_effect_patient="",
        side_effect_product=None,
    )
    visit = services.visit_record(
        user=users["customer_service"],
        data=dict(
            base,
            visited_at=now - timedelta(days=150),
            topics=["efficacy", "packaging"],
            opinions="希望铝塑板更易撕开",
            handling="已反馈包装车间评估，负责人：王建国；结果：下批次起改进",
        ),
    )
    services.visit_approve(visit=visit, user=users["cs_manager"], password=password, comment="同意")
    # A side effect mentioned during a visit becomes ADR intake (AS-4.2.3); waiting for approval.
    visit = services.visit_record(
        user=users["customer_service"],
        data=dict(
            base,
            visited_at=now - timedelta(days=1),
            target="patient",
            person_visited="患者本人",
            topics=["side_effects"],
            opinions="服药后偶有口干",
            handling="已转质量部按不良反应处理",
            side_effect_mentioned=True,
            side_effect_description="服药后口干",
            side_effect_patient="S.，33岁，女",
            side_effect_product=product,
        ),
    )
    stdout.write(f"recorded visits (side effect → {visit.adr_feedback})")


def _death_case(users, password, stdout) -> None:
    """A death: reported immediately; its investigation report (第二十二条, 15 days) recorded."""
    from aftersales.models import ADRInvestigationReport
    from release.models import Product

    product = Product.objects.filter(approval_number="国药准字H20000002").first()
    if ADRInvestigationReport.objects.exists() or product is None:
        return
    now = timezone.now()
    fb = services.feedback_record(
        user=users["customer_service"],
        data=dict(
            received_at=now - timedelta(days=9),
            channel="phone",
            customer=None,
            reporter_name="某县人民医院药剂科",
            reporter_type="hospital",
            reporter_contact="",
            product=product,
            batch=None,
            batch_number="B2609001",
            description="患者服药后出现过敏性休克，抢救无效死亡",
            classification="possible_adr",
            sales_chain_problem="",
            patient="L.，72岁，男",
        ),
    )
    qa = users["qa_reviewer"]
    case = services.adr_assess(
        case=fb.adr_case,
        user=qa,
        data=dict(serious_death=True, outcome="death", causality="possible"),
        reason="医院确认患者死亡",
    )
    services.adr_report(
        case=case,
        user=qa,
        national_report_number="3301202600002",
        reported_at=now - timedelta(days=9) + timedelta(hours=2),
        password=password,
    )
    services.adr_record_investigation(
        case=case,
        user=qa,
        submitted_at=now - timedelta(days=1),
        reference="DC-2026-001",
        summary="调查批记录及留样，未发现质量问题；死亡与用药的关联性评价为可能",
        password=password,
    )
    stdout.write(f"recorded a death case with its investigation report: {case}")


def _ledger(users, password, stdout) -> None:
    from aftersales.models import LedgerSignoff

    if LedgerSignoff.objects.exists():
        return
    last_month = timezone.localdate().replace(day=1) - timedelta(days=1)
    services.ledger_sign(
        year=last_month.year,
        month=last_month.month,
        user=users["cs_manager"],
        password=password,
        comment="月度汇总已核对",
    )
    stdout.write(f"signed the feedback ledger of {last_month:%Y-%m}")


def _shipments(users, password, stdout) -> None:
    """A few distribution records of the released demo batches (through the gate, dated before
    expiry) and one return awaiting QA's evaluation (R-SHIP-1, R-RET-1)."""
    from decimal import Decimal

    from aftersales.models import GoodsReturn, Shipment

    if Shipment.objects.exists():
        return
    customer = Customer.objects.filter(name="华东医药有限公司", status=Customer.Status.QUALIFIED).first()
    hospital = Customer.objects.filter(name="杭州市第一人民医院").first()
    if customer is None:
        return
    today = timezone.localdate()
    first = None
    for batch in Batch.objects.filter(status=Batch.Status.RELEASED).order_by("batch_number"):
        last_day = min(today, batch.expiry_date)
        for n, (quantity, price, purpose) in enumerate(
            [(500, "18.50", "sale"), (300, "18.50", "sale"), (5, "0", "sample")]
        ):
            data = dict(
                purpose=purpose,
                batch=batch,
                customer=customer,
                quantity=quantity,
                unit_price=Decimal(price),
                dispatch_date=last_day - timedelta(days=40 - 10 * n),
                transport_mode="carrier" if purpose == "sale" else "courier",
                delivery_note=f"DN-{batch.batch_number}-{n + 1}",
                pickup_person=None,
                complaint=None,
                notes="",
            )
            try:
                shipment = services.shipment_create(user=users["sales"], data=data)
            except services.WorkflowError as exc:  # a demo batch the gate refuses: said, not hidden
                stdout.write(f"shipment of {batch.batch_number} refused: {exc}")
                continue
            first = first or shipment
            stdout.write(f"shipped {shipment.number}")
    if hospital is not None and first is not None:
        # The hospital lacks its quality-head approval: the gate's reason is shown, nothing written.
        try:
            services.shipment_create(
                user=users["sales"],
                data=dict(
                    purpose="sale",
                    batch=first.batch,
                    customer=hospital,
                    quantity=10,
                    unit_price=Decimal("18.50"),
                    dispatch_date=first.dispatch_date,
                    transport_mode="carrier",
                    delivery_note="",
                    pickup_person=None,
                    complaint=None,
                    notes="",
                ),
            )
        except services.WorkflowError:
            pass
    if first is not None and not GoodsReturn.objects.exists():
        goods = services.return_record(
            user=users["customer_service"],
            data=dict(
                customer=first.customer,
                batch=first.batch,
                quantity=20,
                channel="customer",
                quality_reason=False,
                reason="近效期滞销，协商退回",
                received_on=min(today, first.dispatch_date + timedelta(days=20)),
                condition="外箱完好，封签完整",
                storage_history="客户阴凉库储存，温湿度记录齐全；返程冷藏车运输",
                storage_conditions="met",
                complaint=None,
            ),
        )
        stdout.write(f"return {goods.number} awaits QA's evaluation")


def seed(*, users, password: str, stdout) -> None:
    _customers(users, password, stdout)
    _feedback(users, password, stdout)
    _visits(users, password, stdout)
    _death_case(users, password, stdout)
    _ledger(users, password, stdout)


def seed_late(*, users, password: str, stdout) -> None:
    """After release's late seed, which releases the demo batches the shipments need."""
    _shipments(users, password, stdout)
