"""Recall pages (R-RCL-1…6): dashboard, information, recall with its consignee table, deadlines and
reconciliation, consignee steps, CSV, mock recalls. Thin: authorise → form → one service → message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import SignWithReasonForm
from core.permissions import get_object_for_user, require_perm
from core.signatures import signatures_for
from core.web import (
    attach_people,
    csv_line_writer,
    explain_hidden_form,
    paginate,
    posted,
    query_without_page,
    show_refusal,
)
from core.workflow import WorkflowError
from recalls import services
from recalls.deadlines import recall_tasks, tasks_of_recalls
from recalls.forms import (
    AcknowledgeForm,
    AddBatchForm,
    AnalyseForm,
    CloseForm,
    DeadlineTableForm,
    InformationRecordForm,
    MockCompleteForm,
    MockStartForm,
    NarrowForm,
    NotifyForm,
    PassOnForm,
    PlanForm,
    ProgressForm,
    ProposeForm,
    QuantitiesForm,
    RecoveredGoodsForm,
)
from recalls.models import DeadlineRule, MockRecall, Recall, RecallConsignee, RecallInformation, RecoveredGoods
from recalls.reconciliation import Totals, reconcile
from release.for_shipping import BatchHold, ProductHold, rejections_from, with_source_flags

# --- dashboard -----------------------------------------------------------------------------------


# Open recalls per page of the dashboard: a coordinator has a few at a time; more are paged.
OPEN_PAGE_SIZE = 20

LIST_COLUMNS = (
    "number",
    "status",
    "recall_class",
    "started_at",
    "deadline_version",
    "plan_completion_date",
    "approved_at",
    "product__generic_name",
    *(f"coordinator__{name}" for name in ("full_name", "first_name", "last_name", "username")),
)


def recall_list(request: HttpRequest) -> HttpResponse:
    """Open information records, open recalls with effectiveness and overdue tasks, mock recalls and
    closed recalls (paged); a fixed number of queries whatever the number of recalls or consignees."""
    require_perm(request, "recalls.view_recall")
    today = timezone.localdate()
    # Only the columns the table and the deadlines read (issue 12: a recall row is wide, and the
    # coordinator's account row too).
    # Paged like the closed ones: a page's cost is bounded by its length, not by how many recalls
    # are open (issue 12).
    open_page = paginate(
        request,
        Recall.objects.open()
        .select_related("product", "coordinator")
        .only(*LIST_COLUMNS)
        .order_by("proposed_at", "pk"),
        size=OPEN_PAGE_SIZE,
        param="open_page",
    )
    recalls = list(open_page)
    tasks = tasks_of_recalls(recalls, today)
    # The table prints overall totals only: summed by the database, one row per recall, not every
    # consignee row of every open recall (issue 12).
    totals = {
        row.pop("recall_id"): Totals(**row)
        for row in RecallConsignee.objects.filter(recall__in=[r.pk for r in recalls])
        .values("recall_id")
        .order_by()
        .annotate(
            **{f: Coalesce(Sum(f"quantity_{f}"), 0) for f in ("shipped", "held", "returned", "used", "destroyed")},
            consignees=Count("id"),
            notified=Count("notified_at"),
            acknowledged=Count("acknowledged_at"),
        )
    }
    open_recalls = [
        {
            "recall": recall,
            "totals": totals.get(recall.pk, Totals()),
            "overdue": [t for t in tasks.get(recall.pk, []) if t.overdue(today)],
        }
        for recall in recalls
    ]
    return render(
        request,
        "recalls/recall_list.html",
        {
            "information": RecallInformation.objects.open().select_related("product").order_by("received_at", "pk"),
            "open_recalls": open_recalls,
            "open_page": open_page,
            "open_query": query_without_page(request, "open_page"),
            "closed": paginate(
                request,
                Recall.objects.filter(status=Recall.Status.CLOSED)
                .select_related("product")
                .only("number", "recall_class", "approved_at", "product__generic_name")
                .order_by("-approved_at", "-pk"),
                param="closed_page",
            ),
            "closed_query": query_without_page(request, "closed_page"),
            "mocks": MockRecall.objects.select_related("product", "started_by").order_by("-started_at", "-pk")[:10],
        },
    )


# --- recall information ----------------------------------------------------------------------------


def _source_record(request: HttpRequest):
    """The complaint, ADR case, OOS or deviation the information is raised from (?complaint=pk …),
    with the source and product it implies; the person must be able to read it."""
    from aftersales.models import ADRCase, Complaint
    from qc_records.models import OOSInvestigation
    from release.models import Deviation

    kinds = {
        "complaint": (Complaint, "aftersales.view_complaint", "complaint"),
        "adr": (ADRCase, "aftersales.view_adrcase", "adr"),
        "oos": (OOSInvestigation, "qc_records.view_oosinvestigation", "oos"),
        "deviation": (Deviation, "release.view_deviation", "deviation"),
    }
    for key, (model, perm, source) in kinds.items():
        pk = request.GET.get(key) or request.POST.get("_" + key)
        if pk:
            record = get_object_for_user(request, model, pk, perm)
            product = None
            if key in ("complaint", "adr"):
                product = record.product
            elif key == "oos":
                product = record.record.sample.product
            elif key == "deviation":
                first = record.batches.select_related("product").first()
                product = first.product if first else None
            if key == "deviation":
                batch_numbers = ", ".join(
                    record.batches.order_by("batch_number").values_list("batch_number", flat=True)
                )
            else:
                batch = getattr(record, "batch", None) if key != "oos" else record.record.sample.batch
                batch_numbers = batch.batch_number if batch is not None else ""
            return key, record, {"source": source, "product": product, "batch_numbers": batch_numbers}
    return None, None, {}


def information_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "recalls.add_recallinformation")
    key, record, initial = _source_record(request)
    initial.setdefault("received_at", timezone.localtime().strftime("%Y-%m-%dT%H:%M"))
    form = InformationRecordForm(posted(request), initial=initial)
    if form.is_valid():
        try:
            info = services.information_record(user=request.user, data=form.cleaned_data, source_record=record)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request,
                _("Recall information %(number)s recorded: %(product)s is locked — no batch of it can ship.")
                % {"number": info.number, "product": info.product.generic_name},
            )
            return redirect(info)
    return render(
        request,
        "recalls/information_form.html",
        {"form": form, "source_key": key, "source_record": record},
        status=400 if form.is_bound else 200,
    )


def _information_context(request: HttpRequest, info: RecallInformation, **forms) -> dict:
    user = request.user
    can_analyse = services.cannot_analyse_information(info, user) is None
    can_narrow = services.cannot_narrow_lock(info, user) is None
    can_decide = services.cannot_decide_information(info, user) is None
    can_propose = services.cannot_propose_recall(info, user) is None
    for name, shown in (
        ("analyse_form", can_analyse),
        ("narrow_form", can_narrow),
        ("decide_form", can_decide),
    ):
        explain_hidden_form(request, forms.get(name), shown)
    ct = ContentType.objects.get_for_model(RecallInformation)
    recall = Recall.objects.filter(information=info).first()
    product_holds = list(
        ProductHold.objects.filter(source_type=ct, source_id=info.pk).select_related("placed_by", "lifted_by")
    )
    for hold in product_holds:
        # The lock is lifted or narrowed only with a signature (R-RCL-2): show it beside the lock.
        hold.signed = signatures_for(hold) if hold.lifted_at else []
    return {
        "info": info,
        "recall": recall,
        "signatures": signatures_for(info),
        "product_holds": product_holds,
        "batch_holds": BatchHold.objects.filter(source_type=ct, source_id=info.pk).select_related("batch"),
        "can_analyse": can_analyse,
        "can_narrow": can_narrow,
        "can_decide": can_decide,
        "can_propose": can_propose,
        "analyse_form": forms.get("analyse_form")
        or AnalyseForm(meaning=services.information_analyse.meaning, prefix="analyse"),
        "narrow_form": forms.get("narrow_form")
        or NarrowForm(product=info.product, meaning=services.information_narrow.meaning, prefix="narrow"),
        "decide_form": forms.get("decide_form")
        or SignWithReasonForm(meaning=services.information_decide_no_recall.meaning, prefix="decide"),
    }


def information_detail(request: HttpRequest, pk: int) -> HttpResponse:
    info = get_object_for_user(
        request,
        RecallInformation.objects.select_related("product", "recorded_by", "proposed_by", "decided_by"),
        pk,
        "recalls.view_recallinformation",
    )
    return render(request, "recalls/information_detail.html", _information_context(request, info))


@require_POST
def information_analyse(request: HttpRequest, pk: int) -> HttpResponse:
    info = get_object_for_user(request, RecallInformation, pk, "recalls.analyse_recallinformation")
    form = AnalyseForm(posted(request), meaning=services.information_analyse.meaning, prefix="analyse")
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.information_analyse(
                information=info,
                user=request.user,
                password=d["password"],
                scope=d["scope"],
                analysis=d["analysis"],
                proposal=d["proposal"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Analysis and proposal signed."))
            return redirect(info)
    info.refresh_from_db()
    return render(
        request, "recalls/information_detail.html", _information_context(request, info, analyse_form=form), status=400
    )


@require_POST
def information_narrow(request: HttpRequest, pk: int) -> HttpResponse:
    info = get_object_for_user(request, RecallInformation, pk, "recalls.analyse_recallinformation")
    form = NarrowForm(
        posted(request), product=info.product, meaning=services.information_narrow.meaning, prefix="narrow"
    )
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.information_narrow(
                information=info,
                user=request.user,
                password=d["password"],
                batches=d["batches"],
                reason=d["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The product lock is narrowed to the chosen batches."))
            return redirect(info)
    info.refresh_from_db()
    return render(
        request, "recalls/information_detail.html", _information_context(request, info, narrow_form=form), status=400
    )


@require_POST
def information_decide(request: HttpRequest, pk: int) -> HttpResponse:
    info = get_object_for_user(request, RecallInformation, pk, "recalls.decide_recallinformation")
    form = SignWithReasonForm(posted(request), meaning=services.information_decide_no_recall.meaning, prefix="decide")
    if form.is_valid():
        try:
            services.information_decide_no_recall(
                information=info,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Decided: no recall. The product lock is lifted."))
            return redirect(info)
    info.refresh_from_db()
    return render(
        request, "recalls/information_detail.html", _information_context(request, info, decide_form=form), status=400
    )


def recall_propose(request: HttpRequest, pk: int) -> HttpResponse:
    info = get_object_for_user(request, RecallInformation, pk, "recalls.propose_recall")
    refusal = services.cannot_propose_recall(info, request.user)
    form = ProposeForm(posted(request), product=info.product, meaning=services.recall_propose.meaning)
    if refusal:
        messages.error(request, refusal)
        return redirect(info)
    if form.is_valid():
        d = dict(form.cleaned_data)
        batches = d.pop("batches")
        password = d.pop("password")
        d.pop("comment", None)
        try:
            recall = services.recall_propose(
                information=info, user=request.user, password=password, data=d, batches=batches, request=request
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Recall %(number)s proposed to the quality head.") % {"number": recall.number})
            return redirect(recall)
    return render(
        request,
        "recalls/propose_form.html",
        {"form": form, "info": info},
        status=400 if form.is_bound else 200,
    )


# --- the recall ----------------------------------------------------------------------------------


def _recall_context(request: HttpRequest, recall: Recall, **forms) -> dict:
    user = request.user
    today = timezone.localdate()
    rows = list(recall.consignees.select_related("batch").order_by("consignee_name", "batch__batch_number", "pk"))
    totals = reconcile(rows)
    progress = list(recall.progress.select_related("recorded_by"))
    # The deadlines from the rows just read (every progress entry, every consignee): no re-count.
    tasks = recall_tasks(recall, today, progress=progress, consignees=rows)
    can_start = services.cannot_start_recall(recall, user) is None
    can_revise_plan = services.cannot_revise_plan(recall, user) is None
    can_add = services.cannot_add_batch(recall, user) is None
    can_trace = services.cannot_trace(recall, user) is None
    can_progress = user.has_perm("recalls.add_progressentry") and recall.status in (
        Recall.Status.IN_PROGRESS,
        Recall.Status.CLOSING,
    )
    can_recovered = user.has_perm("recalls.add_recoveredgoods") and recall.status in (
        Recall.Status.IN_PROGRESS,
        Recall.Status.CLOSING,
    )
    can_close = services.cannot_close_recall(recall, user) is None
    can_approve = services.cannot_approve_recall(recall, user) is None
    # What else the QP's approval signs (R-SIG-2: the meaning is shown before signing).
    approval_rejects = (
        services.batches_to_reject(recall)
        if can_approve and recall.hold_disposition == Recall.HoldDisposition.KEEP
        else []
    )
    for name, shown in (
        ("plan_form", can_revise_plan),
        ("start_form", can_start),
        ("add_form", can_add),
        ("progress_form", can_progress),
        ("recovered_form", can_recovered),
        ("close_form", can_close),
        ("approve_form", can_approve),
    ):
        explain_hidden_form(request, forms.get(name), shown)
    ct = ContentType.objects.get_for_model(Recall)
    return {
        "recall": recall,
        "rows": rows,
        "totals": totals,
        "tasks": tasks,
        "today": today,
        "overdue": [t for t in tasks if t.overdue(today)],
        "batches": recall.batches.select_related("batch", "added_by"),
        # Holds, rejections and recovered goods only for a recall whose query said it has some.
        "holds": BatchHold.objects.filter(source_type=ct, source_id=recall.pk).select_related("batch")
        if getattr(recall, "has_holds", True)
        else [],
        "rejections": rejections_from(recall) if getattr(recall, "has_rejections", True) else [],
        "progress": progress,
        "recovered": recall.recovered.select_related("batch", "decided_by")
        if getattr(recall, "has_recovered", True)
        else [],
        "signatures": signatures_for(recall, as_loaded=True),  # read in this request (or refreshed), unchanged
        "can_start": can_start,
        "can_revise_plan": can_revise_plan,
        "plan_form": forms.get("plan_form")
        or PlanForm(
            initial={name: getattr(recall, name) for name in Recall.PLAN_FIELDS},
            meaning=services.recall_plan_revise.meaning,
            prefix="plan",
        ),
        "can_add": can_add,
        "can_trace": can_trace,
        "can_progress": can_progress,
        "can_recovered": can_recovered,
        "can_close": can_close,
        "can_approve": can_approve,
        "approval_rejects": approval_rejects,
        "start_form": forms.get("start_form")
        or SignWithReasonForm(meaning=services.recall_start.meaning, prefix="start"),
        "add_form": forms.get("add_form")
        or AddBatchForm(product=recall.product, meaning=services.recall_add_batch.meaning, prefix="add"),
        "progress_form": forms.get("progress_form") or ProgressForm(prefix="progress"),
        "recovered_form": forms.get("recovered_form")
        or RecoveredGoodsForm(recall=recall, meaning=services.recovered_goods_decide.meaning, prefix="recovered"),
        "close_form": forms.get("close_form") or CloseForm(meaning=services.recall_close.meaning, prefix="close"),
        "approve_form": forms.get("approve_form")
        or SignWithReasonForm(meaning=services.recall_approve.meaning, prefix="approve"),
    }


# The recall's people, loaded in one query of their own (core.web.attach_people): joined with the
# recall, its product and information they made PostgreSQL plan an 8-table join on every view, 7–14 ms
# of planning for well under 1 ms of execution at scale 1.0 (issue 12).
PEOPLE = ("coordinator", "qualified_person", "proposed_by", "started_by", "closed_by", "approved_by")


def _recall(request: HttpRequest, pk: int, perm: str) -> Recall:
    """The recall with its product and information, its people (one more query), and whether it
    has holds, batch rejections and recovered goods (EXISTS: most recalls' pages read none of
    those tables, issue 12)."""
    queryset = with_source_flags(Recall.objects.select_related("product", "information")).annotate(
        has_recovered=Exists(RecoveredGoods.objects.filter(recall_id=OuterRef("pk")))
    )
    recall = get_object_for_user(request, queryset, pk, perm)
    attach_people(recall, PEOPLE)
    return recall


def recall_detail(request: HttpRequest, pk: int) -> HttpResponse:
    recall = _recall(request, pk, "recalls.view_recall")
    return render(request, "recalls/recall_detail.html", _recall_context(request, recall))


def _again(request: HttpRequest, recall: Recall, **forms) -> HttpResponse:
    recall.refresh_from_db()
    for flag in ("has_holds", "has_rejections", "has_recovered"):  # read before the refused action: read the rows
        recall.__dict__.pop(flag, None)
    attach_people(recall, PEOPLE)
    return render(request, "recalls/recall_detail.html", _recall_context(request, recall, **forms), status=400)


@require_POST
def recall_start(request: HttpRequest, pk: int) -> HttpResponse:
    recall = _recall(request, pk, "recalls.start_recall")
    form = SignWithReasonForm(posted(request), meaning=services.recall_start.meaning, prefix="start")
    if form.is_valid():
        try:
            services.recall_start(
                recall=recall,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Recall started: the recalled batches are held and the product lock narrowed."))
            return redirect(recall)
    return _again(request, recall, start_form=form)


@require_POST
def recall_plan_revise(request: HttpRequest, pk: int) -> HttpResponse:
    recall = _recall(request, pk, "recalls.propose_recall")
    form = PlanForm(posted(request), meaning=services.recall_plan_revise.meaning, prefix="plan")
    if form.is_valid():
        d = dict(form.cleaned_data)
        password, reason = d.pop("password"), d.pop("reason")
        d.pop("comment", None)
        try:
            services.recall_plan_revise(
                recall=recall, user=request.user, password=password, data=d, reason=reason, request=request
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Recall plan changed and signed again."))
            return redirect(recall)
    return _again(request, recall, plan_form=form)


@require_POST
def recall_add_batch(request: HttpRequest, pk: int) -> HttpResponse:
    recall = _recall(request, pk, "recalls.add_recallbatch")
    form = AddBatchForm(
        posted(request), product=recall.product, meaning=services.recall_add_batch.meaning, prefix="add"
    )
    if form.is_valid():
        try:
            row = services.recall_add_batch(
                recall=recall,
                batch=form.cleaned_data["batch"],
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Batch %(number)s added and held.") % {"number": row.batch.batch_number})
            return redirect(recall)
    return _again(request, recall, add_form=form)


@require_POST
def progress_add(request: HttpRequest, pk: int) -> HttpResponse:
    recall = _recall(request, pk, "recalls.add_progressentry")
    form = ProgressForm(posted(request), prefix="progress")
    if form.is_valid():
        try:
            services.progress_add(recall=recall, user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Progress entry recorded."))
            return redirect(recall)
    return _again(request, recall, progress_form=form)


@require_POST
def recovered_add(request: HttpRequest, pk: int) -> HttpResponse:
    recall = _recall(request, pk, "recalls.add_recoveredgoods")
    form = RecoveredGoodsForm(
        posted(request), recall=recall, meaning=services.recovered_goods_decide.meaning, prefix="recovered"
    )
    if form.is_valid():
        d = dict(form.cleaned_data)
        password = d.pop("password")
        d.pop("comment", None)
        try:
            services.recovered_goods_decide(
                recall=recall, user=request.user, password=password, data=d, request=request
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Decision on the recovered goods signed."))
            return redirect(recall)
    return _again(request, recall, recovered_form=form)


@require_POST
def recall_close(request: HttpRequest, pk: int) -> HttpResponse:
    recall = _recall(request, pk, "recalls.close_recall")
    form = CloseForm(posted(request), meaning=services.recall_close.meaning, prefix="close")
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.recall_close(
                recall=recall,
                user=request.user,
                password=d["password"],
                effectiveness_evaluation=d["effectiveness_evaluation"],
                outstanding_justification=d["outstanding_justification"],
                hold_disposition=d["hold_disposition"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Recall closed by QA; the qualified person approves the final report."))
            return redirect(recall)
    return _again(request, recall, close_form=form)


@require_POST
def recall_approve(request: HttpRequest, pk: int) -> HttpResponse:
    recall = _recall(request, pk, "recalls.approve_recall")
    form = SignWithReasonForm(posted(request), meaning=services.recall_approve.meaning, prefix="approve")
    if form.is_valid():
        try:
            services.recall_approve(
                recall=recall,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Final report approved; the recall is closed."))
            return redirect(recall)
    return _again(request, recall, approve_form=form)


def _csv_cell(value: object) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def consignee_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The consignee list with shipped, recovered and outstanding quantities (R-RCL-3); streamed,
    read 500 rows at a time (a general recall of a widely shipped product has thousands)."""
    recall = _recall(request, pk, "recalls.view_recall")
    writer = csv_line_writer()
    header = [
        _("Consignee"),
        _("Address"),
        _("Contact"),
        _("Batch"),
        _("Shipped"),
        _("First dispatch"),
        _("Last dispatch"),
        _("Notified at"),
        _("Acknowledged at"),
        _("Held"),
        _("Returned"),
        _("Used or dispensed"),
        _("Destroyed on site"),
        _("Outstanding"),
    ]
    rows = recall.consignees.select_related("batch").order_by("consignee_name", "batch__batch_number", "pk")
    tz = timezone.get_current_timezone()

    def moment(value) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""

    def lines():
        # The BOM: spreadsheets open UTF-8 Chinese correctly with it.
        yield "\ufeff" + writer.writerow(header)
        for row in rows.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        row.consignee_name,
                        row.address,
                        row.contact,
                        row.batch.batch_number,
                        row.quantity_shipped,
                        row.first_dispatch or "",
                        row.last_dispatch or "",
                        moment(row.notified_at),
                        moment(row.acknowledged_at),
                        row.quantity_held,
                        row.quantity_returned,
                        row.quantity_used,
                        row.quantity_destroyed,
                        row.outstanding,
                    )
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{recall.number}-consignees.csv"'
    return response


