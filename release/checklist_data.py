"""Checklist templates version 1, from ZL-086 (药品出厂、上市放行管理规程) and GMP 第二百三十条(一)1–6
(../shared/reference/sop-checklists.md B.1.2–B.1.5). Version 1 is frozen: a later change is a new version
(a new list here and a new migration), never an edit of these rows (R-REL-2)."""

from __future__ import annotations

SOURCE = "ZL-086"

PRODUCTION = [
    (
        "P-4.2.1",
        "ZL-086 4.2.1",
        "",
        "批生产指令中配方与工艺规程相符；指令单有指令下达人、质量审核人、指令接收人、QA和批准人签字",
        "Batch production order: the formula matches the master process; the order bears the signatures of the issuer, quality reviewer, receiver, QA and approver",
    ),
    ("P-4.2.2", "ZL-086 4.2.2", "materials", "所使用的物料有无检验报告单", "Every material used has a QC report"),
    (
        "P-4.2.3",
        "ZL-086 4.2.3",
        "",
        "领料单与处方相符；领用数量与领料单相符；投料量、投料次序符合现行工艺规程",
        "The requisition matches the formula; issued quantities match the requisition; charged quantities and the order of addition follow the current master process",
    ),
    (
        "P-4.2.4",
        "ZL-086 4.2.4",
        "",
        "生产过程符合现行工艺规程，执行批准的SOP",
        "The process followed the current master process and approved SOPs",
    ),
    (
        "P-4.2.5",
        "ZL-086 4.2.5",
        "",
        "清场记录完整，并附有清场标识",
        "Line-clearance records complete, with the clearance label attached",
    ),
    ("P-4.2.6", "ZL-086 4.2.6", "", "生产设备状态标识符合规定", "Equipment status labels compliant"),
    (
        "P-4.2.7",
        "ZL-086 4.2.7",
        "",
        "批生产记录填写正确、完整，数据符合标准",
        "Batch manufacturing record correct and complete; all data within limits",
    ),
    (
        "P-4.2.8",
        "ZL-086 4.2.8",
        "material_balance",
        "物料平衡计算公式是否正确；各工序物料平衡符合规定限度",
        "Material balance formula correct; the material balance of each step within limits",
    ),
    (
        "P-4.2.9",
        "ZL-086 4.2.9",
        "intermediates",
        "中间产品检验结果符合标准",
        "Intermediate product results meet their specifications",
    ),
    (
        "P-4.2.10",
        "ZL-086 4.2.10",
        "printed_data",
        "说明书、合格证正确；打印的批号、生产日期、有效期(复验期)正确",
        "Leaflet and certificate correct; printed batch number, manufacture date and expiry (retest) date correct",
    ),
    (
        "P-4.2.11",
        "ZL-086 4.2.11",
        "",
        "包装记录齐全准确，并有操作人、复核人和QA签名",
        "Packaging record complete and accurate, signed by the operator, the checker and QA",
    ),
    (
        "P-4.2.12",
        "ZL-086 4.2.12",
        "",
        "人员卫生和生产环境监测符合规定",
        "Personnel hygiene and environmental monitoring compliant",
    ),
    (
        "P-4.2.13",
        "ZL-086 4.2.13",
        "",
        "生产过程监控项目齐全、结果符合规定；监控记录齐全并有监控人签名",
        "In-process controls complete and compliant; monitoring records complete and signed by the monitor",
    ),
    (
        "P-4.2.14",
        "ZL-086 4.2.14",
        "events",
        "偏差、变更、检验结果超标按程序处理并有充分说明",
        "Deviations, changes and OOS results handled per procedure with a full explanation",
    ),
]
QC = [
    (
        "QC-4.3.1.1",
        "ZL-086 4.3.1",
        "",
        "原始记录填写规范，原始数据准确、真实，数据处理符合规程",
        "Raw records properly written; raw data accurate and true; data processing per procedure",
    ),
    (
        "QC-4.3.1.2",
        "ZL-086 4.3.1",
        "",
        "原始图谱齐全；有检验人、复核人签名及日期；图谱与记录数据一致",
        "Raw chromatograms and spectra complete; tester and reviewer signatures with dates; raw data match the recorded values",
    ),
    (
        "QC-4.3.2.1",
        "ZL-086 4.3.2",
        "qc_instruments",
        "检验仪器设备经校验且在效期内",
        "Instruments calibrated and in date",
    ),
    ("QC-4.3.2.2", "ZL-086 4.3.2", "", "玻璃计量器具经标定且在效期内", "Volumetric glassware calibrated and in date"),
    (
        "QC-4.3.2.3",
        "ZL-086 4.3.2",
        "qc_reagents",
        "试液、滴定液、对照品在效期内，有使用记录",
        "Test solutions, titrants and reference standards in date, with usage records",
    ),
    ("QC-4.3.2.4", "ZL-086 4.3.2", "", "检验方法经过确认", "Test methods validated or verified"),
    ("QC-4.3.2.5", "ZL-086 4.3.2", "", "车间环境监控数据合格", "Workshop environmental monitoring data pass"),
    (
        "QC-4.3.2.6",
        "ZL-086 4.3.2",
        "qc_report",
        "检验报告单项目完整、结果符合标准",
        "Test report items complete and results within specification",
    ),
    (
        "QC-4.3.2.7",
        "ZL-086 4.3.2",
        "materials",
        "所用物料检验报告单项目完整、结果符合标准",
        "QC reports of the materials used complete and within specification",
    ),
    ("QC-4.3.2.8", "ZL-086 4.3.2", "qc_oos", "检验偏差按规程处理", "Laboratory deviations (OOS) handled per procedure"),
]
QA = [
    (
        "QA-4.1.1a",
        "ZL-086 4.1.1",
        "",
        "配重、称重过程中的复核情况",
        "Second-person checks during dispensing and weighing",
    ),
    ("QA-4.1.1b", "ZL-086 4.1.1", "", "各生产工序生产检查记录", "In-process check records of every step"),
    ("QA-4.1.1c", "ZL-086 4.1.1", "", "清场记录", "Line-clearance records"),
    ("QA-4.1.1d", "ZL-086 4.1.1", "intermediates", "中间产品质量检验结果", "Intermediate product test results"),
    ("QA-4.1.1e", "ZL-086 4.1.1", "deviations", "偏差处理", "Deviation handling"),
    ("QA-4.1.1f", "ZL-086 4.1.1", "qc_report", "成品检验结果", "Finished-product test results"),
    (
        "GMP-230.1.1",
        "GMP 第二百三十条(一)1",
        "",
        "主要生产工艺和检验方法经过验证",
        "The main manufacturing processes and test methods are validated",
    ),
    (
        "GMP-230.1.2",
        "GMP 第二百三十条(一)2",
        "",
        "已完成所有必需的检查、检验，并综合考虑实际生产条件和生产记录",
        "All required checks and tests are done, taking account of the actual production conditions and records",
    ),
    (
        "GMP-230.1.3",
        "GMP 第二百三十条(一)3",
        "",
        "所有必需的生产和质量控制均已完成并经相关主管人员签名",
        "All required production and quality control is complete and signed by the responsible persons",
    ),
    (
        "GMP-230.1.4",
        "GMP 第二百三十条(一)4",
        "change_controls",
        "变更已按照相关规程处理完毕，需要经药品监督管理部门批准的变更已得到批准",
        "Changes are handled per procedure; changes needing the regulator's approval are approved",
    ),
    (
        "GMP-230.1.5",
        "GMP 第二百三十条(一)5",
        "",
        "对变更或偏差已完成所有必要的取样、检查、检验和审核",
        "All sampling, checks, tests and reviews needed for changes or deviations are done",
    ),
    (
        "GMP-230.1.6",
        "GMP 第二百三十条(一)6",
        "deviations",
        "所有与该批产品有关的偏差均已有明确的解释或说明，或者已经过彻底调查和适当处理；如偏差还涉及其他批次产品，应当一并处理",
        "Every deviation concerning the batch is explained, or thoroughly investigated and handled, including other batches it concerns",
    ),
    (
        "AT-1",
        "R-AT-6",
        "audit_trail",
        "已审核本批关键数据的审计追踪（变更记录）",
        "The audit trail of the batch's critical data has been reviewed",
    ),
]

