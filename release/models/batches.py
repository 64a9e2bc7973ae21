"""release models: batches, holds (批, 冻结)."""

from __future__ import annotations

from datetime import date

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.dates import add_months, expiry_from
from core.links import link
from release.models.products import Product

# --- batches, holds (批, 冻结) ------------------------------------------------------------------------


class BatchSizeUnit(models.TextChoices):
    TABLETS = "tablets", _("tablets")
    CAPSULES = "capsules", _("capsules")
    AMPOULES = "ampoules", _("ampoules")
    VIALS = "vials", _("vials")
    BOTTLES = "bottles", _("bottles")
    SACHETS = "sachets", _("sachets")
    KG = "kg", _("kg")
    L = "L", _("L")


def batch_value_problems(*, product: Product | None, manufacture_date, expiry_date, batch_size) -> dict[str, str]:
    """What is wrong with a batch's dates and size, by field; empty when nothing is.

    The one home of these rules: the batch form shows them beside the fields, the services refuse
    with them (other callers get a message instead of the database's check constraint).
    """
    problems: dict[str, str] = {}
    if batch_size is not None and batch_size <= 0:
        problems["batch_size"] = _("The batch size must be greater than zero.")
    if manufacture_date and expiry_date:
        if expiry_date <= manufacture_date:
            problems["expiry_date"] = _("The expiry date must be after the manufacture date.")
        elif product is not None:
            # The expiry may be set earlier than the shelf life gives (e.g. a shorter-dated
            # component), never later: the approved shelf life is the limit.
            latest = expiry_from(manufacture_date, product.shelf_life_months)
            if expiry_date > latest:
                problems["expiry_date"] = _(
                    "The expiry date cannot be later than %(latest)s (manufacture date + the product's shelf life of %(months)s months)."
                ) % {"latest": latest.isoformat(), "months": product.shelf_life_months}
    return problems


class BatchQuerySet(AuditedQuerySet):
    def in_quarantine(self) -> BatchQuerySet:
        return self.filter(status=Batch.Status.QUARANTINE)

    def shippable(self, on: date | None = None) -> BatchQuerySet:
        """The batches ``release.gate.may_ship`` lets ship on ``on`` (default today), in SQL: for
        pick lists. The gate itself decides (and says why not) when a shipment is recorded."""
        on = on or timezone.localdate()
        return (
            self.filter(status=Batch.Status.RELEASED, expiry_date__gte=on)
            .exclude(Exists(BatchHold.objects.filter(batch=OuterRef("pk"), status=BatchHold.Status.ACTIVE)))
            .exclude(
                Exists(ProductHold.objects.filter(product=OuterRef("product_id"), status=ProductHold.Status.ACTIVE))
            )
        )


