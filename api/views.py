"""The integration API (R-API-1): reads for products, batches, the shipping gate, QC summaries and
issued documents; writes for distribution records and feedback intake — each through the one
service the pages call, with the permission codenames the pages ask.

Authentication: a system account's token (``Authorization: Token …``) or a signed-in person's
session (the browsable docs). Nothing here signs: no endpoint takes a password, and a system
account is refused by ``core.signatures`` in any case.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.http import FileResponse, Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.models import Shipment
from aftersales.services import feedback_record, shipment_create
from api import serializers as s
from api.authentication import SystemTokenAuthentication
from api.errors import drf_errors, input_errors
from api.models import ApiRequest
from api.permissions import require
from core.hashing import sha256_stored
from core.models import Document
from core.views import may_view_document_record
from core.workflow import WorkflowError
from qc_records.for_release import batch_qc_summary
from release.for_shipping import may_ship
from release.models import Batch, BatchHold, Product, ProductHold

ERRORS = {
    code: OpenApiResponse(s.ErrorSerializer, description=text)
    for code, text in (
        (400, "Refused: what is wrong, field by field (or for the whole request)."),
        (401, "No token, or a token that is not valid or revoked."),
        (403, "The account does not hold the permission the page asks."),
        (404, "No such record."),
    )
}


PAGE_PARAMS = [
    OpenApiParameter("cursor", str, description="The position given in the previous page's next/previous link."),
    OpenApiParameter("page_size", int, description="Rows per page, at most 200 (default 50)."),
]


class IdCursor(CursorPagination):
    """Newest first by id — the primary key index: a page costs the same at row 1,000,000."""

    ordering = "-id"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class ApiView(APIView):
    """Base of every endpoint: token or session, the reader's language, each call logged."""

    authentication_classes = [SystemTokenAuthentication, SessionAuthentication]

    def dispatch(self, request, *args, **kwargs):
        # Messages follow Accept-Language (简体中文 when none is asked); the site's pages follow
        # the language switcher instead (core.middleware.SiteLanguageMiddleware). The language is
        # set for this call only, and the answer is rendered inside it (DRF renders lazily), so the
        # thread goes back to what it had: nothing leaks into the next request or job.
        header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
        language = translation.get_language_from_request(request) if header else None
        with translation.override(language or "zh-hans"):
            request.LANGUAGE_CODE = translation.get_language()
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        user = getattr(request, "_user", None)
        account = user if user is not None and user.is_authenticated else None
        # Written after the view's own transaction: a refused POST (rolled back) is logged too.
        ApiRequest.objects.create(
            account=account,
            token=getattr(request._request, "api_token", None),
            method=request.method[:8],
            path=request._request.get_full_path()[:500],
            status=response.status_code,
            ip_address=request.META.get("REMOTE_ADDR") or None,
        )
        response["Content-Language"] = translation.get_language()
        return response

    def paginate(self, queryset, serializer_class):
        paginator = IdCursor()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


def _batches():
    return Batch.objects.select_related("product").prefetch_related(
        Prefetch(
            "holds",
            queryset=BatchHold.objects.filter(status=BatchHold.Status.ACTIVE).select_related("placed_by"),
            to_attr="active_batch_holds",
        ),
        Prefetch(
            "product__holds",
            queryset=ProductHold.objects.filter(status=ProductHold.Status.ACTIVE).select_related("placed_by"),
            to_attr="active_product_holds",
        ),
    )


