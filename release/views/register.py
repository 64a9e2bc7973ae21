"""The register of decided batches (R-REL-9) and QP designations (R-REL-5)."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.permissions import get_object_for_user, require_perm
from core.web import csv_line_writer, paginate, posted, query_without_page, show_refusal
from core.workflow import WorkflowError
from release import services
from release.forms import DesignationForm, RegisterFilterForm, RevokeForm
from release.models import QPDesignation, ReleaseReview

PAGE_SIZE = 50


def _register_rows(request: HttpRequest):
    form = RegisterFilterForm(request.GET or None)
    rows = ReleaseReview.objects.decided().select_related("batch", "batch__product", "decided_by")
    if form.is_valid():
        d = form.cleaned_data
        tz = timezone.get_current_timezone()
        if d["product"]:
            rows = rows.filter(
                Q(batch__product__name__icontains=d["product"])
                | Q(batch__product__generic_name__icontains=d["product"])
            )
        if d["decision"]:
            rows = rows.filter(decision=d["decision"])
        if d["batch"]:
            rows = rows.filter(batch__batch_number__icontains=d["batch"])
        if d["decided_from"]:
            rows = rows.filter(decided_at__gte=datetime.combine(d["decided_from"], time.min, tz))
        if d["decided_to"]:
            rows = rows.filter(decided_at__lt=datetime.combine(d["decided_to"], time.max, tz))
    return form, rows.order_by("-decided_at", "-pk")


def register(request: HttpRequest) -> HttpResponse:
    """Newest first, paged by a cursor (decided_at, id) so a page costs the same at row 100,000."""
    require_perm(request, "release.view_releasereview")
    form, rows = _register_rows(request)
    after = request.GET.get("after", "")
    if after:
        at_text, _sep, pk_text = after.rpartition("_")
        at = parse_datetime(at_text) if at_text else None
        if at is not None and pk_text.isdigit():
            rows = rows.filter(Q(decided_at__lt=at) | Q(decided_at=at, pk__lt=int(pk_text)))
    page = list(rows[: PAGE_SIZE + 1])
    has_next = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    query = request.GET.copy()
    query.pop("after", None)
    next_after = f"{page[-1].decided_at.isoformat()}_{page[-1].pk}" if has_next else ""
    return render(
        request,
        "release/register.html",
        {"form": form, "rows": page, "next_after": next_after, "query": query.urlencode(), "first_page": not after},
    )


def _csv_cell(value: object) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def register_csv(request: HttpRequest) -> StreamingHttpResponse:
    require_perm(request, "release.view_releasereview")
    _form, rows = _register_rows(request)
    writer = csv_line_writer()
    header = [_("Batch number"), _("Product"), _("Decision"), _("Qualified person"), _("Decided at")]

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for r in rows.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    _csv_cell(r.batch.batch_number),
                    _csv_cell(r.batch.product),
                    r.get_decision_display(),
                    _csv_cell(r.decided_by.printed_name if r.decided_by else ""),
                    timezone.localtime(r.decided_at).strftime("%Y-%m-%d %H:%M %Z"),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="release-register.csv"'
    return response


def batch_dossier(request: HttpRequest, pk: int) -> HttpResponse:
    """Every release record of the batch as one JSON file (R-REC-3)."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    from release.dossier import batch_dossier as build
    from release.models import Batch

    require_perm(request, "release.view_releasereview")
    batch = get_object_for_user(request, Batch.objects.select_related("product"), pk, "release.view_batch")
    body = json.dumps(build(batch), cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-dossier.json"'
    return response


def batch_dossier_bundle(request: HttpRequest, pk: int) -> HttpResponse:
    """The batch dossier as a ZIP: the JSON, every issued PDF of the batch and a SHA-256 manifest (R-REC-3)."""
    from release.dossier import dossier_bundle
    from release.models import Batch

    require_perm(request, "release.view_releasereview")
    batch = get_object_for_user(request, Batch.objects.select_related("product"), pk, "release.view_batch")
    body = dossier_bundle(batch, exported_by=request.user.printed_name)
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-dossier.zip"'
    return response


def designation_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.view_qpdesignation")
    # Paged like every list: its hundred-odd rows at a plant's volume were ~20 ms of rendering on
    # every view (issue 12); a register of designations is read by product, a page at a time.
    rows = QPDesignation.objects.select_related("person", "product").order_by("product__name", "-valid_to", "-pk")
    return render(
        request,
        "release/designation_list.html",
        {
            "page_obj": paginate(request, rows),
            "query": query_without_page(request),
            "can_add": services.cannot_designate(request.user) is None,
        },
    )


def designation_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "release.add_qpdesignation")
    form = DesignationForm(posted(request))
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.designation_create(
                user=request.user,
                person=d["person"],
                products=d["products"],
                letter_number=d["letter_number"],
                valid_from=d["valid_from"],
                valid_to=d["valid_to"],
                factory_release=d["factory_release"],
                market_release=d["market_release"],
                deputy=d["deputy"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The designation was recorded."))
            return redirect("release:designation_list")
    return render(request, "release/designation_form.html", {"form": form})


def designation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "release.change_qpdesignation")
    designation = get_object_for_user(request, QPDesignation, pk, "release.view_qpdesignation")
    form = RevokeForm(posted(request))
    if form.is_valid():
        try:
            services.designation_revoke(designation=designation, user=request.user, reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The designation was revoked."))
            return redirect("release:designation_list")
    return render(request, "release/designation_form.html", {"form": form, "designation": designation})
