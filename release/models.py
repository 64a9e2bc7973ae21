from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, AuditError, ChangeTracked, audited_history
from core.dates import add_months, expiry_from


class DosageForm(models.TextChoices):
    TABLET = "tablet", _("Tablet")
    CAPSULE = "capsule", _("Capsule")
    INJECTION = "injection", _("Injection")
    GRANULE = "granule", _("Granules")
    ORAL_LIQUID = "oral_liquid", _("Oral liquid")
    OINTMENT = "ointment", _("Ointment")
    OTHER = "other", _("Other")


class ProductQuerySet(AuditedQuerySet):
    def active(self) -> ProductQuerySet:
        return self.exclude(status=Product.Status.VOIDED)

    def awaiting_approval(self) -> ProductQuerySet:
        return self.filter(status=Product.Status.DRAFT)

    @staticmethod
    def _authored_by(user) -> Exists:
        """True for a product whose current version ``user`` created or changed: a history row by
        them after the last approval (any row at all when it was never approved). R-SEQ-2: such
        a person is an author of what would be approved, even if someone else changed it last."""
        history = Product.history.model  # type: ignore[attr-defined]
        approvals = history.objects.filter(id=OuterRef(OuterRef("pk")), status=Product.Status.APPROVED)
        last_approval = approvals.order_by("-history_date", "-history_id").values("history_date")[:1]
        return Exists(
            history.objects.filter(id=OuterRef("pk"), history_user=user).filter(
                Q(history_date__gt=Subquery(last_approval)) | ~Exists(approvals)
            )
        )

    def authored_by(self, user) -> ProductQuerySet:
        """Products whose current version ``user`` created or changed, or changed last: they may
        not approve it (R-SEQ-2; ``release.services.cannot_approve_product`` uses this)."""
        return self.filter(Q(last_changed_by=user) | Q(self._authored_by(user)))

    def not_authored_by(self, user) -> ProductQuerySet:
        return self.exclude(Q(last_changed_by=user) | Q(self._authored_by(user)))


