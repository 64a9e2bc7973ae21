from django.urls import path

from core import views

app_name = "core"

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("audit/", views.audit_search, name="audit_search"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("audit/<str:model_key>/<str:pk>/", views.record_history, name="record_history"),
    path("integrity/", views.integrity, name="integrity"),
    path("verify/", views.document_lookup, name="document_lookup"),
    path("verify/<str:code>/", views.document_verify, name="document_verify"),
    path("documents/<int:pk>/download/", views.document_download, name="document_download"),
    path("documents/<int:pk>/data.json", views.document_data, name="document_data"),
    path("accounts/locked/", views.locked_users, name="locked_users"),
    path("accounts/<int:pk>/unlock/", views.unlock, name="unlock"),
]