class Batch(ChangeTracked):
    """One batch (批) of a product. Starts in quarantine (待验); the release review
    (``ReleaseReview``) moves it to under review, then released or rejected by the QP."""

    class Status(models.TextChoices):
        QUARANTINE = "quarantine", _("Quarantine")
        UNDER_REVIEW = "under_review", _("Under release review")
        # Two-stage products (MAH ≠ manufacturer, 药品管理法 第三十三、四十七条): the manufacturer's QP
        # released it from the factory; the MAH's QP has not yet released it to the market.
        FACTORY_RELEASED = "factory_released", _("Factory released")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", pgettext_lazy("batch", "Rejected")
        VOIDED = "voided", _("Voided")

    TRANSITIONS = {
        Status.QUARANTINE: {Status.UNDER_REVIEW, Status.VOIDED},
        Status.UNDER_REVIEW: {Status.FACTORY_RELEASED, Status.RELEASED, Status.REJECTED},
        Status.FACTORY_RELEASED: {Status.RELEASED, Status.REJECTED},
        # A released batch found defective is held (BatchHold) and recalled, not un-released. Only
        # the closure of a recall that keeps its batches as rejected goods moves it on, with the
        # QP's "Rejected" signature on a BatchRejection (release.services.rejections
        # ``recalled_batches_reject``); no review, admin, API or command path does (R-RCL-5).
        # A rejected batch is rejected for ever (ZL-086 4.4.5).
        Status.RELEASED: {Status.REJECTED},
        Status.REJECTED: set(),
        Status.VOIDED: set(),
    }
    SIGNED_FIELDS = (
        "product",
        "batch_number",
        "batch_size",
        "batch_size_unit",
        "manufacture_date",
        "expiry_date",
        "site",
    )
    # What a signature on the batch (voiding) vouches for beyond its data (core.models.signed_state).
    SIGNED_STATE = ("status",)
    EDITABLE_FIELDS = SIGNED_FIELDS
    AUDIT_LABEL_FIELD = "batch_number"

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="batches")
    batch_number = models.CharField(_("batch number"), max_length=50)
    batch_size = models.DecimalField(
        _("batch size"), max_digits=14, decimal_places=3, validators=[MinValueValidator(0)]
    )
    batch_size_unit = models.CharField(_("unit"), max_length=16, choices=BatchSizeUnit.choices)
    manufacture_date = models.DateField(_("manufacture date"))
    expiry_date = models.DateField(_("expiry date"), help_text=_("Calculated from the shelf life when left empty."))
    site = models.CharField(_("site / workshop"), max_length=200)

    status = models.CharField(
        _("disposition"), max_length=16, choices=Status.choices, default=Status.QUARANTINE, db_index=True
    )

    objects = BatchQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["-manufacture_date", "-id"]
        # The batch list's order (and per status): served by an index at 100,000 batches instead
        # of sorting them all for every page (issue 12: 330 ms → under 1 ms measured).
        indexes = [
            models.Index(F("manufacture_date").desc(), F("id").desc(), name="release_batch_list_order"),
            models.Index(F("status"), F("manufacture_date").desc(), F("id").desc(), name="release_batch_status_order"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["product", "batch_number"], name="release_batch_number_unique_per_product"),
            # A2411002 and a2411002 are the same batch on a label: refused by every path.
            models.UniqueConstraint(
                "product", Upper("batch_number"), name="release_batch_number_ci_unique_per_product"
            ),
            models.CheckConstraint(
                condition=Q(expiry_date__gt=F("manufacture_date")), name="release_batch_expiry_after_manufacture"
            ),
            models.CheckConstraint(condition=Q(batch_size__gt=0), name="release_batch_size_positive"),
        ]
        permissions = [("void_batch", _("Can void batches"))]

    def __str__(self) -> str:
        return f"{self.batch_number}"

    def get_absolute_url(self) -> str:
        return link("release:batch_detail", self.pk)

    @property
    def retention_until(self) -> date:
        """Batch records are kept at least one year past expiry (GMP 第一百六十二条, R-REC-2)."""
        return add_months(self.expiry_date, 12)

    @property
    def is_expired(self) -> bool:
        return self.expiry_date < timezone.localdate()