class Product(ChangeTracked):
    """A medicinal product's master record (品种), approved by QA before batches can be made."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        VOIDED = "voided", _("Voided")

    TRANSITIONS = {
        Status.DRAFT: {Status.APPROVED, Status.VOIDED},
        # A change to an approved product sends it back to draft: it needs approving again.
        Status.APPROVED: {Status.DRAFT, Status.VOIDED},
        Status.VOIDED: set(),
    }
    # The content a QA approval vouches for (its signature hashes these, R-SIG-3).
    SIGNED_FIELDS = (
        "name",
        "generic_name",
        "dosage_form",
        "strength",
        "pack_size",
        "approval_number",
        "shelf_life_months",
        "storage_conditions",
        "mah",
        "manufacturer",
        "requires_two_stage_release",
        "requires_lot_release_certificate",
    )
    # The material-balance limits (R-REL-8) are edited like the rest (a change needs approving
    # again) but are not in the approval's hash: adding them would break the existing signatures.
    EDITABLE_FIELDS = SIGNED_FIELDS + ("balance_lower_limit", "balance_upper_limit")
    AUDIT_LABEL_FIELD = "name"
    # A status that needs a signature to stand (core.integrity; set by SQL otherwise).
    REQUIRED_SIGNATURES = {Status.APPROVED: "approved"}
    # What an approval or voiding vouches for beyond the content (core.models.signed_state).
    SIGNED_STATE = ("status", "balance_lower_limit", "balance_upper_limit")

    name = models.CharField(_("product name"), max_length=200)
    generic_name = models.CharField(_("generic name"), max_length=200)
    dosage_form = models.CharField(_("dosage form"), max_length=32, choices=DosageForm.choices)
    strength = models.CharField(_("strength"), max_length=100, help_text=_("e.g. 0.25g or 2ml:0.5g"))
    pack_size = models.CharField(_("pack size"), max_length=100, help_text=_("e.g. 24 capsules/box"))
    approval_number = models.CharField(
        _("approval number"), max_length=50, unique=True, help_text=_("e.g. 国药准字H20000000")
    )
    shelf_life_months = models.PositiveSmallIntegerField(
        _("shelf life (months)"), validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    storage_conditions = models.CharField(_("storage conditions"), max_length=200)
    mah = models.CharField(_("marketing authorisation holder"), max_length=200)
    manufacturer = models.CharField(_("manufacturer"), max_length=200)
    requires_two_stage_release = models.BooleanField(_("two-stage release (factory, then market)"), default=False)
    requires_lot_release_certificate = models.BooleanField(_("needs lot release certificate (批签发)"), default=False)
    balance_lower_limit = models.DecimalField(
        _("material balance lower limit (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("95.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("200"))],
    )
    balance_upper_limit = models.DecimalField(
        _("material balance upper limit (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("101.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("200"))],
    )

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)

    objects = ProductQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "strength"]
        constraints = [
            # 国药准字H20000001 and 国药准字h20000001 are the same approval.
            models.UniqueConstraint(Upper("approval_number"), name="release_product_approval_number_ci_unique"),
        ]
        permissions = [
            ("approve_product", _("Can approve product master records")),
            ("void_product", _("Can void product master records")),
            # Held per product as a django-guardian object permission, mirrored from QPDesignation.
            ("decide_batch", _("Can decide the release of this product's batches (designated QP)")),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.strength}"

    def get_absolute_url(self) -> str:
        return reverse("release:product_detail", args=[self.pk])

    @property
    def needs_two_stage_release(self) -> bool:
        """Factory release, then market release, whenever the MAH is not the manufacturer (药品管理法
        第三十三、四十七条; R-REL-7): derived, the flag can only add it, never take it away."""
        return self.requires_two_stage_release or self.mah.strip() != self.manufacturer.strip()


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
        return self.filter(status=Batch.Status.RELEASED, expiry_date__gte=on).exclude(
            Exists(BatchHold.objects.filter(batch=OuterRef("pk"), status=BatchHold.Status.ACTIVE))
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
        # Final: a released batch found defective is held (BatchHold) and recalled, not un-released;
        # a rejected batch is rejected for ever (ZL-086 4.4.5).
        Status.RELEASED: set(),
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
        return reverse("release:batch_detail", args=[self.pk])

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


class EventClass(models.TextChoices):
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")
    CRITICAL = "critical", _("Critical")


class QualityEventQuerySet(AuditedQuerySet):
    def open(self) -> QualityEventQuerySet:
        return self.filter(status=QualityEvent.Status.OPEN)

    def affecting(self, batch: Batch | int) -> QualityEventQuerySet:
        return self.filter(batches=batch)


class QualityEvent(ChangeTracked):
    """What deviations (偏差) and change controls (变更控制) share: enough to block a release and to be
    cited on the certificate (light; full CAPA is later work). Open → closed with QA's signature."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    TRANSITIONS = {Status.OPEN: {Status.CLOSED}, Status.CLOSED: set()}
    EDITABLE_FIELDS = ("title", "description", "classification", "investigation", "conclusion")
    # ``batch_ids``: the batches affected, frozen as a sorted list of ids so the closure signature
    # covers them (a many-to-many cannot be hashed from the row itself).
    SIGNED_FIELDS = (
        "number",
        "title",
        "description",
        "classification",
        "batch_ids",
        "investigation",
        "conclusion",
        "status",
        "raised_by",
        "raised_at",
        "closed_by",
        "closed_at",
    )
    AUDIT_LABEL_FIELD = "number"
    NUMBER_SERIES = ""

    number = models.CharField(_("number"), max_length=32, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    classification = models.CharField(_("classification"), max_length=16, choices=EventClass.choices)
    batch_ids = models.JSONField(_("batches affected (ids)"), default=list, editable=False)
    investigation = models.TextField(
        _("investigation (including other batches)"),
        blank=True,
        help_text=_("Root cause, impact on quality, and whether other batches are affected."),
    )
    conclusion = models.TextField(_("conclusion"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    raised_by = models.ForeignKey("core.User", verbose_name=_("raised by"), on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    closed_by = models.ForeignKey(
        "core.User", verbose_name=_("closed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = QualityEventQuerySet.as_manager()

    class Meta(AuditedModel.Meta):
        abstract = True
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Deviation(QualityEvent):
    NUMBER_SERIES = "DEV"
    batches = models.ManyToManyField(Batch, verbose_name=_("batches affected"), related_name="deviations", blank=True)
    history = audited_history()

    class Meta(QualityEvent.Meta):
        verbose_name = _("deviation")
        verbose_name_plural = _("deviations")
        permissions = [("close_deviation", _("Can close deviations (QA, signed)"))]

    def get_absolute_url(self) -> str:
        return reverse("release:deviation_detail", args=[self.pk])


class ChangeControl(QualityEvent):
    NUMBER_SERIES = "CC"
    batches = models.ManyToManyField(
        Batch, verbose_name=_("batches affected"), related_name="change_controls", blank=True
    )
    history = audited_history()

    class Meta(QualityEvent.Meta):
        verbose_name = _("change control")
        verbose_name_plural = _("change controls")
        permissions = [("close_changecontrol", _("Can close change controls (QA, signed)"))]

    def get_absolute_url(self) -> str:
        return reverse("release:changecontrol_detail", args=[self.pk])


# --- the release review (ZL-086; GMP 第二百二十九–二百三十条; R-REL-1…6) --------------------------------


class Stage(models.TextChoices):
    """The stages of a batch's release review, in order (ZL-086 4.1–4.4, B.1.1)."""

    PRODUCTION = "production", _("Production review")
    QC = "qc", _("QC review")
    QA = "qa", _("QA review and evaluation")
    STAMP = "stamp", _("Release stamp")
    QP = "qp", _("Qualified person's decision")
    MARKET = "market", _("Market release")


# The stages that answer a checklist (the stamp and the decisions do not).
CHECKLIST_STAGES = (Stage.PRODUCTION, Stage.QC, Stage.QA)


class Answer(models.TextChoices):
    CONFORMS = "conforms", _("Conforms")
    DOES_NOT_CONFORM = "does_not_conform", _("Does not conform")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class Verdict(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


class Decision(models.TextChoices):
    RELEASE = "release", _("Release")
    REJECT = "reject", _("Reject")
    OTHER = "other", _("Other")


class ImmutableQuerySet(AuditedQuerySet):
    """Reference data written once by a data migration and never changed (a change is a new version)."""


class ImmutableModel(models.Model):
    APPEND_ONLY = True

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditError(f"{type(self).__name__} rows are never changed: add a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError(f"{type(self).__name__} rows are never deleted.")


class ChecklistTemplateQuerySet(ImmutableQuerySet):
    def current(self, stage: str) -> ChecklistTemplate | None:
        """The version a review started now uses (the highest one of the stage)."""
        return self.filter(stage=stage).order_by("-version").first()


class ChecklistTemplate(ImmutableModel):
    """One version of a stage's checklist (R-REL-2). A new version applies to reviews started after
    it; a review keeps the versions it started with."""

    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    version = models.PositiveSmallIntegerField(_("version"))
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    source = models.CharField(_("source"), max_length=200)
    effective_at = models.DateTimeField(_("in force from"), default=timezone.now)

    objects = ChecklistTemplateQuerySet.as_manager()

    class Meta(ImmutableModel.Meta):
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        constraints = [models.UniqueConstraint(fields=["stage", "version"], name="release_checklist_stage_version")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def title(self) -> str:
        return self.title_zh if (get_language() or "").startswith("zh") else self.title_en


class ChecklistItem(ImmutableModel):
    """One item of a checklist template, with its stable key (B.1: P-4.2.1, QC-4.3.2.6, QA-4.1.1a …)
    and, for items the system can check, the check that pre-fills it (release.checks)."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField(_("position"))
    key = models.CharField(_("key"), max_length=32)
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    source = models.CharField(_("source"), max_length=100)
    system_check = models.CharField(_("system check"), max_length=32, blank=True)

    class Meta(ImmutableModel.Meta):
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["template", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "key"], name="release_checklist_item_key")]

    def __str__(self) -> str:
        return self.key

    @property
    def text(self) -> str:
        return self.text_zh if (get_language() or "").startswith("zh") else self.text_en


class ReleaseReviewQuerySet(AuditedQuerySet):
    def decided(self) -> ReleaseReviewQuerySet:
        return self.exclude(decision="")


class ReleaseReview(ChangeTracked):
    """The release review of one batch (放行审核): production → QC → QA → QA stamp → QP (→ market
    release for a two-stage product). Each stage is a signed ``ReviewStep``; this row holds where
    the review stands, the checklist versions it uses and, once decided, the decision for the
    register (R-REL-1, R-REL-2, R-REL-9)."""

    class Status(models.TextChoices):
        PRODUCTION = "production", _("Awaiting production review")
        QC = "qc", _("Awaiting QC review")
        QA = "qa", _("Awaiting QA evaluation")
        STAMP = "stamp", _("Awaiting the release stamp")
        QP = "qp", _("Awaiting the qualified person")
        MARKET = "market", _("Awaiting market release")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", pgettext_lazy("batch", "Rejected")

    TRANSITIONS = {
        Status.PRODUCTION: {Status.QC},
        # Each stage may send the review back to the one before it (with a reason).
        Status.QC: {Status.QA, Status.PRODUCTION},
        # Conforming → the stamp; nonconforming → straight to the QP, who can only reject (4.4.5).
        Status.QA: {Status.STAMP, Status.QP, Status.QC},
        Status.STAMP: {Status.QP, Status.QA},
        # "Other" (GMP 第二百三十条(二)) returns the review to QA's evaluation.
        Status.QP: {Status.RELEASED, Status.REJECTED, Status.MARKET, Status.STAMP, Status.QA},
        Status.MARKET: {Status.RELEASED, Status.REJECTED},
        Status.RELEASED: set(),
        Status.REJECTED: set(),
    }
    # The stage each status waits for.
    STAGE_OF = {
        Status.PRODUCTION: Stage.PRODUCTION,
        Status.QC: Stage.QC,
        Status.QA: Stage.QA,
        Status.STAMP: Stage.STAMP,
        Status.QP: Stage.QP,
        Status.MARKET: Stage.MARKET,
    }
    AUDIT_LABEL_FIELD = "status"

    batch = models.OneToOneField(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="review")
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PRODUCTION, db_index=True
    )
    production_template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("production checklist"), on_delete=models.PROTECT, related_name="+"
    )
    qc_template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("QC checklist"), on_delete=models.PROTECT, related_name="+"
    )
    qa_template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("QA checklist"), on_delete=models.PROTECT, related_name="+"
    )
    two_stage = models.BooleanField(_("two-stage release (factory, then market)"), default=False)
    started_by = models.ForeignKey(
        "core.User", verbose_name=_("started by"), on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True, db_index=True)
    decided_by = models.ForeignKey(
        "core.User", verbose_name=_("decided by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = ReleaseReviewQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("release review")
        verbose_name_plural = _("release reviews")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["decided_at", "id"], name="release_review_register")]
        permissions = [
            ("review_production", _("Can sign the production review of a batch")),
            ("review_qc", _("Can sign the QC review of a batch")),
            ("review_qa", _("Can sign the QA review and evaluation of a batch")),
            ("stamp_release", _("Can apply the release stamp")),
            ("decide_release", _("Can act as qualified person (where designated)")),
        ]

    def __str__(self) -> str:
        return str(self.batch.batch_number) if self.batch_id else "—"

    def get_absolute_url(self) -> str:
        return reverse("release:batch_review", args=[self.batch_id])

    def template_for(self, stage: str) -> ChecklistTemplate | None:
        return {
            Stage.PRODUCTION: self.production_template,
            Stage.QC: self.qc_template,
            Stage.QA: self.qa_template,
        }.get(stage)

    @property
    def waiting_for(self) -> str | None:
        return self.STAGE_OF.get(self.status)


class ReviewStepQuerySet(AuditedQuerySet):
    def active(self) -> ReviewStepQuerySet:
        return self.filter(withdrawn_at__isnull=True)


class ReviewStep(AuditedModel):
    """One signed stage of a release review: the checklist answers as signed (with the system's
    finding for each), QA's conclusions, the stamp, or the QP's decision.

    Written once and signed; a send-back marks it withdrawn (fields outside the signature) and the
    stage is signed again. R-SEQ-2: one person signs at most one stage of a batch.
    """

    SIGNED_FIELDS = (
        "review",
        "stage",
        "template",
        "answers",
        "production_verdict",
        "testing_verdict",
        "overall_verdict",
        "lot_release_number",
        "audit_trail_reviewed",
        "decision",
        "decision_text",
        "statement",
        "signed_by",
        "signed_at",
    )
    UNSIGNED_FIELDS = {
        "withdrawn_at": "sending a stage back is its own step with a reason; the signature stays as history",
        "withdrawn_by": "as withdrawn_at",
        "withdraw_reason": "as withdrawn_at",
    }
    AUDIT_LABEL_FIELD = "stage"

    review = models.ForeignKey(
        ReleaseReview, verbose_name=_("release review"), on_delete=models.PROTECT, related_name="steps"
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    template = models.ForeignKey(
        ChecklistTemplate,
        verbose_name=_("checklist"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answers = models.JSONField(_("checklist answers"), default=list, blank=True)
    production_verdict = models.CharField(_("production evaluation"), max_length=8, choices=Verdict.choices, blank=True)
    testing_verdict = models.CharField(_("testing evaluation"), max_length=8, choices=Verdict.choices, blank=True)
    overall_verdict = models.CharField(_("overall conclusion"), max_length=8, choices=Verdict.choices, blank=True)
    lot_release_number = models.CharField(_("lot release certificate number (批签发)"), max_length=64, blank=True)
    audit_trail_reviewed = models.BooleanField(_("critical-data audit trail reviewed"), default=False)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True)
    decision_text = models.TextField(_("decision text"), blank=True)
    statement = models.TextField(_("statement signed"), blank=True)
    signed_by = models.ForeignKey("core.User", verbose_name=_("signed by"), on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("sent back at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        "core.User", verbose_name=_("sent back by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdraw_reason = models.TextField(_("reason for sending back"), blank=True)

    objects = ReviewStepQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("release review step")
        verbose_name_plural = _("release review steps")
        ordering = ["signed_at", "id"]
        indexes = [models.Index(fields=["review", "stage"])]

    def __str__(self) -> str:
        return f"{self.review} · {self.get_stage_display()}"


class QPDesignationQuerySet(AuditedQuerySet):
    def valid(self, on: date | None = None) -> QPDesignationQuerySet:
        on = on or timezone.localdate()
        return self.filter(status=QPDesignation.Status.ACTIVE, valid_from__lte=on, valid_to__gte=on)


class QPDesignation(ChangeTracked):
    """The company's designation of a qualified person (or a deputy) for a product, from its
    authorisation letter (授权书): entered by an administrator, never by a QP (ZL-086 4.4.4: no
    delegation), and mirrored as the django-guardian object permission ``release.decide_batch`` on
    the product (R-REL-5)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    TRANSITIONS = {Status.ACTIVE: {Status.REVOKED}, Status.REVOKED: set()}
    AUDIT_LABEL_FIELD = "letter_number"

    person = models.ForeignKey(
        "core.User", verbose_name=_("qualified person"), on_delete=models.PROTECT, related_name="qp_designations"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="qp_designations"
    )
    letter_number = models.CharField(_("authorisation letter number"), max_length=64)
    factory_release = models.BooleanField(_("factory release (出厂放行)"), default=True)
    market_release = models.BooleanField(_("market release (上市放行)"), default=True)
    deputy = models.BooleanField(_("deputy qualified person"), default=False)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    revoke_reason = models.TextField(_("reason for revoking"), blank=True)

    objects = QPDesignationQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("QP designation")
        verbose_name_plural = _("QP designations")
        ordering = ["product", "-valid_to", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__gte=F("valid_from")), name="release_qp_designation_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.letter_number} · {self.product if self.product_id else '—'}"


# --- material lots, bills of materials, material balance (R-MAT-1, R-REL-8; ZL-086 4.2.2, 4.2.8, 4.3.2.7) ---


class MaterialUnit(models.TextChoices):
    KG = "kg", _("kg")
    G = "g", _("g")
    L = "L", _("L")
    ML = "mL", _("mL")
    PIECES = "pieces", _("pieces")


class MaterialLotQuerySet(AuditedQuerySet):
    def awaiting_release(self) -> MaterialLotQuerySet:
        return self.filter(status=MaterialLot.Status.QUARANTINE)

    def not_registered_by(self, user) -> MaterialLotQuerySet:
        """Lots ``user`` did not register (R-SEQ-2: the person who registered a lot does not release it)."""
        return self.exclude(registered_by=user)


class MaterialLot(ChangeTracked):
    """An incoming lot of a starting or packaging material (物料批). Quarantined (待验) on receipt
    until QA releases or rejects it with a signature (R-MAT-1, GMP 第二百二十九条)."""

    class Status(models.TextChoices):
        QUARANTINE = "quarantine", _("Quarantine")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", pgettext_lazy("material lot", "Rejected")
        VOIDED = "voided", _("Voided")

    TRANSITIONS = {
        Status.QUARANTINE: {Status.RELEASED, Status.REJECTED, Status.VOIDED},
        # Final: a rejected lot is never released (it is destroyed or returned); a released lot
        # found defective is handled by a deviation, not un-released.
        Status.RELEASED: set(),
        Status.REJECTED: set(),
        Status.VOIDED: set(),
    }
    EDITABLE_FIELDS = (
        "material_name",
        "material_code",
        "supplier",
        "supplier_lot",
        "lot_number",
        "received_date",
        "quantity",
        "unit",
        "expiry_date",
        "qc_record",
    )
    SIGNED_FIELDS = EDITABLE_FIELDS + ("status", "registered_by", "decided_by", "decided_at", "decision_reason")
    REQUIRED_SIGNATURES = {Status.RELEASED: "released", Status.REJECTED: "rejected"}
    AUDIT_LABEL_FIELD = "lot_number"

    material_name = models.CharField(_("material name"), max_length=200)
    material_code = models.CharField(_("material code"), max_length=50)
    supplier = models.CharField(_("supplier"), max_length=200)
    supplier_lot = models.CharField(_("supplier's lot number"), max_length=64)
    lot_number = models.CharField(_("our lot number"), max_length=64, unique=True)
    received_date = models.DateField(_("received on"))
    quantity = models.DecimalField(_("quantity received"), max_digits=14, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=16, choices=MaterialUnit.choices)
    expiry_date = models.DateField(_("expiry or retest date"))
    qc_record = models.ForeignKey(
        "qc_records.TestRecord",
        verbose_name=_("QC test record"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUARANTINE, db_index=True
    )
    registered_by = models.ForeignKey(
        "core.User", verbose_name=_("registered by"), on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        "core.User",
        verbose_name=_("released or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("released or rejected at"), null=True, blank=True)
    decision_reason = models.TextField(_("QA's comment or reason"), blank=True)

    objects = MaterialLotQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("material lot")
        verbose_name_plural = _("material lots")
        ordering = ["-received_date", "-id"]
        constraints = [
            models.UniqueConstraint(Upper("lot_number"), name="release_material_lot_number_ci_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="release_material_lot_quantity_positive"),
        ]
        permissions = [
            ("release_materiallot", _("Can release or reject material lots (QA, signed)")),
            ("void_materiallot", _("Can void material lots")),
        ]

    def __str__(self) -> str:
        return f"{self.lot_number} {self.material_name}"

    def get_absolute_url(self) -> str:
        return reverse("release:materiallot_detail", args=[self.pk])


class BatchMaterial(ChangeTracked):
    """One line of a batch's bill of materials: the lot used and how much (ZL-086 4.2.2, 4.3.2.7)."""

    AUDIT_LABEL_FIELD = "lot"

    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="materials")
    lot = models.ForeignKey(
        MaterialLot, verbose_name=_("material lot"), on_delete=models.PROTECT, related_name="used_in"
    )
    quantity = models.DecimalField(_("quantity used"), max_digits=14, decimal_places=3)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("material used")
        verbose_name_plural = _("materials used")
        ordering = ["batch", "id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "lot"], name="release_batch_material_lot_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="release_batch_material_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.lot.lot_number if self.lot_id else '—'}"


class MaterialBalance(ChangeTracked):
    """The material balance (物料平衡) of one process step of a batch (R-REL-8, ZL-086 4.2.8).

    The percentage is computed by the system (``release.balance``) with a fixed formula whose
    version is stored on the row, against the product's limits copied onto the row when entered.
    """

    EDITABLE_FIELDS = ("step", "theoretical", "actual", "samples", "waste", "unit")
    AUDIT_LABEL_FIELD = "step"

    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="material_balances"
    )
    step = models.CharField(_("process step"), max_length=100)
    theoretical = models.DecimalField(_("theoretical quantity"), max_digits=14, decimal_places=3)
    actual = models.DecimalField(_("actual quantity"), max_digits=14, decimal_places=3)
    samples = models.DecimalField(_("samples taken"), max_digits=14, decimal_places=3, default=0)
    waste = models.DecimalField(_("collected waste"), max_digits=14, decimal_places=3, default=0)
    unit = models.CharField(_("unit"), max_length=16, choices=MaterialUnit.choices)
    percent = models.DecimalField(_("material balance (%)"), max_digits=7, decimal_places=2)
    formula_version = models.PositiveSmallIntegerField(_("formula version"))
    lower_limit = models.DecimalField(_("lower limit (%)"), max_digits=5, decimal_places=2)
    upper_limit = models.DecimalField(_("upper limit (%)"), max_digits=5, decimal_places=2)
    within_limits = models.BooleanField(_("within limits"))

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("material balance")
        verbose_name_plural = _("material balances")
        ordering = ["batch", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(theoretical__gt=0), name="release_balance_theoretical_positive"),
            models.CheckConstraint(
                condition=Q(actual__gte=0, samples__gte=0, waste__gte=0), name="release_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step}: {self.percent}%"
