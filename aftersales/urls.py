from django.urls import path

from aftersales import views

app_name = "aftersales"

urlpatterns = [
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/licences-expiring/", views.licences_expiring, name="licences_expiring"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/licences/new/", views.licence_add, name="licence_add"),
    path("customers/<int:pk>/people/new/", views.person_add, name="person_add"),
    path("customers/<int:pk>/submit/", views.customer_submit, name="customer_submit"),
    path("customers/<int:pk>/approve/", views.customer_approve, name="customer_approve"),
    path("customers/<int:pk>/void/", views.customer_void, name="customer_void"),
    path("feedback/", views.feedback_list, name="feedback_list"),
    path("feedback/new/", views.feedback_create, name="feedback_create"),
    path("feedback/<int:pk>/", views.feedback_detail, name="feedback_detail"),
    path("feedback/<int:pk>/reply/", views.feedback_reply, name="feedback_reply"),
    path("feedback/<int:pk>/close/", views.feedback_close, name="feedback_close"),
    path("complaints/", views.complaint_list, name="complaint_list"),
    path("complaints/trend/", views.complaint_trend, name="complaint_trend"),
    path("complaints/<int:pk>/", views.complaint_detail, name="complaint_detail"),
    path("complaints/<int:pk>/triage/", views.complaint_triage, name="complaint_triage"),
    path("complaints/<int:pk>/investigation/", views.complaint_investigate, name="complaint_investigate"),
    path("complaints/<int:pk>/decision/", views.complaint_decide, name="complaint_decide"),
    path("complaints/<int:pk>/reply/", views.complaint_reply, name="complaint_reply"),
    path("complaints/<int:pk>/acknowledge/", views.complaint_acknowledge, name="complaint_acknowledge"),
    path("complaints/<int:pk>/close/", views.complaint_close, name="complaint_close"),
    path("adr/", views.adr_list, name="adr_list"),
    path("adr/<int:pk>/", views.adr_detail, name="adr_detail"),
    path("adr/<int:pk>/assess/", views.adr_assess, name="adr_assess"),
    path("adr/<int:pk>/report/", views.adr_report, name="adr_report"),
    path("adr/<int:pk>/investigation/", views.adr_investigation, name="adr_investigation"),
    path("visits/", views.visit_list, name="visit_list"),
    path("visits/new/", views.visit_create, name="visit_create"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/approve/", views.visit_approve, name="visit_approve"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/csv/", views.ledger_csv, name="ledger_csv"),
    path("ledger/sign/", views.ledger_sign, name="ledger_sign"),
]
