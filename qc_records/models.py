"""QC records: specifications, instruments and reagents, samples, test records, OOS, ledger.

Sources: 检验记录书写规程, 检验原始记录管理规程, 检验记录和检验报告管理规程, 检验记录管理规程
(../shared/seeds/) and REQUIREMENTS R-QC-1…8. Every model here is a GMP record: it keeps a
history (who, when, old → new, why) and is voided, never deleted. State changes happen in
``services.py`` only.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, audited_history
from core.dates import add_years
from core.hashing import sha256_json, sha256_stored
from qc_records.criteria import Conclusion, Criterion, CriterionKind, overall


class Category(models.TextChoices):
    """What is tested; also the ledger (台帐) and monthly archive categories of 检验原始记录管理规程 4.3.2."""

    FINISHED_PRODUCT = "finished_product", _("Finished product")
    INTERMEDIATE = "intermediate", _("Intermediate product")
    RAW_MATERIAL = "raw_material", _("Raw material / excipient")
    PACKAGING_MATERIAL = "packaging_material", _("Packaging material")
    WATER = "water", _("Water")
    ENVIRONMENT = "environment", _("Environmental monitoring")


# Categories whose subject is one of our products (a batch for finished products).
PRODUCT_CATEGORIES = {Category.FINISHED_PRODUCT, Category.INTERMEDIATE}


class Tracked(AuditedModel):
    """Who last changed a record and when (every QC model has them)."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("last changed at"), default=timezone.now, editable=False)
    last_changed_by = models.ForeignKey(
        "core.User", verbose_name=_("last changed by"), on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta(AuditedModel.Meta):
        abstract = True


def _digest(payload: Any) -> str:
    return sha256_json(payload)


# --- specifications (质量标准) ---------------------------------------------------------------------


class SpecificationQuerySet(AuditedQuerySet):
    def in_force(self) -> SpecificationQuerySet:
        return self.filter(status=Specification.Status.APPROVED)

    def awaiting_approval(self) -> SpecificationQuerySet:
        return self.filter(status=Specification.Status.DRAFT)

    def not_authored_by(self, user) -> SpecificationQuerySet:
        """Versions ``user`` neither created nor changed, header or items — the ones they may approve
        (the same rule ``services.specification_approve`` enforces; R-SEQ-2). Drafts only: a version
        is written once, so any history row by them makes them an author."""
        spec_history = Specification.history.model  # type: ignore[attr-defined]
        item_history = SpecificationItem.history.model  # type: ignore[attr-defined]
        return self.exclude(
            models.Exists(spec_history.objects.filter(id=models.OuterRef("pk"), history_user=user))
        ).exclude(models.Exists(item_history.objects.filter(specification_id=models.OuterRef("pk"), history_user=user)))


class Specification(Tracked):
    """A versioned quality standard (质量标准) for a product or a material.

    Draft → approved (signed) → superseded when the next version is approved. Only one version of
    a code is in force at a time (a partial unique constraint); each test record stores the
    version it was tested against.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved (in force)")
        SUPERSEDED = "superseded", _("Superseded")
        VOIDED = "voided", _("Voided")

    TRANSITIONS = {
        Status.DRAFT: {Status.APPROVED, Status.VOIDED},
        Status.APPROVED: {Status.SUPERSEDED},
        Status.SUPERSEDED: set(),
        Status.VOIDED: set(),
    }
    # The approval signature vouches for the header and, through content_digest, the items.
    SIGNED_FIELDS = (
        "code",
        "version",
        "title",
        "category",
        "product",
        "material_name",
        "standard_reference",
        "content_digest",
    )
    EDITABLE_FIELDS = ("code", "title", "category", "product", "material_name", "standard_reference")
    AUDIT_LABEL_FIELD = "code"
    REQUIRED_SIGNATURES = {Status.APPROVED: "approved", Status.SUPERSEDED: "approved"}  # core.integrity

    code = models.CharField(_("specification number"), max_length=50, help_text=_("e.g. ZL-BZ-CP-001"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    title = models.CharField(_("title"), max_length=200, help_text=_("e.g. 阿莫西林胶囊质量标准"))
    category = models.CharField(_("applies to"), max_length=32, choices=Category.choices)
    product = models.ForeignKey(
        "release.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="specifications",
        help_text=_("For finished and intermediate products."),
    )
    material_name = models.CharField(
        _("material / subject"),
        max_length=200,
        blank=True,
        help_text=_("For materials, water and environment, e.g. 阿莫西林（原料）, 纯化水, A级洁净区沉降菌."),
    )
    standard_reference = models.CharField(
        _("standard reference"),
        max_length=300,
        help_text=_(
            "Pharmacopoeia edition and page (e.g. 中国药典2025年版二部 第123页) or the internal standard / SOP number."
        ),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    effective_from = models.DateField(_("in force from"), null=True, blank=True, editable=False)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        "core.User",
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True, editable=False)
    content_digest = models.CharField(_("SHA-256 of the test items"), max_length=64, blank=True, editable=False)

    objects = SpecificationQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("specification")
        verbose_name_plural = _("specifications")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="qc_spec_code_version_unique"),
            # One version in force per code, whatever races between two approvals.
            models.UniqueConstraint(
                fields=["code"], condition=Q(status="approved"), name="qc_spec_one_version_in_force"
            ),
            models.CheckConstraint(
                condition=~Q(category__in=["finished_product", "intermediate"]) | Q(product__isnull=False),
                name="qc_spec_product_for_product_categories",
                violation_error_message=_("Choose the product this specification is for."),
            ),
        ]
        permissions = [("approve_specification", _("Can approve specifications"))]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("qc_records:spec_detail", args=[self.pk])

    @property
    def subject_name(self) -> str:
        return self.product.name if self.product_id else self.material_name

    def compute_content_digest(self, items: list[SpecificationItem] | None = None) -> str:
        if items is None:
            items = list(self.items.filter(voided_at__isnull=True).order_by("position", "pk"))
        return _digest([it.signed_payload() for it in items if not it.is_voided])


class SpecificationItem(Tracked):
    """One test item (检验项目) of a specification: method, criterion, unit, replicates."""

    AUDIT_LABEL_FIELD = "name"
    EDITABLE_FIELDS = (
        "position",
        "name",
        "name_en",
        "method_reference",
        "criterion_kind",
        "lower_limit",
        "lower_inclusive",
        "upper_limit",
        "upper_inclusive",
        "decimals",
        "unit",
        "text_criterion",
        "replicates",
    )

    specification = models.ForeignKey(
        Specification, verbose_name=_("specification"), on_delete=models.PROTECT, related_name="items"
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    name = models.CharField(_("test item"), max_length=100, help_text=_("e.g. 含量测定"))
    name_en = models.CharField(_("test item (English)"), max_length=100, blank=True, help_text=_("e.g. Assay"))
    method_reference = models.CharField(
        _("method reference"),
        max_length=200,
        blank=True,
        help_text=_("e.g. 中国药典2025年版四部 通则0512, or SOP-QC-012"),
    )
    criterion_kind = models.CharField(_("criterion"), max_length=16, choices=CriterionKind.choices)
    lower_limit = models.DecimalField(_("lower limit"), max_digits=20, decimal_places=6, null=True, blank=True)
    lower_inclusive = models.BooleanField(_("lower limit inclusive (≥)"), default=True)
    upper_limit = models.DecimalField(_("upper limit"), max_digits=20, decimal_places=6, null=True, blank=True)
    upper_inclusive = models.BooleanField(_("upper limit inclusive (≤)"), default=True)
    decimals = models.PositiveSmallIntegerField(
        _("decimal places of the result"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(6)],
        help_text=_("Results must be reported with exactly this many decimals (修约). Empty: any."),
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True, help_text=_("e.g. %, mg, pH"))
    text_criterion = models.CharField(
        _("criterion text"), max_length=300, blank=True, help_text=_("e.g. 应符合规定, 应呈正反应, 白色或类白色粉末")
    )
    replicates = models.PositiveSmallIntegerField(
        _("individual results"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text=_("How many individual results are judged (e.g. 6 units for dissolution)."),
    )

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("specification test item")
        verbose_name_plural = _("specification test items")
        ordering = ["specification", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lower_limit__isnull=True)
                | Q(upper_limit__isnull=True)
                | Q(lower_limit__lte=F("upper_limit")),
                name="qc_specitem_limits_ordered",
                violation_error_message=_("The upper limit is below the lower limit."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def criterion(self) -> Criterion:
        return Criterion(
            kind=self.criterion_kind,
            lower=self.lower_limit,
            lower_inclusive=self.lower_inclusive,
            upper=self.upper_limit,
            upper_inclusive=self.upper_inclusive,
            decimals=self.decimals,
            unit=self.unit,
            text=self.text_criterion,
        )

    @property
    def criterion_display(self) -> str:
        return self.criterion.describe()

    @property
    def label(self) -> str:
        return f"{self.name} {self.name_en}".strip()

    def signed_payload(self) -> dict[str, Any]:
        return {f: (str(getattr(self, f)) if getattr(self, f) is not None else None) for f in self.EDITABLE_FIELDS}


# --- instruments and consumables (仪器、量具、试剂、对照品) ---------------------------------------------


class InstrumentQuerySet(AuditedQuerySet):
    def due_within(self, days: int, today: date | None = None) -> InstrumentQuerySet:
        today = today or timezone.localdate()
        return self.filter(
            status=Instrument.Status.IN_SERVICE,
            calibration_due__gte=today,
            calibration_due__lte=today + timedelta(days=days),
        )

    def calibration_expired(self, today: date | None = None) -> InstrumentQuerySet:
        today = today or timezone.localdate()
        return self.filter(calibration_due__lt=today).exclude(status=Instrument.Status.RETIRED)


class Instrument(Tracked):
    """An instrument or item of volumetric glassware with its calibration due date."""

    class Kind(models.TextChoices):
        INSTRUMENT = "instrument", _("Instrument")
        GLASSWARE = "glassware", _("Volumetric glassware")

    class Status(models.TextChoices):
        IN_SERVICE = "in_service", _("In service")
        OUT_OF_SERVICE = "out_of_service", _("Out of service")
        RETIRED = "retired", _("Retired")

    TRANSITIONS = {
        Status.IN_SERVICE: {Status.OUT_OF_SERVICE, Status.RETIRED},
        Status.OUT_OF_SERVICE: {Status.IN_SERVICE, Status.RETIRED},
        Status.RETIRED: set(),
    }
    EDITABLE_FIELDS = ("code", "name", "model", "kind", "location", "last_calibrated", "calibration_due", "status")
    AUDIT_LABEL_FIELD = "code"

    code = models.CharField(_("instrument ID"), max_length=50, unique=True, help_text=_("e.g. QC-HPLC-01"))
    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. 高效液相色谱仪"))
    model = models.CharField(_("model"), max_length=100, help_text=_("e.g. Agilent 1260 Infinity II"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INSTRUMENT)
    location = models.CharField(_("location"), max_length=200)
    last_calibrated = models.DateField(_("last calibrated"), null=True, blank=True)
    calibration_due = models.DateField(_("calibration due"), db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.IN_SERVICE, db_index=True
    )

    objects = InstrumentQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ({self.model})"

    def get_absolute_url(self) -> str:
        return reverse("qc_records:instrument_detail", args=[self.pk])

    def unusable_reason(self, on: date) -> str:
        """Why this instrument may not be used for a test on ``on`` ("" when it may; R-QC-3)."""
        if self.status != self.Status.IN_SERVICE:
            return gettext("Instrument %(code)s (%(model)s) is %(status)s and cannot be used.") % {
                "code": self.code,
                "model": self.model,
                "status": self.get_status_display().lower(),
            }
        if self.calibration_due < on:
            return gettext(
                "Instrument %(code)s (%(model)s) is past its calibration due date (%(due)s) and cannot be used for a test on %(on)s."
            ) % {"code": self.code, "model": self.model, "due": self.calibration_due.isoformat(), "on": on.isoformat()}
        return ""


class ReagentQuerySet(AuditedQuerySet):
    def expiring_within(self, days: int, today: date | None = None) -> ReagentQuerySet:
        today = today or timezone.localdate()
        return self.filter(
            status=Reagent.Status.IN_USE, expiry_date__gte=today, expiry_date__lte=today + timedelta(days=days)
        )

    def expired(self, today: date | None = None) -> ReagentQuerySet:
        today = today or timezone.localdate()
        return self.filter(status=Reagent.Status.IN_USE, expiry_date__lt=today)


class Reagent(Tracked):
    """A reagent, test solution, titrant, culture medium or reference standard lot."""

    class Kind(models.TextChoices):
        REAGENT = "reagent", _("Reagent")
        TEST_SOLUTION = "test_solution", _("Test solution")
        TITRANT = "titrant", _("Titrant (volumetric solution)")
        CULTURE_MEDIUM = "culture_medium", _("Culture medium")
        REFERENCE_STANDARD = "reference_standard", _("Reference standard")

    class Status(models.TextChoices):
        IN_USE = "in_use", _("In use")
        USED_UP = "used_up", _("Used up")
        DISCARDED = "discarded", _("Discarded")

    TRANSITIONS = {
        Status.IN_USE: {Status.USED_UP, Status.DISCARDED},
        Status.USED_UP: set(),
        Status.DISCARDED: set(),
    }
    EDITABLE_FIELDS = (
        "kind",
        "name",
        "lot_number",
        "source",
        "concentration",
        "received_date",
        "expiry_date",
        "status",
    )
    AUDIT_LABEL_FIELD = "name"

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. 阿莫西林对照品, 氢氧化钠滴定液"))
    lot_number = models.CharField(
        _("lot / preparation number"),
        max_length=100,
        help_text=_("Supplier lot, or the in-house preparation number (配制批号)."),
    )
    source = models.CharField(
        _("source"),
        max_length=200,
        help_text=_("Supplier (e.g. 中国食品药品检定研究院) or “prepared in-house” with the SOP."),
    )
    concentration = models.CharField(
        _("concentration / content"), max_length=100, blank=True, help_text=_("e.g. 0.1 mol/L, F=1.002; or 99.6%")
    )
    received_date = models.DateField(_("received / prepared on"))
    expiry_date = models.DateField(_("expiry date"), db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.IN_USE, db_index=True)

    objects = ReagentQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("reagent or reference standard")
        verbose_name_plural = _("reagents and reference standards")
        ordering = ["name", "-received_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "name", "lot_number"],
                name="qc_reagent_lot_unique",
                violation_error_message=_("This lot is already registered."),
            ),
            models.CheckConstraint(
                condition=Q(expiry_date__gte=F("received_date")),
                name="qc_reagent_expiry_after_receipt",
                violation_error_message=_("The expiry date is before the date received / prepared."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.lot_number})"

    def get_absolute_url(self) -> str:
        return reverse("qc_records:reagent_detail", args=[self.pk])

    def unusable_reason(self, on: date) -> str:
        if self.status != self.Status.IN_USE:
            return gettext("%(kind)s %(name)s, lot %(lot)s, is %(status)s and cannot be used.") % {
                "kind": self.get_kind_display(),
                "name": self.name,
                "lot": self.lot_number,
                "status": self.get_status_display().lower(),
            }
        if self.expiry_date < on:
            return gettext(
                "%(kind)s %(name)s, lot %(lot)s, expired on %(expiry)s and cannot be used for a test on %(on)s."
            ) % {
                "kind": self.get_kind_display(),
                "name": self.name,
                "lot": self.lot_number,
                "expiry": self.expiry_date.isoformat(),
                "on": on.isoformat(),
            }
        if self.received_date > on:
            return gettext(
                "%(kind)s %(name)s, lot %(lot)s, was received / prepared on %(received)s, after the test date %(on)s."
            ) % {
                "kind": self.get_kind_display(),
                "name": self.name,
                "lot": self.lot_number,
                "received": self.received_date.isoformat(),
                "on": on.isoformat(),
            }
        return ""


# --- samples (检品) -----------------------------------------------------------------------------


class SampleQuerySet(AuditedQuerySet):
    def awaiting_test(self) -> SampleQuerySet:
        """Samples with no test record yet (or only voided ones)."""
        live = TestRecord.objects.filter(sample=models.OuterRef("pk")).exclude(status=TestRecord.Status.VOIDED)
        return self.filter(voided_at__isnull=True).exclude(models.Exists(live))


class Sample(Tracked):
    """What is tested: a finished-product batch, an intermediate, a material lot, water or an
    environmental monitoring point — with quantity, source and the date it was received."""

    SIGNED_FIELDS = (
        "number",
        "category",
        "specification",
        "product",
        "batch",
        "material_name",
        "lot_number",
        "strength",
        "quantity",
        "quantity_unit",
        "supplier",
        "manufacturer",
        "sampling_point",
        "received_date",
    )
    EDITABLE_FIELDS = (
        "category",
        "specification",
        "product",
        "batch",
        "material_name",
        "lot_number",
        "strength",
        "quantity",
        "quantity_unit",
        "supplier",
        "manufacturer",
        "sampling_point",
        "received_date",
        "condition_on_receipt",
    )
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("sample number"), max_length=32, unique=True, editable=False)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices, db_index=True)
    specification = models.ForeignKey(
        Specification,
        verbose_name=_("specification"),
        on_delete=models.PROTECT,
        related_name="samples",
        help_text=_("The approved specification it is tested against (the version in force is used)."),
    )
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        "release.Batch",
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="qc_samples",
        help_text=_("For finished products: the batch sampled."),
    )
    material_name = models.CharField(_("material / subject"), max_length=200, blank=True)
    lot_number = models.CharField(
        _("batch / lot number"), max_length=100, blank=True, help_text=_("Batch number, or the supplier's lot.")
    )
    strength = models.CharField(_("strength"), max_length=100, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, validators=[MinValueValidator(0)])
    quantity_unit = models.CharField(_("unit"), max_length=20, help_text=_("e.g. 粒, g, ml, 个"))
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=200, blank=True)
    sampling_point = models.CharField(
        _("sampling point"),
        max_length=200,
        blank=True,
        help_text=_("For water and environmental monitoring, e.g. 纯化水总回水口."),
    )
    received_date = models.DateField(_("received on"), db_index=True)
    condition_on_receipt = models.CharField(
        _("condition on receipt"), max_length=200, blank=True, help_text=_("封装情况")
    )

    objects = SampleQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("sample")
        verbose_name_plural = _("samples")
        ordering = ["-received_date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(category="finished_product") | Q(batch__isnull=False),
                name="qc_sample_batch_for_finished_product",
                violation_error_message=_("A finished-product sample names the batch sampled."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject_name} {self.lot_number}".strip()

    def get_absolute_url(self) -> str:
        return reverse("qc_records:sample_detail", args=[self.pk])

    @property
    def subject_name(self) -> str:
        if self.product_id:
            return self.product.name
        return self.material_name


# --- test records (检验记录) ----------------------------------------------------------------------


@dataclass
class ItemBlock:
    """One specification item of a record with its individual results, for pages and reports."""

    item: SpecificationItem
    results: list[TestResult] = field(default_factory=list)

    @property
    def current(self) -> list[TestResult]:
        """The results that count: not invalidated (an invalidated result is replaced by its retest)."""
        return [r for r in self.results if not r.is_invalidated]

    @property
    def invalidated(self) -> list[TestResult]:
        return [r for r in self.results if r.is_invalidated]

    @property
    def conclusion(self) -> str:
        return overall([r.conclusion for r in self.current])

    @property
    def conclusion_label(self) -> str:
        return Conclusion(self.conclusion).label

    @property
    def mean(self) -> Decimal | None:
        """Shown beside the individual results; never used to judge (R-QC-2)."""
        values = [r.value_numeric for r in self.current if r.value_numeric is not None]
        if len(values) < 2 or len(values) != len(self.current):
            return None
        mean = sum(values) / len(values)
        places = self.item.decimals if self.item.decimals is not None else 2
        return mean.quantize(Decimal(1).scaleb(-places))

    @property
    def result_text(self) -> str:
        """The results as printed on the report: each individual value."""
        parts = [r.display_value for r in self.current if r.display_value]
        return "; ".join(parts)


class TestRecordQuerySet(AuditedQuerySet):
    def live(self) -> TestRecordQuerySet:
        return self.exclude(status=TestRecord.Status.VOIDED)

    def in_month(self, year: int, month: int) -> TestRecordQuerySet:
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        return self.filter(test_date__gte=first, test_date__lte=last)


class TestRecord(Tracked):
    """One test record (检验原始记录) of a sample against the specification version in force.

    Draft → submitted (tester signs 检验/Tested) → reviewed (a different person signs 复核/Reviewed)
    → approved (QC head signs; report number). Sending back or editing a submitted or reviewed
    record (with a reason) returns it to draft (R-QC-4).
    """

    __test__ = False  # not a pytest test class despite the name

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for review")
        REVIEWED = "reviewed", _("Reviewed")
        APPROVED = "approved", _("Approved")
        VOIDED = "voided", _("Voided")

    class Verdict(models.TextChoices):
        PENDING = "", _("Not concluded")
        COMPLIES = "complies", _("Complies with the specification")
        DOES_NOT_COMPLY = "does_not_comply", _("Does not comply with the specification")

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED, Status.VOIDED},
        Status.SUBMITTED: {Status.REVIEWED, Status.DRAFT},
        Status.REVIEWED: {Status.APPROVED, Status.DRAFT},
        Status.APPROVED: set(),
        Status.VOIDED: set(),
    }
    # Stable between the three signatures (status, people and report number change as it moves
    # on); results, instruments, reagents and files are covered through content_digest.
    SIGNED_FIELDS = (
        "sample",
        "specification",
        "test_date",
        "temperature",
        "humidity",
        "observations",
        "method_notes",
        "content_digest",
    )
    EDITABLE_FIELDS = ("test_date", "temperature", "humidity", "observations", "method_notes")
    AUDIT_LABEL_FIELD = "report_number"
    REQUIRED_SIGNATURES = {Status.APPROVED: "approved"}  # core.integrity

    sample = models.ForeignKey(Sample, verbose_name=_("sample"), on_delete=models.PROTECT, related_name="records")
    specification = models.ForeignKey(
        Specification,
        verbose_name=_("specification (version in force)"),
        on_delete=models.PROTECT,
        related_name="records",
    )
    category = models.CharField(_("category"), max_length=32, choices=Category.choices, editable=False)
    test_date = models.DateField(_("test date"), default=timezone.localdate)
    temperature = models.DecimalField(
        _("room temperature (°C)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-10")), MaxValueValidator(Decimal("50"))],
    )
    humidity = models.DecimalField(
        _("relative humidity (%)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    observations = models.TextField(
        _("observations"),
        blank=True,
        help_text=_("What was seen during the test, especially anything unusual (检验过程中观察到的现象)."),
    )
    method_notes = models.TextField(
        _("procedure notes"),
        blank=True,
        help_text=_("Changes from the written method, preparation of reference solutions, handling of standards."),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(
        "core.User", verbose_name=_("started by"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    submitted_by = models.ForeignKey(
        "core.User",
        verbose_name=_("tested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        "core.User",
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        "core.User",
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    report_number = models.CharField(
        _("report number"), max_length=20, unique=True, null=True, blank=True, editable=False
    )
    verdict = models.CharField(
        _("conclusion"), max_length=16, choices=Verdict.choices, blank=True, default="", editable=False
    )
    content_digest = models.CharField(_("SHA-256 of the results"), max_length=64, blank=True, editable=False)
    purged_at = models.DateTimeField(_("raw data purged at"), null=True, blank=True, editable=False)

    objects = TestRecordQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("test record")
        verbose_name_plural = _("test records")
        ordering = ["-test_date", "-pk"]
        indexes = [models.Index(fields=["category", "test_date"], name="qc_record_ledger_idx")]
        permissions = [
            ("review_testrecord", _("Can review test records (second person)")),
            ("approve_testrecord", _("Can approve test reports")),
            ("archive_testrecord", _("Can archive and reopen monthly QC records")),
            ("purge_testrecord", _("Can purge QC raw data after its retention date")),
        ]

    def __str__(self) -> str:
        return self.report_number or gettext("Test record #%(pk)s") % {"pk": self.pk}

    def get_absolute_url(self) -> str:
        return reverse("qc_records:record_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SUBMITTED, self.Status.REVIEWED)

    @property
    def retention_until(self) -> date:
        """Batch-linked records: product expiry + 1 year (GMP 第一百六十二条; 检验记录管理规程 6.2);
        others: the test date + QC_RECORD_RETENTION_YEARS (R-REC-2)."""
        batch = self.sample.batch if self.sample.batch_id else None
        if batch is not None:
            return add_years(batch.expiry_date, 1)
        return add_years(self.test_date, settings.QC_RECORD_RETENTION_YEARS)

    def item_blocks(self) -> list[ItemBlock]:
        """Items of the record's specification with their results, in order (two queries)."""
        items = list(self.specification.items.filter(voided_at__isnull=True).order_by("position", "pk"))
        blocks = {it.pk: ItemBlock(item=it) for it in items}
        for result in self.results.select_related("oos").order_by("replicate", "attempt", "pk"):
            block = blocks.get(result.item_id)
            if block is not None:
                result.item = block.item  # already loaded: no query per result
                block.results.append(result)
        return list(blocks.values())

    def compute_verdict(self, blocks: list[ItemBlock] | None = None) -> str:
        blocks = blocks if blocks is not None else self.item_blocks()
        conclusions = [b.conclusion for b in blocks]
        if any(c == Conclusion.FAIL for c in conclusions):
            return self.Verdict.DOES_NOT_COMPLY
        if any(c == Conclusion.PENDING for c in conclusions):
            return self.Verdict.PENDING
        return self.Verdict.COMPLIES

    def compute_content_digest(self) -> str:
        """SHA-256 over everything the signatures vouch for besides the header fields."""
        results = self.results.order_by("item_id", "replicate", "attempt").values_list(
            "item_id", "replicate", "attempt", "value_text", "complies", "calculation", "conclusion", "voided_at"
        )
        instruments = (
            self.instrument_uses.filter(voided_at__isnull=True)
            .order_by("instrument_id")
            .values_list("instrument_id", "calibration_due")
        )
        reagents = (
            self.reagent_uses.filter(voided_at__isnull=True)
            .order_by("reagent_id")
            .values_list("reagent_id", "expiry_date")
        )
        files = self.attachments.filter(voided_at__isnull=True).order_by("pk").values_list("pk", "sha256")
        return _digest(
            {
                "results": [list(r) for r in results],
                "instruments": [list(r) for r in instruments],
                "reagents": [list(r) for r in reagents],
                "files": [list(r) for r in files],
            }
        )


class TestResult(Tracked):
    """One individual result (单个测定值) of one specification item: raw value as typed, unit,
    calculation and its own conclusion. A retest adds an attempt; an invalidated result (OOS
    laboratory error) is voided with the reason and stays visible."""

    __test__ = False

    AUDIT_LABEL_FIELD = "value_text"

    record = models.ForeignKey(
        TestRecord, verbose_name=_("test record"), on_delete=models.PROTECT, related_name="results"
    )
    item = models.ForeignKey(SpecificationItem, verbose_name=_("test item"), on_delete=models.PROTECT, related_name="+")
    replicate = models.PositiveSmallIntegerField(_("individual result no."), default=1)
    attempt = models.PositiveSmallIntegerField(
        _("attempt"), default=1, help_text=_("2 and more: retest after an invalidated result.")
    )
    value_text = models.CharField(_("result as recorded"), max_length=200, blank=True)
    value_numeric = models.DecimalField(_("numeric value"), max_digits=20, decimal_places=6, null=True, blank=True)
    complies = models.BooleanField(_("complies (text criteria)"), null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    calculation = models.TextField(_("calculation"), blank=True)
    conclusion = models.CharField(
        _("conclusion"), max_length=16, choices=Conclusion.choices, default=Conclusion.PENDING
    )
    entered_by = models.ForeignKey(
        "core.User", verbose_name=_("entered by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered at"), null=True, blank=True)
    oos = models.ForeignKey(
        "qc_records.OOSInvestigation",
        verbose_name=_("OOS investigation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="results",
    )

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("test result")
        verbose_name_plural = _("test results")
        ordering = ["record", "item__position", "item_id", "replicate", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["record", "item", "replicate", "attempt"], name="qc_result_unique_attempt"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.replicate}: {self.value_text or '—'}"

    @property
    def is_invalidated(self) -> bool:
        return self.voided_at is not None

    @property
    def display_value(self) -> str:
        if self.item.criterion_kind == CriterionKind.TEXT:
            verdict = {True: gettext("Complies"), False: gettext("Does not comply"), None: ""}[self.complies]
            return " · ".join(v for v in (self.value_text, verdict) if v)
        return f"{self.value_text}{self.unit}" if self.value_text else ""


class InstrumentUse(Tracked):
    """An instrument used in a test record, with its calibration due date at the time (the
    evidence that it was in calibration on the test date). Removed from a draft by voiding."""

    record = models.ForeignKey(
        TestRecord, verbose_name=_("test record"), on_delete=models.PROTECT, related_name="instrument_uses"
    )
    instrument = models.ForeignKey(
        Instrument, verbose_name=_("instrument"), on_delete=models.PROTECT, related_name="uses"
    )
    calibration_due = models.DateField(_("calibration due when used"))

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("instrument used")
        verbose_name_plural = _("instruments used")
        constraints = [
            models.UniqueConstraint(
                fields=["record", "instrument"], condition=Q(voided_at__isnull=True), name="qc_instrument_use_once"
            ),
        ]

    def __str__(self) -> str:
        return str(self.instrument_id)


class ReagentUse(Tracked):
    """A reagent / reference standard lot used in a test record (its usage log), with its expiry
    date at the time."""

    record = models.ForeignKey(
        TestRecord, verbose_name=_("test record"), on_delete=models.PROTECT, related_name="reagent_uses"
    )
    reagent = models.ForeignKey(Reagent, verbose_name=_("reagent"), on_delete=models.PROTECT, related_name="uses")
    expiry_date = models.DateField(_("expiry date when used"))

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("reagent used")
        verbose_name_plural = _("reagents used")
        constraints = [
            models.UniqueConstraint(
                fields=["record", "reagent"], condition=Q(voided_at__isnull=True), name="qc_reagent_use_once"
            ),
        ]

    def __str__(self) -> str:
        return str(self.reagent_id)


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    # The stored name carries no user text; the original name is kept in the row.
    return f"qc/raw-data/{timezone.localdate():%Y/%m}/{instance.sha256[:16]}-{timezone.now():%H%M%S%f}"


class Attachment(Tracked):
    """A raw-data file (chromatogram, spectrum, printout) with the SHA-256 taken on upload (R-QC-7)."""

    AUDIT_LABEL_FIELD = "original_name"

    record = models.ForeignKey(
        TestRecord, verbose_name=_("test record"), on_delete=models.PROTECT, related_name="attachments"
    )
    item = models.ForeignKey(
        SpecificationItem,
        verbose_name=_("test item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("file type"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    description = models.CharField(
        _("description"), max_length=200, blank=True, help_text=_("e.g. 含量测定 供试品色谱图")
    )

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("raw-data file")
        verbose_name_plural = _("raw-data files")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name

    def stored_sha256(self) -> str | None:
        """SHA-256 of the file as stored now (None if it is missing)."""
        return sha256_stored(self.file)

    def is_intact(self) -> bool:
        return self.stored_sha256() == self.sha256


# --- OOS investigations (检验结果超标调查) ---------------------------------------------------------


class OOSQuerySet(AuditedQuerySet):
    def open(self) -> OOSQuerySet:
        return self.exclude(status=OOSInvestigation.Status.CLOSED)


class OOSInvestigation(Tracked):
    """An out-of-specification investigation, opened automatically when a record with a failing
    result is submitted. Phase I (laboratory: is there an assignable cause?) → phase II (full
    investigation) → closed with a signature. While open, the batch cannot be released (R-QC-5)."""

    class Status(models.TextChoices):
        PHASE_1 = "phase_1", _("Phase I — laboratory investigation")
        PHASE_2 = "phase_2", _("Phase II — full investigation")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        NONE = "", _("Not concluded")
        LAB_ERROR = "lab_error", _("Laboratory error — result invalidated, retest")
        CONFIRMED = "confirmed", _("OOS confirmed — batch fails")

    TRANSITIONS = {
        Status.PHASE_1: {Status.PHASE_2, Status.CLOSED},
        Status.PHASE_2: {Status.CLOSED},
        Status.CLOSED: set(),
    }
    SIGNED_FIELDS = (
        "number",
        "record",
        "item",
        "phase1_findings",
        "assignable_cause",
        "phase2_findings",
        "outcome",
        "summary",
    )
    EDITABLE_FIELDS = ("phase1_findings", "assignable_cause", "phase2_findings")
    AUDIT_LABEL_FIELD = "number"
    REQUIRED_SIGNATURES = {Status.CLOSED: "closed"}  # core.integrity

    number = models.CharField(_("OOS number"), max_length=20, unique=True, editable=False)
    record = models.ForeignKey(
        TestRecord, verbose_name=_("test record"), on_delete=models.PROTECT, related_name="oos_investigations"
    )
    item = models.ForeignKey(SpecificationItem, verbose_name=_("test item"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PHASE_1, db_index=True)
    phase1_findings = models.TextField(
        _("phase I findings"),
        blank=True,
        help_text=_("Laboratory check: calculations, instrument, standards, solutions, analyst's technique."),
    )
    assignable_cause = models.BooleanField(_("assignable laboratory cause found"), null=True, blank=True)
    phase2_findings = models.TextField(
        _("phase II findings"),
        blank=True,
        help_text=_("Production and process review, additional testing, root cause, CAPA."),
    )
    outcome = models.CharField(_("conclusion"), max_length=16, choices=Outcome.choices, blank=True, default="")
    summary = models.TextField(_("conclusion and justification"), blank=True)
    closed_by = models.ForeignKey(
        "core.User",
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)

    objects = OOSQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("OOS investigation")
        verbose_name_plural = _("OOS investigations")
        ordering = ["-created_at", "-pk"]
        permissions = [("close_oosinvestigation", _("Can close OOS investigations"))]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("qc_records:oos_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


# --- ledger archive (归档) ------------------------------------------------------------------------


class LedgerArchive(Tracked):
    """A month of one category's records archived (检验原始记录管理规程 4.3.2: archived monthly).

    While archived, the month's records are locked; reopening needs a QC head signature and a
    reason, and the month can be archived again.
    """

    class Status(models.TextChoices):
        ARCHIVED = "archived", _("Archived")
        REOPENED = "reopened", _("Reopened")

    TRANSITIONS = {
        Status.ARCHIVED: {Status.REOPENED},
        Status.REOPENED: {Status.ARCHIVED},
    }
    SIGNED_FIELDS = ("year", "month", "category")
    AUDIT_LABEL_FIELD = "category"

    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ARCHIVED)
    record_count = models.PositiveIntegerField(_("records archived"), default=0)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("monthly archive")
        verbose_name_plural = _("monthly archives")
        ordering = ["-year", "-month", "category"]
        constraints = [
            models.UniqueConstraint(fields=["year", "month", "category"], name="qc_archive_month_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d} {self.get_category_display()}"


# --- numbering ------------------------------------------------------------------------------------
