from django.contrib import admin

from api.models import ApiRequest, ApiToken
from core.admin import NoWritesMixin


@admin.register(ApiToken)
class ApiTokenAdmin(NoWritesMixin, admin.ModelAdmin):
    """Read-only: tokens are issued and revoked with ``manage.py api_account`` (audited)."""

    list_display = ("account", "prefix", "created_at", "created_by", "revoked_at", "revoked_by")
    list_select_related = ("account", "created_by", "revoked_by")
    exclude = ("key_sha256",)


@admin.register(ApiRequest)
class ApiRequestAdmin(NoWritesMixin, admin.ModelAdmin):
    """The call log, newest first; filtered by account (indexed with the time)."""

    list_display = ("at", "account", "method", "path", "status", "ip_address")
    list_select_related = ("account",)
    list_filter = ("method", "status")
    search_fields = ("account__username",)
    show_full_result_count = False
