"""Release's queues on the "My work" page."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.work import WorkItem, WorkQueue
from release.models import Product


def queues(user) -> list[WorkQueue]:
    """Each queue reads only the columns its rows show (``.only()``, issue 12)."""
    out: list[WorkQueue] = []
    if user.has_perm("release.approve_product"):
        # Only what this person may approve: nothing they created or changed (R-SEQ-2).
        out.append(
            WorkQueue(
                key="product_approval",
                title=_("Products awaiting QA approval"),
                rows=Product.objects.awaiting_approval()
                .not_authored_by(user)
                .only("name", "strength", "updated_at", "approval_number")
                .order_by("updated_at", "pk"),
                item=lambda p: WorkItem(
                    title=str(p), url=p.get_absolute_url(), since=p.updated_at, note=p.approval_number
                ),
                more_url=reverse("release:product_list") + "?status=draft",
                empty_text=_("No product is waiting for your approval."),
            )
        )
    if user.has_perm("release.change_product"):
        out.append(
            WorkQueue(
                key="my_product_drafts",
                title=_("Your product drafts (waiting for another person's approval)"),
                rows=Product.objects.awaiting_approval()
                .filter(last_changed_by=user)
                .only("name", "strength", "updated_at")
                .order_by("updated_at", "pk"),
                item=lambda p: WorkItem(title=str(p), url=p.get_absolute_url(), since=p.updated_at),
                hide_empty=True,  # shown only while there is one
            )
        )
    if user.has_perm("release.release_materiallot"):
        # R-MAT-1: lots in quarantine, minus those this person registered (R-SEQ-2).
        from release.models import MaterialLot

        out.append(
            WorkQueue(
                key="material_lot_release",
                title=_("Material lots awaiting QA release"),
                rows=MaterialLot.objects.awaiting_release()
                .not_registered_by(user)
                .only("lot_number", "material_name", "created_at", "supplier")
                .order_by("received_date", "pk"),
                item=lambda lot: WorkItem(
                    title=f"{lot.lot_number} · {lot.material_name}",
                    url=lot.get_absolute_url(),
                    since=lot.created_at,
                    note=lot.supplier,
                ),
                more_url=reverse("release:materiallot_list") + "?status=quarantine",
                empty_text=_("No material lot is waiting for release."),
            )
        )
    out.extend(_review_queues(user))
    return out


def _review_queues(user) -> list[WorkQueue]:
    """One queue per stage the person may sign: reviews waiting for it, minus those where this person
    signed another stage (R-SEQ-2), and for the QP only the products they are designated for."""
    from django.db.models import Exists, OuterRef

    from release.models import Batch, QPDesignation, ReleaseReview, ReviewStep, Stage
    from release.services.reviews import STAGE_PERMISSIONS

    out: list[WorkQueue] = []
    if user.has_perm("release.review_production"):
        out.append(
            WorkQueue(
                key="release_to_start",
                title=_("Batches in quarantine: start the release review"),
                rows=Batch.objects.in_quarantine()
                .select_related("product")
                .only("batch_number", "created_at", "product__name", "product__strength")
                .order_by("created_at", "pk"),
                item=lambda b: WorkItem(
                    title=f"{b.batch_number} · {b.product}",
                    url=reverse("release:batch_review", args=[b.pk]),
                    since=b.created_at,
                ),
                empty_text=_("No batch is waiting."),
            )
        )
    titles = {
        Stage.PRODUCTION: _("Release review: production review"),
        Stage.QC: _("Release review: QC review"),
        Stage.QA: _("Release review: QA evaluation"),
        Stage.STAMP: _("Release review: release stamp"),
        Stage.QP: _("Release review: qualified person's decision"),
        Stage.MARKET: _("Release review: market release"),
    }
    status_of = {stage: status for status, stage in ReleaseReview.STAGE_OF.items()}
    designated: dict[str, list[int]] | None = None
    for stage, title in titles.items():
        if not user.has_perm(STAGE_PERMISSIONS[stage]):
            continue
        signed_other = ReviewStep.objects.filter(review=OuterRef("pk"), signed_by=user).exclude(stage=stage)
        reviews = (
            ReleaseReview.objects.filter(status=status_of[stage])
            .exclude(Exists(signed_other))
            .select_related("batch", "batch__product")
            .only("updated_at", "batch__batch_number", "batch__product__name", "batch__product__strength")
            .order_by("updated_at", "pk")
        )
        if stage in (Stage.QP, Stage.MARKET):
            # The products this QP is designated for, read first (one small query for both stages):
            # as an EXISTS, PostgreSQL walked every batch of those products (760 at scale 1.0) to
            # find the few reviews waiting, ~5 ms; as ids, it reads the waiting reviews (issue 12).
            if designated is None:
                designated = {Stage.QP: [], Stage.MARKET: []}
                for product_id, factory, market in (
                    QPDesignation.objects.valid()
                    .filter(person=user)
                    .values_list("product_id", "factory_release", "market_release")
                ):
                    if factory:
                        designated[Stage.QP].append(product_id)
                    if market:
                        designated[Stage.MARKET].append(product_id)
            reviews = reviews.filter(batch__product_id__in=designated[stage])
        out.append(
            WorkQueue(
                key=f"release_{stage}",
                title=title,
                rows=reviews,
                item=lambda r: WorkItem(
                    title=f"{r.batch.batch_number} · {r.batch.product}", url=r.get_absolute_url(), since=r.updated_at
                ),
                empty_text=_("Nothing is waiting for you at this stage."),
            )
        )
    return out
