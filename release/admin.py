"""release in the Django admin: every GMP record readable with its history, none added, changed or
deleted there — each change goes through the workflow pages (services) with its reason and
signature. Designations are entered on the designation pages (they mirror a guardian object
permission); checklist templates are versioned by data migrations."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyHistoryAdmin
from release.models import (
    Batch,
    BatchHold,
    BatchMaterial,
    BatchRejection,
    ChangeControl,
    ChecklistItem,
    ChecklistTemplate,
    Deviation,
    MaterialBalance,
    MaterialLot,
    Product,
    QPDesignation,
    ReleaseReview,
    ReviewCorrection,
    ReviewStep,
)


@admin.register(Product)
class ProductAdmin(ReadOnlyHistoryAdmin):
    list_display = ("name", "strength", "approval_number", "status")
    list_filter = ("status", "dosage_form")
    search_fields = ("name", "generic_name", "approval_number")


@admin.register(Batch)
class BatchAdmin(ReadOnlyHistoryAdmin):
    list_display = ("batch_number", "product", "manufacture_date", "expiry_date", "status")
    list_filter = ("status",)
    search_fields = ("batch_number", "product__name")
    list_select_related = ("product",)


@admin.register(BatchHold)
class BatchHoldAdmin(ReadOnlyHistoryAdmin):
    list_display = ("batch", "status", "reason", "placed_by", "placed_at", "lifted_by", "lifted_at")
    list_filter = ("status",)
    search_fields = ("batch__batch_number", "reason")
    list_select_related = ("batch", "placed_by", "lifted_by")


@admin.register(MaterialLot)
class MaterialLotAdmin(ReadOnlyHistoryAdmin):
    list_display = ("lot_number", "material_name", "supplier", "received_date", "expiry_date", "status")
    list_filter = ("status",)
    search_fields = ("lot_number", "material_name", "supplier")


@admin.register(BatchRejection)
class BatchRejectionAdmin(ReadOnlyHistoryAdmin):
    list_display = ("batch", "source_text", "rejected_by", "rejected_at")
    list_select_related = ("batch", "rejected_by")


@admin.register(BatchMaterial)
class BatchMaterialAdmin(ReadOnlyHistoryAdmin):
    list_display = ("batch", "lot", "quantity")
    search_fields = ("batch__batch_number", "lot__lot_number")
    list_select_related = ("batch", "lot")


@admin.register(MaterialBalance)
class MaterialBalanceAdmin(ReadOnlyHistoryAdmin):
    list_display = ("batch", "step", "theoretical", "actual", "lower_limit", "upper_limit", "formula_version")
    search_fields = ("batch__batch_number", "step")
    list_select_related = ("batch",)


@admin.register(QPDesignation)
class QPDesignationAdmin(ReadOnlyHistoryAdmin):
    list_display = (
        "person",
        "product",
        "letter_number",
        "factory_release",
        "market_release",
        "valid_from",
        "valid_to",
        "status",
    )
    list_filter = ("status", "deputy")
    search_fields = ("person__username", "person__full_name", "product__name", "letter_number")
    list_select_related = ("person", "product")


@admin.register(Deviation)
class DeviationAdmin(ReadOnlyHistoryAdmin):
    list_display = ("number", "title", "classification", "status", "raised_at")
    list_filter = ("status", "classification")
    search_fields = ("number", "title")


@admin.register(ChangeControl)
class ChangeControlAdmin(ReadOnlyHistoryAdmin):
    list_display = ("number", "title", "classification", "status", "raised_at")
    list_filter = ("status", "classification")
    search_fields = ("number", "title")


@admin.register(ReleaseReview)
class ReleaseReviewAdmin(ReadOnlyHistoryAdmin):
    list_display = ("batch", "status", "two_stage", "started_at", "decision", "decided_by", "decided_at")
    list_filter = ("status", "decision", "two_stage")
    search_fields = ("batch__batch_number",)
    list_select_related = ("batch", "decided_by")


@admin.register(ReviewStep)
class ReviewStepAdmin(ReadOnlyHistoryAdmin):
    list_display = ("review", "stage", "signed_by", "signed_at", "decision", "withdrawn_at")
    list_filter = ("stage", "decision")
    search_fields = ("review__batch__batch_number",)
    list_select_related = ("review__batch", "signed_by")


@admin.register(ReviewCorrection)
class ReviewCorrectionAdmin(ReadOnlyHistoryAdmin):
    list_display = ("review", "item_key", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("review__batch__batch_number", "item_key")
    list_select_related = ("review__batch", "requested_by", "decided_by")


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(ReadOnlyAdmin):
    list_display = ("stage", "version", "title_zh", "title_en", "source", "effective_at")
    list_filter = ("stage",)


@admin.register(ChecklistItem)
class ChecklistItemAdmin(ReadOnlyAdmin):
    list_display = ("key", "template", "position", "system_check", "text_zh")
    list_filter = ("template",)
    search_fields = ("key", "text_zh", "text_en")
