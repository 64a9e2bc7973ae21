from django.contrib import admin

from core.admin import ReadOnlyHistoryAdmin
from qc_records.models import (
    Attachment,
    Instrument,
    LedgerArchive,
    OOSInvestigation,
    Reagent,
    RefusedCorrection,
    Sample,
    Specification,
    SpecificationItem,
    TestRecord,
    TestResult,
)


@admin.register(Specification)
class SpecificationAdmin(ReadOnlyHistoryAdmin):
    list_display = ("code", "version", "title", "category", "status", "effective_from")
    list_filter = ("status", "category")
    search_fields = ("code", "title", "material_name")


@admin.register(SpecificationItem)
class SpecificationItemAdmin(ReadOnlyHistoryAdmin):
    list_display = ("specification", "position", "name", "criterion_kind", "unit")
    list_select_related = ("specification",)


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyHistoryAdmin):
    list_display = ("code", "name", "model", "location", "calibration_due", "status")
    list_filter = ("status", "kind")
    search_fields = ("code", "name", "model")


@admin.register(Reagent)
class ReagentAdmin(ReadOnlyHistoryAdmin):
    list_display = ("name", "lot_number", "kind", "source", "expiry_date", "status")
    list_filter = ("kind", "status")
    search_fields = ("name", "lot_number")


@admin.register(Sample)
class SampleAdmin(ReadOnlyHistoryAdmin):
    list_display = ("number", "category", "material_name", "lot_number", "received_date")
    list_filter = ("category",)
    search_fields = ("number", "lot_number", "material_name")


@admin.register(TestRecord)
class TestRecordAdmin(ReadOnlyHistoryAdmin):
    list_display = ("pk", "report_number", "sample", "category", "test_date", "status", "verdict")
    list_filter = ("status", "category")
    search_fields = ("report_number", "sample__number")
    list_select_related = ("sample", "sample__product")


@admin.register(TestResult)
class TestResultAdmin(ReadOnlyHistoryAdmin):
    list_display = ("record", "item", "replicate", "attempt", "value_text", "conclusion")
    list_select_related = ("record", "item")


@admin.register(RefusedCorrection)
class RefusedCorrectionAdmin(ReadOnlyHistoryAdmin):
    list_display = ("record", "result", "attempted_value", "attempted_by", "attempted_at")
    list_select_related = ("record", "result", "attempted_by")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyHistoryAdmin):
    list_display = ("original_name", "record", "size", "sha256")
    list_select_related = ("record",)


@admin.register(OOSInvestigation)
class OOSInvestigationAdmin(ReadOnlyHistoryAdmin):
    list_display = ("number", "record", "item", "status", "outcome")
    list_filter = ("status", "outcome")
    list_select_related = ("record", "item")


@admin.register(LedgerArchive)
class LedgerArchiveAdmin(ReadOnlyHistoryAdmin):
    list_display = ("year", "month", "category", "status", "record_count")