# --- per consignee -------------------------------------------------------------------------------


def _consignee(request: HttpRequest, pk: int, perm: str) -> RecallConsignee:
    return get_object_for_user(
        request, RecallConsignee.objects.select_related("recall", "batch", "notified_by"), pk, perm
    )


def _consignee_context(request: HttpRequest, row: RecallConsignee, **forms) -> dict:
    can_trace = services.cannot_trace(row.recall, request.user) is None
    for form in forms.values():
        # A step refused because the recall moved on shows no form: say why (R-UX-2).
        explain_hidden_form(request, form, can_trace)
    return {
        "row": row,
        "recall": row.recall,
        "can_trace": can_trace,
        "notify_form": forms.get("notify_form") or NotifyForm(prefix="notify"),
        "ack_form": forms.get("ack_form") or AcknowledgeForm(prefix="ack"),
        "pass_form": forms.get("pass_form") or PassOnForm(prefix="pass"),
        "quantities_form": forms.get("quantities_form")
        or QuantitiesForm(prefix="qty", initial={name: getattr(row, name) for name in RecallConsignee.QUANTITY_FIELDS}),
    }


def consignee_detail(request: HttpRequest, pk: int) -> HttpResponse:
    row = _consignee(request, pk, "recalls.view_recallconsignee")
    return render(request, "recalls/consignee_detail.html", _consignee_context(request, row))