# Market release (上市放行) by the MAH's qualified person after the manufacturer's factory release
# (药品管理法 第三十三条; 药品生产监督管理办法 第三十七条: 上市放行 reviews the manufacturer's test results
# and release documents; ../shared/reference/sop-checklists.md B.1.7). Used by reviews of two-stage
# products started after it was added (migration 0009); older reviews keep deciding without it.
MARKET = [
    (
        "MKT-1",
        "药品管理法 第三十三条；药品生产监督管理办法 第三十七条",
        "factory_release",
        "已审核受托生产企业的出厂放行文件和检验结果",
        "The manufacturer's factory release documents and test results have been reviewed",
    ),
    (
        "MKT-2",
        "药品管理法 第三十二条",
        "",
        "与受托生产企业的质量协议有效",
        "The quality agreement with the manufacturing site is in force",
    ),
    (
        "MKT-3",
        "GMP 第二百三十条(一)4",
        "change_controls",
        "需经批准的变更已获批准",
        "Changes needing approval have been approved",
    ),
    (
        "MKT-4",
        "GMP 第二百三十条(一)6",
        "deviations",
        "影响本批的偏差已经评估",
        "Deviations affecting the batch have been assessed",
    ),
]

TEMPLATES = [
    ("production", "生产部审核（ZL-086 4.2）", "Production review (ZL-086 4.2)", PRODUCTION),
    ("qc", "QC审核（ZL-086 4.3.1–4.3.2）", "QC review (ZL-086 4.3.1–4.3.2)", QC),
    (
        "qa",
        "QA审核和评价（ZL-086 4.1.1、4.3.3；GMP 第二百三十条）",
        "QA review and evaluation (ZL-086 4.1.1, 4.3.3; GMP art. 230)",
        QA,
    ),
    (
        "market",
        "上市放行审核（药品管理法 第三十三条）",
        "Market release review (Drug Administration Law art. 33)",
        MARKET,
    ),
]


def seed_checklists(templates, items_manager) -> int:
    """Create the versions above that are missing (idempotent); returns how many were created.

    Takes the two models' managers. Called by the data migration with its historical models, and after every ``migrate`` /
    ``flush`` (post_migrate) with the real ones: a test database flushed between transactional
    tests gets them back.
    """
    created = 0
    for stage, title_zh, title_en, items in TEMPLATES:
        if templates.filter(stage=stage, version=1).exists():
            continue
        template = templates.create(stage=stage, version=1, title_zh=title_zh, title_en=title_en, source=SOURCE)
        for position, (key, source, check, zh, en) in enumerate(items, start=1):
            items_manager.create(
                template=template, position=position, key=key, source=source, system_check=check, text_zh=zh, text_en=en
            )
        created += 1
    return created