def _get(queryset, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound(_("Not found.")) from None


class ProductList(ApiView):
    permission_classes = [require("release.view_product")]

    @extend_schema(
        operation_id="products_list",
        responses={200: s.paged(s.ProductSerializer), **ERRORS},
        parameters=[OpenApiParameter("status", str, enum=list(Product.Status.values)), *PAGE_PARAMS],
    )
    def get(self, request):
        rows = Product.objects.all()
        if (wanted := request.query_params.get("status")) in Product.Status.values:
            rows = rows.filter(status=wanted)
        return self.paginate(rows, s.ProductSerializer)


class ProductDetail(ApiView):
    permission_classes = [require("release.view_product")]

    @extend_schema(operation_id="products_retrieve", responses={200: s.ProductSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(s.ProductSerializer(_get(Product.objects.all(), pk)).data)


class BatchList(ApiView):
    permission_classes = [require("release.view_batch")]

    @extend_schema(
        operation_id="batches_list",
        responses={200: s.paged(s.BatchSerializer), **ERRORS},
        parameters=[
            OpenApiParameter("batch_number", str, description="Exactly this batch number."),
            OpenApiParameter("product", int, description="Batches of this product id."),
            OpenApiParameter("status", str, enum=list(Batch.Status.values)),
            *PAGE_PARAMS,
        ],
    )
    def get(self, request):
        rows = _batches()
        params = request.query_params
        if params.get("batch_number"):
            rows = rows.filter(batch_number=params["batch_number"][:50])
        if params.get("product", "").isdigit() and len(params["product"]) < 19:
            rows = rows.filter(product_id=int(params["product"]))
        if params.get("status") in Batch.Status.values:
            rows = rows.filter(status=params["status"])
        return self.paginate(rows, s.BatchSerializer)


class BatchDetail(ApiView):
    permission_classes = [require("release.view_batch")]

    @extend_schema(operation_id="batches_retrieve", responses={200: s.BatchSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(s.BatchSerializer(_get(_batches(), pk)).data)


class BatchGate(ApiView):
    """The shipping gate (release.gate.may_ship): may this batch ship on the day, and every reason
    why not — the one function the shipment form, the CSV import and POST /shipments/ ask."""

    permission_classes = [require("release.view_batch")]

    @extend_schema(
        operation_id="batches_gate",
        parameters=[OpenApiParameter("on", OpenApiTypes.DATE, description="Dispatch date; today when left out.")],
        responses={200: s.GateSerializer, **ERRORS},
    )
    def get(self, request, pk: int):
        batch = _get(Batch.objects.all(), pk)
        query = s.GateQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response({"errors": drf_errors(query.errors)}, status=status.HTTP_400_BAD_REQUEST)
        on: date = query.validated_data.get("on") or timezone.localdate()
        reasons = may_ship(batch, on=on)
        return Response(
            s.GateSerializer(
                {
                    "batch": batch.pk,
                    "batch_number": batch.batch_number,
                    "on": on,
                    "may_ship": not reasons,
                    "reasons": reasons,
                }
            ).data
        )


class BatchQCSummary(ApiView):
    """QC's answer for the batch (qc_records.for_release.batch_qc_summary), as the QC page shows it."""

    permission_classes = [require("qc_records.view_testrecord", "release.view_batch")]

    @extend_schema(operation_id="batches_qc_summary", responses={200: s.QCSummarySerializer, **ERRORS})
    def get(self, request, pk: int):
        batch = _get(Batch.objects.select_related("product"), pk)
        summary = batch_qc_summary(batch)
        return Response(
            s.QCSummarySerializer(
                {
                    "batch": batch.pk,
                    "batch_number": batch.batch_number,
                    "status": summary.status,
                    "ok": summary.ok,
                    "findings": [{"code": f.code, "ok": f.ok, "message": str(f.message)} for f in summary.findings],
                }
            ).data
        )


def _readable_documents(user):
    """Issued documents of the kinds of record ``user`` may view (``core.view_audit_trail``: all)."""
    rows = Document.objects.select_related("content_type", "issued_by").annotate(
        is_superseded=Exists(Document.objects.filter(supersedes=OuterRef("pk")))
    )
    if user.has_perm("core.view_audit_trail"):
        return rows
    perms = user.get_all_permissions()
    from django.contrib.contenttypes.models import ContentType

    allowed = [
        ct.pk
        for ct in ContentType.objects.filter(pk__in=Document.objects.values("content_type_id").distinct())
        if f"{ct.app_label}.view_{ct.model}" in perms
    ]
    return rows.filter(content_type_id__in=allowed)


class DocumentList(ApiView):
    # Each document's own rule (core.views.may_view_document_record) decides below.
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="documents_list",
        parameters=[OpenApiParameter("kind", str, description="e.g. qc_test_report"), *PAGE_PARAMS],
        responses={200: s.paged(s.DocumentSerializer), **ERRORS},
    )
    def get(self, request):
        rows = _readable_documents(request.user)
        if request.query_params.get("kind"):
            rows = rows.filter(kind=request.query_params["kind"][:64])
        return self.paginate(rows, s.DocumentSerializer)


def _document(request, pk) -> Document:
    document = _get(
        Document.objects.select_related("content_type", "issued_by").annotate(
            is_superseded=Exists(Document.objects.filter(supersedes=OuterRef("pk")))
        ),
        pk,
    )
    if not may_view_document_record(request.user, document):
        raise PermissionDenied(_("You do not have permission to do this."))
    return document


class DocumentDetail(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="documents_retrieve", responses={200: s.DocumentSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(s.DocumentSerializer(_document(request, pk)).data)


class DocumentPDF(ApiView):
    """The PDF exactly as issued; its SHA-256 is checked against the one recorded at issue before
    a byte is sent (a file changed on disk is refused, never served as the record)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="documents_pdf",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERRORS, 409: s.ErrorSerializer},
    )
    def get(self, request, pk: int):
        document = _document(request, pk)
        try:
            digest = sha256_stored(document.file)
            handle = document.file.open("rb")
        except (FileNotFoundError, OSError, ValueError):
            raise Http404 from None
        if digest != document.sha256:
            handle.close()
            return Response(
                {
                    "errors": [
                        {
                            "field": None,
                            "code": "hash_mismatch",
                            "message": _(
                                "The stored file does not match the SHA-256 recorded when the document was issued; it is not served. Tell QA."
                            ),
                        }
                    ]
                },
                status=status.HTTP_409_CONFLICT,
            )
        label = "-".join(p for p in (document.kind, document.number, f"v{document.version}") if p)
        response = FileResponse(handle, content_type="application/pdf", filename=f"{label}.pdf")
        response["X-Document-SHA256"] = document.sha256
        return response


class Shipments(ApiView):
    """Distribution records. POST records one or more shipments, each through
    ``aftersales.services.shipment_create`` — the service of the shipment form and the CSV import,
    with release's shipping gate and the customer's qualification asked for the dispatch date."""

    def get_permissions(self):
        perm = "aftersales.add_shipment" if self.request.method == "POST" else "aftersales.view_shipment"
        return [require(perm)()]

    @extend_schema(
        operation_id="shipments_list", parameters=PAGE_PARAMS, responses={200: s.paged(s.ShipmentSerializer), **ERRORS}
    )
    def get(self, request):
        return self.paginate(Shipment.objects.all(), s.ShipmentSerializer)

    @extend_schema(
        operation_id="shipments_create",
        request=s.ShipmentPostSerializer,
        responses={201: s.ShipmentResultSerializer, **ERRORS},
    )
    def post(self, request):
        body = s.ShipmentPostSerializer(data=request.data)
        if not body.is_valid():
            return Response({"errors": _row_errors(body.errors)}, status=status.HTTP_400_BAD_REQUEST)
        rows = body.validated_data["shipments"]
        good_rows_only = body.validated_data["import_good_rows"]
        created: list[Shipment] = []
        errors: list[dict] = []
        refused: list[int] = []
        with transaction.atomic():
            for index, data in enumerate(rows):
                try:
                    with transaction.atomic():
                        created.append(shipment_create(user=request.user, data=data))
                except WorkflowError as exc:
                    refused.append(index)
                    errors.extend(input_errors(exc, row=index))
            if errors and not good_rows_only:
                # All or nothing by default, as the CSV import (issue 10).
                transaction.set_rollback(True)
                return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        result = {"created": created, "refused_rows": refused}
        if errors and not created:
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        payload = s.ShipmentResultSerializer(result).data
        if errors:
            payload["errors"] = errors
        return Response(payload, status=status.HTTP_201_CREATED)


def _row_errors(errors) -> list[dict]:
    """The serializer's errors, with the row index of each shipment refused (DRF gives the rows'
    errors as a list, or as a dict by index)."""
    out: list[dict] = []
    rows = errors.get("shipments") if isinstance(errors, dict) else None
    if isinstance(rows, list):
        rows = dict(enumerate(rows))
    if isinstance(rows, dict) and all(isinstance(k, int) for k in rows):
        for index, row in sorted(rows.items()):
            if row:
                out.extend(drf_errors(row, row=index))
        out.extend(drf_errors({k: v for k, v in errors.items() if k != "shipments"}))
        return out
    return drf_errors(errors)


class FeedbackIntake(ApiView):
    """A market-feedback record (complaint, enquiry, possible ADR…) through
    ``aftersales.services.feedback_record``, the intake form's service: routed at once (a complaint
    for QA, an ADR case whose day 0 is the received time)."""

    permission_classes = [require("aftersales.add_feedback")]

    @extend_schema(
        operation_id="feedback_create",
        request=s.FeedbackInputSerializer,
        responses={201: s.FeedbackSerializer, **ERRORS},
    )
    def post(self, request):
        body = s.FeedbackInputSerializer(data=request.data)
        if not body.is_valid():
            return Response({"errors": drf_errors(body.errors)}, status=status.HTTP_400_BAD_REQUEST)
        try:
            feedback = feedback_record(user=request.user, data=body.validated_data)
        except WorkflowError as exc:
            return Response({"errors": input_errors(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(s.FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)
