from django.urls import path

from recalls import views

app_name = "recalls"

urlpatterns = [
    path("", views.recall_list, name="recall_list"),
    path("information/new/", views.information_create, name="information_create"),
    path("information/<int:pk>/", views.information_detail, name="information_detail"),
    path("information/<int:pk>/analyse/", views.information_analyse, name="information_analyse"),
    path("information/<int:pk>/narrow/", views.information_narrow, name="information_narrow"),
    path("information/<int:pk>/decide/", views.information_decide, name="information_decide"),
    path("information/<int:pk>/propose/", views.recall_propose, name="recall_propose"),
    path("<int:pk>/", views.recall_detail, name="recall_detail"),
    path("<int:pk>/plan/", views.recall_plan_revise, name="recall_plan_revise"),
    path("<int:pk>/start/", views.recall_start, name="recall_start"),
    path("<int:pk>/batches/", views.recall_add_batch, name="recall_add_batch"),
    path("<int:pk>/progress/", views.progress_add, name="progress_add"),
    path("<int:pk>/recovered/", views.recovered_add, name="recovered_add"),
    path("<int:pk>/close/", views.recall_close, name="recall_close"),
    path("<int:pk>/approve/", views.recall_approve, name="recall_approve"),
    path("<int:pk>/consignees.csv", views.consignee_csv, name="consignee_csv"),
    path("<int:pk>/final-report.pdf", views.final_report_pdf, name="final_report_pdf"),
    path("consignees/<int:pk>/", views.consignee_detail, name="consignee_detail"),
    path("consignees/<int:pk>/notice.pdf", views.recall_notice_pdf, name="recall_notice_pdf"),
    path("consignees/<int:pk>/<slug:step>/", views.consignee_step, name="consignee_step"),
    path("deadlines/", views.deadline_rules, name="deadline_rules"),
    path("mock/new/", views.mock_create, name="mock_create"),
    path("mock/<int:pk>/", views.mock_detail, name="mock_detail"),
    path("mock/<int:pk>/complete/", views.mock_complete, name="mock_complete"),
]