@require_POST
def consignee_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    row = _consignee(request, pk, "recalls.trace_recall")
    if step == "notify":
        form, name = NotifyForm(posted(request), prefix="notify"), "notify_form"
    elif step == "acknowledge":
        form, name = AcknowledgeForm(posted(request), prefix="ack"), "ack_form"
    elif step == "pass-on":
        form, name = PassOnForm(posted(request), prefix="pass"), "pass_form"
    elif step == "quantities":
        form, name = QuantitiesForm(posted(request), prefix="qty"), "quantities_form"
    else:
        raise Http404
    if form.is_valid():
        d = dict(form.cleaned_data)
        try:
            if step == "notify":
                services.consignee_notify(consignee=row, user=request.user, **d)
            elif step == "acknowledge":
                services.consignee_acknowledge(consignee=row, user=request.user, **d)
            elif step == "pass-on":
                services.consignee_pass_on(consignee=row, user=request.user, **d)
            else:
                reason = d.pop("reason")
                services.consignee_quantities(consignee=row, user=request.user, data=d, reason=reason)
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Saved for %(name)s.") % {"name": row.consignee_name})
            return redirect("recalls:consignee_detail", pk=row.pk)
    row.refresh_from_db()
    return render(
        request, "recalls/consignee_detail.html", _consignee_context(request, row, **{name: form}), status=400
    )


