from django.urls import path

from release import views

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
]