class BatchHold(ChangeTracked):
    """A hold (冻结/暂停发运) on a batch: while active, the batch cannot ship (release.gate).

    Placed by QA or the QP (or by recalls and complaints through ``hold_place``), naming its source
    — a linked record or a text such as a regulator's notice; lifted only with a signature and a
    reason (DESIGN.md "The shipping gate").
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LIFTED = "lifted", _("Lifted")

    TRANSITIONS = {Status.ACTIVE: {Status.LIFTED}, Status.LIFTED: set()}
    SIGNED_FIELDS = (
        "batch",
        "reason",
        "source_type",
        "source_id",
        "source_text",
        "placed_by",
        "placed_at",
        "status",
        "lifted_by",
        "lifted_at",
        "lift_reason",
    )
    AUDIT_LABEL_FIELD = "reason"

    LABEL_RELATED = ("batch",)  # what __str__ reads: read with it where the audit trail names it

    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="holds")
    reason = models.TextField(_("reason for the hold"))
    source_type = models.ForeignKey(
        ContentType,
        verbose_name=_("source record type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_id = models.PositiveBigIntegerField(_("source record id"), null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    source_text = models.CharField(
        _("source"), max_length=200, blank=True, help_text=_("e.g. a complaint number or a regulator's notice")
    )
    placed_by = models.ForeignKey("core.User", verbose_name=_("placed by"), on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    lifted_by = models.ForeignKey(
        "core.User", verbose_name=_("lifted by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.TextField(_("reason for lifting"), blank=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("batch hold")
        verbose_name_plural = _("batch holds")
        ordering = ["-placed_at", "-id"]
        indexes = [models.Index(fields=["batch", "status"])]
        permissions = [("lift_batchhold", _("Can lift batch holds (signed)"))]

    def __str__(self) -> str:
        return f"{self.batch.batch_number if self.batch_id else '—'}: {self.reason[:60]}"

    @property
    def source_label(self) -> str:
        """What the hold names as its source: the linked record, else the text."""
        if self.source_type_id and self.source_id:
            record = self.source
            if record is not None:
                return str(record)
        return self.source_text


class ProductHold(ChangeTracked):
    """A hold on a whole product (该品种锁定): while active, no batch of the product can ship.

    Recall information locks the product on receipt, before anyone decides (药品售后追回操作规程
    3.1, R-RCL-2); analysis may narrow it to batches (batch holds placed, this one lifted) — only
    with a signature. Lifted only with a signature and a reason, like a batch hold.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LIFTED = "lifted", _("Lifted")

    TRANSITIONS = {Status.ACTIVE: {Status.LIFTED}, Status.LIFTED: set()}
    SIGNED_FIELDS = (
        "product",
        "reason",
        "source_type",
        "source_id",
        "source_text",
        "placed_by",
        "placed_at",
        "status",
        "lifted_by",
        "lifted_at",
        "lift_reason",
    )
    AUDIT_LABEL_FIELD = "reason"

    LABEL_RELATED = ("product",)  # what __str__ reads: read with it where the audit trail names it

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="holds")
    reason = models.TextField(_("reason for the hold"))
    source_type = models.ForeignKey(
        ContentType,
        verbose_name=_("source record type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_id = models.PositiveBigIntegerField(_("source record id"), null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    source_text = models.CharField(_("source"), max_length=200, blank=True)
    placed_by = models.ForeignKey("core.User", verbose_name=_("placed by"), on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    lifted_by = models.ForeignKey(
        "core.User", verbose_name=_("lifted by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.TextField(_("reason for lifting"), blank=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("product hold")
        verbose_name_plural = _("product holds")
        ordering = ["-placed_at", "-id"]
        indexes = [
            models.Index(fields=["product", "status"]),
            models.Index(fields=["source_type", "source_id"]),
        ]
        permissions = [("lift_producthold", _("Can lift product holds (signed)"))]

    def __str__(self) -> str:
        return f"{self.product.generic_name if self.product_id else '—'}: {self.reason[:60]}"

    @property
    def source_label(self) -> str:
        if self.source_type_id and self.source_id:
            record = self.source
            if record is not None:
                return str(record)
        return self.source_text


# Names of later sections, used inside methods (imported last: no import cycle).


class BatchRejection(ChangeTracked):
    """The rejection of a batch already released, after a recall (召回后不合格处理): what moved the
    batch from released to rejected, signed "Rejected" by the QP who approved the recall's closure.

    A batch rejected by its release review carries the QP's signature on the review step instead
    (and the nonconforming-product report); this record exists only for the path a review cannot
    take (``Batch.TRANSITIONS``). The integrity check verifies its signature and what it vouched
    for (the batch rejected); a batch status changed by SQL has no audit-trail row and is reported.
    """

    class Status(models.TextChoices):
        # One state: the record is written signed. It is declared so that the integrity check
        # requires its signature (REQUIRED_SIGNATURES) and compares what that vouched for.
        REJECTED = "rejected", pgettext_lazy("batch", "Rejected")

    TRANSITIONS = {Status.REJECTED: set()}
    REQUIRED_SIGNATURES = {Status.REJECTED: "rejected"}  # core.integrity: the rejection stands only with it
    SIGNED_FIELDS = ("batch", "source_type", "source_id", "source_text", "reason", "rejected_by", "rejected_at")
    # The signature vouches that the batch is rejected: a batch status moved back by SQL is reported.
    SIGNED_STATE = ("status", "batch.status")
    AUDIT_LABEL_FIELD = "source_text"

    batch = models.OneToOneField(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="rejection_after_recall"
    )
    source_type = models.ForeignKey(
        ContentType, verbose_name=_("source record type"), on_delete=models.PROTECT, related_name="+"
    )
    source_id = models.PositiveBigIntegerField(_("source record id"))
    source = GenericForeignKey("source_type", "source_id")
    source_text = models.CharField(_("source"), max_length=200)
    reason = models.TextField(_("reason for the rejection"))
    rejected_by = models.ForeignKey(
        "core.User", verbose_name=_("rejected by"), on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(_("rejected at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REJECTED)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(ChangeTracked.Meta):
        verbose_name = _("batch rejection after recall")
        verbose_name_plural = _("batch rejections after recall")

    def __str__(self) -> str:
        return f"{self.batch} · {self.source_text}"

    def get_absolute_url(self) -> str:
        return link("release:batch_detail", self.batch_id)