# --- deadline table (R-RCL-4) ------------------------------------------------------------------


def deadline_rules(request: HttpRequest) -> HttpResponse:
    """The current deadline table and its earlier versions; the administrator revises it with a
    reason (a new version of the whole table; running recalls keep theirs)."""
    require_perm(request, "recalls.view_deadlinerule")
    can_revise = request.user.has_perm("recalls.add_deadlinerule")
    if request.method == "POST" and not can_revise:
        require_perm(request, "recalls.add_deadlinerule")
    current = DeadlineRule.objects.order_by("-version").values_list("version", flat=True).first()
    rules = list(DeadlineRule.objects.filter(version=current).order_by("recall_class", "task"))
    form = DeadlineTableForm(posted(request), rules=rules, prefix="rules") if can_revise else None
    status = 200
    if form is not None and form.is_bound:
        if form.is_valid():
            changes = form.changes()
            if not changes:
                form.add_error(None, _("No number of days was changed: nothing to save."))
            else:
                try:
                    version = services.deadline_rule_revise(
                        user=request.user, changes=changes, reason=form.cleaned_data["reason"]
                    )
                except WorkflowError as exc:
                    show_refusal(form, exc)
                else:
                    messages.success(request, _("Deadline table version %(version)s saved.") % {"version": version})
                    return redirect("recalls:deadline_rules")
        status = 400
    versions = (
        DeadlineRule.objects.values("version", "reason", "created_at", "created_by__full_name")
        .order_by("-version", "recall_class", "task")
        .distinct()[:200]
    )
    seen, history = set(), []
    for row in versions:
        if row["version"] not in seen:
            seen.add(row["version"])
            history.append(row)
    return render(
        request,
        "recalls/deadline_rules.html",
        {"rules": rules, "version": current, "form": form, "history": history[:20]},
        status=status,
    )


