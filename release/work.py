"""Release's queues on the "My work" page."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.work import WorkItem, WorkQueue
from release.models import Product

QUEUE_LENGTH = 20


def queues(user) -> list[WorkQueue]:
    out: list[WorkQueue] = []
    if user.has_perm("release.approve_product"):
        # Only what this person may approve: nothing they created or changed (R-SEQ-2).
        waiting = Product.objects.awaiting_approval().not_authored_by(user).order_by("updated_at", "pk")
        out.append(
            WorkQueue(
                key="product_approval",
                title=_("Products awaiting QA approval"),
                items=[
                    WorkItem(title=str(p), url=p.get_absolute_url(), since=p.updated_at, note=p.approval_number)
                    for p in waiting[:QUEUE_LENGTH]
                ],
                total=waiting.count(),
                more_url=reverse("release:product_list") + "?status=draft",
                empty_text=_("No product is waiting for your approval."),
            )
        )
    if user.has_perm("release.change_product"):
        mine = Product.objects.awaiting_approval().filter(last_changed_by=user).order_by("updated_at", "pk")
        if mine.exists():
            out.append(
                WorkQueue(
                    key="my_product_drafts",
                    title=_("Your product drafts (waiting for another person's approval)"),
                    items=[
                        WorkItem(title=str(p), url=p.get_absolute_url(), since=p.updated_at)
                        for p in mine[:QUEUE_LENGTH]
                    ],
                    total=mine.count(),
                )
            )
    return out
