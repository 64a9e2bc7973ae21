"""Holds on a batch: place one (QA, QP), lift one (QA, signed)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import SignWithReasonForm
from core.permissions import get_object_for_user, require_perm
from core.web import posted, show_refusal
from core.workflow import WorkflowError
from release import services
from release.forms import HoldForm
from release.models import Batch, BatchHold


@require_POST
def batch_hold_place(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, "release.add_batchhold")
    batch = get_object_for_user(request, Batch.objects.select_related("product"), pk, "release.view_batch")
    form = HoldForm(posted(request), prefix="hold")
    if form.is_valid():
        try:
            services.hold_place(
                batch=batch,
                user=request.user,
                reason=form.cleaned_data["reason"],
                source_text=form.cleaned_data["source_text"],
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Batch %(number)s is on hold.") % {"number": batch.batch_number})
            return redirect(batch)
    from release.views.batches import _detail_context

    batch.refresh_from_db()
    return render(request, "release/batch_detail.html", _detail_context(request, batch, hold_form=form), status=400)


@require_POST
def hold_lift(request: HttpRequest, pk: int) -> HttpResponse:
    # The role first: an id that is not a hold must not tell a person without it anything.
    require_perm(request, "release.lift_batchhold")
    hold = get_object_for_user(request, BatchHold.objects.select_related("batch"), pk, "release.view_batchhold")
    form = SignWithReasonForm(posted(request), meaning=services.hold_lift.meaning, prefix=f"lift{hold.pk}")
    if form.is_valid():
        try:
            services.hold_lift(
                hold=hold,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except WorkflowError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The hold was lifted."))
            return redirect(hold.batch)
    from release.views.batches import _detail_context

    batch = Batch.objects.select_related("product").get(pk=hold.batch_id)
    return render(
        request, "release/batch_detail.html", _detail_context(request, batch, lift_forms={hold.pk: form}), status=400
    )
