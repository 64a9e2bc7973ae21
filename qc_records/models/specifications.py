"""Specifications (质量标准), versioned, and their test items."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedQuerySet, audited_history
from core.links import link
from qc_records.criteria import Criterion, CriterionKind
from qc_records.models.base import Category, Tracked, _digest


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
    SIGNED_STATE = ("status", "effective_from", "approved_at", "approved_by")
    UNSIGNED_FIELDS = {"superseded_at": "set when a later version is approved (that approval is signed)"}
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
        return link("qc_records:spec_detail", self.pk)

    @property
    def subject_name(self) -> str:
        return self.product.name if self.product_id else self.material_name

    def compute_content_digest(self, items: list[SpecificationItem] | None = None) -> str:
        if items is None:
            items = list(self.items.filter(voided_at__isnull=True).order_by("position", "pk"))
        return _digest([it.signed_payload() for it in items if not it.is_voided])


def _unset(value: Any) -> bool:
    """None, False or "": a field's empty default (0 is a value: ``0 == False`` must not hide it)."""
    return value is None or value is False or (isinstance(value, str) and value == "")


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
        "physical_min",
        "physical_max",
        "required_instrument",
        "requires_reference_standard",
        "requires_raw_data_file",
        "requires_calculation",
    )
    # Added after specifications were first signed: left out of the signed payload while empty
    # (None, False, ""), so the digests of versions approved before they existed still verify.
    OPTIONAL_SIGNED_FIELDS = (
        "physical_min",
        "physical_max",
        "required_instrument",
        "requires_reference_standard",
        "requires_raw_data_file",
        "requires_calculation",
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

    physical_min = models.DecimalField(
        _("lowest possible value"),
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_(
            "The smallest value the quantity can physically take (e.g. 0 for a content, a count or a "
            "concentration); a value below it is refused as a typing error. Empty: 0 when the unit cannot be "
            "negative (%, mg, g, mL, cfu/ml …), otherwise no limit."
        ),
    )
    physical_max = models.DecimalField(
        _("highest possible value"),
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("The largest value the quantity can physically take (e.g. 14 for pH). Empty: no limit."),
    )

    # The evidence this item needs on every test record (R-QC-1; 检验记录书写规程 4.2.1, 4.2.4 a;
    # 检验记录和检验报告管理规程 1.2′.3/.4/.7): "Tested" is refused without it, naming the item.
    required_instrument = models.CharField(
        _("instrument type required"),
        max_length=100,
        blank=True,
        help_text=_(
            "An instrument whose name or model contains this must be recorded (e.g. 高效液相色谱仪, HPLC). "
            "Empty: none required."
        ),
    )
    requires_reference_standard = models.BooleanField(_("reference standard required"), default=False)
    requires_raw_data_file = models.BooleanField(
        _("raw-data file required"),
        default=False,
        help_text=_("A chromatogram, spectrum or printout attached to this item."),
    )
    requires_calculation = models.BooleanField(
        _("calculation required"), default=False, help_text=_("Every result of the item carries its calculation.")
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
            physical_min=self.physical_min,
            physical_max=self.physical_max,
        )

    @property
    def criterion_display(self) -> str:
        return self.criterion.describe()

    @property
    def label(self) -> str:
        return f"{self.name} {self.name_en}".strip()

    def signed_payload(self) -> dict[str, Any]:
        return {
            f: (str(getattr(self, f)) if getattr(self, f) is not None else None)
            for f in self.EDITABLE_FIELDS
            if not (f in self.OPTIONAL_SIGNED_FIELDS and _unset(getattr(self, f)))
        }
