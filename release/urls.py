from django.urls import path

from release import views
from release.models import ChangeControl, Deviation
from release.views import materials, register, reviews
from release.views import quality_events as events

app_name = "release"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/approve/", views.product_approve, name="product_approve"),
    path("products/<int:pk>/void/", views.product_void, name="product_void"),
    path("batches/", views.batch_list, name="batch_list"),
    path("batches/new/", views.batch_create, name="batch_create"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/edit/", views.batch_edit, name="batch_edit"),
    path("batches/<int:pk>/void/", views.batch_void, name="batch_void"),
    path("batches/<int:pk>/holds/new/", views.batch_hold_place, name="batch_hold_place"),
    path("holds/<int:pk>/lift/", views.hold_lift, name="hold_lift"),
    path("batches/<int:pk>/review/", reviews.batch_review, name="batch_review"),
    path("batches/<int:pk>/review/start/", reviews.batch_review_start, name="batch_review_start"),
    path("batches/<int:pk>/review/production/", reviews.batch_review_production, name="batch_review_production"),
    path("batches/<int:pk>/review/qc/", reviews.batch_review_qc, name="batch_review_qc"),
    path("batches/<int:pk>/review/qa/", reviews.batch_review_qa, name="batch_review_qa"),
    path("batches/<int:pk>/review/stamp/", reviews.batch_review_stamp, name="batch_review_stamp"),
    path("batches/<int:pk>/review/release/", reviews.batch_review_release, name="batch_review_release"),
    path("batches/<int:pk>/review/reject/", reviews.batch_review_reject, name="batch_review_reject"),
    path("batches/<int:pk>/review/other/", reviews.batch_review_other, name="batch_review_other"),
    path("batches/<int:pk>/review/send-back/", reviews.batch_review_send_back, name="batch_review_send_back"),
    path("batches/<int:pk>/review/correction/", reviews.batch_review_correction, name="batch_review_correction"),
    path(
        "batches/<int:pk>/review/correction/<int:cid>/approve/",
        reviews.batch_review_correction_approve,
        name="batch_review_correction_approve",
    ),
    path(
        "batches/<int:pk>/review/correction/<int:cid>/refuse/",
        reviews.batch_review_correction_refuse,
        name="batch_review_correction_refuse",
    ),
    path("batches/<int:pk>/materials/add/", materials.batch_material_add, name="batch_material_add"),
    path("batches/<int:pk>/material-balance/add/", materials.material_balance_add, name="batch_material_balance_add"),
    path("oos/<int:pk>/deviation/", events.deviation_for_oos, name="deviation_for_oos"),
    path("materials/", materials.materiallot_list, name="materiallot_list"),
    path("materials/new/", materials.materiallot_create, name="materiallot_create"),
    path("materials/<int:pk>/", materials.materiallot_detail, name="materiallot_detail"),
    path("materials/<int:pk>/qc-record/", materials.materiallot_link_qc, name="materiallot_link_qc"),
    path("materials/<int:pk>/release/", materials.materiallot_release, name="materiallot_release"),
    path("materials/<int:pk>/reject/", materials.materiallot_reject, name="materiallot_reject"),
    path("materials/<int:pk>/void/", materials.materiallot_void, name="materiallot_void"),
    path("batches/<int:pk>/dossier.json", register.batch_dossier, name="batch_dossier"),
    path("batches/<int:pk>/dossier.zip", register.batch_dossier_bundle, name="batch_dossier_bundle"),
    path("register/", register.register, name="register"),
    path("register.csv", register.register_csv, name="register_csv"),
    path("qp-designations/", register.designation_list, name="designation_list"),
    path("qp-designations/new/", register.designation_create, name="designation_create"),
    path("qp-designations/<int:pk>/revoke/", register.designation_revoke, name="designation_revoke"),
]

for _model, _prefix in ((Deviation, "deviations"), (ChangeControl, "change-controls")):
    _name = _model._meta.model_name
    _kw = {"model": _model}
    urlpatterns += [
        path(f"{_prefix}/", events.event_list, _kw, name=f"{_name}_list"),
        path(f"{_prefix}/new/", events.event_create, _kw, name=f"{_name}_create"),
        path(f"{_prefix}/<int:pk>/", events.event_detail, _kw, name=f"{_name}_detail"),
        path(f"{_prefix}/<int:pk>/edit/", events.event_edit, _kw, name=f"{_name}_edit"),
        path(f"{_prefix}/<int:pk>/close/", events.event_close, _kw, name=f"{_name}_close"),
    ]