# --- mock recalls --------------------------------------------------------------------------------


def mock_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "recalls.run_mockrecall")
    form = MockStartForm(posted(request))
    if form.is_valid():
        try:
            mock = services.mock_recall_start(
                user=request.user, product=form.cleaned_data["product"], batches=form.cleaned_data["batches"]
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request, _("Mock recall %(number)s started: the clock is running.") % {"number": mock.number}
            )
            return redirect(mock)
    return render(request, "recalls/mock_form.html", {"form": form}, status=400 if form.is_bound else 200)


def _mock_context(request: HttpRequest, mock: MockRecall, form=None) -> dict:
    can_complete = services.cannot_complete_mock_recall(mock, request.user) is None
    explain_hidden_form(request, form, can_complete)
    return {
        "mock": mock,
        "signatures": signatures_for(mock),
        "can_complete": can_complete,
        "complete_form": form or MockCompleteForm(meaning=services.mock_recall_complete.meaning, prefix="complete"),
    }


def mock_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mock = get_object_for_user(request, MockRecall.objects.select_related("product"), pk, "recalls.view_mockrecall")
    return render(request, "recalls/mock_detail.html", _mock_context(request, mock))


@require_POST
def mock_complete(request: HttpRequest, pk: int) -> HttpResponse:
    mock = get_object_for_user(request, MockRecall, pk, "recalls.run_mockrecall")
    form = MockCompleteForm(posted(request), meaning=services.mock_recall_complete.meaning, prefix="complete")
    if form.is_valid():
        try:
            services.mock_recall_complete(
                mock=mock,
                user=request.user,
                password=form.cleaned_data["password"],
                conclusion=form.cleaned_data["conclusion"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc, {"reason": "conclusion"})
        else:
            messages.success(request, _("Mock recall complete: the time is recorded."))
            return redirect(mock)
    mock.refresh_from_db()
    return render(request, "recalls/mock_detail.html", _mock_context(request, mock, form), status=400)


# --- documents -----------------------------------------------------------------------------------


def recall_notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The recall notice for one consignee (bilingual PDF): issued on request, then downloaded."""
    from recalls.pdf import issue_recall_notice

    row = _consignee(request, pk, "recalls.view_recallconsignee")
    if row.recall.started_at is None:
        raise Http404
    document = issue_recall_notice(consignee_pk=row.pk, user_pk=request.user.pk)
    return redirect("core:document_download", pk=document.pk)


def final_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The final report of a closed recall: the one issued after the QP's approval (issued now if
    that failed)."""
    from recalls.pdf import final_report_of, issue_final_report

    recall = _recall(request, pk, "recalls.view_recall")
    if recall.status != Recall.Status.CLOSED:
        raise Http404
    document = final_report_of(recall) or issue_final_report(recall_pk=recall.pk, user_pk=request.user.pk)
    return redirect("core:document_download", pk=document.pk)
