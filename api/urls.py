from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import views

app_name = "api"


def _open(view):
    # The API answers an anonymous call with 401 JSON itself; the site's LoginRequiredMiddleware
    # would redirect it to the sign-in page instead.
    return login_not_required(view)


urlpatterns = [
    path("schema/", _open(SpectacularAPIView.as_view()), name="schema"),
    # Swagger UI from drf-spectacular-sidecar's static files, its script served from a URL (no
    # inline script: the site's Content-Security-Policy allows scripts from 'self' only).
    # A page for people: signed-out readers are sent to the sign-in page (DRF views opt out of
    # LoginRequiredMiddleware, so it is asked here).
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("products/", _open(views.ProductList.as_view()), name="products"),
    path("products/<int:pk>/", _open(views.ProductDetail.as_view()), name="product"),
    path("batches/", _open(views.BatchList.as_view()), name="batches"),
    path("batches/<int:pk>/", _open(views.BatchDetail.as_view()), name="batch"),
    path("batches/<int:pk>/gate/", _open(views.BatchGate.as_view()), name="batch_gate"),
    path("batches/<int:pk>/qc-summary/", _open(views.BatchQCSummary.as_view()), name="batch_qc_summary"),
    path("documents/", _open(views.DocumentList.as_view()), name="documents"),
    path("documents/<int:pk>/", _open(views.DocumentDetail.as_view()), name="document"),
    path("documents/<int:pk>/pdf/", _open(views.DocumentPDF.as_view()), name="document_pdf"),
    path("shipments/", _open(views.Shipments.as_view()), name="shipments"),
    path("feedback/", _open(views.FeedbackIntake.as_view()), name="feedback"),
]
