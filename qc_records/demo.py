"""Demo QC data for ``manage.py seed_demo`` (idempotent), made through the services.

Specifications for the demo products (性状, 鉴别, 含量测定 95.0%–105.0%, 溶出度, 有关物质,
微生物限度) and for purified water and a raw material; instruments (one due soon, one expired);
reagents and reference standards (one expiring, one expired); samples and test records in every
state — waiting, draft, submitted, reviewed, approved with its report, voided — and one open OOS.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.utils import timezone

from qc_records import pdf, services
from qc_records.models import Category, Instrument, Reagent, Sample, Specification, TestRecord

# release's products and batches must exist first (see core seed_demo).
SEED_AFTER = ("release",)

D = Decimal
# (name, name_en, method, kind, lower, upper, decimals, unit, text, replicates)
PRODUCT_ITEMS = [
    ("性状", "Description", "目视检查", "text", None, None, None, "", "本品内容物为白色或类白色粉末", 1),
    ("鉴别", "Identification", "中国药典2025年版四部 通则0512", "text", None, None, None, "", "应呈正反应", 1),
    ("含量测定", "Assay", "中国药典2025年版四部 通则0512 (HPLC)", "numeric", D("95.0"), D("105.0"), 1, "%", "", 1),
    ("溶出度", "Dissolution", "中国药典2025年版四部 通则0931 第一法", "numeric", D("80"), None, 0, "%", "", 6),
    ("有关物质", "Related substances", "中国药典2025年版四部 通则0512", "numeric", None, D("1.0"), 1, "%", "", 1),
    (
        "微生物限度",
        "Microbial limits",
        "中国药典2025年版四部 通则1105/1106",
        "text",
        None,
        None,
        None,
        "",
        "应符合规定",
        1,
    ),
]

SPECS = [
    dict(
        code="ZL-BZ-CP-001",
        title="阿莫西林胶囊质量标准",
        category=Category.FINISHED_PRODUCT,
        approval="国药准字H20000001",
        material_name="",
        standard_reference="中国药典2025年版二部 第623页",
        items=PRODUCT_ITEMS,
    ),
    dict(
        code="ZL-BZ-CP-002",
        title="布洛芬片质量标准",
        category=Category.FINISHED_PRODUCT,
        approval="国药准字H20000002",
        material_name="",
        standard_reference="中国药典2025年版二部 第359页",
        items=PRODUCT_ITEMS,
    ),
    dict(
        code="ZL-BZ-W-001",
        title="纯化水质量标准",
        category=Category.WATER,
        approval=None,
        material_name="纯化水",
        standard_reference="中国药典2025年版二部 第1056页；SOP-QC-W-001",
        items=[
            ("酸碱度", "Acidity or alkalinity", "中国药典 纯化水项下", "text", None, None, None, "", "应符合规定", 1),
            ("电导率", "Conductivity", "中国药典2025年版四部 通则0681", "numeric", None, D("5.1"), 2, "μS/cm", "", 1),
            (
                "总有机碳",
                "Total organic carbon",
                "中国药典2025年版四部 通则0682",
                "numeric",
                None,
                D("0.50"),
                2,
                "mg/L",
                "",
                1,
            ),
            (
                "微生物限度",
                "Microbial count",
                "中国药典2025年版四部 通则1105",
                "numeric",
                None,
                D("100"),
                0,
                "cfu/ml",
                "",
                1,
            ),
        ],
    ),
    dict(
        code="ZL-BZ-YL-001",
        title="阿莫西林（原料）质量标准",
        category=Category.RAW_MATERIAL,
        approval=None,
        material_name="阿莫西林（原料）",
        standard_reference="中国药典2025年版二部 第620页",
        items=[
            ("性状", "Description", "目视检查", "text", None, None, None, "", "白色或类白色结晶性粉末", 1),
            ("水分", "Water", "中国药典2025年版四部 通则0832 第一法", "numeric", D("11.5"), D("14.5"), 1, "%", "", 1),
            ("含量测定", "Assay", "中国药典2025年版四部 通则0512", "numeric", D("95.0"), None, 1, "%", "", 1),
        ],
    ),
]

# Passing results per item name (text items: observation, judged "complies").
PASSING = {
    "性状": "白色粉末",
    "鉴别": "供试品主峰保留时间与对照品一致",
    "含量测定": "99.2",
    "溶出度": "91",
    "有关物质": "0.3",
    "微生物限度": "需氧菌总数<10cfu/g，霉菌和酵母菌总数<10cfu/g，未检出大肠埃希菌",
    "酸碱度": "符合规定",
    "电导率": "1.25",
    "总有机碳": "0.12",
    "水分": "13.1",
}


def _instruments(today):
    return [
        dict(
            code="QC-HPLC-01",
            name="高效液相色谱仪",
            model="Agilent 1260 Infinity II",
            kind="instrument",
            location="QC 仪器室 1",
            last_calibrated=today - timedelta(days=160),
            calibration_due=today + timedelta(days=205),
        ),
        dict(
            code="QC-HPLC-02",
            name="高效液相色谱仪",
            model="Waters e2695",
            kind="instrument",
            location="QC 仪器室 1",
            last_calibrated=today - timedelta(days=353),
            calibration_due=today + timedelta(days=12),
        ),
        dict(
            code="QC-UV-01",
            name="紫外可见分光光度计",
            model="Shimadzu UV-2600i",
            kind="instrument",
            location="QC 仪器室 2",
            last_calibrated=today - timedelta(days=380),
            calibration_due=today - timedelta(days=15),
        ),
        dict(
            code="QC-DIS-01",
            name="溶出度仪",
            model="Agilent 708-DS",
            kind="instrument",
            location="QC 仪器室 2",
            last_calibrated=today - timedelta(days=90),
            calibration_due=today + timedelta(days=90),
        ),
        dict(
            code="QC-BAL-01",
            name="电子分析天平",
            model="Mettler Toledo XPR205",
            kind="instrument",
            location="天平室",
            last_calibrated=today - timedelta(days=30),
            calibration_due=today + timedelta(days=150),
        ),
        dict(
            code="QC-CON-01",
            name="电导率仪",
            model="Mettler Toledo S230",
            kind="instrument",
            location="QC 理化室",
            last_calibrated=today - timedelta(days=60),
            calibration_due=today + timedelta(days=300),
        ),
        dict(
            code="QC-VF100-07",
            name="容量瓶 100ml A级",
            model="100ml A级",
            kind="glassware",
            location="QC 理化室",
            last_calibrated=today - timedelta(days=200),
            calibration_due=today + timedelta(days=530),
        ),
    ]


def _reagents(today):
    return [
        dict(
            kind="reference_standard",
            name="阿莫西林对照品",
            lot_number="130409-202406",
            source="中国食品药品检定研究院",
            concentration="86.4%",
            received_date=today - timedelta(days=120),
            expiry_date=today + timedelta(days=400),
        ),
        dict(
            kind="reference_standard",
            name="布洛芬对照品",
            lot_number="100179-202305",
            source="中国食品药品检定研究院",
            concentration="99.8%",
            received_date=today - timedelta(days=200),
            expiry_date=today + timedelta(days=300),
        ),
        dict(
            kind="reagent",
            name="磷酸二氢钾（色谱纯）",
            lot_number="20260415",
            source="国药集团化学试剂有限公司",
            concentration="",
            received_date=today - timedelta(days=60),
            expiry_date=today + timedelta(days=700),
        ),
        dict(
            kind="titrant",
            name="氢氧化钠滴定液",
            lot_number="DDY-2026-031",
            source="自配 SOP-QC-101",
            concentration="0.1 mol/L, F=1.002",
            received_date=today - timedelta(days=70),
            expiry_date=today + timedelta(days=20),
        ),
        dict(
            kind="culture_medium",
            name="胰酪大豆胨琼脂培养基",
            lot_number="PYJ-2026-118",
            source="北京三药科技开发公司",
            concentration="",
            received_date=today - timedelta(days=30),
            expiry_date=today + timedelta(days=150),
        ),
        dict(
            kind="titrant",
            name="盐酸滴定液",
            lot_number="DDY-2026-019",
            source="自配 SOP-QC-102",
            concentration="0.1 mol/L, F=0.998",
            received_date=today - timedelta(days=100),
            expiry_date=today - timedelta(days=10),
        ),
    ]


def seed(*, users, password: str, stdout) -> None:
    analyst, reviewer, head, qa = users["qc_analyst"], users["qc_reviewer"], users["qc_head"], users["qa_reviewer"]
    today = timezone.localdate()
    Product = apps.get_model("release", "Product")
    Batch = apps.get_model("release", "Batch")

    specs: dict[str, Specification] = {}
    for data in SPECS:
        spec = Specification.objects.filter(code=data["code"]).order_by("-version").first()
        if spec is None:
            product = Product.objects.filter(approval_number=data["approval"]).first() if data["approval"] else None
            if data["approval"] and product is None:
                continue
            spec = services.specification_create(
                user=head,
                data=dict(
                    code=data["code"],
                    title=data["title"],
                    category=data["category"],
                    product=product,
                    material_name=data["material_name"],
                    standard_reference=data["standard_reference"],
                ),
            )
            for position, (name, name_en, method, kind, lo, hi, dec, unit, text, reps) in enumerate(
                data["items"], start=1
            ):
                services.specification_item_add(
                    spec=spec,
                    user=head,
                    data=dict(
                        position=position,
                        name=name,
                        name_en=name_en,
                        method_reference=method,
                        criterion_kind=kind,
                        lower_limit=lo,
                        upper_limit=hi,
                        decimals=dec,
                        unit=unit,
                        text_criterion=text,
                        replicates=reps,
                        # contents, counts, conductivity, TOC: never below zero (issue 7)
                        physical_min=D("0") if kind != "text" else None,
                    ),
                )
            spec = services.specification_approve(spec=spec, user=qa, password=password, comment="质量标准审核无误")
            stdout.write(f"approved specification {spec}")
        specs[data["code"]] = spec

    instruments = {}
    for data in _instruments(today):
        ins = Instrument.objects.filter(code=data["code"]).first() or services.instrument_create(user=head, data=data)
        instruments[ins.code] = ins
    reagents = {}
    for data in _reagents(today):
        rg = Reagent.objects.filter(kind=data["kind"], name=data["name"], lot_number=data["lot_number"]).first()
        reagents[data["name"]] = rg or services.reagent_create(user=analyst, data=data)

    def batch(number: str):
        return Batch.objects.filter(batch_number=number).select_related("product").first()

    def product_sample(spec_code: str, batch_number: str, received, unit: str):
        b = batch(batch_number)
        if b is None or spec_code not in specs or Sample.objects.filter(batch=b).exists():
            return None
        sample = services.sample_create(
            user=analyst,
            data=dict(
                category=Category.FINISHED_PRODUCT,
                specification=specs[spec_code],
                batch=b,
                quantity=D("60"),
                quantity_unit=unit,
                received_date=received,
                condition_on_receipt="密封完好",
            ),
        )
        stdout.write(f"registered sample {sample.number}")
        return sample

    def record_for(sample, *, instruments_used, reagents_used, overrides=None, test_date=None):
        record = services.record_create(sample=sample, user=analyst)
        entries = {}
        for result in record.results.select_related("item"):
            value = (overrides or {}).get(result.item.name, PASSING[result.item.name])
            if result.item.criterion_kind == "text":
                entries[result.pk] = services.ResultEntry(value_text=value, complies=True)
            else:
                entries[result.pk] = services.ResultEntry(value_text=value, calculation="按外标法以峰面积计算")
        header = dict(temperature=D("22.0"), humidity=D("48.0"), observations="供试品溶液澄清，色谱峰形良好。")
        if test_date is not None:
            header["test_date"] = test_date
        services.record_update(
            record=record,
            user=analyst,
            header=header,
            results=entries,
            instruments=[instruments[c] for c in instruments_used],
            reagents=[reagents[n] for n in reagents_used],
        )
        return record

    amox = ["QC-HPLC-01", "QC-DIS-01", "QC-BAL-01", "QC-VF100-07"]
    amox_r = ["阿莫西林对照品", "磷酸二氢钾（色谱纯）", "胰酪大豆胨琼脂培养基"]
    ibu_r = ["布洛芬对照品", "磷酸二氢钾（色谱纯）", "胰酪大豆胨琼脂培养基"]

    # Approved, report issued (tested two weeks ago).
    sample = product_sample("ZL-BZ-CP-001", "A2411002", today - timedelta(days=16), "粒")
    if sample is not None:
        record = record_for(sample, instruments_used=amox, reagents_used=amox_r, test_date=today - timedelta(days=14))
        # An invalidated run recorded with its cause (检验记录书写规程 4.2.4 e; R-QC-9).
        services.discarded_run_add(
            record=record,
            user=analyst,
            item=record.specification.items.get(name="含量测定"),
            data="第1次进样：系统适用性试验理论板数 1850（要求不低于2000），该序列数据弃用。",
            cause="色谱柱柱效下降；更换色谱柱后重新进样。",
        )
        services.record_submit(record=record, user=analyst, password=password, comment="检验完成")
        services.record_review(
            checklist=dict.fromkeys((k for k, _label in services.REVIEW_CHECKLIST), True),
            record=record,
            user=reviewer,
            password=password,
            comment="复核无误",
        )
        services.record_approve(record=record, user=head, password=password, comment="同意签发")
        # Issued after commit; inside an outer transaction (tests) that has not happened yet.
        if pdf.latest_report(record) is None:
            pdf.issue_report(record, head)
        stdout.write(f"approved test report {TestRecord.objects.get(pk=record.pk).report_number}")
    # Approved for the release demo: A2611007 waits for the QA stamp, B2611003 (two-stage) for the
    # MAH's market release, A2611008 for its review to start.
    for spec_code, number, unit, used, used_r in (
        ("ZL-BZ-CP-001", "A2611007", "粒", amox, amox_r),
        ("ZL-BZ-CP-002", "B2611003", "片", ["QC-HPLC-02", "QC-DIS-01", "QC-BAL-01"], ibu_r),
        ("ZL-BZ-CP-001", "A2611008", "粒", amox, amox_r),
    ):
        sample = product_sample(spec_code, number, today - timedelta(days=6), unit)
        if sample is None:
            continue
        record = record_for(sample, instruments_used=used, reagents_used=used_r, test_date=today - timedelta(days=5))
        services.record_submit(record=record, user=analyst, password=password, comment="检验完成")
        services.record_review(
            checklist=dict.fromkeys((k for k, _label in services.REVIEW_CHECKLIST), True),
            record=record,
            user=reviewer,
            password=password,
            comment="复核无误",
        )
        services.record_approve(record=record, user=head, password=password, comment="同意签发")
        if pdf.latest_report(record) is None:
            pdf.issue_report(record, head)
        stdout.write(f"approved test report {TestRecord.objects.get(pk=record.pk).report_number}")
    # Submitted: waiting for the reviewer.
    sample = product_sample("ZL-BZ-CP-001", "A2611003", today - timedelta(days=3), "粒")
    if sample is not None:
        record = record_for(sample, instruments_used=amox, reagents_used=amox_r)
        services.record_submit(record=record, user=analyst, password=password)
    # Reviewed: waiting for the QC head.
    sample = product_sample("ZL-BZ-CP-002", "B2609001", today - timedelta(days=5), "片")
    if sample is not None:
        record = record_for(sample, instruments_used=["QC-HPLC-02", "QC-DIS-01", "QC-BAL-01"], reagents_used=ibu_r)
        services.record_submit(record=record, user=analyst, password=password)
        services.record_review(
            checklist=dict.fromkeys((k for k, _label in services.REVIEW_CHECKLIST), True),
            record=record,
            user=reviewer,
            password=password,
        )
    # Assay out of specification: OOS open in phase I.
    sample = product_sample("ZL-BZ-CP-002", "B2610002", today - timedelta(days=2), "片")
    if sample is not None:
        record = record_for(
            sample,
            instruments_used=["QC-HPLC-02", "QC-DIS-01", "QC-BAL-01"],
            reagents_used=ibu_r,
            overrides={"含量测定": "93.2"},
        )
        services.record_submit(record=record, user=analyst, password=password, comment="含量测定结果超标，已报告QC主管")
        # The OOS opened when the failing value was saved (R-QC-5).
        for oos in record.oos_investigations.order_by("pk"):
            services.oos_update(
                oos=oos,
                user=analyst,
                data={"phase1_findings": "已核对计算过程与色谱图积分，正在检查对照品溶液配制记录。"},
            )
            stdout.write(f"opened {oos.number}")

    # Purified water: a draft in progress, and a voided record (sampled at the wrong point).
    if "ZL-BZ-W-001" in specs and not Sample.objects.filter(category=Category.WATER).exists():
        wrong = services.sample_create(
            user=analyst,
            data=dict(
                category=Category.WATER,
                specification=specs["ZL-BZ-W-001"],
                quantity=D("1000"),
                quantity_unit="ml",
                sampling_point="纯化水制备间 储罐出口",
                received_date=today - timedelta(days=1),
            ),
        )
        voided = services.record_create(sample=wrong, user=analyst)
        services.record_void(
            record=voided, user=analyst, password=password, reason="取样点错误，应为总回水口，重新取样"
        )
        water = services.sample_create(
            user=analyst,
            data=dict(
                category=Category.WATER,
                specification=specs["ZL-BZ-W-001"],
                quantity=D("1000"),
                quantity_unit="ml",
                sampling_point="纯化水总回水口",
                received_date=today,
            ),
        )
        record = services.record_create(sample=water, user=analyst)
        conductivity = record.results.get(item__name="电导率")
        services.record_update(
            record=record,
            user=analyst,
            header=dict(temperature=D("21.5"), humidity=D("52.0")),
            results={conductivity.pk: services.ResultEntry(value_text="1.25")},
            instruments=[instruments["QC-CON-01"]],
        )
        stdout.write(f"water test record in draft for {water.number}")
    # Raw material received, waiting for a test record (the analyst's queue).
    if "ZL-BZ-YL-001" in specs and not Sample.objects.filter(category=Category.RAW_MATERIAL).exists():
        raw = services.sample_create(
            user=analyst,
            data=dict(
                category=Category.RAW_MATERIAL,
                specification=specs["ZL-BZ-YL-001"],
                lot_number="AMX-2611-05",
                quantity=D("200"),
                quantity_unit="g",
                supplier="华北制药股份有限公司",
                manufacturer="华北制药股份有限公司",
                received_date=today,
                condition_on_receipt="双层药用袋密封，标签完整",
            ),
        )
        stdout.write(f"registered raw-material sample {raw.number}")
