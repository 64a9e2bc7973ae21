from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from core.health import health

handler403 = "core.views.error_403"
handler404 = "core.views.error_404"
handler500 = "core.views.error_500"

urlpatterns = [
    path("health/", health, name="health"),
    path("accounts/", include("core.account_urls")),
    # The language switch must work on the sign-in page too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("jsi18n/", login_not_required(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("", include("core.urls")),
    path("release/", include("release.urls")),
    path("qc/", include("qc_records.urls")),
    path("aftersales/", include("aftersales.urls")),
    path("recalls/", include("recalls.urls")),
    path("api/v1/", include("api.urls")),
]

admin.site.site_header = settings.SITE_NAME
admin.site.site_title = settings.SITE_NAME
