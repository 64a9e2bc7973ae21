"""QC records: specifications, instruments and reagents, samples, test records, OOS, ledger.

Sources: 检验记录书写规程, 检验原始记录管理规程, 检验记录和检验报告管理规程, 检验记录管理规程
(../shared/seeds/) and REQUIREMENTS R-QC-1…8. Every model here is a GMP record: it keeps a
history (who, when, old → new, why) and is voided, never deleted. State changes happen in
``qc_records/services/`` only.

Split by subject (``base``, ``specifications``, ``registers``, ``samples``, ``records``, ``oos``,
``ledger``); every name is importable from ``qc_records.models``.
"""

from qc_records.models.base import PRODUCT_CATEGORIES, Category, Tracked
from qc_records.models.ledger import LedgerArchive
from qc_records.models.oos import OOSInvestigation, OOSQuerySet
from qc_records.models.records import (
    Attachment,
    DiscardedRun,
    InstrumentUse,
    ItemBlock,
    ReagentUse,
    RecordTester,
    RefusedCorrection,
    TestRecord,
    TestRecordQuerySet,
    TestResult,
    attachment_upload_to,
    tester_condition,
)
from qc_records.models.registers import Instrument, InstrumentQuerySet, Reagent, ReagentQuerySet
from qc_records.models.samples import Sample, SampleQuerySet
from qc_records.models.specifications import Specification, SpecificationItem, SpecificationQuerySet

__all__ = [
    "PRODUCT_CATEGORIES",
    "Category",
    "Tracked",
    "SpecificationQuerySet",
    "Specification",
    "SpecificationItem",
    "InstrumentQuerySet",
    "Instrument",
    "ReagentQuerySet",
    "Reagent",
    "SampleQuerySet",
    "Sample",
    "ItemBlock",
    "tester_condition",
    "RecordTester",
    "TestRecordQuerySet",
    "TestRecord",
    "TestResult",
    "InstrumentUse",
    "ReagentUse",
    "attachment_upload_to",
    "Attachment",
    "DiscardedRun",
    "RefusedCorrection",
    "OOSQuerySet",
    "OOSInvestigation",
    "LedgerArchive",
]
