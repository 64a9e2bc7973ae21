from django.contrib import admin

from core.admin import ReadOnlyHistoryAdmin
from release.models import Batch, Product


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
